"""cocotb: the line buffer's windows equal numpy im2col (padding, segment layout), for random
frames streamed back to back with random input gaps and window back-pressure."""

from __future__ import annotations

import json
import os
import random

import cocotb
from cocotb.triggers import ReadOnly, RisingEdge

from tbutil import start


@cocotb.test()
async def windows_match_im2col(dut) -> None:
    stim = json.loads(open(os.environ["FIREFLYS_STIM"]).read())
    rng = random.Random(stim["seed"])
    beats = [int(v, 16) for v in stim["beats"]]
    wins = [int(v, 16) for v in stim["windows"]]
    await start(dut, "in_valid_i", "in_data_i", "win_ready_i")
    bi, wi, cycle = 0, 0, 0
    while wi < len(wins):
        await RisingEdge(dut.clk_i)
        cycle += 1
        assert cycle < 100 * (len(beats) + len(wins)) + 1000, f"timeout at window {wi}"
        drive = bi < len(beats) and rng.random() >= stim["in_gap"]
        dut.in_valid_i.value = int(drive)
        if drive:
            dut.in_data_i.value = beats[bi]
        dut.win_ready_i.value = int(rng.random() >= stim["out_stall"])
        await ReadOnly()
        if drive and dut.in_ready_o.value:
            bi += 1
        if dut.win_valid_o.value and dut.win_ready_i.value:
            got = int(dut.win_data_o.value)
            if got != wins[wi]:
                diff = got ^ wins[wi]
                bit = (diff & -diff).bit_length() - 1
                raise AssertionError(f"window {wi}: first differing bit {bit} "
                                     f"(RTL {(got >> bit) & 1}), inputs accepted {bi}")
            wi += 1
