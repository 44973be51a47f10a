"""Scan lists of the sparse core: per detector, the (group, word) pairs the scanner visits.

A window is cut into words of ``spw`` segments (``spw * PCI`` lanes per plane); word ``w`` of
group ``g`` is listed when its weight mask is non-zero, in group order, words ascending. An
entry holds the word, its mask, the weight address of the mask's lowest bit (``ptr``: the
group's base plus the non-zero weights of its earlier segments), the group (``tag``) and
whether it is the group's first entry. A detector without any weight gets one empty entry
(mask 0), so that every pixel still ends with a closing word. See hdl/mask_scanner.sv.

In Phi mode (words of whole pixels) an entry also holds its token mask, bit ``p * nb + b``
set when the mask has a weight in block ``b`` (``k`` channels) of the word's pixel ``p``, and
its PWP row base ``(tag * KK + first kernel position of the word) * nb`` (:class:`PhiFields`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

from fireflys.compiler.bitmap import PackedLayer
from fireflys.compiler.memimg import write_hex
from fireflys.core.model import MAX_PCI, SCAN_BITS, CompiledModel


@dataclass(frozen=True)
class Entry:
    word: int
    mask: int
    ptr: int
    tag: int
    first: bool


@dataclass(frozen=True)
class PhiFields:
    """A Phi core's pattern blocks: ``nb`` per pixel of ``k`` channels; ``row_bits`` wide
    PWP row bases."""
    nb: int
    k: int
    row_bits: int


def phi_entry_fields(e: Entry, p: PackedLayer, spw: int, phi: PhiFields) -> tuple[int, int]:
    """Entry ``e``'s token mask and PWP row base (see the module docstring)."""
    ci = p.pci  # whole-pixel lanes: a segment is a pixel
    if p.segs_per_pos != 1:
        raise ValueError(f"Phi words are whole pixels: PCI must equal CI, got {p.segs_per_pos} "
                         "segments per pixel")
    tmask = 0
    for px in range(spw):
        for b in range(phi.nb):
            lo = px * ci + b * phi.k
            width = min(phi.k, ci - b * phi.k)
            if (e.mask >> lo) & ((1 << width) - 1):
                tmask |= 1 << (px * phi.nb + b)
    return tmask, (e.tag * p.kh * p.kw + e.word * spw) * phi.nb


