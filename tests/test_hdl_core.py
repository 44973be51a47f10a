"""layer_core (the sparse core) against the golden model: every peeler result and every output
word, for random sparse conv and FC layers, with input gaps and output back-pressure."""

from __future__ import annotations

import numpy as np
import pytest

from fireflys.compiler.compile import random_input, random_model
from fireflys.compiler.shape import ring_hold
from fireflys.core import golden
from fireflys.verify.rtlsim import simulate_core
from helpers import patterned_spikes

CASES = {
    # id: (arch, layer, random_model options, segments per word or None)
    "conv-pool-ci5pci4-co7pco3-sp50": ("5x6x6-7c3p1-mp2-4fc", 0,
                                        dict(encoding="spikes", sparsity=0.5, T=3,
                                             pco=[3, 2], pci=[4, 8]), None),
    "conv-pad0-dense-subtract-1seg-words": ("3x5x5-6c3-4fc", 0,
                                            dict(encoding="spikes", sparsity=0.0, k=0,
                                                 reset="subtract", pco=[4, 4], pci=[2, 8]),
                                            1),
    "conv-k1-sp90": ("8x4x4-6c1-3fc", 0, dict(encoding="spikes", sparsity=0.9, pco=[6, 3],
                                               pci=[8, 8]), None),
    "conv-sp100": ("4x5x5-5c3p1-3fc", 0, dict(encoding="spikes", sparsity=1.0, pco=[2, 3],
                                               pci=[4, 8]), None),
    "conv-ci23-whole-pixel-lanes": ("23x5x5-9c3p1-3fc", 0,
                                    dict(encoding="spikes", sparsity=0.8, pco=[2, 3],
                                         pci=[16, 8]), None),
    "conv-ci32-half-pixel-words": ("32x4x4-8c3p1-3fc", 0,
                                   dict(encoding="spikes", sparsity=0.9, pco=[2, 3],
                                        pci=[8, 8]), 2),
    "direct-first-layer-t5": ("1x8x8-8c3p1-5fc", 0, dict(in_bits=4, sparsity=0.5, T=5,
                                                          pco=[3, 5], pci=[1, 4]), None),
    "fc-integrate-readout": ("4x3x3-6c3p1-10fc", 1, dict(encoding="spikes", sparsity=0.9,
                                                          pco=[3, 4], pci=[4, 8]), None),
    "fc-spike-readout-k2": ("4x3x3-6c3p1-7fc", 1, dict(encoding="spikes", sparsity=0.5,
                                                        readout="spikes", k=2,
                                                        pco=[3, 7], pci=[4, 16]), None),
    "conv-masks-in-block-ram": ("6x5x5-8c3p1-mp2-3fc", 0,
                                dict(encoding="spikes", sparsity=0.7, pco=[3, 3],
                                     pci=[8, 8]), None),
}
WHOLE = {"conv-ci23-whole-pixel-lanes"}  # the hardware's own lanes (PCI = CI); others: the model's
BLOCK = {"conv-masks-in-block-ram"}  # every detector reads its masks from block RAM
SLOW = {  # cases run by make test-all only
    "conv-k1-sp90",
    "conv-sp100",
    "fc-spike-readout-k2",
    "conv-pad0-dense-subtract-1seg-words",
}


@pytest.mark.parametrize("case", [
    pytest.param(c, marks=pytest.mark.slow) if c in SLOW else c for c in CASES])
def test_core_matches_golden(tmp_path, case: str) -> None:
    arch, index, opts, spw = CASES[case]
    model = random_model(arch, seed=11, calib_frames=16, **opts)
    x = random_input(model, 3, np.random.default_rng(4), density=0.3)
    r = simulate_core(model, index, x, work_dir=tmp_path, in_gap=0.3, out_stall=0.3, seed=5,
                      spw=spw, model_pci=case not in WHOLE,
                      list_block=case in BLOCK)
    assert r["pairs"] == golden.run(model, x).work[index]  # every pair once, per step
    assert max(r["occ"]) <= r["busy"] <= sum(r["occ"])


@pytest.mark.parametrize(("span", "w", "hold"), [
    (59, 28, 5),   # scnn5 L0/L1: 87 pixels -> 64
    (60, 28, 4),   # exactly the least slack left
    (61, 28, 28),  # 3 pixels below 64 are too few: a row
    (31, 14, 14),  # 45 pixels: 32 leaves 1, keep the row
    (17, 7, 7),    # 24 pixels already within 32
    (9, 3, 3),     # 12 pixels: 8 is below the span
], ids=lambda v: str(v))
def test_ring_hold_trims_to_a_power_of_two(span: int, w: int, hold: int) -> None:
    assert ring_hold(span, w) == hold


PHI_CASES = {
    # id: (arch, layer, random_model options, block bits, patterns, segments per word,
    #      patterns compared per cycle, frames)
    "phi-conv-ci8-k4-q8-pool": ("8x6x6-6c3p1-mp2-4fc", 0,
                                dict(sparsity=0.3, pco=[3, 2]), 4, 8, None, 2, 3),
    "phi-conv-ci12-k5-ragged-1px-words": ("12x5x5-5c3p1-3fc", 0,
                                          dict(sparsity=0.5, pco=[2, 3], T=3), 5, 6, 1, 1, 3),
    "phi-fc-spike-readout": ("6x3x3-7fc", 0, dict(sparsity=0.2, pco=[4], readout="spikes",
                                                   k=2), 6, 4, None, 4, 12),
}


@pytest.mark.parametrize("case", [
    pytest.param(c, marks=pytest.mark.slow) if c == "phi-fc-spike-readout" else c
    for c in PHI_CASES])
def test_core_phi_matches_golden(tmp_path, case: str) -> None:
    """layer_core in Phi mode (matcher, residual ring, tokens, signed peel, PWP ROMs): every
    result and output word equals the golden model's, and the pairs counter equals the Phi
    operations of fireflys.phi.tables (residual pairs per step + PWP adds)."""
    from fireflys.phi import tables as phi
    from fireflys.phi.tables import layer_input

    arch, index, opts, k, q, spw, m, frames = PHI_CASES[case]
    model = random_model(arch, seed=7, calib_frames=16, encoding="spikes", **opts)
    rng = np.random.default_rng(3)
    calib = patterned_spikes(model, 8, rng)
    x = patterned_spikes(model, frames, rng)
    tables = phi.select(model, calib, q=q, k={index: k}, layers=[index])
    tl = tables.layers[index]
    res = golden.run(model, x)
    dec = phi.decompose(tl, layer_input(model, x, res, index))
    assert 0.1 < dec.use.mean() < 0.9, "the test frames must use patterns, not everywhere"
    r = simulate_core(model, index, x, work_dir=tmp_path, in_gap=0.3, out_stall=0.3, seed=5,
                      spw=spw, phi=tables, match_rate=m)
    c = phi.layer_counts(model.layers[index], tl, layer_input(model, x, res, index))
    assert r["pairs"] == c["ops_phi"]
    assert r["pairs"] != res.work[index]  # Phi mode did change the work
