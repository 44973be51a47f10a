"""Phi mode vs bitmap mode of the same model in RTL (issue 6): both runs stream the same frames
through the generated top and the report puts their cycles side by side.

:func:`compare`: the cocotb system testbench (every core's output stream and every output
against the golden model, per-core busy cycles and operation counters); thorough but slow in
Phi mode (the VPI build keeps every tree node public: ~500 cycles/s for scnn5).
:func:`compare_standalone`: the standalone Verilator testbench of :mod:`fireflys.verify.soak`
(every frame's output, i.e. prediction and class scores, against the golden model; total
cycles), ~20x faster, for long runs such as 500 MNIST frames."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from fireflys.core import golden
from fireflys.core.model import CompiledModel
from fireflys.phi import hw as phihw
from fireflys.phi.tables import PhiTables
from fireflys.progress import bar, say
from fireflys.verify.rtlsim import MismatchError, SimResult, simulate
from fireflys.verify.soak import SoakResult, soak


def _accuracy(pred: Any, labels: np.ndarray | None) -> float | None:
    return (float((np.asarray(pred) == np.asarray(labels)).mean())
            if labels is not None else None)


def compare(model: CompiledModel, model_dir: str | Path, tables: PhiTables, x: np.ndarray,
            labels: np.ndarray | None = None, *, in_gap: float = 0.0, out_stall: float = 0.0,
            seed: int = 1, work_dir: str | Path | None = None, parallel: bool = True,
            quiet: bool = False) -> dict[str, Any]:
    """Run bitmap and Phi mode on frames ``x``; raise :class:`fireflys.verify.rtlsim.MismatchError`
    on any difference from the golden model, or :class:`AssertionError` when the Phi cores'
    operation counters differ from :func:`fireflys.phi.hw.expected_ops`. One progress bar per
    mode (``quiet``: none)."""
    res = golden.run(model, x)
    want_ops = phihw.expected_ops(model, tables, x, res)
    runs: dict[str, SimResult] = {}
    secs: dict[str, float] = {}

    def one(mode: str, position: int) -> None:
        t0 = time.time()
        with bar(len(x), mode, disable=quiet, position=position) as tick:
            runs[mode] = simulate(model, model_dir, x, phi=tables if mode == "phi" else None,
                                  in_gap=in_gap, out_stall=out_stall, seed=seed,
                                  work_dir=work_dir, progress=tick)
        secs[mode] = time.time() - t0
        if not quiet:
            say(f"{mode}: {len(x)} frames, every core's stream == golden ({secs[mode]:.0f} s)")

    modes = ("bitmap", "phi")
    if parallel:
        with ThreadPoolExecutor(max_workers=2) as ex:
            for f in [ex.submit(one, m, i) for i, m in enumerate(modes)]:
                f.result()
    else:
        for i, m in enumerate(modes):
            one(m, i)
    b, p = runs["bitmap"], runs["phi"]
    if b.pairs != list(res.work):
        raise AssertionError(f"bitmap mode pair counters {b.pairs} != golden work {res.work}")
    if p.pairs != want_ops:
        raise AssertionError(f"Phi mode operation counters {p.pairs} != the software's Phi "
                             f"decisions {want_ops}")
    n = len(x)
    cores = []
    for i, ly in enumerate(model.layers):
        row = {"layer": f"L{i}", "token": ly.geom.token(), "phi": i in tables.layers,
               "pco": ly.pco, "pairs_per_frame": res.work[i] / n,
               "phi_ops_per_frame": p.pairs[i] / n,
               "ops_ratio": res.work[i] / max(p.pairs[i], 1),
               "busy_bitmap_per_frame": b.busy[i] / n, "busy_phi_per_frame": p.busy[i] / n,
               "busy_ratio": b.busy[i] / max(p.busy[i], 1)}
        cores.append(row)
    acc = _accuracy(res.pred, labels)
    return {
        "arch": str(model.arch), "frames": n, "in_gap": in_gap, "out_stall": out_stall,
        "q": tables.q, "accuracy": acc, "mismatches": 0,
        "checked": "every core's output stream and every output beat vs the golden model, "
                   "both modes; Phi operation counters == fireflys.phi's decisions",
        "bitmap": {"frame_period": b.frame_period, "total_cycles": b.cycles,
                   "seconds": secs["bitmap"]},
        "phi": {"frame_period": p.frame_period, "total_cycles": p.cycles,
                "seconds": secs["phi"]},
        "period_ratio": b.frame_period / max(p.frame_period, 1e-9),
        "ops_ratio": sum(res.work) / max(sum(p.pairs), 1),
        "cores": cores,
    }


def compare_standalone(model: CompiledModel, tables: PhiTables, x: np.ndarray,
                       labels: np.ndarray | None = None, *, in_gap: float = 0.0,
                       out_stall: float = 0.0, seed: int = 1, work_dir: str | Path,
                       quiet: bool = False) -> dict[str, Any]:
    """Both modes in the standalone testbench (two simulator processes in parallel); raise
    :class:`fireflys.verify.rtlsim.MismatchError` with the testbench's verdict when either fails."""
    runs: dict[str, SoakResult] = {}
    work = Path(work_dir)

    def one(mode: str, position: int) -> None:
        with bar(len(x), mode, disable=quiet, position=position) as tick:
            r = soak(model, x, work / mode, in_gap=in_gap, out_stall=out_stall,
                     plan=np.zeros(len(x), dtype=np.int64), seed=seed,
                     phi=tables if mode == "phi" else None, progress=tick)
            if not r.passed:
                raise MismatchError(f"{mode} mode: {r.message}")
        runs[mode] = r
        if not quiet:
            say(f"{mode}: {r.message} (build {r.build_s:.0f} s, run {r.run_s:.0f} s)")

    with ThreadPoolExecutor(max_workers=2) as ex:
        for f in [ex.submit(one, m, i) for i, m in enumerate(("bitmap", "phi"))]:
            f.result()
    res = golden.run(model, x)
    want_ops = phihw.expected_ops(model, tables, x, res)
    n = len(x)
    b, p = runs["bitmap"], runs["phi"]
    acc = _accuracy(res.pred, labels)
    return {
        "arch": str(model.arch), "frames": n, "in_gap": in_gap, "out_stall": out_stall,
        "q": tables.q, "accuracy": acc, "mismatches": 0, "testbench": "standalone",
        "checked": "every frame's output beat (prediction and class scores) vs the golden "
                   "model, one output per frame, both modes",
        "bitmap": {"cycles_per_frame": b.cycles / n, "total_cycles": b.cycles,
                   "build_s": b.build_s, "run_s": b.run_s},
        "phi": {"cycles_per_frame": p.cycles / n, "total_cycles": p.cycles,
                "build_s": p.build_s, "run_s": p.run_s},
        "cycles_ratio": b.cycles / max(p.cycles, 1),
        "ops_per_frame": {"bitmap_pairs": sum(res.work) / n, "phi": sum(want_ops) / n},
        "ops_ratio": sum(res.work) / max(sum(want_ops), 1),
        "layers": [{"layer": f"L{i}", "token": ly.geom.token(), "phi": i in tables.layers,
                    "pairs_per_frame": res.work[i] / n, "phi_ops_per_frame": want_ops[i] / n}
                   for i, ly in enumerate(model.layers)],
    }


