"""cocotb: sparse_detector against a Python model.

For each window: every group's result (sums per plane, or the shifted sum for direct input)
equals the sum of the weights at the set bits of window & mask; and the detector spends
exactly max(1, pairs) cycles per group when skipping (every position when Skip = 0):
empty segments and planes cost nothing.
"""

from __future__ import annotations

import json
import os

import cocotb
from cocotb.triggers import ReadOnly, RisingEdge

from tbutil import start


def _signed(v: int, w: int) -> int:
    return v - (1 << w) if v >> (w - 1) & 1 else v


@cocotb.test()
async def windows(dut) -> None:
    stim = json.loads(open(os.environ["FIREFLYS_STIM"]).read())
    acc_w, num_acc = stim["acc_w"], stim["num_acc"]
    await start(dut, "start_i", "window_i")
    await RisingEdge(dut.clk_i)
    for wi, case in enumerate(stim["cases"]):
        dut.window_i.value = int(case["window"], 16)
        dut.start_i.value = 1
        await RisingEdge(dut.clk_i)
        dut.start_i.value = 0
        busy, pairs, got = 1, 0, []
        while len(got) < len(case["results"]):
            await ReadOnly()
            pairs += int(dut.pair_o.value)
            if dut.res_valid_o.value:
                word = int(dut.res_acc_o.value)
                got.append([int(dut.res_group_o.value),
                            [_signed((word >> (a * acc_w)) & ((1 << acc_w) - 1), acc_w)
                             for a in range(num_acc)],
                            _signed(int(dut.res_bias_o.value), stim["bias_w"])])
            if not dut.idle_o.value:
                busy += 1
            await RisingEdge(dut.clk_i)
            assert busy < 100_000, "detector never finished"
        want = case["results"]
        assert got == want, f"window {wi}: results {got}, expected {want}"
        assert pairs == case["pairs"], f"window {wi}: {pairs} pairs, expected {case['pairs']}"
        # busy counts the start cycle; the last group ends the cycle idle_o rises
        assert busy - 1 == case["cycles"], (
            f"window {wi}: {busy - 1} cycles, expected {case['cycles']}")
        for _ in range(int(case["gap"])):
            await RisingEdge(dut.clk_i)
