"""Phi as a hardware mode of the sparse core (issue 6): the generator's parameters and memory
images of a core in Phi mode, and the operations it must count.

A core of a spike-input layer with Phi tables gets ``Phi = 1`` and

* ``<L>_pat.hex`` (``phi_matcher``'s ROM): word c holds segment indices
  ``c * MatchSegs + m``; per index ``Q`` patterns of ``PCI`` bits, ``Q`` valid bits and the
  pattern-distance weight of every bit (the number of the layer's channels with a non-zero
  weight there, ``ColwW`` bits);
* ``<L>_d<d>_pwp.hex`` per detector: word ``(group * nseg + s) * Q + j`` = the PWP of pattern
  ``j`` of segment index ``s`` for the channel in the detector's slot ``group`` (0 for empty
  slots and padding patterns), ``PwpW`` bits signed.

The RTL takes the same decisions as :func:`fireflys.phi.tables.assign` (method ``masked``): the
shared pattern of a vector minimises the weighted Hamming distance (lowest index on ties),
and each detector uses it for a channel only when ``1 + popcount((a ^ p) & m) <
popcount(a & m)``. So its operation counter (PWP adds + residual pairs + plain pairs) must
equal :func:`expected_ops`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fireflys.compiler.coreplan import core_plan
from fireflys.compiler.memimg import pack_fields, write_hex
from fireflys.core.model import CompiledModel
from fireflys.core.widths import signed_width
from fireflys.phi.tables import PhiError, PhiTables, segment_masks, vector_costs
from fireflys.phi.tables import layer_vectors as phi_layer_vectors


def q_slots(tables: PhiTables, index: int) -> int:
    """Pattern slots per segment index in the RTL: a power of two >= 2 holding every
    segment's patterns."""
    qm = max(1, tables.layers[index].q_max)
    return max(2, 1 << (qm - 1).bit_length())


def colw_width(model: CompiledModel, index: int) -> int:
    """Bits of a distance weight: up to the layer's output channels."""
    return max(1, int(model.layers[index].geom.out_ch).bit_length())


def pwp_width(tables: PhiTables, index: int) -> int:
    return max(2, tables.layers[index].pwp_width)


def nseg_of(model: CompiledModel, index: int) -> int:
    """Segments per window of core ``index`` (its :class:`CorePlan`)."""
    return core_plan(model, index).nseg


def auto_match_segs(model: CompiledModel, index: int) -> int:
    """Segment indices matched per cycle by default: 1, the smallest matcher (L * Q distance
    units); a window then costs nseg + 1 cycles, which on the trained scnn5 stays below the
    slowest core's pixel rate (docs/phi.md). Raise it per layer with ``match_segs``."""
    del model, index
    return 1


def check_tables(model: CompiledModel, tables: PhiTables) -> None:
    """Tables the RTL can run: mask-aware selection, spike-input layers, patterns in range."""
    if tables.method != "masked":
        raise PhiError(f"the RTL Phi mode implements the mask-aware method, the tables were "
                       f"selected with {tables.method!r} (run `fireflys phi select` with the "
                       "default method)")
    for li, tl in tables.layers.items():
        if not 0 <= li < len(model.layers):
            raise PhiError(f"Phi tables name layer L{li}, the model has {len(model.layers)}")
        if model.direct(li):
            raise PhiError("layer L0 sees direct (multi-bit) input: Phi needs spikes")
        if len(tl.patterns) != nseg_of(model, li):
            raise PhiError(f"layer L{li}: {len(tl.patterns)} segment indices in the Phi "
                           f"tables, the core has {nseg_of(model, li)}")


def core_params(model: CompiledModel, tables: PhiTables | None, index: int,
                match_segs: int | None = None) -> dict[str, int]:
    """The Phi parameters of core ``index`` (empty: plain bitmap core)."""
    if tables is None or index not in tables.layers:
        return {}
    nseg = nseg_of(model, index)
    ms = match_segs if match_segs is not None else auto_match_segs(model, index)
    if not 1 <= ms <= nseg:
        raise PhiError(f"layer L{index}: match_segs must be in 1..{nseg}, got {ms}")
    pw = pwp_width(tables, index)
    acc = model.layers[index].widths["acc"]
    if pw > acc:
        raise PhiError(f"layer L{index}: PWPs need {pw} bits, wider than the accumulator "
                       f"({acc}): the tables do not belong to this model")
    return {"Phi": 1, "Q": q_slots(tables, index), "MatchSegs": ms,
            "ColwW": colw_width(model, index), "PwpW": pw}


