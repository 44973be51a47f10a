"""The speed/area front of a model (``fireflys plan --front``, ``--device``): per core, the
options (PCO x scanner word width x output buffers) no cheaper option beats, each replayed
alone (:mod:`fireflys.compiler.perf`); then from the cheapest option everywhere the bottleneck
core takes its next faster option, each step a point of the front (:func:`front`);
:func:`plan_front` picks the fastest point within a LUT budget (e.g. a device's). A core's ring
copies in block RAM cost no cycles: with a block-RAM budget, a point that misses the LUT or
distributed-RAM budget moves cores' rings to block RAM (:meth:`FrontPoint.fit`). The picked
point's FIFOs between cores are then deepened where the chain's replay gains
(:func:`deepen_fifos`: the front's periods are the slowest core alone).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from fireflys.compiler import area, perf
from fireflys.compiler.coreplan import core_plan
from fireflys.compiler.plan import (
    MAX_LIST,
    CorePlan,
    Plan,
    alone_cycles,
    candidate_pcos,
    chain_period,
    core_with,
)
from fireflys.compiler.scanlist import default_spw, whole_pixel_lanes
from fireflys.compiler.shape import fifo_depth_of
from fireflys.compiler.work import union_input
from fireflys.core import golden
from fireflys.core.model import CompiledModel

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
                cp = core_with(mv, i, pco, b)
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
    spare = None if max_ram is None else max_ram - pick.ram
    return deepen_fifos(model, x, pick.plan(), spare), points, pick


FIFO_DEPTHS = (64,)  # the deeper FIFOs deepen_fifos tries after a core
FIFO_GAIN = 0.005  # a deeper FIFO is kept when the chain's period falls by more than this


def deepen_fifos(model: CompiledModel, x: np.ndarray, p: Plan,
                 spare_ram: float | None = None) -> Plan:
    """``p`` with the FIFOs between its cores deepened, one at a time in chain order, where
    the chain's replay on ``x`` gains more than FIFO_GAIN (a fast core waits on a slower
    neighbour's bursts), in passes until one deepens none (a FIFO can pay only once the next
    one is deeper); within ``spare_ram`` more ECP5 distributed-RAM cells (None: no limit). The
    plan's period is the chain's replay."""
    p = dataclasses.replace(p, cores=list(p.cores))
    period = chain_period(p.apply(model), x)
    widths = [-(-core_plan(model, i).out_width // 4) for i in range(len(model.layers) - 1)]
    deepened = True
    while deepened:
        deepened = False
        for i, ly in enumerate(model.layers[:-1]):
            base = p.cores[i].fifo or fifo_depth_of(ly.geom.out_shape)
            for depth in FIFO_DEPTHS:
                cells = (-(-depth // 16) - -(-base // 16)) * widths[i]
                if depth <= base or (spare_ram is not None and cells > spare_ram):
                    continue
                trial = dataclasses.replace(p, cores=list(p.cores))
                trial.cores[i] = dataclasses.replace(p.cores[i], fifo=depth)
                per = chain_period(trial.apply(model), x)
                if per < period * (1 - FIFO_GAIN):
                    p, period, base, deepened = trial, per, depth, True
                    spare_ram = None if spare_ram is None else spare_ram - cells
    p.period = period
    return p
