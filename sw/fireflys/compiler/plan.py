"""Parallelism planner (FireFly-S Section VI-B): choose each core's PCO (and scanner word
width) to balance the pipeline, from measured spike and weight densities.

The frame period of the pipeline is set by its slowest core. For every core and candidate
PCO, :mod:`fireflys.compiler.perf` replays the core alone on a calibration batch (the golden
model's spikes, the compiler's channel slots and scan lists, the RTL's handshakes): its cycles
per frame from the first input write to the last hand-off. The chosen plan's frame period
comes from the replay of the whole chain. Three questions:

- fewest LUTs for a frame period (``target_cycles`` alone, :func:`plan_area`): per core, the
  PCO x word width with the smallest :mod:`fireflys.compiler.area` estimate that meets it;
- fastest within a budget (``max_detectors`` and/or ``max_luts``, the latter the area
  estimate of the whole design): from PCO 1 everywhere, the bottleneck core gets its next larger
  PCO while the budget allows (:func:`balance`);
- both: the greedy stops at the first plan meeting the period;
- the speed/area front, the fastest design within a device's budget:
  :mod:`fireflys.compiler.front`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from fireflys.compiler import area, coreplan, perf
from fireflys.compiler.coreplan import core_plan, core_plans
from fireflys.compiler.scanlist import Entry, default_spw, whole_pixel_lanes
from fireflys.compiler.work import union_input, union_work
from fireflys.core import golden
from fireflys.core.model import BUFS, SCAN_BITS, CompiledModel


@dataclass
class CorePlan:
    name: str
    pco: int
    cycles: float  # predicted busy cycles per frame
    ideal: float  # union work / PCO per frame (fireflys.compiler.work.union_work)
    candidates: dict[int, float]  # PCO -> predicted cycles per frame
    scan_bits: int = SCAN_BITS  # widest scanner word
    luts: float | None = None  # fireflys.compiler.area's estimate
    bufs: int = BUFS  # output pixel buffers
    ring: str = "lut"  # the scanners' ring copies: "lut" (LUT-RAM) or "block" (block RAM)
    fifo: int | None = None  # depth of the FIFO after the core (None: the default)


@dataclass
class Plan:
    cores: list[CorePlan]
    period: float  # predicted cycles per frame of the slowest core
    detectors: int
    luts: float | None = 0.0  # fireflys.compiler.area's estimate of the design

    @property
    def pco(self) -> list[int]:
        return [c.pco for c in self.cores]

    @property
    def scan_bits(self) -> list[int]:
        return [c.scan_bits for c in self.cores]

    @property
    def bufs(self) -> list[int]:
        return [c.bufs for c in self.cores]

    @property
    def rings(self) -> list[str]:
        return [c.ring for c in self.cores]

    @property
    def fifos(self) -> list[int | None]:
        return [c.fifo for c in self.cores]

    def apply(self, model: CompiledModel) -> CompiledModel:
        """``model`` with this plan's PCOs, scanner words, output buffers, rings and FIFOs."""
        return with_pco(model, self.pco, self.scan_bits, self.bufs, self.rings, self.fifos)


def with_pco(model: CompiledModel, pco: list[int], scan_bits: list[int] | None = None,
             bufs: list[int] | None = None, rings: list[str] | None = None,
             fifos: list[int | None] | None = None) -> CompiledModel:
    """A copy of ``model`` with other PCOs (and scanner word limits, output buffers, ring
    memories, FIFO depths; widths and weights unchanged)."""
    m = copy.copy(model)
    m.layers = [copy.copy(ly) for ly in model.layers]
    for ly, p in zip(m.layers, pco, strict=True):
        ly.pco = p
    for ly, b in zip(m.layers, scan_bits or [ly.scan_bits for ly in m.layers], strict=True):
        ly.scan_bits = b
    for ly, b in zip(m.layers, bufs or [ly.bufs for ly in m.layers], strict=True):
        ly.bufs = b
    for ly, r in zip(m.layers, rings or [ly.ring for ly in m.layers], strict=True):
        ly.ring = r
    for ly, f in zip(m.layers, fifos or [ly.fifo for ly in m.layers], strict=True):
        ly.fifo = f
    return m


