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
- the speed/area front (:func:`front`): per core, the options (PCO x scanner word width x
  output buffers) no cheaper option beats, then from the cheapest option everywhere the
  bottleneck core takes its next faster option, each step a point of the front
  (:func:`plan_front`: the fastest point within a LUT budget, e.g. a device's). A core's
  ring copies in block RAM cost no cycles: with a block-RAM budget, a point that misses the
  LUT or distributed-RAM budget moves cores' rings to block RAM (:meth:`FrontPoint.fit`).
"""

from __future__ import annotations

import copy
import dataclasses
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

    def apply(self, model: CompiledModel) -> CompiledModel:
        """``model`` with this plan's PCOs, scanner words, output buffers and rings."""
        return with_pco(model, self.pco, self.scan_bits, self.bufs, self.rings)


def with_pco(model: CompiledModel, pco: list[int], scan_bits: list[int] | None = None,
             bufs: list[int] | None = None, rings: list[str] | None = None) -> CompiledModel:
    """A copy of ``model`` with other PCOs (and scanner word limits, output buffers, ring
    memories; widths and weights unchanged)."""
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


def _core_with(mv: CompiledModel, i: int, pco: int, scan_bits: int) -> coreplan.CorePlan:
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
    cp = _core_with(mv, i, pco, scan_bits)
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


# the front's candidates: scanner word limits (bits per plane) and output buffers per core
FRONT_BITS = (72, 48, 32, 16)
FRONT_BUFS = (4, 8, 16)
BUF_GAIN = 0.01  # more buffers are tried only while they gain more than this


@dataclass(frozen=True)
class Option:
    """One core's hardware choice, with its cycles per frame alone and its LUT estimate."""

    pco: int
    scan_bits: int
    bufs: int
    cycles: float
    luts: float
    ram: int = 0  # ECP5 distributed-RAM cells (fireflys.compiler.area.ecp5_ram_cells)
    ring: str = "lut"  # the scanners' ring copies: LUT-RAM, or "block" RAM
    bram: float = 0.0  # block RAM36 of the ring copies (fireflys.compiler.area.ring_bram36)
    # the same option with its rings in block RAM: LUTs and RAM cells it saves, BRAM36 it takes
    block_luts: float = 0.0
    block_ram: int = 0
    block_bram: float = 0.0

    def blocked(self) -> Option:
        """This option with its ring copies in block RAM (the same cycles)."""
        if self.ring == "block":
            return self
        return dataclasses.replace(self, ring="block", luts=self.luts - self.block_luts,
                                   ram=self.ram - self.block_ram, bram=self.block_bram)


@dataclass
class FrontPoint:
    """A design on the front: one option per core; ``period`` the slowest core alone (the
    chain's replay can add a little: :func:`chain_period`)."""

    options: list[Option]

    @property
    def period(self) -> float:
        return max(o.cycles for o in self.options)

    @property
    def luts(self) -> float:
        return sum(o.luts for o in self.options)

    @property
    def ram(self) -> int:
        return sum(o.ram for o in self.options)

    @property
    def bram(self) -> float:
        return sum(o.bram for o in self.options)

    @property
    def detectors(self) -> int:
        return sum(o.pco for o in self.options)

    def fits(self, max_luts: float | None, max_ram: float | None) -> bool:
        return ((max_luts is None or self.luts <= max_luts)
                and (max_ram is None or self.ram <= max_ram))

    def fit(self, max_luts: float | None = None, max_ram: float | None = None,
            max_bram: float | None = None) -> FrontPoint | None:
        """This point within ``max_luts`` and ``max_ram`` (None: no limit), moving cores'
        ring copies to block RAM while ``max_bram`` BRAM36 allow (None or 0: none moved):
        the cores that save the most distributed-RAM cells (then LUTs) per BRAM36 first, one
        at a time until the point fits. None when it cannot."""
        point = self
        order = sorted((i for i, o in enumerate(self.options)
                        if o.ring == "lut" and o.block_bram > 0),
                       key=lambda i: (-self.options[i].block_ram / self.options[i].block_bram,
                                      -self.options[i].block_luts / self.options[i].block_bram))
        for i in order:
            if point.fits(max_luts, max_ram):
                break
            if not max_bram or point.bram + self.options[i].block_bram > max_bram:
                continue
            opts = list(point.options)
            opts[i] = opts[i].blocked()
            point = FrontPoint(opts)
        return point if point.fits(max_luts, max_ram) else None

    def plan(self, period: float | None = None) -> Plan:
        cores = [CorePlan(f"L{i}", o.pco, o.cycles, 0.0, {}, o.scan_bits, o.luts, o.bufs,
                          o.ring)
                 for i, o in enumerate(self.options)]
        return Plan(cores, self.period if period is None else period, self.detectors,
                    self.luts)


def pareto(options: list[Option]) -> list[Option]:
    """The options no other beats: by LUTs, each faster than every cheaper one."""
    out: list[Option] = []
    for o in sorted(options, key=lambda o: (o.luts, o.cycles)):
        if not out or o.cycles < out[-1].cycles:
            out.append(o)
    return out


def core_options(model: CompiledModel, x: np.ndarray, *, limit: int = 16,
                 bits: tuple[int, ...] = FRONT_BITS, bufs: tuple[int, ...] = FRONT_BUFS,
                 progress: Callable[[int, int], None] | None = None) -> list[list[Option]]:
    """Per core, the Pareto front of its options: PCO (:func:`candidate_pcos`, until one more
    gains less than BUF_GAIN) x scanner word width (whole pixels up to each of ``bits``,
    distinct words only, no list longer than MAX_LIST but for the widest) x output buffers
    (``bufs`` in order, the next tried only while the last gained more than BUF_GAIN), each
    replayed alone on ``x``."""
    mv = whole_pixel_lanes(model)
    res = golden.run(mv, x)
    out: list[list[Option]] = []
    n = len(mv.layers)
    for i, ly in enumerate(mv.layers):
        union = union_input(mv, x, res, i)
        opts: list[Option] = []
        seen: set[int] = set()
        for b in bits:
            ci, pci = ly.geom.in_shape[0], ly.pci
            spw = default_spw(-(-ci // pci), pci, ly.geom.kh * ly.geom.kw, b)
            if spw in seen:
                continue
            seen.add(spw)
            best = float("inf")
            for pco in candidate_pcos(ly.geom.out_ch, limit):
                cp = _core_with(mv, i, pco, b)
                lists, counts = perf.core_work(cp, union)
                if max(len(lst) for lst in lists) > MAX_LIST and b != bits[0]:
                    continue  # a list too long for LUTs: more detectors shorten it
                fastest = float("inf")  # of this PCO
                for nb in bufs:
                    cpb = dataclasses.replace(cp, bufs=nb)
                    cyc = alone_cycles(mv, cpb, lists, counts, len(x))
                    if cyc > fastest * (1 - BUF_GAIN):
                        break
                    spw = perf.core_spw(cpb)
                    luts = area.core_luts(cpb, spw)
                    ram = area.ecp5_ram_cells(cpb, spw, i == n - 1)
                    cpr = dataclasses.replace(cpb, ring="block")
                    opts.append(Option(pco, b, nb, cyc, luts, ram,
                                       block_luts=luts - area.core_luts(cpr, spw),
                                       block_ram=ram - area.ecp5_ram_cells(cpr, spw, i == n - 1),
                                       block_bram=area.ring_bram36(cpr, spw)))
                    fastest = cyc
                if fastest > best * (1 - BUF_GAIN):
                    break  # more detectors no longer pay
                best = fastest
        out.append(pareto(opts))
        if progress is not None:
            progress(i + 1, n)
    return out


def front(options: list[list[Option]]) -> list[FrontPoint]:
    """The design's speed/area front from the cores' fronts: from the cheapest option of
    every core, the slowest core takes its next faster option, until it has none; a step is
    a point where the period falls (LUTs grow along the front)."""
    at = [0] * len(options)
    points = [FrontPoint([o[0] for o in options])]
    while True:
        cyc = [o[k].cycles for o, k in zip(options, at, strict=True)]
        i = int(np.argmax(cyc))
        if at[i] + 1 >= len(options[i]):
            return points
        at[i] += 1
        step = FrontPoint([o[k] for o, k in zip(options, at, strict=True)])
        if step.period < points[-1].period:
            points.append(step)


def plan_front(model: CompiledModel, x: np.ndarray, *, target_cycles: float | None = None,
               max_luts: float | None = None, max_ram: float | None = None,
               max_bram: float | None = None,
               progress: Callable[[int, int], None] | None = None
               ) -> tuple[Plan, list[FrontPoint], FrontPoint]:
    """The speed/area front of ``model`` on frames ``x`` and the point it picks: the fastest
    within ``max_luts`` and ``max_ram`` ECP5 distributed-RAM cells, ring copies moved to block
    RAM within ``max_bram`` BRAM36 where a point needs it (:meth:`FrontPoint.fit`; with
    ``target_cycles``: the cheapest point that meets it, else the fastest), as a plan whose
    period is the chain's replay. The returned points are the front as fitted (a point that
    cannot fit as it is). Raises ValueError when not even the smallest point fits."""
    points = [q.fit(max_luts, max_ram, max_bram) or q
              for q in front(core_options(model, x, progress=progress))]
    fits = [q for q in points if q.fits(max_luts, max_ram)]
    if not fits:
        limits = ([f"{max_luts:.0f} LUTs"] if max_luts is not None else []) + (
            [f"{max_ram:.0f} ECP5 distributed-RAM cells"] if max_ram is not None else [])
        raise ValueError(f"no design fits {' and '.join(limits)}: the smallest is estimated at "
                         f"{points[0].luts:.0f} LUTs and {points[0].ram} cells")
    meets = [q for q in fits if target_cycles is not None and q.period <= target_cycles]
    pick = min(meets, key=lambda q: q.luts) if meets else min(fits, key=lambda q: q.period)
    return pick.plan(chain_period(pick.plan().apply(model), x)), points, pick
