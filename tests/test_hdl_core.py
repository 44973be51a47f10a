"""sparse_core (cocotb + Verilator) vs the golden model: every detector result and every
output word, for random sparse conv and FC layers across sparsities and parameters."""

from __future__ import annotations

import numpy as np
import pytest

from fireflys.compiler.compile import random_input, random_model
from fireflys.compiler.perf import predict_occupancy
from fireflys.core import golden
from fireflys.verify.rtlsim import simulate_core

CASES = {
    # id: (arch, layer, random_model options)
    "conv-pool-ci5pci4-co7pco3-sp50": ("5x6x6-7c3p1-mp2-4fc", 0,
                                        dict(encoding="spikes", sparsity=0.5, T=3,
                                             pco=[3, 2], pci=[4, 8])),
    "conv-pad0-dense-if-subtract": ("3x5x5-6c3-4fc", 0,
                                    dict(encoding="spikes", sparsity=0.0, k=0, reset="subtract",
                                         pco=[4, 4], pci=[2, 8])),
    "conv-k1-sp90": ("8x4x4-6c1-3fc", 0, dict(encoding="spikes", sparsity=0.9, pco=[6, 3],
                                               pci=[8, 8])),
    "conv-sp99-odd-pool": ("6x7x7-9c3p1-mp2-3fc", 0,
                           dict(encoding="spikes", sparsity=0.99, pco=[4, 3], pci=[4, 8])),
    "conv-sp100": ("4x5x5-5c3p1-3fc", 0, dict(encoding="spikes", sparsity=1.0, pco=[2, 3],
                                               pci=[4, 8])),
    # group look-ahead: Look = 1 with 4 groups, and 2 words of Look = 2 (window bits decide)
    "conv-look1-4groups-sp90": ("32x4x4-8c3p1-3fc", 0, dict(encoding="spikes", sparsity=0.9,
                                                             pco=[2, 3], pci=[16, 8])),
    "conv-look2-2words-sp80": ("16x5x5-8c3p1-3fc", 0, dict(encoding="spikes", sparsity=0.8,
                                                            pco=[2, 3], pci=[16, 8])),
    "direct-first-layer": ("1x8x8-8c3p1-5fc", 0, dict(in_bits=4, sparsity=0.5, pco=[3, 5],
                                                       pci=[1, 4])),
    "fc-integrate-readout": ("4x3x3-6c3p1-10fc", 1, dict(encoding="spikes", sparsity=0.9,
                                                          pco=[3, 4], pci=[4, 8])),
    "fc-spike-readout-k2": ("4x3x3-6c3p1-7fc", 1, dict(encoding="spikes", sparsity=0.5,
                                                        readout="spikes", k=2,
                                                        pco=[3, 7], pci=[4, 16])),
}


@pytest.mark.parametrize("case", list(CASES))
def test_core_matches_golden(tmp_path, case: str) -> None:
    arch, index, opts = CASES[case]
    model = random_model(arch, seed=11, calib_frames=16, **opts)
    x = random_input(model, 3, np.random.default_rng(4), density=0.3)
    r = simulate_core(model, index, x, work_dir=tmp_path, in_gap=0.3, out_stall=0.3, seed=5)
    work = golden.run(model, x).work[index]
    assert r["pairs"] == work  # every (non-zero weight, spike) pair, each exactly once
    # every detector's working cycles are exactly the cycle model's, stalls notwithstanding
    assert r["occ"] == predict_occupancy(model, x)[index]
    assert max(r["occ"]) <= r["busy"] <= sum(r["occ"])
