"""cocotb: the line buffer's windows equal numpy im2col (padding, segment layout), for random
frames streamed back to back with random input gaps and window back-pressure."""

from __future__ import annotations

import json
import os
import random

import cocotb
from cocotb.triggers import RisingEdge

from streams import StreamSink, StreamSource, bernoulli_gaps
from tbutil import start


@cocotb.test()
async def windows_match_im2col(dut) -> None:
    stim = json.loads(open(os.environ["FIREFLYS_STIM"]).read())
    rng = random.Random(stim["seed"])
    beats = [int(v, 16) for v in stim["beats"]]
    wins = [int(v, 16) for v in stim["windows"]]
    await start(dut, "in_valid_i", "in_data_i", "win_ready_i")
    source = StreamSource.port(dut, "in", gaps=bernoulli_gaps(rng, stim["in_gap"]))
    got: list[int] = []
    StreamSink(dut, dut.clk_i, valid="win_valid_o", ready="win_ready_i", data="win_data_o",
               stall=stim["out_stall"], rng=rng, callback=got.append)
    for b in beats:
        source.append(b)
    cycle = wi = 0
    while wi < len(wins):
        await RisingEdge(dut.clk_i)
        cycle += 1
        assert cycle < 100 * (len(beats) + len(wins)) + 1000, f"timeout at window {wi}"
        while wi < len(got):
            assert wi < len(wins), f"window {wi}: more windows than im2col's"
            if got[wi] != wins[wi]:
                diff = got[wi] ^ wins[wi]
                bit = (diff & -diff).bit_length() - 1
                raise AssertionError(f"window {wi}: first differing bit {bit} "
                                     f"(RTL {(got[wi] >> bit) & 1}), inputs accepted "
                                     f"{source.accepted}")
            wi += 1
