"""Spiking CNN built from an architecture string, trained with snntorch surrogate gradients,
Gradient Rewiring and per-channel LSQ (FireFly-S), whose eval mode is the integer contract.

Per layer, ``u = S * a`` is the integer unit of output channel c (``S``: the channel's LSQ
scale; ``a``: the input's unit, ``1 / (2**IN_BITS - 1)`` for direct pixels, 1 for spikes).
Weights are ``S * q_w`` with ``q_w`` int4, bias ``u * q_b``, threshold ``u * q_th``, so the
current and membrane are ``u`` times integers and no rescaling is needed anywhere.

- Training (``net.train()``): fake quantization with straight-through rounding, the neuron
  leak ``V - u * floor(V / (u * 2**k))`` with a straight-through floor, snntorch's arctan
  surrogate for the strict ``V > theta`` and a detached reset in the same step.
- Eval (``net.eval()``): the same network on the exported integers in float64 (exact below
  2**53), i.e. DESIGN.md's integer semantics: the golden model on the exported model gives
  the same spikes at every layer and time step.
- The integrate readout layer uses one scale for all classes (its scores are compared by
  argmax, which a per-class scale would change).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import snntorch as snn
import torch
import torch.nn.functional as F
from snntorch import surrogate
from torch import nn

from fireflys.core.arch import Arch, Layer
from fireflys.core.model import takes_direct_input
from fireflys.train.prune import GradRParam
from fireflys.train.quant import (
    B_QN,
    B_QP,
    TH_QN,
    TH_QP,
    W_QN,
    W_QP,
    channel_view,
    fake_quant,
    floor_ste,
    grad_scale,
    lsq_init,
    to_int,
)


class IntLeaky(snn.Leaky):
    """snntorch Leaky neuron with the contract's dynamics: ``V = V - (V >>> k) + I``, spike
    ``V > theta`` (strict, snntorch's Heaviside), zero or subtract reset in the same step,
    V = 0 at frame start. ``unit`` is the integer unit of V (1 in eval mode)."""

    def __init__(self, k: int, reset: str) -> None:
        super().__init__(beta=1.0 - 2.0 ** -k if k else 1.0, spike_grad=surrogate.atan(),
                         reset_mechanism=reset, reset_delay=False)
        self.k = k
        self.reset_kind = reset

    def run(self, cur: torch.Tensor, theta: torch.Tensor, unit: torch.Tensor | float
            ) -> torch.Tensor:
        """Currents [B, T, C, ...] -> spikes [B, T, C, ...]; ``theta``/``unit`` broadcast."""
        v = torch.zeros_like(cur[:, 0])
        out = []
        for t in range(cur.shape[1]):
            if self.k:
                v = v - unit * floor_ste(v / (unit * 2.0 ** self.k))
            v = v + cur[:, t]
            s = self.spike_grad(v - theta).to(v.dtype)
            r = s.detach()
            v = v * (1 - r) if self.reset_kind == "zero" else v - r * theta
            out.append(s)
        return torch.stack(out, dim=1)


@dataclass
class LayerTrace:
    spikes: torch.Tensor | None  # [B, T, C, H, W] before pooling (None for the readout)
    out: torch.Tensor | None  # after pooling


class QLayer(nn.Module):
    """One conv or FC layer with GradR weight and bias, LSQ scale, threshold and neuron."""

    def __init__(self, geom: Layer, *, T: int, in_unit: float, neuron: bool,
                 per_channel: bool, k: int, reset: str, generator: torch.Generator,
                 dense: bool = False) -> None:
        super().__init__()
        self.geom = geom
        self.t_steps = T
        self.in_unit = in_unit
        shape = geom.weight_shape
        fan_in = geom.fan_in
        w0 = torch.randn(shape, generator=generator) * math.sqrt(2.0 / fan_in)
        self.weight = GradRParam(w0, dense)
        self.bias = GradRParam(torch.randn(geom.out_ch, generator=generator) * 0.01, dense)
        n_scale = geom.out_ch if per_channel else 1
        s0 = lsq_init(w0)
        self.scale = nn.Parameter(s0 if per_channel else s0.mean().reshape(1))
        self.theta = nn.Parameter(torch.full((geom.out_ch,), 0.5)) if neuron else None
        self.neuron = IntLeaky(k, reset) if neuron else None
        self.g_w = 1.0 / math.sqrt(fan_in * W_QP)
        self.n_scale = n_scale

    # ------------------------------------------------------------------ parameters
    def _scale(self) -> torch.Tensor:
        s = grad_scale(self.scale, self.g_w).abs() + 1e-8
        return s.expand(self.geom.out_ch) if self.n_scale == 1 else s

    def _quantize_with(self, quant) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None,
                                     torch.Tensor]:
        s = self._scale()
        w = self.weight()
        u = s * self.in_unit
        qw = quant(w, channel_view(s, w.dim()), W_QN, W_QP)
        qb = quant(self.bias(), u, B_QN, B_QP)
        qt = None if self.theta is None else quant(self.theta, u, TH_QN, TH_QP)
        return qw, qb, qt, u

    def quantized(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """Fake-quantized (weight, bias, threshold) in float units and the channel unit u."""
        return self._quantize_with(fake_quant)

    def integers(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """The exported integers: int4 weights, bias and threshold in units of u."""
        with torch.no_grad():
            qw, qb, qt, _ = self._quantize_with(to_int)
        return qw, qb, qt

    # ------------------------------------------------------------------ forward
    def _current(self, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """x [N, C, H, W] -> [N, CO, Ho, Wo] (conv) or [N, CO, 1, 1] (fc)."""
        g = self.geom
        if g.kind == "fc":
            return F.linear(x.reshape(len(x), -1), w, b)[:, :, None, None]
        return F.conv2d(x, w, b, padding=g.pad)

    def forward(self, x: torch.Tensor, direct: bool) -> tuple[torch.Tensor, LayerTrace]:
        """x: direct pixels [B, C, H, W] (integers) or spikes [B, T, C, H, W]. Returns the
        output (spikes after pooling, or the integrate-readout scores [B, CO]) and a trace."""
        T = self.t_steps
        if self.training:
            w, b, th, u = self.quantized()
            scale_in = self.in_unit
        else:
            qw, qb, qt = self.integers()
            w, b = qw.double(), qb.double()
            th = None if qt is None else qt.double()
            u = torch.ones(self.geom.out_ch, dtype=torch.float64)
            scale_in = 1.0
            x = x.double()
        if direct:
            cur = self._current(x * scale_in, w, b)  # computed once, used for all T
            cur = cur[:, None].expand(-1, T, -1, -1, -1)
        else:
            bsz = x.shape[0]
            cur = self._current(x.reshape(bsz * T, *x.shape[2:]).to(w.dtype), w, b)
            cur = cur.reshape(bsz, T, *cur.shape[1:])
        if self.neuron is None:
            scores = cur.sum(dim=1).reshape(cur.shape[0], -1)
            return scores, LayerTrace(None, None)
        s = self.neuron.run(cur, channel_view(th, 3), channel_view(u, 3).to(cur.dtype))
        out = s
        if self.geom.pool == 2:
            bsz = s.shape[0]
            out = F.max_pool2d(s.reshape(bsz * T, *s.shape[2:]), 2)
            out = out.reshape(bsz, T, *out.shape[1:])
        return out, LayerTrace(s, out)


class SpikingNet(nn.Module):
    """The trainable network of an :class:`Arch` (see the module docstring)."""

    def __init__(self, arch: Arch, *, T: int = 4, encoding: str = "direct", in_bits: int = 8,
                 k: int = 1, reset: str = "zero", readout: str = "integrate",
                 seed: int = 0, dense: bool = False) -> None:
        super().__init__()
        self.dense = dense  # no pruning: signed weights (see GradRParam)
        self.arch, self.T, self.encoding, self.in_bits = arch, T, encoding, in_bits
        self.k, self.reset_kind, self.readout = k, reset, readout
        gen = torch.Generator().manual_seed(seed)
        n = len(arch.layers)
        layers = []
        for i, g in enumerate(arch.layers):
            last = i == n - 1
            direct = takes_direct_input(encoding, i)
            neuron = not (last and readout == "integrate")
            layers.append(QLayer(g, T=T, in_unit=1.0 / ((1 << in_bits) - 1) if direct else 1.0,
                                 neuron=neuron, per_channel=neuron, k=k, reset=reset,
                                 generator=gen, dense=dense))
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor, trace: bool = False):
        """x: direct pixels [B, C, H, W] or spikes [B, T, C, H, W] (integers). Returns the
        class scores [B, classes] (and the per-layer traces when ``trace``)."""
        traces = []
        h = x
        for i, ly in enumerate(self.layers):
            h, tr = ly(h, direct=takes_direct_input(self.encoding, i))
            traces.append(tr)
        scores = h if h.dim() == 2 else h.sum(dim=1).reshape(h.shape[0], -1)
        return (scores, traces) if trace else scores

    def gradr_params(self) -> list[GradRParam]:
        return [p for ly in self.layers for p in (ly.weight, ly.bias)]

    def weight_sparsity(self) -> list[float]:
        """Fraction of int4 weights that export as zero, per layer."""
        return [float((ly.integers()[0] == 0).double().mean()) for ly in self.layers]
