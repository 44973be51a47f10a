"""Export a trained :class:`fireflys.train.snn.SpikingNet` to the compiled model format.

The exported integers are exactly the ones the network uses in eval mode. Silent channels
(FireFly-S Algorithm 1: all weights pruned and the bias alone never fires) are removed: from
their layer's outputs and from the next layer's inputs; the architecture string shrinks
accordingly (a removed channel only ever outputs 0, so no other spike changes).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from fireflys.core.arch import Arch, parse_arch
from fireflys.core.model import CompiledModel, CoreLayer, default_pci, default_pco
from fireflys.train.prune import silent_channels
from fireflys.train.snn import SpikingNet


@dataclass
class ExportResult:
    model: CompiledModel
    kept: list[np.ndarray]  # per layer: original indices of the kept output channels


def _drop_inputs(weight: np.ndarray, kind: str, in_shape: tuple[int, int, int],
                 drop: np.ndarray) -> np.ndarray:
    """Remove input channels ``drop`` from a conv [CO, CI, K, K] or FC [CO, C*H*W] weight."""
    if kind == "fc":
        c, h, w = in_shape
        return np.delete(weight.reshape(-1, c, h, w), drop, axis=1).reshape(weight.shape[0], -1)
    return np.delete(weight, drop, axis=1)


def export(net: SpikingNet, *, remove_silent: bool = True, pco: list[int] | None = None,
           pci: list[int] | None = None) -> ExportResult:
    """The compiled integer model of ``net`` (widths assigned)."""
    ints = [ly.integers() for ly in net.layers]
    weights = [w.numpy().astype(np.int64) for w, _, _ in ints]
    biases = [b.numpy().astype(np.int64) for _, b, _ in ints]
    thetas = [None if t is None else t.numpy().astype(np.int64) for _, _, t in ints]
    geoms = list(net.arch.layers)
    kept = [np.arange(g.out_ch) for g in geoms]
    n = len(geoms)
    if remove_silent:
        for i in range(n - 1):
            th = thetas[i]
            assert th is not None
            drop = silent_channels(weights[i], biases[i], th, net.T, net.k, net.reset_kind)
            if len(drop) == len(kept[i]):
                drop = drop[1:]  # keep one channel: a layer needs an output
            if not len(drop):
                continue
            weights[i] = np.delete(weights[i], drop, axis=0)
            biases[i] = np.delete(biases[i], drop)
            thetas[i] = np.delete(th, drop)
            kept[i] = np.delete(kept[i], drop)
            weights[i + 1] = _drop_inputs(weights[i + 1], geoms[i + 1].kind,
                                          geoms[i].out_shape, drop)
            geoms[i] = replace(geoms[i], out_ch=len(kept[i]))
    arch = parse_arch("x".join(map(str, net.arch.in_shape)) +
                      "".join("-" + g.token() for g in geoms))
    layers = []
    for i, g in enumerate(arch.layers):
        layers.append(CoreLayer(
            g, weights[i].astype(np.int8), biases[i].astype(np.int32),
            None if thetas[i] is None else thetas[i].astype(np.int32), net.k,
            net.reset_kind, pco[i] if pco else default_pco(g.out_ch),
            pci[i] if pci else default_pci(g.in_shape[0])))
    model = CompiledModel(arch, net.T, net.encoding, net.in_bits if net.encoding == "direct"
                          else 1, net.readout, layers)
    model.assign_widths()
    return ExportResult(model, kept)


def same_arch_family(a: Arch, b: Arch) -> bool:
    """Same layer kinds, kernels, pads and pools (channel counts may differ)."""
    return a.in_shape == b.in_shape and len(a.layers) == len(b.layers) and all(
        (x.kind, x.kernel, x.pad, x.pool) == (y.kind, y.kernel, y.pad, y.pool)
        for x, y in zip(a.layers, b.layers, strict=True))
