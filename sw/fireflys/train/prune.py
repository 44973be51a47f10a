"""Gradient Rewiring (Chen et al., IJCAI 2021) as used by FireFly-S, and silent channels.

A pruned parameter is ``w = s * relu(theta)`` with ``s`` the fixed sign of its initial value
and ``theta`` the trainable hidden parameter; the connection is absent while ``theta <= 0``
and can grow back. The gradient with respect to ``w`` (times ``s``) goes to ``theta`` as if
the ReLU were the identity, and a Laplace prior adds ``alpha * sign(theta - mu)`` to the
gradient, with ``mu`` chosen so that the prior's mass below zero is the target sparsity.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn


def laplace_mu(target: float, alpha: float) -> float:
    """Location of the Laplace(mu, 1/alpha) prior whose mass below 0 is ``target``."""
    if not 0.0 < target < 1.0:
        raise ValueError(f"target sparsity must be in (0, 1), got {target}")
    if alpha <= 0:
        raise ValueError(f"alpha must be > 0, got {alpha}")
    if target >= 0.5:
        return math.log(2 * (1 - target)) / alpha
    return -math.log(2 * target) / alpha


class GradRParam(nn.Module):
    """``s * relu(theta)`` with the rewiring gradient (ReLU ignored in the backward pass).

    ``dense=True`` (training without pruning, ``--sparsity 0``): ``theta`` is the signed
    weight itself, so a weight may change sign instead of sticking at zero; ``sign`` is all
    ones and the state dict keeps the same keys."""

    def __init__(self, init: torch.Tensor, dense: bool = False) -> None:
        super().__init__()
        self.dense = dense
        sign = torch.ones_like(init) if dense else torch.where(init < 0, -1.0, 1.0)
        self.register_buffer("sign", sign)
        self.theta = nn.Parameter(init.clone() if dense else init.abs().clone())

    def forward(self) -> torch.Tensor:
        t = self.theta
        if self.dense:
            return t
        return self.sign * (t + (t.clamp(min=0) - t).detach())

    def alive(self) -> torch.Tensor:
        return self.theta.detach() != 0 if self.dense else self.theta.detach() > 0


def add_prior_grad(params: list[GradRParam], alpha: float, mu: float) -> None:
    """Add the Laplace prior's gradient ``alpha * sign(theta - mu)`` to every ``theta``."""
    for p in params:
        if p.theta.grad is None:
            p.theta.grad = torch.zeros_like(p.theta)
        p.theta.grad.add_(alpha * torch.sign(p.theta.detach() - mu))


def bias_only_spikes(bias: np.ndarray, theta: np.ndarray, T: int, k: int,
                     reset: str) -> np.ndarray:
    """[T, C] spikes of neurons that only ever see their bias (the integer semantics)."""
    v = np.zeros(len(bias), dtype=np.int64)
    out = np.zeros((T, len(bias)), dtype=bool)
    for t in range(T):
        if k:
            v -= v >> k
        v += bias
        out[t] = v > theta
        v = np.where(out[t], 0, v) if reset == "zero" else v - out[t] * theta
    return out


def silent_channels(weight: np.ndarray, bias: np.ndarray, theta: np.ndarray, T: int, k: int,
                    reset: str) -> np.ndarray:
    """FireFly-S Algorithm 1: channels whose weights are all zero and whose bias alone never
    makes them fire; they always output 0 and can be removed."""
    empty = ~weight.reshape(weight.shape[0], -1).any(axis=1)
    never = ~bias_only_spikes(bias, theta, T, k, reset).any(axis=0)
    return np.flatnonzero(empty & never)


def weight_masks(net) -> list[torch.Tensor]:
    """Per Grad R parameter (weight, bias of every layer) the entries that export non-zero."""
    out = []
    for ly in net.layers:
        qw, qb, _ = ly.integers()
        out += [qw != 0, qb != 0]
    return out


def apply_masks(net, masks: list[torch.Tensor]) -> None:
    """Fixed-mask phase: every entry outside its mask gets ``theta <= 0`` (an exact zero that
    cannot grow back), so the exported sparsity never falls below the frozen one."""
    with torch.no_grad():
        for p, m in zip(net.gradr_params(), masks, strict=True):
            p.theta.masked_fill_(~m & (p.theta > 0), 0.0)
