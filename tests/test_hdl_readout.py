"""class_readout (the last core's argmax) against a Python model: random scores with ties,
both score sources (integrated currents, spike counts), 1..12 classes, gaps and stalls."""

from __future__ import annotations

import json
import random

import pytest

from fireflys.paths import REPO, hdl_sources
from fireflys.verify.hdlsim import run_cocotb


def expected(scores: list[int], score_w: int) -> int:
    """The output beat {pred, score[Co-1], ..., score[0]}: pred = lowest index of the max."""
    pred = scores.index(max(scores))
    word = 0
    for c, s in enumerate(scores):
        word |= (s & ((1 << score_w) - 1)) << (c * score_w)
    return word | pred << (len(scores) * score_w)


CASES = {
    "scores-co10-w11": dict(co=10, t=4, score_w=11, spikes=False),
    "scores-co2-w3": dict(co=2, t=4, score_w=3, spikes=False),
    "scores-co1-w5": dict(co=1, t=4, score_w=5, spikes=False),
    "spikes-co12-t8": dict(co=12, t=8, score_w=5, spikes=True),
    "spikes-co5-t1": dict(co=5, t=1, score_w=2, spikes=True),
}


@pytest.mark.parametrize("case", list(CASES))
def test_readout_matches_model(case: str) -> None:
    c = CASES[case]
    rng = random.Random(case)
    co, t, w = c["co"], c["t"], c["score_w"]
    inputs, outputs = [], []
    for _ in range(60):
        if c["spikes"]:
            bits = [[rng.random() < 0.75 for _ in range(co)] for _ in range(t)]
            word = sum(b << (s * co + k) for s, row in enumerate(bits) for k, b in enumerate(row))
            scores = [sum(bits[s][k] for s in range(t)) for k in range(co)]
        else:  # few distinct values: ties are common
            lo, hi = -(1 << (w - 1)), (1 << (w - 1)) - 1
            vals = [rng.randint(lo, hi) for _ in range(3)] + [lo, hi]
            scores = [rng.choice(vals) for _ in range(co)]
            word = sum((s & ((1 << w) - 1)) << (k * w) for k, s in enumerate(scores))
        inputs.append(hex(word))
        outputs.append(hex(expected(scores, w)))
    work = REPO / "build" / "readout" / case
    work.mkdir(parents=True, exist_ok=True)
    stim = {"inputs": inputs, "outputs": outputs, "in_gap": 0.3, "out_stall": 0.4, "seed": 3}
    (work / "stim.json").write_text(json.dumps(stim))
    params = {"Co": co, "T": t, "ScoreW": w, "FromSpikes": int(c["spikes"])}
    run_cocotb("class_readout", hdl_sources("class_readout", "popcount"), "tb_readout",
               parameters=params, build_root=work / "sim_build",
               extra_env={"FIREFLYS_STIM": str(work / "stim.json")})
