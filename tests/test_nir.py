"""NIR export and import (fireflys.interop.nir, `fireflys nir`): the round trip gives the
identical model, the graph says what the integer model computes, refusals are one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fireflys.cli.main import main
from fireflys.core.model import load_model, save_model
from fireflys.interop.nir import NirError, export_model, from_graph, import_model, to_graph
from fireflys.paths import REPO
from helpers import random_compiled

SHIPPED = REPO / "models" / "scnn5_mnist"


def assert_same_model(a_dir: Path, b_dir: Path) -> None:
    """weights.npz arrays equal and model.json equal except the weights' file hash and the
    imported model's provenance (a bit-exact import of a NIR file)."""
    a, b = np.load(a_dir / "weights.npz"), np.load(b_dir / "weights.npz")
    assert sorted(a.files) == sorted(b.files)
    for f in a.files:
        assert a[f].dtype == b[f].dtype, f
        np.testing.assert_array_equal(a[f], b[f], err_msg=f)
    ja, jb = (json.loads((d / "model.json").read_text()) for d in (a_dir, b_dir))
    ja.pop("weights_sha256")
    jb.pop("weights_sha256")
    prov = jb.pop("provenance")
    assert prov["source"] == "nir" and prov["fidelity"] == "bit-exact", prov
    assert ja == jb


def test_shipped_model_round_trip_with_the_cli(tmp_path: Path, capsys) -> None:
    f = tmp_path / "scnn5.nir"
    assert main(["nir", "export", str(SHIPPED), str(f)]) == 0
    assert main(["nir", "import", str(f), "--out", str(tmp_path / "back")]) == 0
    out = capsys.readouterr().out
    assert "imported 1x28x28-7c3p1" in out and "fidelity: bit-exact" in out
    assert_same_model(SHIPPED, tmp_path / "back")


@pytest.mark.parametrize("seed", range(12))
def test_random_models_round_trip(tmp_path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    m = random_compiled(rng)
    for ly in m.layers:
        ly.reset = "zero"  # NIR has no subtract reset (refusal tested below)
    save_model(m, tmp_path / "a")
    export_model(tmp_path / "a", tmp_path / "a.nir")
    import_model(tmp_path / "a.nir", tmp_path / "b")
    assert_same_model(tmp_path / "a", tmp_path / "b")


def test_graph_structure_of_the_shipped_model() -> None:
    """The nodes a NIR reader sees: integer Conv2d/Affine, LIF with tau = r = 2**k, the pool
    as SumPool2d + IF(0.5), Flatten before the first FC, an integrator readout."""
    m = load_model(SHIPPED)
    g = to_graph(m)
    chain = [g.edges[0][0]] + [b for _, b in g.edges]
    kinds = [type(g.nodes[n]).__name__ for n in chain]
    assert kinds[0] == "Input" and kinds[-1] == "Output"
    assert kinds.count("Conv2d") == 5 and kinds.count("Affine") == 1
    assert kinds.count("SumPool2d") == 3 and kinds.index("Flatten") == kinds.index("Affine") - 1
    assert kinds[-2] == "I"  # integrate readout
    conv = g.nodes["L1.conv"]
    np.testing.assert_array_equal(conv.weight, m.layers[1].weight.astype(np.float32))
    lif = g.nodes["L1.neuron"]
    assert lif.tau.shape == m.arch.layers[1].conv_shape
    assert np.all(lif.tau == 2.0 ** m.layers[1].k) and np.all(lif.r == lif.tau)
    assert np.all(lif.v_threshold[:, 0, 0] == m.layers[1].theta)
    pool_if = g.nodes["L1.pool_or"]
    assert np.all(pool_if.v_threshold == 0.5) and np.all(pool_if.v_reset == 0)


def test_subtract_reset_is_refused(tmp_path: Path, capsys) -> None:
    m = random_compiled(np.random.default_rng(3), "1x6x6-3c3p1-4fc")
    m.layers[0].reset = "subtract"
    save_model(m, tmp_path / "m")
    assert main(["nir", "export", str(tmp_path / "m"), str(tmp_path / "m.nir")]) == 2
    err = capsys.readouterr().err
    assert "layer L0: reset 'subtract' cannot be exported (NIR has no subtract reset" in err
    assert not (tmp_path / "m.nir").exists()


def test_tampered_graphs_name_the_node(tmp_path: Path) -> None:
    m = load_model(SHIPPED)
    g = to_graph(m)
    g.nodes["L2.conv"].weight = g.nodes["L2.conv"].weight + 0.5
    with pytest.raises(NirError, match=r"node L2.conv weight: values are not integers"):
        from_graph(g)
    g = to_graph(m)
    th = g.nodes["L3.neuron"].v_threshold
    th[0, 0, 1] += 1
    with pytest.raises(NirError, match=r"node L3.neuron v_threshold: differs within a channel"):
        from_graph(g)
    g = to_graph(m)
    g.nodes["L0.conv"].weight = g.nodes["L0.conv"].weight * 3
    with pytest.raises(NirError, match=r"node L0.conv weight: values outside \[-8, 7\]"):
        from_graph(g)


def test_unreadable_file(tmp_path: Path, capsys) -> None:
    f = tmp_path / "x.nir"
    f.write_bytes(b"not hdf5")
    assert main(["nir", "import", str(f), "--out", str(tmp_path / "o")]) == 2
    assert "x.nir: not a readable NIR file" in capsys.readouterr().err
