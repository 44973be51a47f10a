"""Bitmap sparse weight format of the FireFly-S sparsity detectors: pack and unpack.

A core has PCO detectors; slot ``s = g * PCO + d`` is group ``g`` of detector ``d`` and holds
output channel ``slots[s]`` (``-1``: phantom, all-zero). :func:`pack_hw` defaults to the plain
order ``slots[s] = s``; :func:`pack_layer` uses the compiler's balanced assignment
(:func:`fireflys.compiler.sched.channel_slots`). A window is
the hardware's window order (ky, kx, ci) with CI zero-padded to a multiple of PCI, cut into
``nseg = KH * KW * ceil(CI / PCI)`` segments of PCI bits; bit ``b`` of segment
``s = (ky * KW + kx) * ceil(CI/PCI) + j`` is input channel ``ci = j * PCI + b``.

Per detector:
- ``masks[d][g, s]``: PCI-bit word, bit b = weight non-zero;
- ``values[d]``: the non-zero int4 weights of its groups, group after group (g ascending),
  each in window order;
- ``bases[d][g]``: address of group g's first non-zero weight in ``values[d]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fireflys.compiler.sched import channel_slots
from fireflys.core.golden import hw_weight
from fireflys.core.model import CoreLayer


@dataclass
class PackedLayer:
    co: int
    ci: int
    kh: int
    kw: int
    pco: int
    pci: int
    masks: np.ndarray  # uint64 [PCO, G, nseg]
    values: list[np.ndarray]  # per detector: int8 [nnz_d]
    bases: np.ndarray  # int64 [PCO, G]
    counts: np.ndarray  # int64 [PCO, G] non-zeros per group
    slots: np.ndarray  # int64 [G * PCO] channel of each slot, -1 = phantom

    @property
    def groups(self) -> int:
        return self.masks.shape[1]

    @property
    def segs_per_pos(self) -> int:
        return -(-self.ci // self.pci)

    @property
    def nseg(self) -> int:
        return self.masks.shape[2]


def plain_slots(co: int, pco: int) -> np.ndarray:
    """Channel ``co`` in slot ``co`` (detector ``co % PCO``, group ``co // PCO``)."""
    groups = -(-co // pco)
    return np.where(np.arange(groups * pco) < co, np.arange(groups * pco), -1)


def _check_slots(slots: np.ndarray, co: int, pco: int) -> None:
    groups = -(-co // pco)
    real = slots[slots >= 0]
    if (len(slots) != groups * pco or np.any(slots < -1)
            or sorted(real.tolist()) != list(range(co))):
        raise ValueError(f"slots must place each of the {co} channels exactly once in "
                         f"{groups * pco} slots, got {slots.tolist()}")


def pack_hw(w_hw: np.ndarray, pco: int, pci: int, slots: np.ndarray | None = None,
            dense: bool = False) -> PackedLayer:
    """Pack weights given in hardware window order [CO, KH, KW, CI]; ``slots``: slot -> channel
    (default :func:`plain_slots`). ``dense``: every weight of a real channel is stored and its
    mask bit set, zero or not (the dense baseline)."""
    if not 1 <= pci <= 64:
        raise ValueError(f"PCI must be in 1..64, got {pci}")
    co, kh, kw, ci = w_hw.shape
    if not 1 <= pco <= co:
        raise ValueError(f"PCO must be in 1..{co} (CO), got {pco}")
    slots = plain_slots(co, pco) if slots is None else np.asarray(slots, dtype=np.int64)
    _check_slots(slots, co, pco)
    spp = -(-ci // pci)
    groups = -(-co // pco)
    full = np.zeros((groups * pco, kh, kw, spp * pci), dtype=np.int8)
    real = np.flatnonzero(slots >= 0)
    full[real, :, :, :ci] = w_hw[slots[real]]
    seg = full.reshape(groups, pco, kh * kw * spp, pci).transpose(1, 0, 2, 3)  # d, g, s, b
    if dense:
        real_w = np.zeros(full.shape, dtype=bool)
        real_w[real, :, :, :ci] = True
        nz = real_w.reshape(groups, pco, kh * kw * spp, pci).transpose(1, 0, 2, 3)
    else:
        nz = seg != 0
    weights_of_bit = np.left_shift(np.uint64(1), np.arange(pci, dtype=np.uint64))
    masks = (nz.astype(np.uint64) * weights_of_bit).sum(axis=-1, dtype=np.uint64)
    counts = nz.reshape(pco, groups, -1).sum(axis=-1).astype(np.int64)
    bases = np.zeros_like(counts)
    bases[:, 1:] = np.cumsum(counts, axis=1)[:, :-1]
    values = [seg[d][nz[d]].astype(np.int8) for d in range(pco)]
    return PackedLayer(co, ci, kh, kw, pco, pci, masks, values, bases, counts, slots)


def layer_slots(ly: CoreLayer) -> np.ndarray:
    """The compiler's balanced slot -> channel assignment of a layer."""
    return channel_slots((ly.weight != 0).reshape(ly.geom.out_ch, -1).sum(axis=1), ly.pco)


def pack_layer(ly: CoreLayer) -> PackedLayer:
    """Pack a compiled layer with its own PCO/PCI and balanced channel slots (FC columns
    permuted to hardware order); every weight stored when the layer is ``dense``."""
    return pack_hw(hw_weight(ly), ly.pco, ly.pci, layer_slots(ly), ly.dense)


def unpack_hw(p: PackedLayer) -> np.ndarray:
    """Rebuild the dense weights [CO, KH, KW, CI] from a :class:`PackedLayer`."""
    spp = p.segs_per_pos
    bits = np.arange(p.pci, dtype=np.uint64)
    nz = ((p.masks[..., None] >> bits) & np.uint64(1)).astype(bool)  # d, g, s, b
    seg = np.zeros(nz.shape, dtype=np.int8)
    for d in range(p.pco):
        if int(nz[d].sum()) != len(p.values[d]):
            raise ValueError(f"detector {d}: {int(nz[d].sum())} mask bits but "
                             f"{len(p.values[d])} packed weights")
        seg[d][nz[d]] = p.values[d]
    full = seg.transpose(1, 0, 2, 3).reshape(p.groups * p.pco, p.kh, p.kw, spp * p.pci)
    if full[p.slots < 0].any() or full[:, :, :, p.ci :].any():
        raise ValueError("mask bits set on phantom channels or padding lanes")
    out = np.zeros((p.co, p.kh, p.kw, p.ci), dtype=np.int8)
    real = np.flatnonzero(p.slots >= 0)
    out[p.slots[real]] = full[real, :, :, : p.ci]
    return out


def unpack_layer(p: PackedLayer, kind: str, in_shape: tuple[int, int, int]) -> np.ndarray:
    """Inverse of :func:`pack_layer`: dense weights in the compiled model's (torch) order."""
    w = unpack_hw(p)  # CO, KH, KW, CI
    if kind == "fc":
        return w.transpose(0, 3, 1, 2).reshape(p.co, -1)  # back to (c, h, w) flatten order
    return w.transpose(0, 3, 1, 2)


def addr_width(depth: int) -> int:
    """Bits needed to address ``depth`` words (at least 1)."""
    return max(1, (max(depth, 1) - 1).bit_length())


def wt_depth(p: PackedLayer) -> int:
    """Depth of every detector's weight ROM in a core: the largest non-zero count plus one
    spare word, so that every segment pointer (at most nnz) is a valid address."""
    return max(len(v) for v in p.values) + 1
