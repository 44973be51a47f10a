"""Generated accelerator top end to end (cocotb + Verilator) against the golden model:
random input gaps and output back-pressure, reset in the middle of a frame, a corrupted
weight image is caught and located, dense baseline, scnn5."""

from __future__ import annotations

import numpy as np
import pytest

from fireflys import golden
from fireflys.compile import compile_to_dir, random_input, random_model
from fireflys.memimg import from_word, read_hex, write_hex
from fireflys.rtlsim import MismatchError, simulate

SMALL = "2x10x10-6c3p1-mp2-8c3p1-mp2-5fc"


def _setup(tmp_path, arch=SMALL, frames=24, sparsity=0.5, **opts):
    model = random_model(arch, sparsity=sparsity, seed=21, calib_frames=16, **opts)
    compile_to_dir(model, tmp_path / "model")
    x = random_input(model, frames, np.random.default_rng(8), density=0.3)
    return model, x


def _check_cycles(r) -> None:
    """Every detector's working cycles equal the cycle model's, stalls notwithstanding; the
    core's busy cycles lie between its busiest detector's and their sum."""
    assert r.occ == r.predicted_occ
    for occ, busy in zip(r.occ, r.busy, strict=True):
        assert max(occ) <= busy <= sum(occ)


def test_backpressure_and_gaps(tmp_path) -> None:
    model, x = _setup(tmp_path, pco=[4, 3, 2], pci=[2, 4, 8])
    r = simulate(model, tmp_path / "model", x, in_gap=0.4, out_stall=0.5, seed=3,
                 work_dir=tmp_path / "w")
    assert r.pairs == golden.run(model, x).work  # each pair exactly once, per core
    _check_cycles(r)
    assert r.pixels == [len(x) * ly.geom.conv_shape[1] * ly.geom.conv_shape[2]
                        for ly in model.layers]
    assert not r.frame_error


def test_reset_mid_frame(tmp_path) -> None:
    model, x = _setup(tmp_path, frames=6, encoding="spikes", reset="subtract", k=0)
    r = simulate(model, tmp_path / "model", x, in_gap=0.2, out_stall=0.2, reset_at=377,
                 work_dir=tmp_path / "w")
    assert r.raw["frames_out"] == len(x)


def test_corrupted_weight_is_located(tmp_path) -> None:
    model, x = _setup(tmp_path, frames=4, sparsity=0.3, pco=[2, 2, 5], pci=[2, 8, 8])
    simulate(model, tmp_path / "model", x, work_dir=tmp_path / "w")
    (img,) = (tmp_path / "w").glob("*/hw/mem/L1_d1_wt.hex")
    words = read_hex(img, 4)  # flip the sign bit of every weight of L1, detector 1
    write_hex(img, [from_word(w ^ 0x8, 4) for w in words], 4, signed=True)
    with pytest.raises(MismatchError, match=r"layer L1, frame \d+, t=\d+, pixel \(y=\d+, x=\d+\)"):
        simulate(model, tmp_path / "model", x, work_dir=tmp_path / "w")


def test_dense_baseline_same_outputs_more_cycles(tmp_path) -> None:
    model, x = _setup(tmp_path, arch="2x6x6-4c3p1-mp2-5fc", frames=3, sparsity=0.8)
    sparse = simulate(model, tmp_path / "model", x, work_dir=tmp_path / "s")
    dense = simulate(model, tmp_path / "model", x, skip=False, work_dir=tmp_path / "d")
    assert dense.pairs == sparse.pairs
    _check_cycles(dense)
    _check_cycles(sparse)
    assert all(d > 2 * s for d, s in zip(dense.busy, sparse.busy, strict=True))


def _scnn5(tmp_path, frames: int):
    model = random_model("scnn5", sparsity=0.9, seed=3)
    compile_to_dir(model, tmp_path / "model")
    return model, random_input(model, frames, np.random.default_rng(5))


def test_scnn5_random_sparse(tmp_path) -> None:
    model, x = _scnn5(tmp_path, 6)
    r = simulate(model, tmp_path / "model", x, in_gap=0.2, out_stall=0.3,
                 work_dir=tmp_path / "w")
    assert r.pairs == golden.run(model, x).work
    _check_cycles(r)


@pytest.mark.slow
def test_scnn5_200_frames(tmp_path) -> None:
    model, x = _scnn5(tmp_path, 200)
    r = simulate(model, tmp_path / "model", x, in_gap=0.2, out_stall=0.3, seed=9,
                 work_dir=tmp_path / "w")
    assert r.raw["frames_out"] == 200 and r.pairs == golden.run(model, x).work
