"""Worst-case bounds of currents, membranes and scores, and the minimal signed widths.

Everything here is exact integer interval arithmetic on the semantics of DESIGN.md:

    I[c,t] = sum_i w[c,i] * x[i,t] + b[c]          x in [0, XMAX] (XMAX = 1 for spikes)
    V[c,t] = leak(V[c,t-1]) + I[c,t]                leak(v) = v - (v >>> k), or v when k = 0
    s = V > theta ; zero reset: V = 0 where s ; subtract reset: V -= theta where s

``leak`` is monotone non-decreasing, so iterating the interval [lo, hi] through T steps bounds
every reachable value. Partial sums of the accumulator (any order, bias first or last) lie in
[min(0,b) + sum of negative terms, max(0,b) + sum of positive terms].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def signed_width(lo: int, hi: int) -> int:
    """Smallest n >= 2 such that every value of [lo, hi] fits in n-bit two's complement."""
    n = 2
    while not (-(1 << (n - 1)) <= lo and hi <= (1 << (n - 1)) - 1):
        n += 1
    return n


def leak(v: np.ndarray, k: int) -> np.ndarray:
    """v - (v >>> k) with arithmetic (floor) shift; identity for k = 0 (IF neuron)."""
    return v - (v >> k) if k > 0 else v


@dataclass(frozen=True)
class LayerBounds:
    acc: tuple[int, int]  # accumulator partial sums (includes I)
    current: tuple[int, int]  # I[c,t] over all channels
    bias: tuple[int, int]
    theta: tuple[int, int] | None
    v: tuple[int, int] | None  # membrane, before and after the reset
    score: tuple[int, int] | None  # readout scores (last layer only)

    def widths(self) -> dict[str, int]:
        out = {"acc": signed_width(*self.acc), "bias": signed_width(*self.bias)}
        if self.theta is not None and self.v is not None:
            out["theta"] = signed_width(*self.theta)
            out["v"] = signed_width(*self.v)
        if self.score is not None:
            out["score"] = signed_width(*self.score)
        return out


def channel_sums(weight: np.ndarray, xmax: int) -> tuple[np.ndarray, np.ndarray]:
    """Per output channel, the most negative and most positive sum of weight x input for
    inputs in [0, xmax] (bias excluded)."""
    w = weight.reshape(weight.shape[0], -1).astype(np.int64)
    return np.where(w < 0, w, 0).sum(axis=1) * xmax, np.where(w > 0, w, 0).sum(axis=1) * xmax


def layer_bounds(
    weight: np.ndarray,
    bias: np.ndarray,
    theta: np.ndarray | None,
    *,
    xmax: int,
    T: int,
    k: int,
    reset: str,
    readout: str | None,
) -> LayerBounds:
    """Bounds for one layer. ``readout`` is None for hidden layers, else the readout mode."""
    b = bias.astype(np.int64)
    neg, pos = channel_sums(weight, xmax)
    acc = (int((np.minimum(b, 0) + neg).min()), int((np.maximum(b, 0) + pos).max()))
    i_lo, i_hi = b + neg, b + pos
    current = (int(i_lo.min()), int(i_hi.max()))
    bias_rng = (int(b.min()), int(b.max()))
    score = None
    if readout == "integrate":
        score = (min(0, T * current[0]), max(0, T * current[1]))
    elif readout == "spikes":
        score = (0, T)
    if theta is None:
        return LayerBounds(acc, current, bias_rng, None, None, score)
    th = theta.astype(np.int64)
    lo_s = np.zeros_like(b)
    hi_s = np.zeros_like(b)
    vmin, vmax = 0, 0
    for _ in range(T):
        lo_pre = leak(lo_s, k) + i_lo
        hi_pre = leak(hi_s, k) + i_hi
        vmin = min(vmin, int(lo_pre.min()))
        vmax = max(vmax, int(hi_pre.max()))
        fires = hi_pre > th
        after_fire = np.maximum(th, 0) if reset == "zero" else np.maximum(th, hi_pre - th)
        hi_s = np.where(fires, after_fire, hi_pre)
        lo_s = np.minimum(lo_pre, 0)
        vmax = max(vmax, int(hi_s.max()))
    return LayerBounds(acc, current, bias_rng, (int(th.min()), int(th.max())), (vmin, vmax), score)
