"""cocotb: window_unit against im2col with model detectors.

FIREFLYS_STIM (JSON): the input beats (hex) and, per window in order over all frames, its
pixels per kernel position (hex, 0 outside the image) and in-image flags; the detector count,
gap/take/finish probabilities and the seed. The testbench keeps a copy of the ring from the
broadcast write port, written one cycle late as a scanner does (it registers the write);
each model detector takes windows at random, reads any window it holds (taken, not finished;
from three cycles after the take, a scanner's earliest ring read) from its copy at random
cycles and checks every kernel position against im2col, and finishes its windows in order
at random. A window's pixels must stay intact until every detector has finished it, and every
window must arrive exactly once per detector.
"""

from __future__ import annotations

import json
import os
import random

import cocotb
from cocotb.triggers import FallingEdge

from streams import StreamSource, bernoulli_gaps
from tbutil import start


@cocotb.test()
async def windows_match_im2col(dut) -> None:
    stim = json.loads(open(os.environ["FIREFLYS_STIM"]).read())
    rng = random.Random(stim["seed"])
    beats = [int(v, 16) for v in stim["beats"]]
    wins = [([int(p, 16) for p in w["pixels"]], w["img"]) for w in stim["windows"]]
    pco, kw, width, depth = stim["pco"], stim["kw"], stim["w"], stim["depth"]
    kk = len(wins[0][0])
    await start(dut, "in_valid_i", "in_data_i", "gate_i", "desc_take_i", "desc_fin_i")
    source = StreamSource.port(dut, "in", gaps=bernoulli_gaps(rng, stim["in_gap"]))
    for b in beats:
        source.append(b)
    ring = [0] * depth
    held: list[list[tuple[int, int, int]]] = [[] for _ in range(pco)]  # (seq, base, img)
    taken, finished = [0] * pco, [0] * pco
    cycle = 0
    pending = None  # the write of the cycle before, in the scanners' register
    while min(finished) < len(wins):
        await FallingEdge(dut.clk_i)
        cycle += 1
        assert cycle < 200 * (len(beats) + len(wins)) + 2000, (
            f"stuck: taken {taken}, finished {finished}")
        valid = int(dut.desc_valid_o.value)
        bases = int(dut.desc_base_o.value)
        imgs = int(dut.desc_img_o.value)
        aw = len(dut.desc_base_o) // pco
        take = fin = 0
        for d in range(pco):
            for seq, base, img, at in held[d]:  # every window held must read back intact
                if cycle < at + 3 or rng.random() < 0.5:
                    continue
                want_px, want_img = wins[seq]
                got_img = [img >> k & 1 for k in range(kk)]
                assert got_img == want_img, f"window {seq}: in-image flags {got_img}"
                for k in range(kk):
                    px = ring[(base + k // kw * width + k % kw) % depth] if got_img[k] else 0
                    assert px == want_px[k], (
                        f"detector {d}, window {seq}, kernel position {k}: ring "
                        f"{px:#x}, im2col {want_px[k]:#x} (cycle {cycle})")
            if valid >> d & 1 and len(held[d]) < 4 and rng.random() < stim["take"]:
                assert taken[d] < len(wins), f"detector {d}: more windows than im2col's"
                take |= 1 << d
                held[d].append((taken[d], bases >> (d * aw) & ((1 << aw) - 1),
                                imgs >> (d * kk) & ((1 << kk) - 1), cycle))
                taken[d] += 1
            elif held[d] and rng.random() < stim["fin"]:
                fin |= 1 << d
                held[d].pop(0)
                finished[d] += 1
        dut.desc_take_i.value = take
        dut.desc_fin_i.value = fin
        dut.gate_i.value = int(rng.random() < stim["gate"])
        if pending is not None:  # the scanner's write register lands at the coming edge,
            ring[pending] = int(dut.wr_data_o.value)  # with the pixel the window registered
        pending = int(dut.wr_addr_o.value) if dut.wr_en_o.value else None
    assert source.accepted == len(beats), f"{source.accepted} of {len(beats)} beats taken"
