"""Every core's SystemVerilog parameters and the stream widths of the generated top, from the
cores' plans (:mod:`fireflys.compiler.coreplan`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fireflys.compiler.coreplan import core_plans
from fireflys.compiler.scanlist import (
    LUT_FIELD_DEPTH,
    LUT_LIST_DEPTH,
    PhiFields,
    block_bram36,
    block_lists,
    bram36,
    default_spw,
    list_width,
    write_lists,
)
from fireflys.compiler.shape import (
    BRAM36_BUDGET,
    NUM_WIN,
    QUEUE_DEPTH,
    ring_slack,
    weights_in_block_ram,
)
from fireflys.core.model import CompiledModel
from fireflys.phi import hw as phihw
from fireflys.phi.patterns import PhiError
from fireflys.phi.tables import PhiTables

SLOT_W = 16  # bits per entry of a core's SlotOf parameter

TOP = "fireflys_top"
CORE = "layer_core"  # the hand-written core of one layer (hdl/)


@dataclass(frozen=True)
class CoreParams:
    name: str
    params: dict[str, int | str]
    in_w: int
    out_w: int
    out_shape: tuple[int, int, int]  # after pooling
    score: bool
    fifo: int  # depth of the FIFO after the core


def core_params(model: CompiledModel, mem_dir: Path,
                   spw: dict[int, int] | None = None,
                   bram36_budget: float | None = None,
                   lut_list_depth: int = LUT_LIST_DEPTH,
                   lut_field_depth: int = LUT_FIELD_DEPTH,
                   phi: PhiTables | None = None,
                   match_rate: dict[int, int] | None = None) -> list[CoreParams]:
    """Every core's ``layer_core`` parameters; writes the scan lists into
    ``mem_dir`` (next to :func:`fireflys.compiler.memimg.write_memories`' images).
    ``spw``: segments per scanner word per layer (default
    :func:`fireflys.compiler.scanlist.default_spw`). Weight ROMs deeper than WT_BLOCK_DEPTH
    are block RAM; the scan lists longer than ``lut_list_depth`` keep their masks in block
    RAM, longest first, within what ``bram36_budget`` (default BRAM36_BUDGET) leaves
    (:func:`fireflys.compiler.scanlist.block_lists`), and those longer than
    ``lut_field_depth`` their other fields too, in what is left (``block_lists`` again). With
    ``phi`` (the Phi tables), the cores of its layers in Phi mode, their matcher and PWP
    images written too
    (``match_rate``: patterns compared per cycle per layer, default
    :func:`fireflys.phi.hw.match_rate`)."""
    plans = []
    phi_params: dict[int, dict[str, int]] = {}
    lists: dict[tuple[int, int], tuple[int, int]] = {}  # (entries, mask bits)
    field_lists: dict[tuple[int, int], tuple[int, int]] = {}  # (entries, other bits)
    wt_bram = 0.0
    for cp in core_plans(model):
        if cp.direct and cp.score:
            raise ValueError(f"{cp.name}: no direct-input core with an integrate readout (a "
                             "model that is a single FC layer on pixel values)")
        w = (spw or {}).get(cp.index) or default_spw(cp.segs_per_pos, cp.pci, cp.kh * cp.kw,
                                                       cp.scan_bits)
        tl = phi.layers.get(cp.index) if phi is not None else None
        fields = None
        if tl is not None and cp.dense:
            raise PhiError(f"{cp.name}: the dense baseline has no Phi mode")
        if tl is not None:
            if cp.score:
                raise PhiError(f"{cp.name}: Phi has no integrate-readout core (its peeler "
                               "sums the steps); leave this layer out of the Phi tables")
            if cp.direct or cp.pci != cp.ci:
                raise PhiError(f"{cp.name}: Phi needs spike input and whole-pixel "
                               f"lanes (PCI = CI = {cp.ci}, got PCI {cp.pci}); compile with "
                               "fireflys.phi.perf.phi_lanes")
            q = phihw.q_slots(tl)
            m = phihw.match_rate(q, (match_rate or {}).get(cp.index))
            phi_params[cp.index] = phihw.write_images(cp, tl, mem_dir, q, m)
            fields = PhiFields(tl.nb, tl.k, phihw.row_bits(cp, tl))
        lengths = write_lists(mem_dir, cp.name, cp.packed, w, cp.ptr_width, fields)
        lists.update({(cp.index, d): (n, w * cp.pci) for d, n in enumerate(lengths)})
        other = list_width(cp.packed, w, cp.ptr_width, fields) - w * cp.pci
        field_lists.update({(cp.index, d): (n, other) for d, n in enumerate(lengths)})
        if weights_in_block_ram(cp.wt_depth):
            wt_bram += cp.pco * bram36(4, cp.wt_depth)
        plans.append((cp, w, lengths))
    budget = BRAM36_BUDGET if bram36_budget is None else bram36_budget
    block = block_lists(lists, budget - wt_bram, lut_list_depth)
    fblock = block_lists(field_lists, budget - wt_bram - block_bram36(lists, block),
                         lut_field_depth)
    cores = []
    for (cp, w, lengths), ly in zip(plans, model.layers, strict=True):
        wd = cp.widths
        slot_word = sum(int(v) << (SLOT_W * c) for c, v in enumerate(cp.slot_of))
        list_block = sum(1 << d for d in range(cp.pco) if (cp.index, d) in block)
        field_block = sum(1 << d for d in range(cp.pco) if (cp.index, d) in fblock)
        p = {
            "L": cp.planes, "T": model.T, "Ci": cp.ci, "H": cp.h, "W": cp.w, "KH": cp.kh,
            "KW": cp.kw, "Pad": cp.pad, "Co": cp.co, "Pco": cp.pco, "Pci": cp.pci, "Spw": w,
            "WtDepth": cp.wt_depth, "WtBlock": int(weights_in_block_ram(cp.wt_depth)),
            "AccW": wd["acc"], "BiasW": wd["bias"],
            "ThetaW": wd.get("theta", 2), "VW": wd.get("v", 2),
            "ScoreW": wd["score"] if cp.score else 2, "K": ly.k,
            "ResetSub": int(ly.reset == "subtract"), "Direct": int(cp.direct),
            "Score": int(cp.score), "Pool": cp.pool,
            "Hold": ring_slack(cp.kind, cp.kh, cp.kw, cp.w),
            "NumWin": NUM_WIN, "FifoDepth": QUEUE_DEPTH, "NumBuf": cp.bufs,
            "RingBlock": int(cp.ring == "block"),
            "EntriesOf": f"{16 * cp.pco}'h{sum(n << (16 * d) for d, n in enumerate(lengths)):x}",
            "ListBlockOf": f"{cp.pco}'h{list_block:x}",
            "FieldBlockOf": f"{cp.pco}'h{field_block:x}",
            "SlotW": SLOT_W, "SlotOf": f"{SLOT_W * cp.co}'h{slot_word:x}",
            "MemPrefix": f'"{(mem_dir / cp.name).resolve()}"',
            **phi_params.get(cp.index, {}),
            **({"Dense": 1} if cp.dense else {}),
        }
        cores.append(CoreParams(cp.name, p, cp.in_width, cp.out_width, cp.out_shape,
                                cp.score, cp.fifo))
    return cores


def fifo_depth(c: CoreParams) -> int:
    return c.fifo


def perf_words(cores: list[CoreParams]) -> int:
    """32-bit words of the top's ``perf_counters_o``."""
    return sum(3 + int(c.params["Pco"]) for c in cores)


def perf_layout(cores: list[CoreParams]) -> list[str]:
    """Names of the 32-bit words of ``perf_counters_o``, word 0 in the low bits: per core,
    busy cycles, pairs, output pixels, then each detector's working cycles."""
    out = []
    for c in cores:
        out += [f"{c.name}.busy", f"{c.name}.pairs", f"{c.name}.pixels"]
        out += [f"{c.name}.det{d}_cycles" for d in range(int(c.params["Pco"]))]
    return out


def output_width(model: CompiledModel) -> int:
    """Bits of an output beat: the predicted class above num_classes scores."""
    ncls = model.num_classes
    return max(1, (ncls - 1).bit_length()) + ncls * model.layers[-1].widths["score"]
