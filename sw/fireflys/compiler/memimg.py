"""Memory images for ``$readmemh``: writer, strict reader, and the per-core image set.

A ``.hex`` file holds one word per line, ``ceil(width / 4)`` lowercase hex digits, two's
complement for signed words, no address markers. The reader also accepts blank lines and
``//`` comments (as ``$readmemh`` does) and rejects anything else with file and line named.
Layout of the image set: see docs/format.md ("Memory images").
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from fireflys.compiler.bitmap import PackedLayer, addr_width, wt_depth
from fireflys.compiler.coreplan import core_plans
from fireflys.core import golden
from fireflys.core.model import CompiledModel
from fireflys.errors import FireflysError

_HEX = re.compile(r"^[0-9a-fA-F]+$")


class MemImageError(FireflysError, ValueError):
    """A memory image that cannot be read; the message names the file and line."""


def digits(width: int) -> int:
    return max(1, -(-width // 4))


def to_word(value: int, width: int, signed: bool) -> int:
    """Encode ``value`` as a ``width``-bit word (two's complement if ``signed``); error if it
    does not fit."""
    lo, hi = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, (1 << width) - 1)
    if not lo <= value <= hi:
        kind = "signed" if signed else "unsigned"
        raise ValueError(f"value {value} does not fit in {width} bits ({kind})")
    return value & ((1 << width) - 1)


def from_word(word: int, width: int) -> int:
    """Signed value of a ``width``-bit two's complement word."""
    return word - (1 << width) if word >> (width - 1) & 1 else word


def write_hex(path: str | Path, words: Iterable[int], width: int, signed: bool) -> int:
    """Write words as a ``$readmemh`` image; return the depth."""
    n = digits(width)
    lines = [f"{to_word(int(w), width, signed):0{n}x}" for w in words]
    Path(path).write_text("\n".join(lines) + "\n" if lines else "")
    return len(lines)


def read_hex(path: str | Path, width: int, depth: int | None = None) -> list[int]:
    """Read a ``$readmemh`` image written by :func:`write_hex`; words are returned unsigned."""
    p = Path(path)
    try:
        text = p.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise MemImageError(f"{p}: cannot read ({e})") from None
    words: list[int] = []
    n = digits(width)
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("//", 1)[0].strip()
        if not line:
            continue
        if not _HEX.match(line):
            raise MemImageError(f"{p}:{lineno}: not a hex word: {raw.strip()!r}")
        if len(line) > n:
            raise MemImageError(f"{p}:{lineno}: '{line}' has more than {n} digits ({width} bits)")
        word = int(line, 16)
        if word >> width:
            raise MemImageError(f"{p}:{lineno}: '{line}' does not fit in {width} bits")
        words.append(word)
    if depth is not None and len(words) != depth:
        raise MemImageError(f"{p}: {len(words)} words, expected {depth}")
    return words


def segment_pointers(p: PackedLayer) -> np.ndarray:
    """[PCO, G, nseg] address of each segment's first non-zero weight in its detector's ROM."""
    seg_counts = np.bitwise_count(p.masks).astype(np.int64)  # d, g, s
    flat = seg_counts.reshape(p.pco, -1)
    ptr = np.zeros_like(flat)
    ptr[:, 1:] = np.cumsum(flat, axis=1)[:, :-1]
    return ptr.reshape(seg_counts.shape)


def pack_fields(values, width: int) -> int:
    """Pack values into one integer, element i at bits [i*width, (i+1)*width), each in
    ``width``-bit two's complement."""
    mask = (1 << width) - 1
    out = 0
    for i, v in enumerate(values):
        out |= (int(v) & mask) << (i * width)
    return out


def _split(word: int, width: int, n: int) -> list[int]:
    return [(word >> (i * width)) & ((1 << width) - 1) for i in range(n)]


def mask_words(p: PackedLayer, d: int, look: int) -> list[int]:
    """Detector ``d``'s mask ROM: word w holds groups w * look .. w * look + look - 1, group j
    of the word at bits [j * nseg * pci, (j + 1) * nseg * pci)."""
    seg_w = p.nseg * p.pci
    groups = [pack_fields(m, p.pci) for m in p.masks[d]]
    return [pack_fields(groups[w : w + look], seg_w) for w in range(0, p.groups, look)]


def write_detector_images(
    out: Path, prefix: str, p: PackedLayer, d: int, bias: np.ndarray, theta: np.ndarray | None,
    widths: dict[str, int], look: int = 1, bitmap: bool = True,
) -> list[dict[str, object]]:
    """Detector ``d``'s images: packed weights, biases, thresholds; with ``bitmap`` also the
    bitmap format's masks (``look`` groups per word) and segment pointers."""
    if p.groups % look:
        raise ValueError(f"look {look} must divide the {p.groups} groups")
    depth = wt_depth(p)
    aw = addr_width(depth)
    cos = [int(p.slots[g * p.pco + d]) for g in range(p.groups)]
    values = [int(v) for v in p.values[d]]
    files: list[tuple[str, Sequence[int], int, bool]] = []
    if bitmap:
        ptrs = segment_pointers(p)[d]
        files += [("mask", mask_words(p, d, look), look * p.nseg * p.pci, False),
                  ("ptr", [pack_fields(row, aw) for row in ptrs], p.nseg * aw, False)]
    files += [
        ("wt", values + [0] * (depth - len(values)), 4, True),
        ("bias", [int(bias[c]) if c >= 0 else 0 for c in cos], widths["bias"], True),
    ]
    if theta is not None:
        files.append(("theta", [int(theta[c]) if c >= 0 else 0 for c in cos],
                      widths["theta"], True))
    entries = []
    for kind, words, width, signed in files:
        name = f"{prefix}_d{d}_{kind}.hex"
        n = write_hex(out / name, words, width, signed)
        entries.append({"file": name, "kind": kind, "detector": d, "width": width,
                        "signed": signed, "depth": n})
    return entries


def empty_output(model: CompiledModel, index: int) -> tuple[int, int]:
    """(word, width) of core ``index``'s output pixel when no channel has a pair: every
    current is the bias. Spikes at bit t * CO + c, or integrate-readout scores at
    [c * score_w, (c + 1) * score_w)."""
    ly = model.layers[index]
    co = ly.geom.out_ch
    cur = np.broadcast_to(ly.bias.astype(np.int64), (1, model.T, 1, 1, co))
    if ly.theta is None:
        return pack_fields(cur.sum(axis=1).reshape(-1), ly.widths["score"]), \
            co * ly.widths["score"]
    s = golden.fire(cur, ly.theta, ly.k, ly.reset).reshape(model.T * co)
    return sum(1 << int(i) for i in np.flatnonzero(s)), model.T * co


def write_memories(model: CompiledModel, out_dir: str | Path, bitmap: bool = True) -> Path:
    """Write every core's memory images and a ``memories.json`` manifest into ``out_dir``:
    the bitmap format (masks, segment pointers, packed weights, biases, thresholds, the empty
    output; docs/format.md), or with ``bitmap`` False what the hardware reads of it (no masks
    or pointers: the generator writes scan lists instead, ``fireflys.compiler.scanlist``)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    layers = []
    for cp, ly in zip(core_plans(model), model.layers, strict=True):
        p, name = cp.packed, cp.name
        entries = []
        for d in range(p.pco):
            entries += write_detector_images(out, name, p, d, ly.bias, ly.theta, ly.widths,
                                             cp.look, bitmap)
        word, width = empty_output(model, cp.index)
        write_hex(out / f"{name}_empty.hex", [word], width, False)
        entries.append({"file": f"{name}_empty.hex", "kind": "empty", "width": width,
                        "signed": False, "depth": 1})
        layers.append({
            "name": name, "pco": p.pco, "pci": p.pci, "groups": p.groups, "look": cp.look,
            "segments_per_window": p.nseg, "segments_per_position": p.segs_per_pos,
            "wt_depth": cp.wt_depth, "ptr_width": cp.ptr_width,
            "slots": p.slots.tolist(),
            "nnz_per_detector": [len(v) for v in p.values], "files": entries,
        })
    manifest = out / "memories.json"
    manifest.write_text(json.dumps({"layers": layers}, indent=2) + "\n")
    return manifest


def read_memories(model: CompiledModel, mem_dir: str | Path) -> list[PackedLayer]:
    """Read the image set back into :class:`PackedLayer` objects, validating every file
    (depths, widths, segment pointers consistent with the masks)."""
    mem = Path(mem_dir)
    packed = []
    for cp in core_plans(model):
        name, i, look = cp.name, cp.index, cp.look
        ref = cp.packed  # geometry only: shapes, PCO/PCI, groups, slots
        seg_w = ref.nseg * ref.pci
        depth, aw = cp.wt_depth, cp.ptr_width
        masks = np.zeros_like(ref.masks)
        values, bases = [], np.zeros_like(ref.bases)
        for d in range(ref.pco):
            f = mem / f"{name}_d{d}_mask.hex"
            for w, word in enumerate(read_hex(f, look * seg_w, ref.groups // look)):
                for j, gw in enumerate(_split(word, seg_w, look)):
                    masks[d, w * look + j] = np.array(_split(gw, ref.pci, ref.nseg),
                                                      dtype=np.uint64)
            nnz = int(np.bitwise_count(masks[d]).sum())
            wt = read_hex(mem / f"{name}_d{d}_wt.hex", 4, depth)
            values.append(np.array([from_word(w, 4) for w in wt[:nnz]], dtype=np.int8))
            fp = mem / f"{name}_d{d}_ptr.hex"
            ptr_words = read_hex(fp, ref.nseg * aw, ref.groups)
            ptrs = np.array([_split(w, aw, ref.nseg) for w in ptr_words], dtype=np.int64)
            counts = np.bitwise_count(masks[d]).astype(np.int64).reshape(-1)
            expect = np.concatenate([[0], np.cumsum(counts)[:-1]]).reshape(ptrs.shape)
            if not np.array_equal(ptrs, expect):
                raise MemImageError(f"{fp}: segment pointers disagree with the masks")
            bases[d] = ptrs[:, 0]
        word, width = empty_output(model, i)
        fe = mem / f"{name}_empty.hex"
        if read_hex(fe, width, 1) != [word]:
            raise MemImageError(f"{fe}: empty-channel outputs disagree with the model's "
                                f"biases and thresholds")
        counts = np.bitwise_count(masks).sum(axis=-1).astype(np.int64)
        packed.append(PackedLayer(ref.co, ref.ci, ref.kh, ref.kw, ref.pco, ref.pci, masks,
                                  values, bases, counts, ref.slots))
    return packed
