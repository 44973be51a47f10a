"""A graph written by snntorch's own exporter (snntorch.export_nir.export_to_nir, through
nirtorch) imports and runs. snntorch 1.0.0 writes a neuron's node with the shape of its beta and
threshold: with scalar ones the LIF node has no input type and nir 1.0.8's type inference in
export_to_nir fails, so the neurons here get per-neuron tensors (uniform values). snntorch's
exporter writes v_reset = 0 whatever the reset mechanism, so a subtract-reset net cannot be
told apart in the file (the import's agreement report shows the difference)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import snntorch as snn
import torch

from fireflys.cli.main import main
from fireflys.compiler.compile import random_input
from fireflys.core import golden
from fireflys.core.model import load_model


def snntorch_net(beta: float):
    from torch import nn

    def full(*shape: int, v: float):
        return torch.full(shape, v)

    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        snn.Leaky(beta=full(4, 8, 8, v=beta), threshold=full(4, 8, 8, v=0.5),
                  init_hidden=True, reset_mechanism="zero"),
        nn.Flatten(),
        nn.Linear(4 * 8 * 8, 10),
        snn.Leaky(beta=full(10, v=beta), threshold=full(10, v=0.5), init_hidden=True,
                  output=True, reset_mechanism="zero"),
    )
    with torch.no_grad():  # some zero weights, as a pruned net has
        for m in (net[0], net[3]):
            m.weight[torch.rand(m.weight.shape) < 0.3] = 0.0
    return net


def export(net, path: Path) -> Path:
    import nir
    from snntorch.export_nir import export_to_nir

    g = export_to_nir(net, torch.zeros(1, 1, 8, 8), ignore_dims=[0])
    nir.write(str(path), g)
    return path


def test_snntorch_exported_graph_imports_and_runs(tmp_path: Path, capsys) -> None:
    net = snntorch_net(beta=0.875)
    f = export(net, tmp_path / "net.nir")
    out = tmp_path / "imported"
    assert main(["nir", "import", str(f), "--out", str(out), "--dt", "1e-4",
                 "--calib-frames", "16"]) == 0
    assert "agreement with the float graph (not bit-exact)" in capsys.readouterr().out
    got = load_model(out)
    assert str(got.arch) == "1x8x8-4c3p1-10fc" and got.T == 4
    # beta 0.875 = 1 - 2**-3: the leak shift is exact
    assert [ly.k for ly in got.layers] == [3, 3] and [ly.reset for ly in got.layers] == \
        ["zero", "zero"]
    # the float weights' zeros stay zero, and a non-zero integer weight keeps its float's
    # sign (per-channel scales > 0; a small weight may round to zero at 4 bits)
    for ly, m in zip(got.layers, (net[0], net[3]), strict=True):
        w = m.weight.detach().numpy().reshape(ly.weight.shape)
        assert np.all(ly.weight[w == 0] == 0)
        nz = ly.weight != 0
        np.testing.assert_array_equal(np.sign(ly.weight[nz]), np.sign(w[nz]).astype(np.int8))
        assert nz.mean() > 0.5
    rep = json.loads((out / "nir_import.json").read_text())
    assert rep["frames"] == 16 and len(rep["layers"]) == 2
    # measured 99.0 % / 99.8 % of spikes equal to the float graph's (not bit-exact)
    assert all(ly["spike_agreement"] >= 0.95 for ly in rep["layers"]), rep["layers"]
    x = random_input(got, 3, np.random.default_rng(1))
    assert golden.run(got, x).pred.shape == (3,)

