"""Cycle model of a sparse core, from the same inputs as the golden model.

The RTL's detector spends max(1, k) cycles on a channel group with k (non-zero weight,
input = 1) pairs (all time steps or bit-planes of the window at once), and the Pco
detectors of a core meet at every output pixel. So a core's busy cycles are

    sum over frames and output pixels of  max over detectors d of  sum over groups g of
    max(1, k[pixel, co = g * Pco + d])

with phantom channels (co >= CO) counting as empty groups. Back-pressure only delays the
start of a pixel, so this is exact for the core's busy counter (tests compare them).
Ideal cycles = work / Pco. The dense baseline (Skip = 0) visits every window position.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from . import golden
from .model import CompiledModel


def pair_counts(model: CompiledModel, x: np.ndarray,
                res: golden.GoldenResult | None = None) -> list[np.ndarray]:
    """Per layer: pairs k[frame, pixel, channel] over all planes of each output pixel."""
    res = res if res is not None else golden.run(model, x)
    out = []
    for i, ly in enumerate(model.layers):
        ones = replace(ly, weight=(ly.weight != 0).astype(np.int8),
                       bias=np.zeros_like(ly.bias))
        inp = golden.layer_input(model, x, res, i)
        if i == 0 and model.encoding == "direct":
            counts = np.bitwise_count(inp.astype(np.uint64)).astype(np.int64)
            k = golden.current(counts, ones, 40)  # B, Ho, Wo, CO
        else:
            b, t = inp.shape[:2]
            flat = inp.reshape(b * t, *inp.shape[2:])
            cur = golden.current(flat, ones, 40)
            k = cur.reshape(b, t, *cur.shape[1:]).sum(axis=1)
        out.append(k.reshape(k.shape[0], -1, k.shape[-1]))
    return out


def predict_busy(model: CompiledModel, x: np.ndarray,
                 res: golden.GoldenResult | None = None, skip: bool = True) -> list[int]:
    """Per layer: predicted busy cycles of the core over all frames of ``x``. ``skip=False``:
    the dense baseline, where every window position of every group costs a cycle."""
    cycles = []
    for i, (ly, k) in enumerate(zip(model.layers, pair_counts(model, x, res), strict=True)):
        b, px, co = k.shape
        groups = -(-co // ly.pco)
        if not skip:
            g = ly.geom
            planes = model.in_bits if i == 0 and model.encoding == "direct" else model.T
            positions = planes * g.kh * g.kw * -(-g.in_shape[0] // ly.pci) * ly.pci
            cycles.append(b * px * groups * positions)
            continue
        full = np.zeros((b, px, groups * ly.pco), dtype=np.int64)
        full[..., :co] = k
        per_det = np.maximum(full.reshape(b, px, groups, ly.pco), 1).sum(axis=2)
        cycles.append(int(per_det.max(axis=-1).sum()))
    return cycles
