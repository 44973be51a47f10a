"""Binary patterns for Phi: bit packing, the layers Phi can apply to, and k-means pattern
selection with the Hamming distance (Phi's Level-1 patterns)."""

from __future__ import annotations

import numpy as np

from fireflys.core.model import CompiledModel
from fireflys.errors import FireflysError


class PhiError(FireflysError, ValueError):
    """Phi tables that cannot be built, read or used."""


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """[..., k] of 0/1 -> [...] uint64, bit b = element b."""
    k = bits.shape[-1]
    w = np.left_shift(np.uint64(1), np.arange(k, dtype=np.uint64))
    return (bits.astype(np.uint64) * w).sum(axis=-1, dtype=np.uint64)


def unpack_bits(v: np.ndarray, k: int) -> np.ndarray:
    """[...] uint64 -> [..., k] uint8."""
    return ((v[..., None] >> np.arange(k, dtype=np.uint64)) & np.uint64(1)).astype(np.uint8)


def popcount(v: np.ndarray) -> np.ndarray:
    return np.bitwise_count(v).astype(np.int64)


def spike_layers(model: CompiledModel) -> list[int]:
    """Layers whose input is spikes (a direct-input first layer sees pixel bit-planes)."""
    return [i for i in range(len(model.layers)) if i > 0 or model.encoding == "spikes"]


def _distance(u: np.ndarray, pats: np.ndarray) -> np.ndarray:
    """Hamming distance of vectors ``u`` [n] to patterns [q] -> [n, q]."""
    return popcount(u[:, None] ^ pats[None, :])


def _kmeanspp(u: np.ndarray, f: np.ndarray, q: int, rng: np.random.Generator) -> np.ndarray:
    first = int(rng.choice(len(u), p=f / f.sum()))
    cent = [u[first]]
    d = _distance(u, np.array(cent, dtype=np.uint64))[:, 0].astype(np.float64)
    for _ in range(1, q):
        w = f * d
        if w.sum() <= 0:
            break
        nxt = int(rng.choice(len(u), p=w / w.sum()))
        cent.append(u[nxt])
        d = np.minimum(d, _distance(u, np.array([u[nxt]], dtype=np.uint64))[:, 0])
    return np.array(cent, dtype=np.uint64)


def select_patterns(vectors: np.ndarray, k: int, q: int, iters: int = 10,
                    seed: int = 0) -> np.ndarray:
    """Up to ``q`` binary patterns of ``k`` bits from calibration ``vectors`` (uint64):
    vectors of fewer than two ones dropped, frequency-weighted k-means (k-means++ start) with
    the Hamming distance, centroids rounded to 0/1; patterns of fewer than two ones (no better
    than a weight) and duplicates removed."""
    u, f = np.unique(vectors, return_counts=True)
    keep = popcount(u) >= 2
    u, f = u[keep], f[keep].astype(np.float64)
    if len(u) == 0:
        return np.zeros(0, dtype=np.uint64)
    rng = np.random.default_rng(seed)
    cent = _kmeanspp(u, f, min(q, len(u)), rng)
    bits = unpack_bits(u, k).astype(np.float64)
    for _ in range(iters):
        lab = np.argmin(_distance(u, cent), axis=1)
        new = []
        for j in range(len(cent)):
            sel = lab == j
            if not sel.any():
                continue
            mean = (bits[sel] * f[sel, None]).sum(axis=0) / f[sel].sum()
            new.append(pack_bits((mean >= 0.5).astype(np.uint8)))
        new_arr = np.unique(np.array(new, dtype=np.uint64))
        if len(new_arr) == len(cent) and np.array_equal(np.sort(cent), new_arr):
            break
        cent = new_arr
    cent = np.unique(cent)
    return cent[popcount(cent) >= 2]
