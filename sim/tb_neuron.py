"""cocotb: lif_neuron against the golden model's neuron (tests/test_hdl_neuron.py writes the
stimulus: accumulator words, tags, and the expected spikes or scores in order).

FIREFLYS_STIM (JSON): inputs (acc word, tag; hex), expected outputs ([tag, spikes or score];
hex), the input gap probability and the seed. One result per input, in order, none dropped,
no stall between inputs.
"""

from __future__ import annotations

import json
import os
import random

import cocotb
from cocotb.triggers import FallingEdge

from tbutil import start


@cocotb.test()
async def neuron_matches_golden(dut) -> None:
    stim = json.loads(open(os.environ["FIREFLYS_STIM"]).read())
    rng = random.Random(stim["seed"])
    score = stim["score"]
    await start(dut, "in_valid_i", "in_acc_i", "in_tag_i", "in_done_i")
    got, sent, cycle = [], 0, 0
    dones: list[int] = []  # cycle each done was driven, seen again after the latency
    sent_at: list[int] = []
    lat = None  # cycles from an input to its result: the same for every result and done
    want = stim["outputs"]
    while len(got) < len(want):
        await FallingEdge(dut.clk_i)
        cycle += 1
        assert cycle < 10 * len(want) + 100, f"stuck after {len(got)} results"
        if dut.out_done_o.value:
            assert dones, "a done out that never went in"
            d_lat = cycle - dones.pop(0)
            assert lat is None or d_lat == lat, f"done after {d_lat} cycles, results {lat}"
        if dut.out_valid_o.value:
            r_lat = cycle - sent_at[len(got)]
            assert lat is None or r_lat == lat, f"result after {r_lat} cycles, before {lat}"
            lat = r_lat
            out = int(dut.out_score_o.value) if score else int(dut.out_spikes_o.value)
            res = [hex(int(dut.out_tag_o.value)), hex(out)]
            k = len(got)
            assert res == want[k], f"result {k}: RTL {res}, golden {want[k]}"
            got.append(res)
        if sent < len(stim["inputs"]) and rng.random() >= stim["in_gap"]:
            acc, tag = stim["inputs"][sent]
            dut.in_acc_i.value = int(acc, 16)
            dut.in_tag_i.value = int(tag, 16)
            dut.in_valid_i.value = 1
            sent_at.append(cycle)
            sent += 1
        else:
            dut.in_valid_i.value = 0
        done = rng.random() < 0.3
        dut.in_done_i.value = int(done)
        if done:
            dones.append(cycle)
    for _ in range(2 * len(dut.out_spikes_o) + 8):
        await FallingEdge(dut.clk_i)
        assert not dut.out_valid_o.value, "more results than inputs"
        if dut.out_done_o.value:
            dones.pop(0)
        dut.in_done_i.value = 0
    assert not dones, f"{len(dones)} dones went in and never came out"
