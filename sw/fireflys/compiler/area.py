"""LUT estimate of a sparse core (``layer_core``) for the planner: an estimate, not synthesis.

Per detector, from the word width ``WordW`` (bits per plane of a scanner word), the planes
``L``, the ring read ports ``Kpw`` (pixels per word) and the pixel width ``PixW``:

- peeler: ~9.5 LUT per word bit plus ~50 (the ``x - 1`` chain and lowest-bit masks, the lanes'
  AND-OR, the rank's chunk counts; direct-input and popcount modes add their product trees);
- queue (LUT-RAM, 16 deep: RAM32M16 holds 14 bits in 8 LUTs): the body, (L + 1) x WordW bits,
  and the head, ~WordW + 20 bits;
- ring copy (LUT-RAM): one read port per pixel of a word, ~1.15 LUT per port and pixel bit for
  a 64-deep ring (RAM64M), ~0.6 for a 32-deep one (RAM32M16); none in block RAM (the core's
  ``ring`` field: a block RAM per port, :func:`ring_bram36`);
- scanner logic: ~60 plus ~1.5 LUT per word bit (part counts, non-empty test), plus the scan
  list's ROM (~1.5 LUT per bit and 64 entries: the word, pointer and group fields always, the
  mask when the list is at most 64 entries long; longer lists keep their masks in block RAM);
- neuron: ~130.

Phi mode (``fireflys.phi.perf.choose``) adds, per core: the matcher, ~60 plus ~2.56 LUT per
bit it compares each cycle (M patterns x L steps x Nb x K block bits, its pattern ROM
included), and per detector ~232 plus ~60 per pixel block of a scanner word (Kpw x Nb: the PWP
tokens, the signed lanes, the PWP adder); the PWP ROMs are block RAM (exact bits:
:func:`fireflys.phi.hw.memory_bits`). Fitted on one attribution of the flat xcup netlists
of ``models/scnn5_dense_phi`` in both modes (q = 64; :mod:`fireflys.eda.attrib`): the
matchers within 2 %, a core's whole delta within 21 % (L2: 3,259 estimated, 4,113 measured),
the design's within 3 %.

Per core: the window unit (~180), the output buffers and written flags (~13 per channel with 4
buffers, ~0.25 more per channel and buffer beyond 4: the flags' read multiplexer, from its width,
not fitted), the
output register and the FIFO after it (~1.25 LUT per output bit, ~2.6 with the pooling unit,
which adds ~1.4 more), the 32-bit counters (3 per core, 1 per detector).
The coefficients come from one attribution of Yosys' flat xcup netlist of the shipped scnn5
(every LUT charged to the first named register or LUT-RAM it feeds); the planner uses them to
rank candidates of one core against each other, and ``fireflys bench-hw`` measures the result.
"""

from __future__ import annotations

from fireflys.compiler.coreplan import CorePlan
from fireflys.compiler.scanlist import (
    LUT_FIELD_DEPTH,
    LUT_LIST_DEPTH,
    bram36,
    entry_width,
    scan_list,
    words_per_window,
)
from fireflys.compiler.shape import ring_pixels

PEEL_PER_BIT = 9.5
PEEL_BASE = 50.0
LUTRAM_PER_BIT = 8 / 14
NEURON = 130.0
PHI_MATCH_BASE = 60.0
PHI_MATCH_PER_BIT = 2.56
PHI_DET_BASE = 232.0
PHI_DET_PER_BLOCK = 60.0
WINDOW = 180.0
PER_CHANNEL = 13.0
PER_CHANNEL_BUF = 0.25