def pattern_words(model: CompiledModel, tables: PhiTables, index: int,
                  match_segs: int) -> tuple[list[int], int]:
    """(words, width) of core ``index``'s pattern ROM."""
    ly = model.layers[index]
    tl = tables.layers[index]
    k, q, cw = ly.pci, q_slots(tables, index), colw_width(model, index)
    masks = segment_masks(ly)  # CO, nseg
    nseg = masks.shape[1]
    seg_w = q * k + q + k * cw
    words = []
    for c in range(-(-nseg // match_segs)):
        fields = []
        for m in range(match_segs):
            s = c * match_segs + m
            if s >= nseg:
                fields.append(0)
                continue
            pats = [int(p) for p in tl.patterns[s]]
            colw = [int(((masks[:, s] >> np.uint64(b)) & np.uint64(1)).sum()) for b in range(k)]
            word = pack_fields(pats + [0] * (q - len(pats)), k)
            word |= ((1 << len(pats)) - 1) << (q * k)
            word |= pack_fields(colw, cw) << (q * k + q)
            fields.append(word)
        words.append(pack_fields(fields, seg_w))
    return words, match_segs * seg_w


def pwp_words(model: CompiledModel, tables: PhiTables, index: int, d: int) -> list[int]:
    """Detector ``d``'s PWP ROM of core ``index`` (signed values)."""
    tl = tables.layers[index]
    p = core_plan(model, index).packed
    q = q_slots(tables, index)
    out = []
    for g in range(p.groups):
        co = int(p.slots[g * p.pco + d])
        for s in range(p.nseg):
            vals = [int(v) for v in tl.pwp[s][:, co]] if co >= 0 else []
            vals = vals + [0] * (q - len(vals))
            out += vals
    return out


def write_images(model: CompiledModel, tables: PhiTables, mem_dir: str | Path,
                 match_segs: dict[int, int] | None = None) -> list[dict[str, Any]]:
    """Write the pattern and PWP images of every Phi core into ``mem_dir``."""
    check_tables(model, tables)
    mem = Path(mem_dir)
    entries = []
    names = model.layer_names()
    for li in sorted(tables.layers):
        prm = core_params(model, tables, li, (match_segs or {}).get(li))
        words, width = pattern_words(model, tables, li, prm["MatchSegs"])
        f = f"{names[li]}_pat.hex"
        write_hex(mem / f, words, width, False)
        entries.append({"file": f, "kind": "phi_pat", "width": width, "depth": len(words)})
        for d in range(model.layers[li].pco):
            f = f"{names[li]}_d{d}_pwp.hex"
            vals = pwp_words(model, tables, li, d)
            if vals and signed_width(min(vals), max(vals)) > prm["PwpW"]:
                raise PhiError(f"{f}: a PWP does not fit in {prm['PwpW']} bits")
            write_hex(mem / f, vals, prm["PwpW"], True)
            entries.append({"file": f, "kind": "phi_pwp", "detector": d,
                            "width": prm["PwpW"], "depth": len(vals)})
    return entries


def expected_ops(model: CompiledModel, tables: PhiTables | None, x: np.ndarray,
                 res) -> list[int]:
    """Per core, the operations its detectors perform on frames ``x`` (golden run ``res``):
    Phi cores count PWP adds + residual pairs + plain pairs, the others their pairs."""
    ops = list(res.work)
    if tables is None:
        return ops
    for li, tl in tables.layers.items():
        ly = model.layers[li]
        vec = phi_layer_vectors(model, x, res, li)
        masks = segment_masks(ly)
        total = 0
        for s in range(vec.shape[1]):
            u, cnt = np.unique(vec[:, s], return_counts=True)
            c = vector_costs(u, tl.patterns[s], masks[:, s], ly.pci, "masked")
            total += int(((c["l1"] + c["l2"]) * cnt).sum())
        ops[li] = total
    return ops
