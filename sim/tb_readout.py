"""cocotb: class_readout against a Python argmax (tests/test_hdl_readout.py writes the
stimulus: input beats and the expected output beats, in order; the scores are signed).

FIREFLYS_STIM (JSON): inputs and outputs (hex words), the input gap and output stall
probabilities and the seed. Every beat comes out once, in order, held while stalled.
"""

from __future__ import annotations

import json
import os
import random

import cocotb
from cocotb.triggers import FallingEdge

from tbutil import start


@cocotb.test()
async def readout_matches_model(dut) -> None:
    stim = json.loads(open(os.environ["FIREFLYS_STIM"]).read())
    rng = random.Random(stim["seed"])
    await start(dut, "in_valid_i", "in_data_i", "out_ready_i")
    want, sent, got, cycle = stim["outputs"], 0, [], 0
    held = None  # the beat offered while the output was stalled
    while len(got) < len(want):
        await FallingEdge(dut.clk_i)
        cycle += 1
        assert cycle < 40 * len(want) + 100, f"stuck after {len(got)} beats"
        # outputs and ready are read between edges; what is driven now is taken at the next
        # rising edge (ready does not depend on valid)
        ready = rng.random() >= stim["out_stall"]
        dut.out_ready_i.value = int(ready)
        if dut.out_valid_o.value:
            beat = hex(int(dut.out_data_o.value))
            assert held is None or beat == held, f"beat changed while stalled: {held} -> {beat}"
            if ready:
                k = len(got)
                assert beat == want[k], f"beat {k}: RTL {beat}, model {want[k]}"
                got.append(beat)
                held = None
            else:
                held = beat
        if sent < len(stim["inputs"]) and rng.random() >= stim["in_gap"]:
            dut.in_data_i.value = int(stim["inputs"][sent], 16)
            dut.in_valid_i.value = 1
            sent += int(dut.in_ready_o.value)
        else:
            dut.in_valid_i.value = 0
    for _ in range(3 * len(want) + 20):
        await FallingEdge(dut.clk_i)
        assert not (dut.out_valid_o.value and dut.out_ready_i.value), "more beats than inputs"
        dut.in_valid_i.value = 0
