"""Datasets as integer frames for the compiled model.

``digits`` is the embedded default (scikit-learn's 1797 8x8 handwritten digits, shipped with
the package, no download): pixels 0..16 rescaled to IN_BITS unsigned integers.
"""

from __future__ import annotations

import numpy as np


def quantize_pixels(x: np.ndarray, in_bits: int, full_scale: float) -> np.ndarray:
    """Map pixels in [0, full_scale] to integers in [0, 2**in_bits - 1] (round half up)."""
    if not 1 <= in_bits <= 16:
        raise ValueError(f"in_bits must be in 1..16, got {in_bits}")
    top = (1 << in_bits) - 1
    q = np.floor(np.asarray(x, dtype=np.float64) / full_scale * top + 0.5)
    return np.clip(q, 0, top).astype(np.int64)


def load_digits(in_bits: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn digits as ([N, 1, 8, 8] int64 pixels, [N] labels)."""
    from sklearn.datasets import load_digits as _load

    d = _load()
    x = quantize_pixels(d.images, in_bits, 16.0)[:, None]
    return x, d.target.astype(np.int64)
