"""Generated accelerator top end to end (stream harness, Verilator) against the golden model:
random input gaps and output back-pressure, reset in the middle of a frame, a corrupted
weight image is caught and located, scnn5, the gate-level netlist."""

from __future__ import annotations

import numpy as np
import pytest

from fireflys.compiler.compile import compile_to_dir, random_input, random_model
from fireflys.compiler.memimg import from_word, read_hex, write_hex
from fireflys.core import golden
from fireflys.verify.rtlsim import MismatchError, simulate

SMALL = "2x10x10-6c3p1-mp2-8c3p1-mp2-5fc"


def _setup(tmp_path, arch=SMALL, frames=24, sparsity=0.5, **opts):
    model = random_model(arch, sparsity=sparsity, seed=21, calib_frames=16, **opts)
    compile_to_dir(model, tmp_path / "model")
    x = random_input(model, frames, np.random.default_rng(8), density=0.3)
    return model, x


def _check_cycles(r) -> None:
    """A core's busy cycles lie between its busiest detector's working cycles and their sum."""
    for occ, busy in zip(r.occ, r.busy, strict=True):
        assert max(occ) <= busy <= sum(occ)


def test_backpressure_gaps_and_reset(tmp_path) -> None:
    """Every core's stream and the readout bit-exact, with gaps, back-pressure and a reset in
    the middle of a frame; every pair counted once per step, every output pixel once."""
    model, x = _setup(tmp_path, frames=12, pco=[4, 3, 2], pci=[2, 4, 8])
    r = simulate(model, tmp_path / "model", x, in_gap=0.4, out_stall=0.5, seed=3,
                 work_dir=tmp_path / "w")
    assert r.pairs == golden.run(model, x).work  # each pair exactly once, per step
    _check_cycles(r)
    assert r.pixels == [len(x) * ly.geom.conv_shape[1] * ly.geom.conv_shape[2]
                        for ly in model.layers]
    assert not r.frame_error
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


@pytest.mark.slow  # the dense baseline is a benchmark design (make bench)
def test_dense_baseline_same_outputs_more_cycles(tmp_path) -> None:
    """The dense baseline (every weight stored, every position visited): the same outputs as
    the golden model; its pairs counter counts every (weight, spike) pair, zero weights too;
    its cycles are the cycle model's exactly and well above the sparse design's."""
    from fireflys.compiler.coreplan import dense_baseline
    from fireflys.compiler.work import pairs_work
    from fireflys.hwgen.generate import design_model

    model, x = _setup(tmp_path, arch="2x6x6-4c3p1-mp2-5fc", frames=3, sparsity=0.8,
                      encoding="spikes")
    sparse = simulate(model, tmp_path / "model", x, work_dir=tmp_path / "s")
    dense = simulate(model, tmp_path / "model", x, work_dir=tmp_path / "d", dense=True)
    assert dense.pred == sparse.pred == golden.run(model, x).pred.tolist()
    res = golden.run(model, x)
    want = pairs_work(dense_baseline(design_model(model)), x, res)
    assert dense.pairs == want and all(d > s for d, s in zip(want, res.work, strict=True))
    assert dense.busy == dense.predicted and dense.occ == dense.predicted_occ
    assert all(d > 2 * s for d, s in zip(dense.busy, sparse.busy, strict=True))


def _scnn5(tmp_path, frames: int):
    model = random_model("scnn5", sparsity=0.9, seed=3)
    compile_to_dir(model, tmp_path / "model")
    return model, random_input(model, frames, np.random.default_rng(5))


@pytest.mark.slow  # scnn5-size builds: test-all; make test runs the shipped scnn5's lint
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


@pytest.mark.slow  # a netlist of ~10k cells simulated: make test-all
@pytest.mark.parametrize("arch,encoding", [
    ("1x6x6-4c3p1-mp2-5fc", "direct"),
    ("2x6x6-3c3p1-4fc", "spikes"),
])
def test_gate_level_netlist(tmp_path, arch: str, encoding: str) -> None:
    """Gate-level regression: Yosys' netlist of the generated top (read by yosys-slang, the
    synthesis frontend) runs the same testbench and checks as the RTL: every core's stream,
    the outputs and the pair counters match the golden model bit for bit."""
    model, x = _setup(tmp_path, arch=arch, frames=6, encoding=encoding, pco=[2, 3],
                      pci=[1 if encoding == "direct" else 2, 4])
    r = simulate(model, tmp_path / "model", x, in_gap=0.2, out_stall=0.3, seed=5,
                 work_dir=tmp_path / "w", gate_level=True)
    assert r.pairs == golden.run(model, x).work
    assert r.raw["frames_out"] == len(x) and not r.frame_error
    (net,) = (tmp_path / "w").glob("*/gl/fireflys_top_gl.v")
    text = net.read_text()
    # a Yosys netlist with the memory images baked in, not the RTL
    assert text.startswith("/* Generated by Yosys")
    assert "$readmemh" not in text and "always_ff" not in text


@pytest.mark.slow
def test_shipped_scnn5_200_mnist_frames(tmp_path) -> None:
    """The shipped trained scnn5: 200 held-out MNIST frames with gaps and
    back-pressure, then again with a reset in the middle of a frame; every core's stream and
    the readout bit-exact (needs MNIST in $FIREFLYS_DATA/mnist)."""
    from fireflys.cli.options import eval_frames
    from fireflys.core.model import load_model
    from fireflys.paths import REPO

    mdir = REPO / "models" / "scnn5_mnist"
    model = load_model(mdir)
    x, _ = eval_frames(model, mdir, "mnist", 200, 0)
    r = simulate(model, mdir, x, in_gap=0.2, out_stall=0.3, seed=9,
                 work_dir=tmp_path / "w")
    assert r.raw["frames_out"] == 200 and r.pairs == golden.run(model, x).work
    r = simulate(model, mdir, x, in_gap=0.1, out_stall=0.1, reset_at=20_000, seed=4,
                 work_dir=tmp_path / "w")
    assert r.raw["frames_out"] == 200

