"""Phi in hardware: the matcher's parameters and pattern ROM (``hdl/pattern_matcher.sv``),
and the matcher's outputs for given pixels (what its testbench and the core's expect)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fireflys.compiler.memimg import write_hex
from fireflys.phi.tables import PhiLayer, decompose


def q_slots(tl: PhiLayer) -> int:
    """Pattern slots per block in the RTL: a power of two >= 2 holding every block's
    patterns."""
    return max(2, 1 << (max(1, tl.q_max) - 1).bit_length())


def matcher_rom(tl: PhiLayer, q: int, m: int) -> list[int]:
    """ROM words of ``pattern_matcher`` (Q = ``q`` slots, M = ``m`` per cycle): word c, pattern
    j = c*M + i of block b at [(i*Nb + b)*(K+1) +: K+1] = its K bits, then its valid bit."""
    if q % m:
        raise ValueError(f"M = {m} must divide Q = {q}")
    if tl.q_max > q:
        raise ValueError(f"{tl.q_max} patterns do not fit {q} slots")
    k, nb = tl.k, tl.nb
    words = []
    for c in range(q // m):
        w = 0
        for i in range(m):
            j = c * m + i
            for b, pats in enumerate(tl.patterns):
                if j < len(pats):
                    w |= ((1 << k) | int(pats[j])) << ((i * nb + b) * (k + 1))
        words.append(w)
    return words


def matcher_outputs(tl: PhiLayer, pixels: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Per pixel [N, L, Ci] (0/1): ``pattern_matcher``'s (planes, pattern, lanes, index) words."""
    n, steps, ci = pixels.shape
    k, nb = tl.k, tl.nb
    qw = max(1, (q_slots(tl) - 1).bit_length())
    dec = decompose(tl, pixels[:, :, None, None, :])  # one 1x1 image per pixel
    planes = dec.resid[:, :, 0, 0]  # N, L, nb
    pat = dec.pattern[:, 0, 0]  # N, nb
    lanes = np.moveaxis(dec.lanes[:, :, 0, 0], 1, -1)  # N, nb, L
    idx = np.where(dec.use, dec.index, 0)[:, 0, 0]  # the RTL gives 0 for an unused block
    out = []
    cmask = (1 << ci) - 1
    for i in range(n):
        pl = 0
        for t in range(steps):
            row = sum(int(planes[i, t, b]) << (b * k) for b in range(nb)) & cmask
            pl |= row << (t * ci)
        pt_ = sum(int(pat[i, b]) << (b * k) for b in range(nb)) & cmask
        ln = sum(int(lanes[i, b, t]) << (b * steps + t) for b in range(nb) for t in range(steps))
        ix = sum(int(idx[i, b]) << (b * qw) for b in range(nb))
        out.append((pl, pt_, ln, ix))
    return out


def pwp_rows(cp, tl: PhiLayer) -> int:
    """PWP ROM rows of one detector: its groups x kernel positions x blocks."""
    return cp.groups * cp.kh * cp.kw * tl.nb


def pwp_image(cp, tl: PhiLayer, d: int, q: int) -> list[int]:
    """Detector ``d``'s PWP ROM (``spike_peeler`` with ``Phi``): word ``(row << QW) | j`` with
    row ``(group * KK + kpos) * nb + b`` holds the PWP of pattern ``j`` of block ``b`` at kernel
    position ``kpos`` for the channel in the detector's slot ``group`` (0 for phantom slots and
    unused pattern slots); ``q`` slots per row (a power of two)."""
    if q & (q - 1) or q < tl.q_max:
        raise ValueError(f"q = {q} must be a power of two >= {tl.q_max} (the patterns)")
    kk = cp.kh * cp.kw
    words = []
    for g in range(cp.groups):
        ch = int(cp.slots[g * cp.pco + d])
        for kpos in range(kk):
            ky, kx = divmod(kpos, cp.kw)
            for b, pats in enumerate(tl.patterns):
                for j in range(q):
                    ok = ch >= 0 and j < len(pats)
                    words.append(int(tl.pwp[ch, ky, kx, b, j]) if ok else 0)
    return words


def memory_bits(cp, tl: PhiLayer) -> dict[str, int]:
    """What Phi mode adds in memories to core ``cp``, exactly as the generator writes them:
    the matcher's pattern ROM (Q slots x blocks x (K + 1) bits) and the detectors' PWP ROMs
    (PCO x :func:`pwp_rows` x Q words of the PWP width)."""
    q = q_slots(tl)
    return {"pattern_bits": q * tl.nb * (tl.k + 1),
            "pwp_bits": cp.pco * pwp_rows(cp, tl) * q * tl.pwp_width}


def match_rate(q: int, m: int | None) -> int:
    """Patterns the matcher compares per cycle: ``m``, or by default enough for 8 cycles per
    pixel (``Q / M``; the matcher then takes ~11 cycles per input pixel)."""
    m = m if m is not None else max(1, q // 8)
    if m < 1 or q % m:
        raise ValueError(f"patterns per cycle M = {m} must divide the {q} pattern slots")
    return m


def write_images(cp, tl: PhiLayer, mem_dir: Path, q: int, m: int) -> dict[str, int]:
    """Write a Phi core's matcher ROM ``<name>_pat.hex`` and each detector's PWP ROM
    ``<name>_d<d>_pwp.hex``; returns the core's Phi parameters (``layer_core``)."""
    k, nb = tl.k, tl.nb
    write_hex(Path(mem_dir) / f"{cp.name}_pat.hex", matcher_rom(tl, q, m), m * nb * (k + 1),
              signed=False)
    pwp_w = tl.pwp_width
    for d in range(cp.pco):
        write_hex(Path(mem_dir) / f"{cp.name}_d{d}_pwp.hex", pwp_image(cp, tl, d, q), pwp_w,
                  signed=True)
    return {"Phi": 1, "PhiK": k, "PhiQ": q, "PhiM": m, "PwpW": pwp_w}


def row_bits(cp, tl: PhiLayer) -> int:
    """Bits of a PWP row (``layer_core``'s PRowW)."""
    return max(1, (pwp_rows(cp, tl) - 1).bit_length())
