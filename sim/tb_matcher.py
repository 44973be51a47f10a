"""cocotb: pattern_matcher (Phi Level 1) against fireflys.phi.hw.matcher_outputs.

FIREFLYS_STIM (JSON): input pixels (hex, plane l at bits [l*Ci, (l+1)*Ci)), the expected
(planes, pattern, lanes, index) of each, the input gap and output stall probabilities and
the seed. Every output beat must equal the model's, in order, one per input pixel.
"""

from __future__ import annotations

import json
import os
import random

import cocotb
from cocotb.triggers import ReadOnly, RisingEdge

from streams import StreamSource, bernoulli_gaps
from tbutil import start


@cocotb.test()
async def matcher_matches_the_model(dut) -> None:
    stim = json.loads(open(os.environ["FIREFLYS_STIM"]).read())
    rng = random.Random(stim["seed"])
    pixels = [int(v, 16) for v in stim["pixels"]]
    want = [tuple(int(f, 16) for f in w) for w in stim["want"]]
    await start(dut, "in_valid_i", "in_pixel_i", "out_ready_i")
    source = StreamSource(dut, dut.clk_i, valid="in_valid_i", ready="in_ready_o",
                          data="in_pixel_i", gaps=bernoulli_gaps(rng, stim["in_gap"]))
    for p in pixels:
        source.append(p)
    got = 0
    cycles = 0
    limit = 100 * len(pixels) * (stim["chunks"] + 8) + 1000
    while got < len(want):
        dut.out_ready_i.value = int(rng.random() >= stim["stall"])
        await ReadOnly()
        if dut.out_valid_o.value and dut.out_ready_i.value:
            beat = (int(dut.out_planes_o.value), int(dut.out_pat_o.value),
                    int(dut.out_lanes_o.value), int(dut.out_idx_o.value))
            assert beat == want[got], (
                f"pixel {got}: got planes/pattern/lanes/index "
                f"{[hex(v) for v in beat]}, want {[hex(v) for v in want[got]]}")
            got += 1
        await RisingEdge(dut.clk_i)
        cycles += 1
        assert cycles < limit, f"stuck after {got} of {len(want)} pixels"
    for _ in range(20):  # nothing more comes out
        await RisingEdge(dut.clk_i)
        await ReadOnly()
        assert not dut.out_valid_o.value, "an extra output beat"
