"""Sparsity detector (cocotb + Verilator) against a Python model; PCI swept 8..64."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fireflys.compiler.bitmap import addr_width, pack_hw, wt_depth
from fireflys.compiler.memimg import write_detector_images
from fireflys.paths import hdl_sources
from fireflys.verify.hdlsim import run_cocotb
from fireflys.verify.vectors import pack_rows


def make_cases(w: np.ndarray, lp: int, pci: int, direct: bool, skip: bool, look: int,
               rng: np.random.Generator, bias: np.ndarray) -> list[dict]:
    """w: [G, KH, KW, CI] weights of one detector's channels (PCO = 1)."""
    g_n, kh, kw, ci = w.shape
    spp = -(-ci // pci)
    full = np.zeros((g_n, kh, kw, spp * pci), dtype=np.int64)
    full[..., :ci] = w
    flat = full.reshape(g_n, -1)  # window order (ky, kx, ci padded)
    n = flat.shape[1]
    cases = []
    kinds = ["zero", "ones", "single", "random", "random", "sparse", "random"]
    for kind in kinds:
        if kind == "zero":
            win = np.zeros((lp, n), dtype=np.int64)
        elif kind == "ones":
            win = np.ones((lp, n), dtype=np.int64)
        elif kind == "single":
            win = np.zeros((lp, n), dtype=np.int64)
            win[rng.integers(lp), rng.integers(n)] = 1
        else:
            win = (rng.random((lp, n)) < (0.05 if kind == "sparse" else 0.4)).astype(np.int64)
        results, pairs = [], 0
        per_group = []
        for g in range(g_n):
            hits = win * (flat[g] != 0)[None]
            np_ = int(hits.sum())
            pairs += np_
            per_group.append(np_)
            if skip and np_ == 0:
                continue  # skipped: no result
            if direct:
                sums = [int(sum((hits[b] * flat[g]).sum() << b for b in range(lp)))]
            else:
                sums = [int((hits[t] * flat[g]).sum()) for t in range(lp)]
            results.append([g, sums, int(bias[g])])
        if skip:  # per mask word: its pairs, or one cycle when it has none
            words = [sum(per_group[i : i + look]) for i in range(0, g_n, look)]
            cycles = sum(v if v else 1 for v in words)
        else:
            cycles = g_n * lp * n
        cases.append({"window": pack_rows(win.reshape(1, -1))[0], "results": results,
                      "pairs": pairs, "cycles": cycles,
                      "gap": int(rng.choice([0, 0, 1, 3]))})
    return cases


# every PCI with skipping for spike and direct input, group look-ahead 1, 2 and 4 (of 4
# groups); the dense baseline at two PCIs
CASES = [(p, d, True, lk) for p, lk in ((8, 1), (16, 2), (32, 4), (64, 2)) for d in (False, True)]
CASES += [(8, False, False, 1), (16, True, False, 2)]


@pytest.mark.parametrize(("pci", "direct", "skip", "look"), CASES)
def test_detector(tmp_path, pci: int, direct: bool, skip: bool, look: int) -> None:
    rng = np.random.default_rng(pci + 100 * direct + 1000 * skip + 10000 * look)
    groups, kh, kw = 4, 3, 3
    ci = pci + pci // 2 + 1  # not a multiple of PCI
    lp = 4 if not direct else 3
    vals = rng.integers(-8, 8, (groups, kh, kw, ci))
    vals[vals == 0] = 7
    dens = [1.0, 0.3, 0.0, 0.05]  # dense, sparse, empty and very sparse channels
    w = np.stack([np.where(rng.random(vals[g].shape) < dens[g], vals[g], 0)
                  for g in range(groups)]).astype(np.int8)
    bias = rng.integers(-5, 6, groups)
    p = pack_hw(w, 1, pci)
    widths = {"bias": 5, "theta": 4}
    write_detector_images(tmp_path, "D", p, 0, bias, np.ones(groups, dtype=np.int64), widths,
                          look)
    acc_w = 20
    cases = make_cases(w.astype(np.int64), lp, pci, direct, skip, look, rng, bias)
    stim = tmp_path / "stim.json"
    stim.write_text(json.dumps({"cases": cases, "acc_w": acc_w, "num_acc": 1 if direct else lp,
                                "bias_w": widths["bias"], "seed": pci}))
    pre = str(tmp_path / "D_d0_")
    run_cocotb(
        "sparse_detector", hdl_sources("sparse_detector", "lsb_encoder", "popcount", "sync_rom"),
        "tb_detector",
        parameters={
            "L": lp, "Nseg": p.nseg, "Pci": pci, "Groups": groups, "Look": look,
            "WtDepth": wt_depth(p),
            "AccW": acc_w, "BiasW": widths["bias"], "ThetaW": widths["theta"],
            "Direct": int(direct), "Skip": int(skip),
            "MaskFile": f'"{pre}mask.hex"', "PtrFile": f'"{pre}ptr.hex"',
            "WtFile": f'"{pre}wt.hex"', "BiasFile": f'"{pre}bias.hex"',
            "ThetaFile": f'"{pre}theta.hex"',
        },
        extra_env={"FIREFLYS_STIM": str(stim)},
    )
    assert addr_width(wt_depth(p)) >= 1
