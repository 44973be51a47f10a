"""Fit of the planner's area model (:mod:`fireflys.compiler.area`) to Yosys results: the
measured LUTs of each core's detectors in a hierarchical ``synth_xilinx`` statistics file."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from fireflys.compiler.area import look_for, vec_bits
from fireflys.core.model import CompiledModel
from fireflys.eda.synth import load_stat, module_summary

_DET = re.compile(r"sparse_detector\$fireflys_top\.u_core(\d+)\.g_det\[\d+\]\.u_det$")


def measured_detector_luts(stat: Path) -> dict[int, float]:
    """Mean LUTs of one detector (with its encoders and popcount) per core, from a
    hierarchical ``synth_xilinx`` statistics file."""
    mods = load_stat(stat)
    per: dict[int, list[float]] = {}
    for name, mt in ((n.lstrip("\\"), _DET.search(n.lstrip("\\"))) for n in mods):
        if not mt:
            continue
        path = name.split("$", 1)[1]
        total = 0.0
        for sub, m in mods.items():  # the detector and its submodules
            sp = sub.lstrip("\\").split("$", 1)[-1]
            if sp == path or sp.startswith(path + "."):
                total += module_summary(m)["lut"]
        per.setdefault(int(mt.group(1)), []).append(total)
    return {i: float(np.mean(v)) for i, v in per.items()}


def fit(samples: list[tuple[CompiledModel, Path]]) -> tuple[float, float, float]:
    """Least-squares (a, b, c) from synthesized models: every core's mean detector LUTs."""
    rows, ys = [], []
    for model, stat in samples:
        for i, luts in measured_detector_luts(stat).items():
            v = vec_bits(model, i)
            rows.append([v, look_for(model, i, model.layers[i].pco) * v, 1.0])
            ys.append(luts)
    sol, *_ = np.linalg.lstsq(np.array(rows), np.array(ys), rcond=None)
    return float(sol[0]), float(sol[1]), float(sol[2])
