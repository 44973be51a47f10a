"""cocotb: spike_peeler against a Python model (tests/test_hdl_peeler.py writes the stimulus).

FIREFLYS_STIM (JSON): words (bits, planes, mask, ptr, count, le1 = count <= 1, open, close,
tag; Phi mode also pbase, sign, tlanes, tidx; hex), the input gap probability and the
seed, and the expected events in order (["res", accumulator word, tag], ["done"]; a result
and a done in one cycle: the result first). Word i sits in queue slot i mod Slots: the
testbench answers the peeler's body reads (planes, mask and the Phi fields of the slot) like
the scanner's queue. Checks every event,
the peel stage's busy cycles (one position per cycle, a word with no position one cycle, the
extra cycle of an open-and-close word, no bubble between words), the pair counter and that
each word frees its slot once, on its last cycle.
"""

from __future__ import annotations

import json
import os
import random

import cocotb
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from streams import StreamSource, bernoulli_gaps
from tbutil import start

FIELDS = ("bits", "slot", "ptr", "count", "le1", "open", "close", "tag", "pbase")  # the head
BODY = ("planes", "mask", "sign", "tlanes", "tidx")  # read in the word's slot while peeled


async def answer_body_reads(dut, source: StreamSource, bodies: list[tuple[int, int]],
                            slots: int) -> None:
    """Drive the planes and mask of the slot the peeler reads (the last word loaded holds
    it), between edges, like the scanner queue's LUT-RAM read."""
    while True:
        await FallingEdge(dut.clk_i)
        k = source.accepted - 1
        ok = k >= 0 and int(dut.body_slot_o.value) == k % slots
        for f, v in zip(BODY, bodies[k] if ok else [0] * len(BODY), strict=True):
            getattr(dut, f"body_{f}_i").value = v  # no word in that slot: 0


@cocotb.test()
async def peeler_matches_model(dut) -> None:
    stim = json.loads(open(os.environ["FIREFLYS_STIM"]).read())
    rng = random.Random(stim["seed"])
    slots = 1 << len(dut.in_slot_i)
    for i, w in enumerate(stim["words"]):
        w["slot"] = hex(i % slots)
    for w in stim["words"]:  # bitmap-mode words have no Phi fields
        for f in ("pbase", "sign", "tlanes", "tidx"):
            w.setdefault(f, "0x0")
    words = [tuple(int(w[f], 16) for f in FIELDS) for w in stim["words"]]
    bodies = [tuple(int(w[f], 16) for f in BODY) for w in stim["words"]]
    want = stim["results"]
    await start(dut, *(f"in_{f}_i" for f in (*FIELDS, "valid")),
                *(f"body_{f}_i" for f in BODY))
    source = StreamSource(dut, dut.clk_i, valid="in_valid_i", ready="in_ready_o",
                          data=[f"in_{f}_i" for f in FIELDS],
                          gaps=bernoulli_gaps(rng, stim["in_gap"]))
    for w in words:
        source.append(w)
    cocotb.start_soon(answer_body_reads(dut, source, bodies, slots))
    got, busy, pairs, cycles, frees = [], 0, 0, 0, 0
    while len(got) < len(want) or source.accepted < len(words):
        await RisingEdge(dut.clk_i)
        await ReadOnly()
        cycles += 1
        assert cycles < 100 * len(words) + 1000, f"stuck after {len(got)} results"
        busy += int(dut.busy_o.value)
        pairs += int(dut.pair_o.value)
        if dut.free_o.value:
            frees += 1
            assert dut.busy_o.value and frees <= source.accepted, "a slot freed twice"
            assert int(dut.body_slot_o.value) == (frees - 1) % slots, "the wrong slot freed"
        events = []
        if dut.res_valid_o.value:
            events.append(["res", hex(int(dut.res_acc_o.value)), hex(int(dut.res_tag_o.value))])
        if dut.done_o.value:
            events.append(["done"])
        for ev in events:
            k = len(got)
            assert k < len(want), f"more events than expected: {ev}"
            assert ev == want[k], f"event {k}: RTL {ev}, model {want[k]}"
            got.append(ev)
    for _ in range(16):  # drain: nothing more comes out
        await RisingEdge(dut.clk_i)
        await ReadOnly()
        busy += int(dut.busy_o.value)
        pairs += int(dut.pair_o.value)
        frees += int(dut.free_o.value)
        assert not dut.res_valid_o.value, "a result without a group end"
        assert not dut.done_o.value, "a done without a closing word"
    assert busy == stim["busy"], f"peel stage busy {busy} cycles, model {stim['busy']}"
    assert pairs == stim["pairs"], f"{pairs} positions peeled, model {stim['pairs']}"
    assert frees == len(words), f"{frees} slots freed, {len(words)} words"