def words_per_window(nseg: int, spw: int) -> int:
    return -(-nseg // spw)


def check_spw(spw: int, spp: int) -> None:
    """A word is whole pixels (``spw`` a multiple of the segments per pixel) or part of one
    (a divisor)."""
    if spw < 1 or (spw % spp and spp % spw):
        raise ValueError(f"segments per word must be a multiple or a divisor of the {spp} "
                         f"segments per pixel, got {spw}")


def scan_list(p: PackedLayer, d: int, spw: int) -> list[Entry]:
    """Detector ``d``'s scan list (see the module docstring)."""
    check_spw(spw, p.segs_per_pos)
    out: list[Entry] = []
    for g in range(p.groups):
        ptr, first = int(p.bases[d, g]), True
        segs = [int(m) for m in p.masks[d, g]]
        for w in range(words_per_window(p.nseg, spw)):
            part = segs[w * spw : (w + 1) * spw]
            mask = sum(m << (i * p.pci) for i, m in enumerate(part))
            if mask:
                out.append(Entry(w, mask, ptr, g, first))
                first = False
            ptr += sum(bin(m).count("1") for m in part)
    return out or [Entry(0, 0, 0, 0, True)]


def entry_word(e: Entry, word_bits: int, ptr_bits: int, tag_bits: int, words: int,
               phi: tuple[int, int, int, int] | None = None) -> int:
    """One list ROM word, fields LSB first: word index, mask, ptr, tag, first; with ``phi``
    = (token mask, its bits, PWP row base, its bits) those two above."""
    wbits = max(1, (words - 1).bit_length())
    if not (e.word < 1 << wbits and e.mask < 1 << word_bits and e.ptr < 1 << ptr_bits
            and e.tag < 1 << tag_bits):
        raise ValueError(f"scan list entry {e} does not fit its fields "
                         f"({wbits}, {word_bits}, {ptr_bits}, {tag_bits} bits)")
    value = e.word
    shift = wbits
    for field, bits in ((e.mask, word_bits), (e.ptr, ptr_bits), (e.tag, tag_bits)):
        value |= field << shift
        shift += bits
    value |= int(e.first) << shift
    if phi is not None:
        tmask, tbits, row, rbits = phi
        if tmask >= 1 << tbits or row >= 1 << rbits:
            raise ValueError(f"scan list entry {e}: token mask {tmask:#x} or PWP row {row} "
                             f"does not fit ({tbits}, {rbits} bits)")
        value |= (tmask | row << tbits) << (shift + 1)
    return value


def field_word(entry: int, word_bits: int, words: int) -> int:
    """A list ROM word without its mask: the word index, then ptr, tag, first (and the Phi
    fields) right above it (the image of a list whose other fields are in block RAM)."""
    wbits = max(1, (words - 1).bit_length())
    return entry & ((1 << wbits) - 1) | (entry >> (wbits + word_bits)) << wbits


def entry_width(word_bits: int, ptr_bits: int, tag_bits: int, words: int,
                phi_bits: int = 0) -> int:
    """Bits of a list ROM word (``phi_bits``: the Phi fields' together)."""
    return max(1, (words - 1).bit_length()) + word_bits + ptr_bits + tag_bits + 1 + phi_bits


MAX_WORD_BITS = SCAN_BITS  # widest scanner word (bits per plane) unless a layer says less


def default_spw(segs_per_pos: int, pci: int, kk: int, max_bits: int = MAX_WORD_BITS) -> int:
    """Segments per word: as many whole pixels as fit ``max_bits`` (at most the window's
    ``kk`` kernel positions), else the largest divisor of a pixel's segments that fits."""
    pixel = segs_per_pos * pci
    if pixel <= max_bits:
        return segs_per_pos * max(1, min(kk, max_bits // pixel))
    return max(s for s in range(1, segs_per_pos + 1)
               if segs_per_pos % s == 0 and (s * pci <= max_bits or s == 1))


def whole_pixel_lanes(model: CompiledModel, max_bits: int = MAX_WORD_BITS) -> CompiledModel:
    """The hardware's lanes: a copy of ``model`` whose conv layers with at most ``max_bits`` (and
    MAX_PCI) input channels have PCI = CI (one segment per pixel, no padding lanes), so that a
    scanner word is whole pixels (Kpw = max_bits // CI of them). The model's own PCI (the
    segment width) stays for the wider layers and the FC layers; weights
    and outputs are unchanged. On the shipped scnn5 this cuts L4's scan list from 9 to 5 words
    per group."""
    m = copy.copy(model)
    m.layers = [copy.copy(ly) for ly in model.layers]
    for ly in m.layers:
        ci = int(ly.geom.in_shape[0])
        if ly.geom.kind == "conv" and ci <= min(max_bits, MAX_PCI):
            ly.pci = ci
    return m


def list_width(p: PackedLayer, spw: int, ptr_bits: int, phi: PhiFields | None = None) -> int:
    """Bits of a list ROM word of layer ``p`` with ``spw`` segments per word (the mask is
    ``spw * p.pci`` of them)."""
    return entry_width(spw * p.pci, ptr_bits, max(1, (p.groups - 1).bit_length()),
                       words_per_window(p.nseg, spw),
                       spw * phi.nb + phi.row_bits if phi else 0)


def write_lists(out_dir: str | Path, name: str, p: PackedLayer, spw: int,
                ptr_bits: int, phi: PhiFields | None = None) -> list[int]:
    """Write ``<name>_d<d>_list.hex`` (whole entries; with ``phi`` the Phi fields too),
    ``<name>_d<d>_mask.hex`` (the masks alone, for a list in block RAM) and
    ``<name>_d<d>_fields.hex`` (the entries less their masks, for a long list whose other
    fields are in block RAM too) for every detector of a core; returns the list lengths."""
    out = Path(out_dir)
    words = words_per_window(p.nseg, spw)
    tag_bits = max(1, (p.groups - 1).bit_length())
    tok_bits = spw * phi.nb if phi else 0
    width = list_width(p, spw, ptr_bits, phi)

    def fields(e: Entry) -> tuple[int, int, int, int] | None:
        if phi is None:
            return None
        tmask, row = phi_entry_fields(e, p, spw, phi)
        return tmask, tok_bits, row, phi.row_bits

    lengths = []
    for d in range(p.pco):
        entries = scan_list(p, d, spw)
        image = [entry_word(e, spw * p.pci, ptr_bits, tag_bits, words, fields(e))
                 for e in entries]
        write_hex(out / f"{name}_d{d}_list.hex", image, width, signed=False)
        write_hex(out / f"{name}_d{d}_fields.hex",
                  [field_word(v, spw * p.pci, words) for v in image], width - spw * p.pci,
                  signed=False)
        write_hex(out / f"{name}_d{d}_mask.hex", [e.mask for e in entries], spw * p.pci,
                  signed=False)
        lengths.append(len(entries))
    return lengths


LUT_LIST_DEPTH = 64  # longest list whose masks stay in LUTs (one LUT6 per bit and bank)
# longest list whose other fields (word, ptr, tag, first) stay in a LUT ROM (three LUT6
# banks): in scnn9's whole xcup netlist its 1,548-entry and then its 234-entry list ROMs set
# the 7-level paths (alone they map 6 and 3 deep: ABC shares the decoding across the design)
LUT_FIELD_DEPTH = 192

# Xilinx RAMB18 shapes (bits wide, words deep); a RAMB36 is two of them
_RAMB18 = ((36, 512), (18, 1024), (9, 2048), (4, 4096), (2, 8192), (1, 16384))


def bram36(width: int, depth: int) -> float:
    """Block RAM36 a ``width`` x ``depth`` ROM takes in its best RAMB18 shape (an estimate of
    what synthesis maps: a RAMB18 counts 0.5)."""
    return 0.5 * min(-(-width // w) * -(-depth // d) for w, d in _RAMB18)


def block_lists(lists: dict[tuple[int, int], tuple[int, int]], budget: float,
                lut_depth: int = LUT_LIST_DEPTH) -> set[tuple[int, int]]:
    """Which scan lists keep their masks (or, with ``lut_depth`` LUT_FIELD_DEPTH and the
    field bits, their other fields) in block RAM: ``lists`` maps (core, detector) to
    (entries, bits). A list longer than ``lut_depth`` entries maps its LUT ROM several LUTs
    deep (ABC shares address decoders across the bits; 7-8 levels measured on scnn5's
    87-107-entry mask lists), so those go to block RAM, the most bits first, while their
    RAMB18s fit ``budget`` (BRAM36); the rest stay in LUTs."""
    chosen: set[tuple[int, int]] = set()
    used = 0.0
    for key, (n, width) in sorted(lists.items(), key=lambda kv: (-kv[1][0] * kv[1][1], kv[0])):
        cost = bram36(width, n)
        if n > lut_depth and used + cost <= budget:
            chosen.add(key)
            used += cost
    return chosen


def block_bram36(lists: dict[tuple[int, int], tuple[int, int]],
                 chosen: set[tuple[int, int]]) -> float:
    """Block RAM36 the ``chosen`` lists of ``lists`` ((entries, bits) each) take."""
    return sum(bram36(lists[k][1], lists[k][0]) for k in chosen)
