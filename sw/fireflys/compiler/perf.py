"""Cycle model of the sparse cores, from the same inputs as the golden model.

Per detector and output pixel (``fireflys.compiler.sched``: channel slots, ``Look`` groups per mask
word), a detector spends, for each mask word of ``Look`` groups, the number of pairs of the
word's groups, or one cycle when the word has none. So with ``Look = 1`` a group with k pairs
costs max(1, k); with ``Look = G`` a pixel costs max(1, pairs). This occupancy is exact for
every detector (the RTL's per-detector counters ``cnt_occ_o`` must equal it).

The detectors of a core are coupled by the window stage: a window stays there until every
detector has taken it, and each detector takes the next one the cycle it finishes (a fast
detector runs at most one pixel ahead of the slowest). Output pixels wait in ``NUM_BUF``
buffers. :func:`schedule` replays this per frame with windows always available and the output
never blocked; the core's busy counter (cycles with any detector working) then equals the
union of the detectors' working intervals. Input gaps and output back-pressure change that
union a little (report the error); they never change the per-detector occupancy.

Ideal cycles = work / PCO. The dense baseline (Skip = 0) visits every window position of every
group.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from fireflys.compiler.coreplan import core_plans
from fireflys.core import golden
from fireflys.core.model import CompiledModel

NUM_BUF = 4   # sparse_core's output pixel buffers
DONE_LAT = 3  # cycles from a detector's last cycle on a pixel to the buffer's hand-off


def pair_counts(model: CompiledModel, x: np.ndarray,
                res: golden.GoldenResult | None = None) -> list[np.ndarray]:
    """Per layer: pairs k[frame, pixel, channel] over all planes of each output pixel."""
    res = res if res is not None else golden.run(model, x)
    out = []
    for i, ly in enumerate(model.layers):
        ones = replace(ly, weight=(ly.weight != 0).astype(np.int8),
                       bias=np.zeros_like(ly.bias))
        inp = golden.layer_input(model, x, res, i)
        if model.direct(i):
            counts = np.bitwise_count(inp.astype(np.uint64)).astype(np.int64)
            k = golden.current(counts, ones, 40)  # B, Ho, Wo, CO
        else:
            b, t = inp.shape[:2]
            flat = inp.reshape(b * t, *inp.shape[2:])
            cur = golden.current(flat, ones, 40)
            k = cur.reshape(b, t, *cur.shape[1:]).sum(axis=1)
        out.append(k.reshape(k.shape[0], -1, k.shape[-1]))
    return out


def pixel_costs(model: CompiledModel, x: np.ndarray, res: golden.GoldenResult | None = None,
                skip: bool = True, counts: list[np.ndarray] | None = None) -> list[np.ndarray]:
    """Per layer: cycles C[frame, pixel, detector] each detector spends on each pixel.
    ``counts``: :func:`pair_counts` of ``x`` when already known (they do not depend on the
    layers' PCO)."""
    counts = counts if counts is not None else pair_counts(model, x, res)
    out = []
    for cp, k in zip(core_plans(model), counts, strict=True):
        b, px, _ = k.shape
        slots, groups, pco = cp.slots, cp.groups, cp.pco
        if not skip:
            out.append(np.full((b, px, pco), groups * cp.window_bits, dtype=np.int64))
            continue
        look = cp.look
        by_slot = np.zeros((b, px, len(slots)), dtype=np.int64)
        real = np.flatnonzero(slots >= 0)
        by_slot[..., real] = k[..., slots[real]]
        words = by_slot.reshape(b, px, groups // look, look, pco).sum(axis=3)
        out.append(np.where(words > 0, words, 1).sum(axis=2))
    return out


def covered_cycles(start: np.ndarray, end: np.ndarray) -> int:
    """Cycles covered by the inclusive intervals [start, end] (empty when end < start)."""
    keep = end >= start
    start, end = start[keep], end[keep]
    if not len(start):
        return 0
    order = np.argsort(start, kind="stable")
    start, end = start[order], end[order]
    reach = np.maximum.accumulate(end)
    before = np.concatenate([[start[0] - 1], reach[:-1]])
    return int(np.maximum(0, end - np.maximum(start - 1, before)).sum())


def schedule(costs: np.ndarray) -> np.ndarray:
    """Busy cycles per frame of a core whose detectors spend ``costs[frame, pixel, d]``."""
    b, n, pco = costs.shape
    take = np.zeros((b, pco), dtype=np.int64)
    free = np.zeros((b, pco), dtype=np.int64)
    stage = np.full(b, -1, dtype=np.int64)
    handoff = np.zeros((b, n), dtype=np.int64)
    starts = np.empty((b, n, pco), dtype=np.int64)
    for p in range(n):
        s = stage + 1
        if p:
            s = np.maximum(s, take.max(axis=1))          # every detector took window p - 1
        if p >= NUM_BUF:
            s = np.maximum(s, handoff[:, p - NUM_BUF] + 1)  # its buffer is free again
        take = np.maximum(free, (s + 1)[:, None])
        free = take + costs[:, p]
        handoff[:, p] = free.max(axis=1) + DONE_LAT
        if p:
            handoff[:, p] = np.maximum(handoff[:, p], handoff[:, p - 1] + 1)
        stage = s
        starts[:, p] = take
    return np.array([covered_cycles((starts[f] + 1).reshape(-1), (starts[f] + costs[f]).reshape(-1))
                     for f in range(b)], dtype=np.int64)


def occupancy(costs: list[np.ndarray]) -> list[list[int]]:
    """Per layer and detector: cycles working on pixels, summed over frames (exact)."""
    return [c.sum(axis=(0, 1)).tolist() for c in costs]


def busy(costs: list[np.ndarray]) -> list[int]:
    """Per layer: predicted busy cycles of the core, summed over frames."""
    return [int(schedule(c).sum()) for c in costs]


def predict_occupancy(model: CompiledModel, x: np.ndarray,
                      res: golden.GoldenResult | None = None, skip: bool = True
                      ) -> list[list[int]]:
    """Per layer and detector: cycles working on pixels, over all frames of ``x`` (exact)."""
    return occupancy(pixel_costs(model, x, res, skip))


def predict_busy(model: CompiledModel, x: np.ndarray,
                 res: golden.GoldenResult | None = None, skip: bool = True) -> list[int]:
    """Per layer: predicted busy cycles of the core over all frames of ``x``."""
    return busy(pixel_costs(model, x, res, skip))