def detector_luts(cp: CorePlan, spw: int, entries: int) -> float:
    """One detector of core ``cp`` with ``spw`` segments per word and a scan list of
    ``entries`` entries."""
    word = spw * cp.pci
    planes = cp.planes
    kpw = max(1, spw // cp.segs_per_pos)
    peel = PEEL_BASE + PEEL_PER_BIT * word * (1.5 if cp.direct else 1.0)
    queue = LUTRAM_PER_BIT * ((planes + 1) * word + word + 20)
    per_port_bit = 1.15 if ring_pixels(cp.kind, cp.kh, cp.kw, cp.h, cp.w) > 32 else 0.6
    ring = 0.0 if cp.ring == "block" else kpw * planes * cp.ci * per_port_bit
    scan = 60.0 + 1.5 * word
    words = words_per_window(cp.nseg, spw)
    ew = entry_width(word, cp.ptr_width, max(1, (cp.groups - 1).bit_length()), words)
    # the list ROM's bits in LUTs: the whole entry, less the mask (in block RAM), none (all
    # in block RAM: fireflys.hwgen.params)
    rom_bits = (ew if entries <= LUT_LIST_DEPTH else
                ew - word if entries <= LUT_FIELD_DEPTH else 0)
    scan += 1.5 * rom_bits * -(-entries // 64)
    return peel + queue + ring + scan + NEURON


def core_luts(cp: CorePlan, spw: int) -> float:
    """Core ``cp`` with ``cp.pco`` detectors of ``spw`` segments per word."""
    out_bits = cp.out_width
    total = WINDOW + (PER_CHANNEL + PER_CHANNEL_BUF * max(0, cp.bufs - 4)) * cp.co
    total += 32 * (3 + cp.pco)
    total += out_bits * (2.6 + 1.4 if cp.pool == 2 else 1.25)
    for d in range(cp.pco):
        total += detector_luts(cp, spw, len(scan_list(cp.packed, d, spw)))
    return total


def phi_luts(cp: CorePlan, spw: int, k: int, q: int, m: int | None = None) -> float:
    """LUTs Phi mode adds to core ``cp`` (``spw`` segments per word, blocks of ``k`` channels,
    ``q`` pattern slots compared ``m`` per cycle, by default ``q / 8``); an estimate."""
    nb = -(-cp.ci // k)
    m = m if m is not None else max(1, q // 8)
    match = PHI_MATCH_BASE + PHI_MATCH_PER_BIT * m * cp.planes * nb * k
    kpw = max(1, spw // cp.segs_per_pos)
    return match + cp.pco * (PHI_DET_BASE + PHI_DET_PER_BLOCK * kpw * nb)


def ring_bram36(cp: CorePlan, spw: int) -> float:
    """Block RAM36 of core ``cp``'s ring copies in block RAM (``spw`` segments per word): per
    detector one per read port (Kpw), each a ring-pixels x pixel-bits RAM in its best RAMB18
    shape (Yosys maps the same shapes to ECP5 DP16KD, half a BRAM36 each: one for up to 36
    bits and 512 pixels); 0 for LUT-RAM rings."""
    if cp.ring != "block":
        return 0.0
    kpw = max(1, spw // cp.segs_per_pos)
    depth = ring_pixels(cp.kind, cp.kh, cp.kw, cp.h, cp.w)
    return cp.pco * kpw * bram36(cp.planes * cp.ci, depth)


def ecp5_ram_cells(cp: CorePlan, spw: int, last: bool = False) -> int:
    """ECP5 distributed-RAM cells (TRELLIS_DPR16X4: 16 words of 4 bits, one read port) of core
    ``cp`` with ``spw`` segments per word and the FIFO after it (none after the ``last``
    core): per detector its ring copy (one per read port: Kpw x 16-word rows x 4-bit columns of
    a pixel; none when the rings are in block RAM) and its scanner queue (planes + 1 word bits
    of body, the word and ~20 bits of head, the count); per channel its output buffer; the
    pooling unit's row; the FIFO. Counted from the structure: the shipped scnn5 and the
    planner's fastest LFE5U-85F plan of it come to within 1 % of the cells Yosys synth_ecp5
    maps (2,197 and 5,016)."""
    word = spw * cp.pci
    kpw = max(1, spw // cp.segs_per_pos)
    rows = -(-ring_pixels(cp.kind, cp.kh, cp.kw, cp.h, cp.w) // 16)
    ring = 0 if cp.ring == "block" else kpw * rows * -(-(cp.planes * cp.ci) // 4)
    queue = -(-((cp.planes + 1) * word) // 4) + -(-(word + 20) // 4) + 2
    chw = cp.out_width // cp.co
    cells = cp.pco * (ring + queue) + cp.co * -(-cp.bufs // 16) * -(-chw // 4)
    if cp.pool == 2:
        wo = cp.w + 2 * cp.pad - cp.kw + 1
        cells += -(-(wo // 2) // 16) * -(-cp.out_width // 4)
    if not last:
        cells += -(-cp.fifo // 16) * -(-cp.out_width // 4)
    return cells
