"""NIR graphs from other tools (fireflys.interop.nir_foreign): graphs in snntorch's
export_to_nir layout (tau = dt / (1 - beta), r = tau / dt, nodes named "0", "1", ...) are
mapped, quantized and run; their agreement with the float graph is reported; every refused
construct gets its one-line message."""

from __future__ import annotations

import json
from pathlib import Path

import nir
import numpy as np
import pytest

from fireflys.cli.main import main
from fireflys.compiler.compile import random_input
from fireflys.core import golden
from fireflys.core.arch import parse_arch
from fireflys.core.model import CompiledModel, CoreLayer, load_model
from fireflys.interop.nir import NirError, import_model

DT = 1e-4  # snntorch's export_to_nir


def integer_model(rng: np.random.Generator, k: int, readout: str = "integrate"
                  ) -> CompiledModel:
    """A direct-input model whose every output channel has a weight of magnitude 7 (so the
    per-channel scale of its float version is recovered exactly; the readout layer's scale is
    one for all classes)."""
    a = parse_arch("1x6x6-4c3p1-mp2-6c3p1-5fc")
    m = CompiledModel(a, 4, "direct", 8, readout, [])
    for i, g in enumerate(a.layers):
        w = np.where(rng.random(g.weight_shape) < 0.6, rng.integers(-7, 8, g.weight_shape), 0)
        flat = w.reshape(g.out_ch, -1)
        flat[np.arange(g.out_ch), rng.integers(0, flat.shape[1], g.out_ch)] = \
            rng.choice([-7, 7], g.out_ch)
        last = i == len(a.layers) - 1
        scale = 255 if i == 0 else 1
        theta = None if last and readout == "integrate" else \
            rng.integers(2 * scale, 8 * scale, g.out_ch).astype(np.int32)
        m.layers.append(CoreLayer(g, w.astype(np.int8), rng.integers(-3, 4, g.out_ch)
                                  .astype(np.int32), theta, k=k, reset="zero"))
    m.assign_widths()
    return m


def snntorch_graph(m: CompiledModel, scales: list[np.ndarray], neuron: str = "LIF"):
    """The float graph of ``m`` as snntorch would write it: weights, bias and threshold times a
    per-channel scale (the first layer's weights also times 255: its input is x / 255);
    neurons LIF (tau = dt / (1 - beta), r = tau / dt) or IF (r = 1 / dt); the OR-pool as
    SumPool2d + IF."""
    nodes: dict[str, object] = {"input": nir.Input(input_type={"input": np.array([1, 6, 6])})}
    order = ["input"]
    n = 0

    def add(node: object) -> None:
        nonlocal n
        nodes[str(n)] = node
        order.append(str(n))
        n += 1

    for i, (ly, s) in enumerate(zip(m.layers, scales, strict=True)):
        g = ly.geom
        shape = (-1,) + (1,) * (ly.weight.ndim - 1)
        w = ly.weight * s.reshape(shape) * (255 if i == 0 else 1)
        if g.kind == "conv":
            add(nir.Conv2d(input_shape=None, weight=w.astype(np.float32), stride=(1, 1),
                           padding=(g.pad, g.pad), dilation=(1, 1), groups=1,
                           bias=(ly.bias * s).astype(np.float32)))
        else:
            add(nir.Flatten(input_type={"input": np.array(g.in_shape)}, start_dim=0,
                            end_dim=-1))
            add(nir.Affine(weight=w.astype(np.float32), bias=(ly.bias * s).astype(np.float32)))
        if ly.theta is not None:
            # per neuron (NIR's type of the node is its parameters' shape); theta + 1/4: for
            # integer potentials "V > theta" either way, and no float rounding meets a tie
            shp = g.conv_shape if g.kind == "conv" else (g.out_ch,)
            th = np.broadcast_to(((ly.theta + 0.25) * s).reshape(
                (-1,) + (1,) * (len(shp) - 1)), shp).astype(np.float32)
            zero = np.zeros(shp, np.float32)
            if neuron == "LIF":
                beta = 1.0 - 2.0 ** -ly.k
                tau = np.full(shp, DT / (1 - beta), np.float32)
                add(nir.LIF(tau=tau, r=tau / DT, v_leak=zero, v_threshold=th,
                            v_reset=zero.copy()))
            else:
                add(nir.IF(r=np.full(shp, 1 / DT, np.float32), v_threshold=th, v_reset=zero))
        if g.pool == 2:
            c, h, wd = g.out_shape
            add(nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                              padding=np.array([0, 0])))
            add(nir.IF(r=np.ones((c, h, wd), np.float32), v_threshold=np.full(
                (c, h, wd), 0.5 * DT, np.float32), v_reset=np.zeros((c, h, wd), np.float32)))
    nodes["output"] = nir.Output(output_type={"output": np.array([5])})
    order.append("output")
    return nir.NIRGraph(nodes=nodes, edges=list(zip(order[:-1], order[1:], strict=True)))


