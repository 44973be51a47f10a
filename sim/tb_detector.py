"""cocotb: sparse_detector against a Python model.

Windows are offered one after the other (random gaps, often none: the detector must take the
next window the cycle it finishes one). For each window: the results of exactly the groups
with a pair (every group when Skip = 0), in group order, with sums and bias equal to the
model's; done_o once per window; and the detector's busy cycles equal the model's cost: per
mask word of Look groups, the pairs of its groups or one cycle when it has none.
"""

from __future__ import annotations

import json
import os
import random

import cocotb
from cocotb.triggers import ReadOnly, RisingEdge

from streams import StreamSource
from tbutil import start


def _signed(v: int, w: int) -> int:
    return v - (1 << w) if v >> (w - 1) & 1 else v


@cocotb.test()
async def windows(dut) -> None:
    stim = json.loads(open(os.environ["FIREFLYS_STIM"]).read())
    acc_w, num_acc = stim["acc_w"], stim["num_acc"]
    cases = stim["cases"]
    await start(dut, "win_valid_i", "window_i")
    rng = random.Random(stim["seed"])
    gaps = iter([c["gap"] for c in cases])
    # a stale window must not be taken again: the bus is scrambled while nothing is offered
    source = StreamSource(dut, dut.clk_i, valid="win_valid_i", ready="win_take_o",
                          data="window_i", gaps=lambda: next(gaps),
                          idle_data=lambda: rng.getrandbits(len(dut.window_i)))
    for case in cases:
        source.append(int(case["window"], 16))
    busy, pairs, got, cur = 0, 0, [], []
    cycles = 0
    while len(got) < len(cases):
        await RisingEdge(dut.clk_i)
        await ReadOnly()
        cycles += 1
        assert cycles < 100_000, f"detector stuck after {len(got)} windows"
        busy += int(dut.busy_o.value)
        pairs += int(dut.pair_o.value)
        if dut.res_valid_o.value:
            word = int(dut.res_acc_o.value)
            cur.append([int(dut.res_group_o.value),
                        [_signed((word >> (a * acc_w)) & ((1 << acc_w) - 1), acc_w)
                         for a in range(num_acc)],
                        _signed(int(dut.res_bias_o.value), stim["bias_w"])])
        if dut.done_o.value:
            wi = len(got)
            want = cases[wi]["results"]
            assert cur == want, f"window {wi}: results {cur}, expected {want}"
            got.append(cur)
            cur = []
    for _ in range(4):  # nothing after the last window
        await RisingEdge(dut.clk_i)
        await ReadOnly()
        assert not dut.res_valid_o.value and not dut.done_o.value and not dut.busy_o.value
    assert pairs == sum(c["pairs"] for c in cases), "pair count"
    assert busy == sum(c["cycles"] for c in cases), (
        f"{busy} busy cycles, expected {sum(c['cycles'] for c in cases)} "
        f"(per window {[c['cycles'] for c in cases]})")
