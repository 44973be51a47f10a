"""LSQ quantization (Esser et al. 2020), FireFly-S flavour: one learnable scale per output
channel, shared by the channel's weights, bias and threshold, so inference is integer-only.

Training uses fake quantization: ``S * round(clamp(x / S, Qn, Qp))`` with straight-through
rounding and the LSQ gradient scale ``1 / sqrt(N * Qp)`` on ``S``. :func:`to_int` gives the
exact integers that are exported.
"""

from __future__ import annotations

import math

import torch

W_QN, W_QP = -8, 7  # int4 weights
B_QN, B_QP = -(1 << 15), (1 << 15) - 1  # bias, before the compiler's width analysis
TH_QN, TH_QP = 0, (1 << 15) - 1  # threshold (>= 0 keeps a zero reset below threshold)


def round_ste(x: torch.Tensor) -> torch.Tensor:
    """round() forward, identity backward."""
    return x + (torch.round(x) - x).detach()


def floor_ste(x: torch.Tensor) -> torch.Tensor:
    """floor() forward, identity backward."""
    return x + (torch.floor(x) - x).detach()


def grad_scale(x: torch.Tensor, g: float) -> torch.Tensor:
    """x forward, gradient multiplied by g."""
    return (x - x * g).detach() + x * g


def lsq_init(w: torch.Tensor) -> torch.Tensor:
    """Initial scale per output channel (dim 0): 2 * mean|w| / sqrt(Qp)."""
    m = w.detach().abs().reshape(w.shape[0], -1).mean(dim=1)
    return torch.clamp(2 * m / math.sqrt(W_QP), min=1e-4)


def fake_quant(x: torch.Tensor, step: torch.Tensor, qn: int, qp: int) -> torch.Tensor:
    """step * round(clamp(x / step, qn, qp)), straight-through; ``step`` broadcasts over x."""
    return round_ste(torch.clamp(x / step, qn, qp)) * step


def to_int(x: torch.Tensor, step: torch.Tensor, qn: int, qp: int) -> torch.Tensor:
    """The exported integers of :func:`fake_quant` (int64, no gradient)."""
    with torch.no_grad():
        return torch.clamp(torch.round(x / step), qn, qp).to(torch.int64)


def channel_view(s: torch.Tensor, ndim: int) -> torch.Tensor:
    """A per-channel vector shaped to broadcast over a [C, ...] tensor of ``ndim`` dims."""
    return s.reshape(-1, *([1] * (ndim - 1)))
