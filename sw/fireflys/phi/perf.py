"""Cycles in Phi mode, estimated: the cycle model
(:mod:`fireflys.compiler.perf`) replayed with each Phi core's entry counts, i.e. the
positions of the residual union (ANDed with the entry's mask) plus one PWP token per used
pixel block of the word whose block has a non-zero weight in the entry's mask (what the RTL's
scanner queues: ``mask_scanner`` with ``Phi``). The matcher's rate (``Q / M`` + 3 cycles per
input pixel, ahead of the ring) is not in it; ``fireflys bench-phi`` measures the RTL.
"""

from __future__ import annotations

import numpy as np

from fireflys.compiler import area, perf
from fireflys.compiler import plan as cplan
from fireflys.compiler.coreplan import CorePlan, core_plan, core_plans
from fireflys.compiler.scanlist import Entry, scan_list, whole_pixel_lanes
from fireflys.compiler.work import union_work as bitmap_union_work
from fireflys.core import golden
from fireflys.core.model import CompiledModel
from fireflys.phi.hw import memory_bits, q_slots
from fireflys.phi.patterns import PhiError
from fireflys.phi.tables import PhiTables, channel_bits, decompose, layer_counts


def phi_core_work(cp: CorePlan, resid_union: np.ndarray, used: np.ndarray, k: int,
                  spw: int | None = None) -> tuple[list[list[Entry]], list[np.ndarray]]:
    """Scan lists and entry counts of a Phi core from its input's residual union per pixel
    (bool [frames, H, W, CI]) and used blocks (bool [frames, H, W, nb])."""
    if cp.pci != cp.ci:
        raise PhiError(f"{cp.name}: Phi needs whole-pixel lanes (PCI = CI = {cp.ci}, "
                       f"got PCI {cp.pci})")
    w = perf.core_spw(cp, spw)
    kpw = w // cp.segs_per_pos  # whole pixels per word
    nb = used.shape[-1]
    lists = [scan_list(cp.packed, d, w) for d in range(cp.pco)]
    rwords = perf.window_words(cp, w, resid_union)  # frames, windows, words, kpw * ci
    # token words: per window, word and pixel of the word, the used blocks
    twords = perf.window_words(cp, w, used[..., np.arange(cp.ci) // k])
    tw = twords.reshape(twords.shape[:3] + (kpw, cp.ci))
    blk = np.arange(cp.ci) // k
    counts = []
    for lst in lists:
        base = perf.entry_counts(lst, rwords)
        idx = np.array([e.word for e in lst])
        mbits = np.array([[(e.mask >> i) & 1 for i in range(kpw * cp.ci)] for e in lst],
                         dtype=bool).reshape(len(lst), kpw, cp.ci)
        # per entry, pixel and block: does the mask have a weight there
        tmask = np.zeros((len(lst), kpw, nb), dtype=np.int32)
        for b in range(nb):
            tmask[..., b] = mbits[..., blk == b].any(axis=-1)
        # a word's token of (pixel i, block b): the block is used at that pixel; read from
        # the first channel of the block in the token words
        first = np.array([np.flatnonzero(blk == b)[0] for b in range(nb)])
        tok = tw[:, :, idx][..., first].astype(np.int32)  # frames, windows, entries, kpw, nb
        counts.append(base + np.einsum("fwepb,epb->fwe", tok, tmask))
    return lists, counts


def phi_lanes(model: CompiledModel, tables: PhiTables) -> CompiledModel:
    """The hardware's lanes (:func:`fireflys.compiler.scanlist.whole_pixel_lanes`) with PCI = CI on
    every Phi layer too (FC included): a Phi word is whole pixels. Compare both modes on it."""
    m = whole_pixel_lanes(model)
    for li in tables.layers:
        ly = m.layers[li]
        ci = int(ly.geom.in_shape[0])
        if ci > 64:
            raise PhiError(f"L{li}: Phi takes at most 64 input channels, got {ci}")
        ly.pci = ci
    return m


def predict(model: CompiledModel, tables: PhiTables, x: np.ndarray,
            res: golden.GoldenResult | None = None, *, chained: bool = True
            ) -> list[perf.CoreTrace]:
    """:func:`fireflys.compiler.perf.predict` with the Phi cores of ``tables`` in Phi
    mode (``model`` with :func:`phi_lanes`)."""
    res = res if res is not None else golden.run(model, x)
    work = {}
    for cp in core_plans(model):
        tl = tables.layers.get(cp.index)
        if tl is None:
            continue
        work[cp.index] = phi_core_work(cp, *_phi_input(model, tl, cp.index, x, res), tl.k)
    return perf.predict(model, x, res, chained=chained, work=work)


def union_work(model: CompiledModel, tables: PhiTables, x: np.ndarray,
               res: golden.GoldenResult) -> list[int]:
    """:func:`fireflys.compiler.work.union_work` with the layers of ``tables`` in Phi mode:
    their residual union positions plus PWP tokens (:func:`fireflys.phi.tables.layer_counts`)."""
    out = bitmap_union_work(model, x, res)
    for li, tl in tables.layers.items():
        c = layer_counts(model.layers[li], tl, golden.layer_input(model, x, res, li))
        out[li] = int(c["union_phi"])
    return out


def _phi_input(model: CompiledModel, tl, li: int, x: np.ndarray, res: golden.GoldenResult
               ) -> tuple[np.ndarray, np.ndarray]:
    """Phi core ``li``'s input for :func:`phi_core_work`: its residual union per pixel
    (bool [frames, H, W, CI]) and used blocks (bool [frames, H, W, nb])."""
    dec = decompose(tl, golden.layer_input(model, x, res, li))  # input B, T, H, W, C
    ru = np.bitwise_or.reduce(dec.resid, axis=1)  # B, H, W, nb
    ci = int(model.layers[li].geom.in_shape[0])
    return channel_bits(ru, tl.k, ci).astype(bool), dec.use


def choose(model: CompiledModel, tables: PhiTables | list[PhiTables], x: np.ndarray,
           min_gain: float = 1.1, res: golden.GoldenResult | None = None,
           max_lut_ratio: float | None = None, q_tol: float = 0.02
           ) -> tuple[PhiTables, list[dict]]:
    """Per Phi-capable core: its busy cycles per frame alone (input at one pixel per cycle,
    output never blocked) in bitmap and Phi mode by the cycle model; Phi stays on where
    bitmap / Phi >= ``min_gain``.

    ``tables`` may be several selections of the same layers (one per q): per core, the q of
    the fewest Phi busy cycles, or a smaller q within ``q_tol`` of them (fewer slots: a
    smaller matcher and PWP ROM). With ``max_lut_ratio``, Phi is then switched off core by
    core, the fewest cycles saved per LUT first, until the design's LUTs in Phi mode are at
    most that many times its bitmap LUTs, both by :mod:`fireflys.compiler.area`'s
    estimate (the cores only: FIFOs and top glue, ~2 k LUT on scnn5, are not in it).
    Returns the tables of the chosen layers (their ``q`` the largest chosen) and one row per
    core (``model`` with :func:`phi_lanes`): the busy cycles, the gain, the q (with each q's
    Phi busy cycles in ``busy_phi_by_q``), the estimated LUTs Phi adds (``lut_phi``) and
    the memories it adds (:func:`fireflys.phi.hw.memory_bits`, exact)."""
    cands = [tables] if isinstance(tables, PhiTables) else list(tables)
    if not cands or any(set(c.layers) != set(cands[0].layers) for c in cands):
        raise PhiError("the candidate Phi tables must be one or more selections of the "
                       "same layers")
    if max_lut_ratio is not None and max_lut_ratio < 1.0:
        raise PhiError(f"max LUT ratio must be >= 1, got {max_lut_ratio}")
    res = res if res is not None else golden.run(model, x)
    n = len(x)
    bm = perf.predict(model, x, res, chained=False)
    phs = [predict(model, c, x, res, chained=False) for c in cands]
    base = 0.0
    rows, pick = [], {}
    for i, a in enumerate(bm):
        cp = core_plan(model, i)
        spw = perf.core_spw(cp)
        base += area.core_luts(cp, spw)
        if i not in cands[0].layers:
            continue
        busy = [ph[i].busy for ph in phs]
        ok = [j for j, b in enumerate(busy) if b <= min(busy) * (1.0 + q_tol)]
        j = min(ok, key=lambda j: (cands[j].q, busy[j]))
        pick[i] = cands[j].layers[i]
        tl = pick[i]
        gain = a.busy / max(busy[j], 1)
        rows.append({"layer": f"L{i}", "busy_bitmap": a.busy / n, "busy_phi": busy[j] / n,
                     "gain": gain, "phi": gain >= min_gain, "q": cands[j].q,
                     **({"busy_phi_by_q": {str(c.q): b / n for c, b in zip(cands, busy,
                                                                            strict=True)}}
                        if len(cands) > 1 else {}),
                     "lut_phi": round(area.phi_luts(cp, spw, tl.k, q_slots(tl))),
                     **memory_bits(cp, tl)})
    if max_lut_ratio is not None:
        on = sorted((r for r in rows if r["phi"]),
                    key=lambda r: (r["busy_bitmap"] - r["busy_phi"]) / max(r["lut_phi"], 1))
        while on and base + sum(r["lut_phi"] for r in on) > max_lut_ratio * base:
            r = on.pop(0)
            r["phi"] = False
            r["dropped"] = "LUT budget"
    chosen = [r for r in rows if r["phi"]]
    kept = PhiTables(max((r["q"] for r in chosen), default=cands[0].q))
    for r in chosen:
        i = int(r["layer"][1:])
        kept.layers[i] = pick[i]
    return kept, rows


def predict_table(model: CompiledModel, tables: PhiTables, x: np.ndarray, limit: int = 16,
                  res: golden.GoldenResult | None = None) -> list[dict[int, float]]:
    """:func:`fireflys.compiler.plan.predict_table` with the cores of ``tables`` in Phi
    mode: per core, candidate PCO -> cycles per frame of the core alone (``model`` with
    :func:`phi_lanes`; a Phi core's replay takes its residual union and PWP tokens)."""
    res = res if res is not None else golden.run(model, x)
    table = cplan.predict_table(model, x, limit, res)
    n = len(model.layers)
    for li, tl in tables.layers.items():
        ru_bits, use = _phi_input(model, tl, li, x, res)
        for p in table[li]:
            cp = core_plan(cplan.with_pco(model, [p if j == li else 1 for j in range(n)]), li)
            lists, counts = phi_core_work(cp, ru_bits, use, tl.k)
            table[li][p] = cplan.alone_cycles(model, cp, lists, counts, len(x))
    return table


def plan(model: CompiledModel, tables: PhiTables, x: np.ndarray, max_detectors: int,
         limit: int = 16) -> cplan.Plan:
    """Balance the pipeline for Phi mode (``fireflys plan --phi``): the planner's
    greedy (:func:`fireflys.compiler.plan.balance`) on :func:`predict_table`, the period from
    the replay of the whole chain with the Phi cores (``model`` with :func:`phi_lanes`). LUTs:
    area's estimate of the bitmap datapath; the matchers and PWP memories are not in it
    (``fireflys bench-phi`` measures them)."""
    res = golden.run(model, x)
    table = predict_table(model, tables, x, limit, res)
    choice = cplan.balance(table, max_detectors=max_detectors)
    planned = cplan.with_pco(model, choice)
    union = union_work(model, tables, x, res)  # the pairs that cost a cycle
    cores = [cplan.CorePlan(f"L{i}", p, table[i][p], union[i] / len(x) / p, table[i],
                            scan_bits=planned.layers[i].scan_bits)
             for i, p in enumerate(choice)]
    luts = sum(area.core_luts(cp, perf.core_spw(cp)) for cp in core_plans(planned))
    period = cplan.period_of(predict(planned, tables, x, res), len(x))
    return cplan.Plan(cores, period, sum(choice), luts)
