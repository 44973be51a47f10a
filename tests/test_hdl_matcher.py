"""pattern_matcher (the Phi matcher): every output pixel against the software model for
random patterns and pixels, many shapes; patterns selected on recurring pixels so that
blocks do use them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fireflys.compiler.memimg import write_hex
from fireflys.paths import REPO, hdl_sources
from fireflys.phi import hw as phihw
from fireflys.phi.tables import PhiLayer, pack_bits, pixel_blocks
from fireflys.verify.hdlsim import run_cocotb

CASES = {  # id: (L, Ci, K, q used per block, M)
    "t4-c16-k16-q16-m1": (4, 16, 16, 16, 1),
    "t4-c7-k3-q3-m2-padded": (4, 7, 3, 3, 2),
    "t2-c64-k64-q8-m8": (2, 64, 64, 8, 8),
    "t3-c20-k8-q5-m4": (3, 20, 8, 5, 4),
    "t1-c5-k5-q0": (1, 5, 5, 0, 1),
}


def _pixels(rng: np.random.Generator, n: int, steps: int, ci: int,
            protos: np.ndarray) -> np.ndarray:
    """Pixels [n, L, Ci]: most steps a prototype with a bit or two flipped, some silent."""
    out = np.zeros((n, steps, ci), dtype=np.uint8)
    for i in range(n):
        base = protos[rng.integers(len(protos))]
        for t in range(steps):
            if rng.random() < 0.25:
                continue
            v = base.copy()
            flip = rng.integers(0, ci, rng.integers(0, 3))
            v[flip] ^= 1
            out[i, t] = v
    return out


def _ties(tl: PhiLayer, pixels: np.ndarray) -> int:
    """Blocks whose minimum distance is reached by two patterns."""
    blocks = pixel_blocks(pixels, tl.k)
    n = 0
    for b, pats in enumerate(tl.patterns):
        if len(pats) < 2:
            continue
        a = blocks[..., b]
        d = (np.bitwise_count(a[:, :, None] ^ pats[None, None]) * (a != 0)[:, :, None]).sum(1)
        n += int(((d == d.min(axis=1, keepdims=True)).sum(axis=1) > 1).sum())
    return n


SLOW = {"t2-c64-k64-q8-m8", "t3-c20-k8-q5-m4", "t1-c5-k5-q0"}  # make test-all only


@pytest.mark.parametrize("case", [
    pytest.param(c, marks=pytest.mark.slow) if c in SLOW else c for c in CASES])
def test_matcher_against_model(case: str) -> None:
    steps, ci, k, q, m = CASES[case]
    rng = np.random.default_rng(sum(map(ord, case)))
    nb = -(-ci // k)
    protos = (rng.random((6, ci)) < 0.4).astype(np.uint8)
    # patterns: blocks of the prototypes (the first q), then random ones
    pb = pixel_blocks(protos[None], k)[0]  # 6, nb
    pats = []
    for b in range(nb):
        kb = min(k, ci - b * k)
        cand = list(dict.fromkeys(int(v) for v in pb[:, b]))
        # single-bit neighbours of a prototype: a pixel two flips away ties between two
        # of them (the lowest index must win)
        cand += [int(pb[0, b]) ^ (1 << i) for i in range(kb)]
        cand = list(dict.fromkeys(cand))
        while len(cand) < q:
            cand.append(int(pack_bits((rng.random(kb) < 0.5).astype(np.uint8))))
        pats.append(np.array(cand[:q] if b != 1 else cand[: max(0, q - 1)], dtype=np.uint64))
    tl = PhiLayer(0, k, pats, np.zeros((1, 1, 1, nb, 0), dtype=np.int64))
    slots = phihw.q_slots(tl)
    pixels = _pixels(rng, 60, steps, ci, protos)
    want = phihw.matcher_outputs(tl, pixels)
    assert q == 0 or any(w[2] for w in want), "no block uses a pattern: nothing tested"
    if q >= 3:  # the stimulus has ties at the minimum distance (checked in the model)
        assert _ties(tl, pixels) > 0, "no tie between patterns: lowest-index rule untested"
    work = REPO / "build" / "matcher" / case
    work.mkdir(parents=True, exist_ok=True)
    rom = work / "pat.hex"
    write_hex(rom, phihw.matcher_rom(tl, slots, m), m * nb * (k + 1), signed=False)
    flat = [sum(int(pixels[i, t, c]) << (t * ci + c) for t in range(steps) for c in range(ci))
            for i in range(len(pixels))]
    stim = work / "stim.json"
    stim.write_text(json.dumps({
        "pixels": [f"{v:x}" for v in flat], "want": [[f"{f:x}" for f in w] for w in want],
        "in_gap": 0.3, "stall": 0.3, "seed": 1, "chunks": slots // m}))
    run_cocotb("pattern_matcher", hdl_sources("pattern_matcher", "lut_rom"), "tb_matcher",
               parameters={"L": steps, "Ci": ci, "K": k, "Q": slots, "M": m,
                           "PatFile": f'"{rom}"'},
               build_root=work / "sim_build", extra_env={"FIREFLYS_STIM": str(stim)})