def write(tmp_path: Path, g, name: str = "g.nir") -> Path:
    f = tmp_path / name
    nir.write(str(f), g)
    return f


@pytest.mark.parametrize("neuron", ["IF", "LIF"])
def test_snntorch_layout_graph_imports_and_runs(neuron: str, tmp_path: Path, capsys) -> None:
    """The integers come back exactly (the scales are per channel, shared by weights, bias
    and threshold); with IF neurons the integer model equals the float graph spike for spike,
    with LIF the floor leak (V -= V >>> k) differs a little from beta V: reported."""
    rng = np.random.default_rng(3)
    m = integer_model(rng, k=0 if neuron == "IF" else 3)
    scales = [rng.uniform(0.01, 0.2, ly.geom.out_ch) for ly in m.layers[:-1]]
    scales.append(np.full(m.layers[-1].geom.out_ch, 0.03))  # the readout: one scale
    f = write(tmp_path, snntorch_graph(m, scales, neuron))
    out = tmp_path / "imported"
    assert main(["nir", "import", str(f), "--out", str(out), "--dt", str(DT),
                 "--calib-frames", "24"]) == 0
    text = capsys.readouterr().out
    assert "agreement with the float graph (not bit-exact)" in text
    assert "fidelity: approximate (another tool's float graph" in text
    got = load_model(out)
    prov = json.loads((out / "model.json").read_text())["provenance"]
    assert prov["fidelity"] == "approximate" and prov["report"] == "nir_import.json"
    assert str(got.arch) == str(m.arch) and got.readout == "integrate"
    for a, b in zip(got.layers, m.layers, strict=True):
        np.testing.assert_array_equal(a.weight, b.weight)
        np.testing.assert_array_equal(a.bias, b.bias)
        if b.theta is not None:
            np.testing.assert_array_equal(a.theta, b.theta)
            assert a.k == b.k
    rep = json.loads((out / "nir_import.json").read_text())
    assert rep["frames"] == 24 and [ly["nodes"][0] for ly in rep["layers"]] == ["0", "4", "7"]
    agree = [ly["spike_agreement"] for ly in rep["layers"][:2]]
    if neuron == "IF":
        assert agree == [1.0, 1.0] and rep["prediction_agreement"] == 1.0
    else:
        assert all(0.8 <= a < 1.0 for a in agree), agree
        assert rep["layers"][0]["beta"] == 0.875 == rep["layers"][0]["beta_hw"]
    # the imported model runs (golden model; the flow's other steps take it like any model)
    x = random_input(got, 4, np.random.default_rng(0))
    assert golden.run(got, x).pred.shape == (4,)


def test_nearest_leak_is_taken_and_stated(tmp_path: Path) -> None:
    """snntorch's default beta 0.9 has no exact leak shift: k = 3 (0.875) is taken and the
    report says so."""
    rng = np.random.default_rng(5)
    m = integer_model(rng, k=3)
    g = snntorch_graph(m, [np.full(ly.geom.out_ch, 0.05) for ly in m.layers])
    g.nodes["1"].tau[:] = DT / (1 - 0.9)
    g.nodes["1"].r[:] = g.nodes["1"].tau / DT
    import_model(write(tmp_path, g), tmp_path / "o", dt=DT, calib_frames=8)
    r = json.loads((tmp_path / "o" / "nir_import.json").read_text())["layers"][0]
    assert r["k"] == 3 and r["beta"] == pytest.approx(0.9) and r["beta_hw"] == 0.875


def _base(tmp_path: Path):
    rng = np.random.default_rng(1)
    m = integer_model(rng, k=2)
    return snntorch_graph(m, [np.full(ly.geom.out_ch, 0.1) for ly in m.layers])


def _refused(tmp_path: Path, g, match: str, dt: float | None = DT) -> None:
    f = write(tmp_path, g, "bad.nir")
    with pytest.raises(NirError, match=match):
        import_model(f, tmp_path / "out", dt=dt, calib_frames=2)
    assert not (tmp_path / "out").exists()