def candidate_pcos(co: int, limit: int = 16) -> list[int]:
    """PCOs worth trying: those that change the number of groups ceil(CO / PCO)."""
    out, seen = [], set()
    for p in range(1, min(co, limit) + 1):
        g = -(-co // p)
        if g not in seen:
            seen.add(g)
            out.append(p)
    return out


def predict_table(model: CompiledModel, x: np.ndarray, limit: int = 16,
                     res: golden.GoldenResult | None = None) -> list[dict[int, float]]:
    """Per core, candidate PCO -> cycles per frame of the core alone on frames ``x``
    (:func:`fireflys.compiler.perf.replay_core`: input at one pixel per cycle, output never
    blocked; from the first input write to the last hand-off)."""
    mv = whole_pixel_lanes(model)
    res = res if res is not None else golden.run(mv, x)
    table: list[dict[int, float]] = []
    for i, ly in enumerate(mv.layers):
        union = union_input(mv, x, res, i)
        table.append({p: _alone(mv, i, p, ly.scan_bits, union, len(x))[0]
                      for p in candidate_pcos(ly.geom.out_ch, limit)})
    return table


def core_with(mv: CompiledModel, i: int, pco: int, scan_bits: int) -> coreplan.CorePlan:
    """Core ``i``'s plan with ``pco`` detectors and words of up to ``scan_bits`` bits (the
    other cores, which it does not depend on, at PCO 1 and the widest words)."""
    n = len(mv.layers)
    return core_plan(with_pco(mv, [pco if j == i else 1 for j in range(n)],
                              [scan_bits if j == i else SCAN_BITS for j in range(n)]), i)


def _alone(mv: CompiledModel, i: int, pco: int, scan_bits: int, union: np.ndarray,
           frames: int) -> tuple[float, coreplan.CorePlan, list[list[Entry]]]:
    """Core ``i`` of ``mv`` (the hardware's lanes) with ``pco`` detectors and words of up to
    ``scan_bits`` bits, replayed alone on its input ``union``: cycles per frame from its
    first input write to its last hand-off, its plan, its scan lists."""
    cp = core_with(mv, i, pco, scan_bits)
    lists, counts = perf.core_work(cp, union)
    return alone_cycles(mv, cp, lists, counts, frames), cp, lists


def alone_cycles(mv: CompiledModel, cp: coreplan.CorePlan, lists: list[list[Entry]],
                 counts: list[np.ndarray], frames: int) -> float:
    """Core ``cp`` replayed alone on its scan lists and entry counts
    (:func:`fireflys.compiler.perf.replay_core`): cycles per frame from its first input
    write to its last hand-off."""
    tr = perf.replay_core(mv, cp, lists, counts, counters=False)
    return float(tr.handoff[-1] - tr.written[0] + 1) / frames


SCAN_BITS_CANDIDATES = (72, 64, 56, 48, 40, 36, 32, 28, 24, 16)
# longest scan list a plan may give a detector: the list ROM's entry fields (word, pointer,
# group) are read from LUTs at issue; measured on scnn5: 135 entries within 6 LUT levels, 355
# entries (FC words of 16 bits) 8 levels
MAX_LIST = 256


def plan_area(model: CompiledModel, x: np.ndarray, target_cycles: float, *,
                 limit: int = 16, tighten: float = 0.97, tries: int = 8) -> Plan:
    """Fewest LUTs for a frame period: per core, among PCO x scanner word width
    (whole pixels up to each of SCAN_BITS_CANDIDATES; no list longer than MAX_LIST entries),
    the candidate with the smallest :mod:`fireflys.compiler.area` estimate whose replay alone
    meets the budget; the chain
    is then replayed, and while it misses ``target_cycles`` the per-core budget tightens by
    ``tighten`` (at most ``tries`` times; the last plan is returned either way)."""
    mv = whole_pixel_lanes(model)
    res = golden.run(mv, x)
    n = len(mv.layers)
    unions = [union_input(mv, x, res, i) for i in range(n)]
    cache: dict[tuple[int, int, int], tuple[float, float, int]] = {}  # (core, PCO, spw)

    def evaluate(i: int, pco: int, bits: int, spw: int) -> tuple[float, float, int]:
        """Cycles per frame alone, estimated LUTs, longest scan list (``bits`` gives ``spw``
        segments per word)."""
        key = (i, pco, spw)
        if key not in cache:
            cyc, cp, lists = _alone(mv, i, pco, bits, unions[i], len(x))
            cache[key] = (cyc, area.core_luts(cp, spw), max(len(lst) for lst in lists))
        return cache[key]

    budget = float(target_cycles)
    cores: list[CorePlan] = []
    period = float("inf")
    for _ in range(tries):
        cores = []
        for i, ly in enumerate(mv.layers):
            best: tuple[float, float, int, int] | None = None  # luts, cycles, pco, bits
            fastest: tuple[float, float, int, int] | None = None
            seen: set[int] = set()
            for bits in SCAN_BITS_CANDIDATES:
                ci, pci = ly.geom.in_shape[0], ly.pci
                spw = default_spw(-(-ci // pci), pci, ly.geom.kh * ly.geom.kw, bits)
                if spw in seen:
                    continue
                seen.add(spw)
                word = spw * pci
                for pco in candidate_pcos(ly.geom.out_ch, limit):
                    cyc, luts, longest = evaluate(i, pco, bits, spw)
                    if longest > MAX_LIST and bits != SCAN_BITS:
                        continue  # the default words are always a candidate
                    if fastest is None or cyc < fastest[1]:
                        fastest = (luts, cyc, pco, word)
                    if cyc <= budget:
                        if best is None or luts < best[0]:
                            best = (luts, cyc, pco, word)
                        break  # a larger PCO only costs more
            luts, cyc, pco, word = best or fastest  # type: ignore[misc]
            cores.append(CorePlan(f"L{i}", pco, cyc, 0.0, {}, word, luts))
        period = chain_period(with_pco(model, [c.pco for c in cores],
                                       [c.scan_bits for c in cores]), x)
        if period <= target_cycles:
            break
        budget *= tighten
    return Plan(cores, period, sum(c.pco for c in cores), sum(c.luts or 0.0 for c in cores))


def design_luts(model: CompiledModel, pco: list[int]) -> float:
    """:mod:`fireflys.compiler.area`'s estimate of the design with these PCOs (each core's
    default scanner words)."""
    mv = whole_pixel_lanes(with_pco(model, pco))
    return sum(area.core_luts(cp, perf.core_spw(cp)) for cp in core_plans(mv))


def plan(model: CompiledModel, x: np.ndarray, *, target_cycles: float | None = None,
         max_detectors: int | None = None, max_luts: float | None = None,
         limit: int = 16) -> Plan:
    """Balance the pipeline (see the module docstring). A ``target_cycles`` without a budget:
    the fewest estimated LUTs for it, :func:`plan_area`."""
    if target_cycles is not None and max_detectors is None and max_luts is None:
        return plan_area(model, x, target_cycles, limit=limit)
    mv = whole_pixel_lanes(model)
    res = golden.run(mv, x)
    table = predict_table(model, x, limit, res)
    union = union_work(mv, x, res)  # the pairs that cost a cycle
    frames = len(x)
    luts: dict[tuple[int, int], float] = {}  # (core, PCO) -> estimate

    def core_luts(i: int, p: int) -> float:
        if (i, p) not in luts:
            n = len(model.layers)
            cp = core_plan(whole_pixel_lanes(with_pco(model, [p if j == i else 1
                                                                for j in range(n)])), i)
            luts[i, p] = area.core_luts(cp, perf.core_spw(cp))
        return luts[i, p]

    fits = None if max_luts is None else (
        lambda trial: sum(core_luts(i, p) for i, p in enumerate(trial)) <= max_luts)
    choice = balance(table, target_cycles=target_cycles, max_detectors=max_detectors, fits=fits)
    cores = [CorePlan(f"L{i}", p, table[i][p], union[i] / frames / p, table[i],
                      model.layers[i].scan_bits, core_luts(i, p))
             for i, p in enumerate(choice)]
    return Plan(cores, chain_period(with_pco(model, choice), x), sum(choice),
                sum(c.luts or 0.0 for c in cores))


def balance(table: list[dict[int, float]], *, target_cycles: float | None = None,
            max_detectors: int | None = None,
            fits: Callable[[list[int]], bool] | None = None) -> list[int]:
    """The greedy of :func:`plan` on a table of per-core candidate PCO -> cycles per frame:
    from the smallest PCO everywhere, give the slowest core its next larger PCO until the
    slowest meets ``target_cycles``, or the total would exceed ``max_detectors``, or ``fits``
    refuses the trial plan."""
    choice = [min(t) for t in table]
    while True:
        per = [t[p] for t, p in zip(table, choice, strict=True)]
        if target_cycles is not None and max(per) <= target_cycles:
            break
        i = int(np.argmax(per))
        larger = sorted(p for p in table[i] if p > choice[i])
        if not larger:
            break
        if max_detectors is not None and sum(choice) - choice[i] + larger[0] > max_detectors:
            break
        trial = [*choice[:i], larger[0], *choice[i + 1:]]
        if fits is not None and not fits(trial):
            break
        choice[i] = larger[0]
    return choice


def period_of(traces: list[perf.CoreTrace], frames: int) -> float:
    """Steady-state frame period of a replayed chain: cycles between the last core's hand-offs
    of the first and the last frame, per frame (a single frame: its whole replay)."""
    last = traces[-1].handoff.reshape(frames, -1)[:, -1]
    return float(last[-1] - last[0]) / (frames - 1) if frames > 1 else float(last[-1])


def chain_period(model: CompiledModel, x: np.ndarray) -> float:
    """The steady-state frame period of the whole chain
    (:func:`fireflys.compiler.perf.predict`): cycles between the last core's hand-offs of
    the first and the last frame, per frame (the pipeline's fill excluded; a single frame: its
    whole replay)."""
    return period_of(perf.predict(whole_pixel_lanes(model), x), len(x))
