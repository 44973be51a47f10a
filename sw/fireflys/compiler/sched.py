"""Hardware scheduling decisions shared by the packer, the generator and the cycle model.

- **Channel slots.** A core's output channels are spread over its ``PCO`` detectors: slot
  ``s = g * PCO + d`` is group ``g`` of detector ``d``. The compiler balances the number of
  non-zero weights per detector (longest-processing-time greedy: channels by decreasing
  non-zero count, each to the least loaded detector that still has a free slot; ties go to
  the lower detector), since a detector's work is proportional to its non-zero weights.
- **Group look-ahead.** A detector's mask ROM word holds the masks of ``Look`` consecutive
  groups, so groups without pairs are skipped at no cost. ``Look`` is the largest divisor of
  the group count whose masks-and-window logic stays within :data:`LOOK_BITS` bits.
"""

from __future__ import annotations

import numpy as np

LOOK_BITS = 2048  # Look * (window bits) budget of one detector's group look-ahead


def channel_slots(nnz: np.ndarray, pco: int) -> np.ndarray:
    """Slot -> channel (``-1``: phantom slot) for channels with ``nnz[c]`` non-zero weights."""
    co = len(nnz)
    if not 1 <= pco <= co:
        raise ValueError(f"PCO must be in 1..{co} (CO), got {pco}")
    groups = -(-co // pco)
    load = np.zeros(pco, dtype=np.int64)
    used = np.zeros(pco, dtype=np.int64)
    slots = np.full(groups * pco, -1, dtype=np.int64)
    for c in np.argsort(-np.asarray(nnz), kind="stable"):
        free = np.flatnonzero(used < groups)
        d = int(free[np.argmin(load[free])])
        slots[used[d] * pco + d] = c
        used[d] += 1
        load[d] += int(nnz[c])
    return slots


def slot_of(slots: np.ndarray) -> np.ndarray:
    """Channel -> slot, the inverse of :func:`channel_slots`."""
    co = int((slots >= 0).sum())
    out = np.empty(co, dtype=np.int64)
    s = np.flatnonzero(slots >= 0)
    out[slots[s]] = s
    return out


def look(groups: int, window_bits: int, budget: int = LOOK_BITS) -> int:
    """Groups per mask word: the largest divisor of ``groups`` with ``look * window_bits``
    within ``budget`` (at least 1)."""
    best = 1
    for n in range(2, groups + 1):
        if groups % n == 0 and n * window_bits <= budget:
            best = n
    return best
