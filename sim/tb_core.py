"""cocotb testbench for one ``layer_core`` against the golden model.

FIREFLYS_STIM (JSON): input beats (all frames back to back), the expected output words, and
per detector the expected sequence of (group, accumulated sums) results of its peeler. Every
result is checked (locates a wrong current before it becomes a wrong spike), then every
output word. Random input gaps and output back-pressure. FIREFLYS_RESULT receives the
counters.
"""

from __future__ import annotations

import json
import os
import random

import cocotb
from cocotb.triggers import ReadOnly, RisingEdge

from streams import StreamSink, StreamSource, bernoulli_gaps
from tbutil import start


def _signed(v: int, w: int) -> int:
    return v - (1 << w) if v >> (w - 1) & 1 else v


@cocotb.test()
async def core_matches_golden(dut) -> None:
    stim = json.loads(open(os.environ["FIREFLYS_STIM"]).read())
    rng = random.Random(stim["seed"])
    beats = [int(v, 16) for v in stim["beats"]]
    outs = [int(v, 16) for v in stim["outputs"]]
    results = stim["results"]  # per detector: [[group, [acc...]], ...]
    acc_w, num_acc = stim["acc_w"], stim["num_acc"]
    pco = len(results)
    dets = [dut.g_det[d].u_peel for d in range(pco)]  # the peelers' results (tag = group)
    if stim.get("sum_steps"):  # one accumulator holds the sum over the steps
        results = [[[g, [sum(s)]] for g, s in r] for r in results]
        num_acc, acc_w = 1, stim["acc_w"] + (stim["T"]).bit_length()

    await start(dut, "in_valid_i", "in_data_i", "out_ready_i")
    source = StreamSource.port(dut, "in", gaps=bernoulli_gaps(rng, stim["in_gap"]))
    got: list[int] = []
    StreamSink.port(dut, "out", stall=stim["out_stall"], rng=rng, callback=got.append)
    for b in beats:
        source.append(b)

    rpos = [0] * pco
    cycle = checked = 0
    limit = 100_000 + 50 * sum(len(r) for r in results) + 20 * len(beats)
    while len(got) < len(outs):
        await RisingEdge(dut.clk_i)
        cycle += 1
        assert cycle < limit, f"timeout: {len(got)}/{len(outs)} outputs, results at {rpos}"
        await ReadOnly()
        for d in range(pco):
            if dets[d].res_valid_o.value:
                k = rpos[d]
                assert k < len(results[d]), f"detector {d}: more results than expected"
                grp, want = results[d][k]
                got_g = int(dets[d].res_tag_o.value)
                word = int(dets[d].res_acc_o.value)
                acc = [_signed((word >> (a * acc_w)) & ((1 << acc_w) - 1), acc_w)
                       for a in range(num_acc)]
                assert (got_g, acc) == (grp, want), (
                    f"detector {d} result {k}: group {got_g} sums {acc}, golden group {grp} "
                    f"sums {want}")
                rpos[d] += 1
        while checked < len(got):
            oi = checked
            assert oi < len(outs), f"output {oi}: more outputs than the golden model's"
            assert got[oi] == outs[oi], f"output {oi}: RTL {got[oi]:#x}, golden {outs[oi]:#x}"
            checked += 1
    # pixels dropped by an odd-sized pool are still computed after the last output
    for _ in range(100_000):
        await RisingEdge(dut.clk_i)
        await ReadOnly()
        if int(dut.cnt_pixels_o.value) >= stim["conv_pixels"]:
            break
    assert int(dut.cnt_pixels_o.value) == stim["conv_pixels"], "pixel counter"
    with open(os.environ["FIREFLYS_RESULT"], "w") as f:
        json.dump({"cycles": cycle, "busy": int(dut.cnt_busy_o.value),
                   "pairs": int(dut.cnt_pairs_o.value),
                   "pixels": int(dut.cnt_pixels_o.value),
                   "occ_word": str(int(dut.cnt_occ_o.value))}, f)