def table_standalone(rep: dict[str, Any]) -> str:
    b, p = rep["bitmap"], rep["phi"]
    return (f"{rep['frames']} frames, {rep['mismatches']} mismatches (outputs vs golden, both "
            f"modes)\ncycles/frame (with {rep['in_gap']:.0%} input gaps, {rep['out_stall']:.0%} "
            f"output stalls): bitmap {b['cycles_per_frame']:.0f}, Phi "
            f"{p['cycles_per_frame']:.0f} ({rep['cycles_ratio']:.2f} x); operations/frame "
            f"{rep['ops_per_frame']['bitmap_pairs']:.0f} -> {rep['ops_per_frame']['phi']:.0f} "
            f"({rep['ops_ratio']:.2f} x fewer)")


def table(rep: dict[str, Any]) -> str:
    lines = [f"{'core':5s} {'token':10s} {'Phi':4s} {'pairs/fr':>9s} {'Phi ops/fr':>10s} "
             f"{'ratio':>6s} {'busy bitmap':>11s} {'busy Phi':>9s} {'ratio':>6s}"]
    for r in rep["cores"]:
        lines.append(f"{r['layer']:5s} {r['token']:10s} {'yes' if r['phi'] else 'no':4s} "
                     f"{r['pairs_per_frame']:9.0f} {r['phi_ops_per_frame']:10.0f} "
                     f"{r['ops_ratio']:6.2f} {r['busy_bitmap_per_frame']:11.0f} "
                     f"{r['busy_phi_per_frame']:9.0f} {r['busy_ratio']:6.2f}")
    lines.append(f"frame period: bitmap {rep['bitmap']['frame_period']:.0f}, Phi "
                 f"{rep['phi']['frame_period']:.0f} cycles ({rep['period_ratio']:.2f} x); "
                 f"operations {rep['ops_ratio']:.2f} x fewer; {rep['frames']} frames, "
                 f"{rep['mismatches']} mismatches")
    return "\n".join(lines)
