"""Pattern-aware fine-tuning for Phi (:mod:`fireflys.phi.tables`): the penalty.

The Phi operations of a layer, for fixed patterns and use decisions (taken from the
batch's spikes each step), are linear in the input spikes: a spike at channel ``c`` of a pixel
costs ``n[c]`` pairs (:func:`channel_pairs`: the (output channel, kernel position) pairs with a
non-zero weight at ``c``; conv borders ignored) in a block that does not use its pattern, and
``n[c] * (1 - 2 p[c])`` in a used block on a step with a spike, plus the constant ``n[c] p[c]``
and one PWP add per output channel there. So the surrogate gradient of the spikes carries
``G = n * (1 - 2 p)`` or ``n``: spikes that complete a pattern are cheaper, spikes off it
dearer. The value is the operations count of :func:`fireflys.phi.tables.counts` up to the image
borders.
"""

from __future__ import annotations

import numpy as np
import torch

from fireflys.core.golden import hw_weight
from fireflys.phi import tables as phi


def channel_pairs(ly) -> np.ndarray:
    """Pairs a spike at an input channel takes part in, broadcastable to [..., H, W, C]: a
    conv layer's per channel (output channels x kernel positions with a non-zero weight there,
    every window over the pixel), an FC layer's per pixel and channel (its one window)."""
    nz = hw_weight(ly) != 0  # CO, KH, KW, C
    if ly.geom.kind == "fc":
        return nz.sum(axis=0).astype(np.float32)  # H, W, C
    return nz.sum(axis=(0, 1, 2)).astype(np.float32)


PENALTY_BETA = {"ops": 0.0, "saving": 1.0}


def penalty_beta(kind: str, beta: float | None = None) -> float:
    """The ``beta`` of a penalty kind (``ops`` 0, ``saving`` 1), or ``beta`` itself."""
    if beta is not None:
        if not 0.0 <= beta <= 1.0:
            raise ValueError(f"penalty beta must be in 0..1, got {beta}")
        return float(beta)
    if kind not in PENALTY_BETA:
        raise ValueError(f"penalty kind must be 'ops' or 'saving', got {kind!r}")
    return PENALTY_BETA[kind]


def penalty(traces, model, tables: phi.PhiTables, kept: list[np.ndarray],
            kind: str = "ops", beta: float | None = None) -> torch.Tensor:
    """Differentiable ``Phi operations - beta x zero-skip operations`` of a batch, summed over
    the Phi layers. ``kind="ops"`` (beta 0): the Phi operations, which rewards silence too;
    ``"saving"`` (beta 1): the difference, where only spikes of used blocks count, ``-2 n p``
    each (completing a pattern is rewarded, silence is not, and spikes that complete patterns
    may be added); a ``beta`` in between makes every spike cost ``(1 - beta) n`` outside a
    used block and ``n (1 - beta - 2 p)`` in one."""
    b = penalty_beta(kind, beta)
    total = torch.zeros(())
    for li, tl in tables.layers.items():
        ly = model.layers[li]
        s = traces[li - 1].out[:, :, torch.as_tensor(kept[li - 1])]  # B, T, C, H, W
        if s.dim() == 3:  # an FC layer after a flattened input: [B, T, C*H*W]
            c, h, w = ly.geom.in_shape
            s = s.reshape(s.shape[0], s.shape[1], c, h, w)
        ci = s.shape[2]
        spikes = (s.detach() > 0.5).permute(0, 1, 3, 4, 2).numpy().astype(np.uint8)
        dec = phi.decompose(tl, spikes)
        n = channel_pairs(ly)  # C
        pbits = phi.channel_bits(dec.pattern, tl.k, ci)
        on = dec.lanes[..., np.arange(ci) // tl.k]  # B, T, H, W, C: used block, step w/ spike
        g = (np.where(on, n * (1.0 - 2.0 * pbits[:, None]), n) - b * n).astype(np.float32)
        const = float((on * n * pbits[:, None]).sum())
        co = ly.geom.out_ch
        const += float(dec.lanes.sum()) * co  # one PWP add per output channel
        gt = torch.as_tensor(g).permute(0, 1, 4, 2, 3)  # B, T, C, H, W
        total = total + (gt * s).sum() + const
    return total
