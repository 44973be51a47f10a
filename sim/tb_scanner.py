"""cocotb: window_unit + mask_scanners (sim/scan_harness.sv) against a Python model.

FIREFLYS_STIM (JSON): input beats (hex), the detector count, per detector the expected queue
words in order (bits, planes, mask, ptr, count, open, close, tag; hex), the input gap and
out-of-queue stall probabilities and the seed. Every word each scanner queues must be the
model's next one (its planes at the word's positions, the only ones the peeler reads: the
scanner queues the planes as read); the head's fields are read when the word is popped, its
planes and mask the cycle after (the scanner shows the body of the word popped last); at the
end every word has come out and nothing more does.
"""

from __future__ import annotations

import json
import os
import random

import cocotb
from cocotb.triggers import FallingEdge

from streams import StreamSource, bernoulli_gaps
from tbutil import start

FIELDS = ("bits", "planes", "mask", "ptr", "count", "le1", "open", "close", "tag")
BODY = ("planes", "mask")  # shown from the cycle after the pop


@cocotb.test()
async def scanner_words_match_model(dut) -> None:
    stim = json.loads(open(os.environ["FIREFLYS_STIM"]).read())
    rng = random.Random(stim["seed"])
    pco = stim["pco"]
    want = [[tuple(int(w[f], 16) for f in FIELDS) for w in det] for det in stim["words"]]
    await start(dut, "in_valid_i", "in_data_i", "gate_i", "out_ready_i")
    source = StreamSource.port(dut, "in", gaps=bernoulli_gaps(rng, stim["in_gap"]))
    for b in stim["beats"]:
        source.append(int(b, 16))
    widths = {f: len(getattr(dut, f"out_{f}_o")) // pco for f in FIELDS}
    planes = widths["planes"] // widths["bits"]

    def at_positions(word: tuple[int, ...]) -> tuple[int, ...]:
        """The word with its planes cut to its positions (bits)."""
        f = dict(zip(FIELDS, word, strict=True))
        f["planes"] &= sum(f["bits"] << (lv * widths["bits"]) for lv in range(planes))
        return tuple(f[k] for k in FIELDS)

    want = [[at_positions(w) for w in det] for det in want]
    got = [0] * pco
    popped: list[dict[str, int] | None] = [None] * pco  # head fields of last cycle's pops
    cycle = idle = 0
    while idle < 200:
        await FallingEdge(dut.clk_i)
        cycle += 1
        assert cycle < 400 * sum(map(len, want)) + 20000, f"stuck: words out {got}"
        valid = int(dut.out_valid_o.value)
        fields = {f: int(getattr(dut, f"out_{f}_o").value) for f in FIELDS}
        for d in range(pco):
            if popped[d] is not None:
                head, popped[d] = popped[d], None
                body = {f: fields[f] >> (d * widths[f]) & ((1 << widths[f]) - 1) for f in BODY}
                word = at_positions(tuple({**head, **body}[f] for f in FIELDS))
                k = got[d]
                assert k < len(want[d]), f"detector {d}: more words than the model's"
                if word != want[d][k]:
                    diff = {f: (hex(a), hex(b)) for f, a, b in zip(FIELDS, word, want[d][k],
                                                                     strict=True) if a != b}
                    raise AssertionError(f"detector {d}, word {k}: RTL vs model {diff}")
                got[d] += 1
        # ready driven now is sampled at the coming edge, with this cycle's valid and data
        ready = sum(int(rng.random() >= stim["stall"]) << d for d in range(pco))
        dut.out_ready_i.value = ready
        for d in range(pco):
            if valid >> d & 1 and ready >> d & 1:
                popped[d] = {f: fields[f] >> (d * widths[f]) & ((1 << widths[f]) - 1)
                             for f in FIELDS if f not in BODY}
        done = all(g == len(w) for g, w in zip(got, want, strict=True)) and popped == [None] * pco
        idle = idle + 1 if done and source.accepted == len(stim["beats"]) else 0
        dut.gate_i.value = int(rng.random() < 0.9)
