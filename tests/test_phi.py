"""Phi (software): exact two-level decomposition, mask-aware costs, tables on disk, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fireflys.cli.main import main
from fireflys.compiler.compile import random_input
from fireflys.core import golden
from fireflys.core.model import load_model, save_model
from fireflys.phi import tables as phi
from helpers import random_compiled

ARCH = "2x6x6-5c3p1-mp2-7c3p1-6fc"


@pytest.mark.parametrize("seed", range(4))
def test_phi_is_exact_and_never_costs_more(seed: int) -> None:
    rng = np.random.default_rng(seed)
    model = random_compiled(rng, ARCH)
    calib = random_input(model, 24, rng, density=0.5)
    tables = phi.build_tables(model, calib, q=8, seed=seed)
    x = random_input(model, 12, rng, density=0.5)
    checked = phi.check_exact(model, tables, x)  # P + R == A and currents == golden
    assert set(checked) == set(phi.spike_layers(model)) and all(checked.values())
    rep = phi.op_counts(model, tables, x)  # zero-skip pairs checked against golden work
    g = golden.run(model, x)
    for li, row in enumerate(rep["layers"]):
        assert row["zero_skip"] == pytest.approx(g.work[li] / len(x))
        assert row["phi"] <= row["zero_skip"] + 1e-9  # each channel uses a pattern only if
        assert row["dense"] >= row["zero_skip"]  # cheaper for it


def test_pattern_selection_finds_a_recurring_pattern() -> None:
    rng = np.random.default_rng(0)
    pat = np.uint64(0b1011_0110)
    noise = np.left_shift(np.uint64(1), rng.integers(0, 8, 500).astype(np.uint64))
    vec = np.concatenate([np.full(500, pat, dtype=np.uint64), pat ^ noise,
                          rng.integers(0, 256, 50).astype(np.uint64)])
    masks = np.array([0xFF, 0xF0, 0x0F], dtype=np.uint64)
    pats = phi.select_patterns(vec, masks, 8, 4)
    assert pat in pats
    # with the pattern, the vector costs 1 PWP add per channel instead of its pairs
    c = phi.vector_costs(np.array([pat], dtype=np.uint64), pats, masks, 8)
    assert c["zs"][0] == 5 + 2 + 3 and c["l1"][0] == 3 and c["l2"][0] == 0
    # mask-aware: a channel whose mask sees one spike of the vector keeps zero-skipping
    c = phi.vector_costs(np.array([pat], dtype=np.uint64), pats,
                         np.array([0x02, 0xFF], dtype=np.uint64), 8)
    assert c["l1"][0] == 1 and c["l2"][0] == 1


def test_tables_on_disk(tmp_path) -> None:
    rng = np.random.default_rng(3)
    model = random_compiled(rng, ARCH)
    save_model(model, tmp_path)
    with pytest.raises(phi.PhiError, match="no Phi tables"):
        phi.load_tables(model, tmp_path)
    tables = phi.build_tables(model, random_input(model, 16, rng, density=0.5), q=4)
    f = phi.save_tables(tables, model, tmp_path)
    back = phi.load_tables(model, tmp_path)
    for li, tl in tables.layers.items():
        for a, b in zip(tl.pwp, back.layers[li].pwp, strict=True):
            assert np.array_equal(a, b)
    with np.load(f) as z:
        arrays = {k: z[k] for k in z.files}
    key = next(k for k in arrays if k.endswith(".pwp") and arrays[k].size)
    arrays[key] = arrays[key] + 1
    np.savez(f, **arrays)
    with pytest.raises(phi.PhiError, match=rf"{key}: not the patterns times the weights"):
        phi.load_tables(model, tmp_path)
    f.write_bytes(f.read_bytes()[:100])
    with pytest.raises(phi.PhiError, match="corrupt or truncated"):
        phi.load_tables(model, tmp_path)
    phi.save_tables(tables, model, tmp_path)
    (tmp_path / "weights.npz").write_bytes((tmp_path / "weights.npz").read_bytes() + b"\0")
    with pytest.raises(phi.PhiError, match="belong to other weights"):
        phi.load_tables(model, tmp_path)


def test_phi_cli(tmp_path, capsys) -> None:
    rng = np.random.default_rng(1)
    save_model(random_compiled(rng, ARCH), tmp_path / "m")
    assert main(["phi", "report", str(tmp_path / "m")]) == 2
    assert "no Phi tables" in capsys.readouterr().err
    assert main(["phi", "select", str(tmp_path / "m"), "--frames", "16", "--q", "4"]) == 0
    assert main(["phi", "report", str(tmp_path / "m"), "--frames", "16", "--json",
                 str(tmp_path / "r.json"), "--plot", str(tmp_path / "r.png")]) == 0
    out = capsys.readouterr().out
    assert "x fewer than zero-skipping" in out
    rep = json.loads((tmp_path / "r.json").read_text())
    assert len(rep["layers"]) == 3 and (tmp_path / "r.png").stat().st_size > 1000


def test_paft_penalty_is_the_phi_work_and_finetune_runs(tmp_path) -> None:
    """The differentiable penalty equals the Level-2 + zero-skipping pairs that phi counts
    on the same spikes; a short PAFT run writes a bit-exact model with tables."""
    import torch

    from fireflys.train.checkpoint import load_run
    from fireflys.train.config import TrainConfig
    from fireflys.train.dataset import load_dataset
    from fireflys.train.export import export
    from fireflys.train.paft import coefficient_tables, finetune, phi_penalty
    from fireflys.train.trainer import train

    cfg = TrainConfig(arch="1x8x8-6c3p1-mp2-8c3p1-10fc", dataset="digits",
                      out=str(tmp_path / "run"), epochs=1, batch=32, max_steps=6,
                      check_frames=32, sparsity=0.5)
    train(cfg, quiet=True)
    net, _ = load_run(tmp_path / "run")
    ex = export(net)
    xtr, _, xva, _, _ = load_dataset(cfg)
    tables = phi.build_tables(ex.model, xtr[:64], q=4)
    masks = {li: phi.segment_masks(ex.model.layers[li]) for li in tables.layers}
    x = xva[:16]
    with torch.no_grad():
        _, traces = net(torch.as_tensor(x), trace=True)
        traces = [type(t)(None if t.spikes is None else t.spikes.float(),
                          None if t.out is None else t.out.float()) for t in traces]
        pen = float(phi_penalty(traces, ex.model, tables, ex.kept, masks))
        lut = coefficient_tables(tables, ex.model, masks)
        assert float(phi_penalty(traces, ex.model, tables, ex.kept, masks, lut)) == \
            pytest.approx(pen)
    res = golden.run(ex.model, x)
    want = 0
    for li, tl in tables.layers.items():
        vec = phi.layer_vectors(ex.model, x, res, li)
        for s in range(vec.shape[1]):
            c = phi.vector_costs(vec[:, s], tl.patterns[s], masks[li][:, s],
                                 ex.model.layers[li].pci)
            want += int(c["l2"].sum())
    assert pen == pytest.approx(want)
    r = finetune(tmp_path / "run", tmp_path / "paft", lam=1.0, epochs=1, max_steps=3,
                 calib=64, frames_eval=32, quiet=True)
    assert sum(r["bit_exact_check"]["spike_mismatches_per_layer"]) == 0
    d = tmp_path / "paft" / "model"
    assert phi.load_tables(load_model(d), d).layers and 0 <= r["accuracy_after"] <= 1
