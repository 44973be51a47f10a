"""Parallelism planner (FireFly-S Section VI-B): choose each core's PCO to balance the
pipeline, from measured spike and weight densities.

The frame period of the pipeline is set by its slowest core. For every core and candidate
PCO, :mod:`fireflys.compiler.perf` predicts the core's cycles per frame on a calibration batch (the
golden model's real pair counts, the compiler's channel slots and look-ahead, the detector
scheduling); the planner then starts from PCO = 1 everywhere and repeatedly gives the
bottleneck core its next larger PCO, until the period meets ``target_cycles``, or the total
number of detectors (the dominant cost: each has its own mask/weight ROMs and peeling logic)
would exceed ``max_detectors``, or the LUTs predicted by :mod:`fireflys.compiler.area` (fitted to
Yosys results) would exceed ``max_luts``.

Core v2 (``core_version=2``): the candidates' cycles come from :mod:`fireflys.compiler.perf_v2`
(each core replayed alone: the cycles per frame from its first input write to its last
hand-off), and the chosen plan's frame period from the replay of the whole chain. There is no
area model of core v2 yet: its budget is ``max_detectors`` (LUTs are measured by synthesis,
``fireflys bench-hw``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from fireflys.compiler import perf_v2
from fireflys.compiler.area import model_luts
from fireflys.compiler.coreplan import core_plan
from fireflys.compiler.perf import pair_counts, pixel_costs, schedule
from fireflys.compiler.scanlist import whole_pixel_lanes
from fireflys.core import golden
from fireflys.core.model import CompiledModel


@dataclass
class CorePlan:
    name: str
    pco: int
    cycles: float  # predicted busy cycles per frame
    ideal: float  # work / PCO per frame
    candidates: dict[int, float]  # PCO -> predicted cycles per frame


@dataclass
class Plan:
    cores: list[CorePlan]
    period: float  # predicted cycles per frame of the slowest core
    detectors: int
    luts: float | None = 0.0  # predicted by fireflys.compiler.area (core v1 only)
    core_version: int = 1

    @property
    def pco(self) -> list[int]:
        return [c.pco for c in self.cores]


def with_pco(model: CompiledModel, pco: list[int]) -> CompiledModel:
    """A copy of ``model`` with other PCOs (widths and weights unchanged)."""
    m = copy.copy(model)
    m.layers = [copy.copy(ly) for ly in model.layers]
    for ly, p in zip(m.layers, pco, strict=True):
        ly.pco = p
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
                  counts: list[np.ndarray] | None = None) -> list[dict[int, float]]:
    """Per core: candidate PCO -> predicted busy cycles per frame on frames ``x``
    (``counts``: their :func:`fireflys.compiler.perf.pair_counts`, when known)."""
    counts = counts if counts is not None else pair_counts(model, x)  # independent of PCO
    table: list[dict[int, float]] = [{} for _ in model.layers]
    cands = [candidate_pcos(ly.geom.out_ch, limit) for ly in model.layers]
    for j in range(max(len(c) for c in cands)):
        pco = [c[min(j, len(c) - 1)] for c in cands]
        costs = pixel_costs(with_pco(model, pco), x, counts=counts)
        for i, c in enumerate(costs):
            table[i].setdefault(pco[i], float(schedule(c).mean()))
    return table


def predict_table_v2(model: CompiledModel, x: np.ndarray, limit: int = 16,
                     res: golden.GoldenResult | None = None) -> list[dict[int, float]]:
    """Core v2: per core, candidate PCO -> cycles per frame of the core alone on frames ``x``
    (:func:`fireflys.compiler.perf_v2.replay_core`: input at one pixel per cycle, output never
    blocked; from the first input write to the last hand-off)."""
    mv = whole_pixel_lanes(model)
    res = res if res is not None else golden.run(mv, x)
    table: list[dict[int, float]] = []
    for i, ly in enumerate(mv.layers):
        union = perf_v2.union_input(mv, x, res, i)
        row: dict[int, float] = {}
        for p in candidate_pcos(ly.geom.out_ch, limit):
            cp = core_plan(with_pco(mv, [p if j == i else 1 for j in range(len(mv.layers))]), i)
            tr = perf_v2.replay_core(mv, cp, *perf_v2.core_work(cp, union))
            row[p] = float(tr.handoff[-1] - tr.written[0] + 1) / len(x)
        table.append(row)
    return table


def plan(model: CompiledModel, x: np.ndarray, *, target_cycles: float | None = None,
         max_detectors: int | None = None, max_luts: float | None = None,
         limit: int = 16, core_version: int = 1) -> Plan:
    """Balance the pipeline (see the module docstring)."""
    if core_version == 2 and max_luts is not None:
        raise ValueError("no area model of core v2 yet: budget it with max_detectors")
    counts = pair_counts(model, x)
    table = (predict_table(model, x, limit, counts) if core_version == 1
             else predict_table_v2(model, x, limit))
    work = [int(k.sum()) for k in counts]  # the golden model's work: every pair
    frames = len(x)
    choice = [min(t) for t in table]  # PCO 1

    def period() -> float:
        return max(t[p] for t, p in zip(table, choice, strict=True))

    while True:
        if target_cycles is not None and period() <= target_cycles:
            break
        i = int(np.argmax([t[p] for t, p in zip(table, choice, strict=True)]))
        larger = sorted(p for p in table[i] if p > choice[i])
        if not larger:
            break
        if max_detectors is not None and sum(choice) - choice[i] + larger[0] > max_detectors:
            break
        trial = [*choice[:i], larger[0], *choice[i + 1:]]
        if max_luts is not None and model_luts(model, trial) > max_luts:
            break
        choice[i] = larger[0]
    cores = [CorePlan(f"L{i}", p, table[i][p], work[i] / frames / p, table[i])
             for i, p in enumerate(choice)]
    if core_version == 1:
        return Plan(cores, period(), sum(choice), model_luts(model, choice))
    return Plan(cores, chain_period(with_pco(model, choice), x), sum(choice), None, 2)


def chain_period(model: CompiledModel, x: np.ndarray) -> float:
    """Core v2: the frame period of the whole chain (:func:`fireflys.compiler.perf_v2.predict`),
    cycles between the last core's hand-offs of the middle and the last frame, per frame."""
    mv = whole_pixel_lanes(model)
    traces = perf_v2.predict(mv, x)
    return perf_v2.frame_period(traces[-1], len(x))
