"""Learning-rate curve, sparsity ramp and the Grad R prior strength that follows it."""

from __future__ import annotations

import math

import numpy as np

from fireflys.train.config import RAMPS, TrainError
from fireflys.train.snn import SpikingNet


def one_cycle(peak: float, step: int, total: int, warm: float = 0.15) -> float:
    """Learning rate at ``step`` (1-based) of ``total``: linear warm-up to ``peak`` over
    ``warm`` of the run, then cosine down to peak / 1000 (a function of the step only, so a
    resumed or extended run continues the same curve)."""
    w = max(1.0, warm * total)
    if step <= w:
        return peak * (0.04 + 0.96 * step / w)
    f = min(1.0, (step - w) / max(1.0, total - w))
    return peak * (1e-3 + (1 - 1e-3) * 0.5 * (1 + math.cos(math.pi * f)))


def sparsity_ramp(start: float, target: float, step: int, total: int,
                  reach: float = 0.5, shape: str = "linear") -> float:
    """Sparsity the run should have reached after ``step`` of ``total`` steps: from ``start``
    (the initial network's) to ``target`` at ``reach`` of the run, then flat. ``linear``
    prunes at a constant rate; ``cubic`` (gradual pruning, Zhu & Gupta 2017) prunes fast
    while the network is plastic and slowly near the target, 1 - (1 - f)^3."""
    f = min(1.0, step / max(1.0, reach * total))
    if shape == "cubic":
        f = 1.0 - (1.0 - f) ** 3
    elif shape != "linear":
        raise TrainError(f"unknown sparsity ramp {shape!r}: choose one of {list(RAMPS)}")
    return start + (target - start) * f


def overall_sparsity(net: SpikingNet) -> float:
    sizes = [ly.weight.theta.numel() for ly in net.layers]
    return float(np.average(net.weight_sparsity(), weights=sizes))


def adapt_alpha(net: SpikingNet, alpha: float, want: float, lo: float, hi: float,
                rate: float = 1.2) -> float:
    """Grad R's prior strength sets the sparsity only indirectly (the Laplace location is far
    below zero for useful alphas), so alpha follows the ramp: up when the exported int4
    weights are less sparse than wanted, down otherwise, within [lo, hi]."""
    now = overall_sparsity(net)
    return float(np.clip(alpha * (rate if now < want else 1 / rate), lo, hi))
