"""lif_neuron (the pipelined neuron) against the golden model's neuron (golden.fire):
random currents, both resets, leak on and off, T = 1..8, one accumulator or one per step,
and the integrate readout."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fireflys.compiler.memimg import write_hex
from fireflys.core.golden import fire
from fireflys.paths import REPO, hdl_sources
from fireflys.verify.hdlsim import run_cocotb

ACC_W, BIAS_W, THETA_W, V_W, SCORE_W = 10, 4, 8, 13, 14

CASES = {  # id: (T, NumAcc per step?, reset, K, score, sum in)
    "t4-lanes-zero-k1": (4, True, "zero", 1, False, False),
    "t4-lanes-sub-k0": (4, True, "subtract", 0, False, False),
    "t8-direct-sub-k2": (8, False, "subtract", 2, False, False),
    "t1-lanes-zero-k1": (1, True, "zero", 1, False, False),
    "t4-score-sumin": (4, False, "zero", 1, True, True),
    "t5-score-direct": (5, False, "zero", 1, True, False),
}
SLOW = {  # cases run by make test-all only
    "t4-lanes-sub-k0",
    "t1-lanes-zero-k1",
    "t5-score-direct",
}


@pytest.mark.parametrize("case", [
    pytest.param(c, marks=pytest.mark.slow) if c in SLOW else c for c in CASES])
def test_neuron_matches_golden(case: str) -> None:
    t_steps, per_step, reset, k, score, sum_in = CASES[case]
    rng = np.random.default_rng(sum(map(ord, case)))
    groups, n = 6, 300
    num_acc = t_steps if per_step else 1
    bias = rng.integers(-8, 8, groups)
    theta = rng.integers(1, 100, groups)
    tags = rng.integers(0, groups, n)
    acc_w = ACC_W + 3 if sum_in else ACC_W
    acc = rng.integers(-200, 200, (n, num_acc))
    if sum_in:  # the sum over the steps of per-step accumulators
        acc = rng.integers(-200, 200, (n, t_steps)).sum(axis=1, keepdims=True)
    words = [sum((int(a) & ((1 << acc_w) - 1)) << (i * acc_w) for i, a in enumerate(row))
             for row in acc]
    if score:
        # sum over the steps of cur = acc + bias (one accumulator: the same every step)
        vals = acc[:, 0] + t_steps * bias[tags] if sum_in else t_steps * (acc[:, 0] + bias[tags])
        outs = [int(v) & ((1 << SCORE_W) - 1) for v in vals]
    else:
        cur = np.broadcast_to(acc, (n, t_steps)) + bias[tags][:, None]
        spk = np.stack([fire(cur[i].reshape(1, t_steps, 1, 1, 1).astype(np.int64),
                             theta[tags[i]:tags[i] + 1], k, reset).reshape(t_steps)
                        for i in range(n)])
        outs = [sum(int(b) << t for t, b in enumerate(row)) for row in spk]
    work = REPO / "build" / "neuron" / case
    work.mkdir(parents=True, exist_ok=True)
    write_hex(work / "bias.hex", bias.tolist(), BIAS_W, signed=True)
    write_hex(work / "theta.hex", theta.tolist(), THETA_W, signed=True)
    stim = {"inputs": [[hex(w), hex(int(t))] for w, t in zip(words, tags, strict=True)],
            "outputs": [[hex(int(t)), hex(o)] for t, o in zip(tags, outs, strict=True)],
            "score": score, "in_gap": 0.3, "seed": 2}
    (work / "stim.json").write_text(json.dumps(stim))
    run_cocotb("lif_neuron", hdl_sources("lif_neuron", "lut_rom"), "tb_neuron",
               parameters={"T": t_steps, "NumAcc": num_acc, "SumIn": int(sum_in),
                           "AccW": acc_w, "BiasW": BIAS_W, "ThetaW": THETA_W, "VW": V_W,
                           "ScoreW": SCORE_W, "K": k, "ResetSub": int(reset == "subtract"),
                           "Score": int(score), "Groups": groups, "TagW": 3,
                           "BiasFile": f'"{work / "bias.hex"}"',
                           "ThetaFile": f'"{work / "theta.hex"}"'},
               build_root=work / "sim_build", extra_env={"FIREFLYS_STIM": str(work / "stim.json")})
