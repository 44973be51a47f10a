"""The work of the cores, from the golden model's spikes: what each core's scanners see per
input pixel (:func:`union_input`, :func:`scanned_input`) and the pairs the hardware counts
(:func:`union_work`: those that cost a cycle; :func:`pairs_work`: what the RTL's pairs counter
counts, one per step). Dense-baseline layers (:func:`fireflys.compiler.coreplan.dense_baseline`)
count every weight and every input position of the image."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from fireflys.compiler.coreplan import CorePlan, core_plans
from fireflys.core import golden
from fireflys.core.model import CompiledModel


def union_input(model: CompiledModel, x: np.ndarray, res: golden.GoldenResult,
                index: int) -> np.ndarray:
    """Per input pixel of layer ``index``: the OR over its planes, bool [frames, H, W, CI]."""
    inp = golden.layer_input(model, x, res, index)
    if model.direct(index):
        return inp != 0
    u = inp.any(axis=1)
    cp_shape = model.layers[index].geom.in_shape
    return u.reshape(u.shape[0], cp_shape[1], cp_shape[2], cp_shape[0]) if u.ndim == 2 else u


def scanned_input(model: CompiledModel, x: np.ndarray, res: golden.GoldenResult,
                  cp: CorePlan) -> np.ndarray:
    """What core ``cp``'s scanners AND with their masks, per input pixel: :func:`union_input`,
    or for the dense baseline every pixel of the image (bool [frames, H, W, CI])."""
    u = union_input(model, x, res, cp.index)
    return np.ones_like(u) if cp.dense else u


def union_work(model: CompiledModel, x: np.ndarray, res: golden.GoldenResult) -> list[int]:
    """Per layer, over all frames of ``x``: the pairs that cost a cycle, (non-zero weight,
    input position with a spike in any step, or a non-zero pixel for direct input); for a dense
    baseline layer (every weight, every input position of the image)."""
    out = []
    for cp, ly in zip(core_plans(model), model.layers, strict=True):
        w = np.ones_like(ly.weight) if ly.dense else (ly.weight != 0).astype(np.int8)
        ones = replace(ly, weight=w, bias=np.zeros_like(ly.bias))
        u = scanned_input(model, x, res, cp).astype(np.int64)
        out.append(int(golden.current(u, ones, 40).sum()))
    return out


def pairs_work(model: CompiledModel, x: np.ndarray, res: golden.GoldenResult) -> list[int]:
    """Per layer, over all frames of ``x``: what the RTL's pairs counter counts, the golden
    model's work ((non-zero weight, spike) pairs per step), or for a dense baseline layer
    (weight, spike) pairs per step with every weight, zero or not."""
    out = []
    for i, ly in enumerate(model.layers):
        if not ly.dense:
            out.append(int(res.work[i]))
            continue
        ones = replace(ly, weight=np.ones_like(ly.weight), bias=np.zeros_like(ly.bias))
        inp = golden.layer_input(model, x, res, i)
        if model.direct(i):  # the pixels' bit-planes: their popcount
            inp = np.bitwise_count(inp.astype(np.uint64)).astype(np.int64)
        else:
            inp = inp.reshape(-1, *inp.shape[2:])
        out.append(int(golden.current(inp, ones, 40).sum()))
    return out