def test_refusals_name_the_node_and_the_reason(tmp_path: Path) -> None:
    shp = (4, 6, 6)
    zeros = np.zeros(shp, np.float32)
    # no time step for a foreign graph
    _refused(tmp_path, _base(tmp_path), r"bad\.nir: a NIR graph from another tool .* give its "
             r"time step, --dt", dt=None)
    w = np.ones((4, 1, 3, 3), np.float32)
    z = np.zeros((4, 3, 3), np.float32)
    g = nir.NIRGraph(nodes={  # a stride-2 conv (its shapes consistent: NIR checks them)
        "input": nir.Input(input_type={"input": np.array([1, 6, 6])}),
        "0": nir.Conv2d(input_shape=None, weight=w, stride=(2, 2), padding=(1, 1),
                        dilation=(1, 1), groups=1, bias=np.zeros(4, np.float32)),
        "1": nir.IF(r=z + 1, v_threshold=z + 1, v_reset=z),
        "2": nir.Flatten(input_type={"input": np.array([4, 3, 3])}, start_dim=0, end_dim=-1),
        "3": nir.Affine(weight=np.ones((5, 36), np.float32), bias=np.zeros(5, np.float32)),
        "output": nir.Output(output_type={"output": np.array([5])})},
        edges=[("input", "0"), ("0", "1"), ("1", "2"), ("2", "3"), ("3", "output")])
    _refused(tmp_path, g, r"node 0: stride != 1")
    g = _base(tmp_path)
    g.nodes["1"].v_leak = np.full(shp, 0.5, np.float32)
    _refused(tmp_path, g, r"node 1: leaky v_leak != 0")
    g = _base(tmp_path)
    g.nodes["1"].v_reset = np.full(shp, 0.1, np.float32)
    _refused(tmp_path, g, r"node 1: v_reset != 0 \(only reset to zero\)")
    g = _base(tmp_path)
    g.nodes["1"].tau = np.where(np.arange(4)[:, None, None] == 1, 2e-3, 1e-3) + zeros
    _refused(tmp_path, g, r"node 1: tau differs between channels")
    g = _base(tmp_path)
    g.nodes["2"] = nir.AvgPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                                 padding=np.array([0, 0]))
    _refused(tmp_path, g, r"node 2: AvgPool2d: average pooling is not supported")
    g = _base(tmp_path)
    g.nodes["1"] = nir.CubaLIF(tau_syn=np.full(shp, 2e-4), tau_mem=np.full(shp, 4e-4),
                               r=np.full(shp, 4.0), v_leak=zeros, v_threshold=np.ones(shp),
                               v_reset=zeros, w_in=np.full(shp, 2.0))
    _refused(tmp_path, g, r"node 1: CubaLIF: synaptic current dynamics")
    g = _base(tmp_path)
    g.nodes["1"] = nir.Delay(delay=np.ones(shp))
    _refused(tmp_path, g, r"node 1: Delay: delays are not supported")
    g = _base(tmp_path)  # a branch: a second output after the first neuron
    g.nodes["tap"] = nir.Output(output_type={"output": np.array([4, 6, 6])})
    g.edges.append(("1", "tap"))
    _refused(tmp_path, g, r"node 1: 2 outgoing edges \(only a chain of nodes")
    g = _base(tmp_path)
    g.nodes["x"] = nir.Scale(scale=np.ones(shp))
    g.edges = [e for e in g.edges if e != ("1", "2")] + [("1", "x"), ("x", "2")]
    _refused(tmp_path, g, r"node x: NIR type Scale is not supported")
    g = _base(tmp_path)  # the Flatten removed: an Affine on an image
    g.edges = [e for e in g.edges if e[0] != "6" and e[1] != "6"] + [("5", "7")]
    del g.nodes["6"]
    # (NIR's own type check refuses it first, naming the two nodes)
    _refused(tmp_path, g, r"not a readable NIR file .*type mismatch: 5\.output")
    g = _base(tmp_path)
    g.nodes["3"] = nir.IF(r=np.full((4, 3, 3), 1.0, np.float32), v_threshold=np.full(
        (4, 3, 3), 2.0, np.float32), v_reset=np.zeros((4, 3, 3), np.float32))
    _refused(tmp_path, g, r"node 3: the IF after SumPool2d must fire on one spike")
