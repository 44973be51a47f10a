"""Training-data augmentation for `fireflys train --augment-shift N`: every training frame is
translated by its own random integer offset of at most N pixels in y and x, with zeros moved
in at the borders (no interpolation, so direct-input pixels and spikes stay integers).
Validation frames are never augmented."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def shift_frames(x: torch.Tensor, dy: np.ndarray, dx: np.ndarray) -> torch.Tensor:
    """Translate each frame of ``x`` ([B, ..., H, W]) by (dy[b], dx[b]) pixels: out[b, ...,
    i, j] = x[b, ..., i - dy[b], j - dx[b]], zero where that falls outside the frame."""
    n = int(max(np.abs(dy).max(initial=0), np.abs(dx).max(initial=0)))
    if n == 0:
        return x
    b, h, w = x.shape[0], x.shape[-2], x.shape[-1]
    mid = x.shape[1:-2]
    p = F.pad(x.reshape(b, -1, h, w), (n, n, n, n))
    rows = torch.as_tensor(n - dy)[:, None] + torch.arange(h)[None, :]  # [B, H]
    cols = torch.as_tensor(n - dx)[:, None] + torch.arange(w)[None, :]  # [B, W]
    out = p[torch.arange(b)[:, None, None, None], torch.arange(p.shape[1])[None, :, None, None],
            rows[:, None, :, None], cols[:, None, None, :]]
    return out.reshape(b, *mid, h, w)


def random_shift(x: torch.Tensor, max_shift: int, rng: np.random.Generator) -> torch.Tensor:
    """Each frame translated by offsets drawn uniformly from [-max_shift, max_shift]."""
    if max_shift == 0:
        return x
    d = rng.integers(-max_shift, max_shift + 1, size=(2, x.shape[0]))
    return shift_frames(x, d[0], d[1])
