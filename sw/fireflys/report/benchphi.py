"""Phi against its bitmap mode, per model (``make bench-phi``).

For each model (the shipped pruned ``scnn5_mnist``, the dense ``scnn5_dense`` and
``scnn5_dense_phi``, the dense one after pattern-aware fine-tuning):

1. ``tables``: Phi patterns (:func:`fireflys.phi.tables.select`, q per block, on training
   frames) for every layer the hardware can run in Phi mode;
2. ``counts``: operations and union pairs per frame on the held-out frames, both modes, per
   layer (:func:`fireflys.phi.tables.counts`), and the planner's per-core decision
   (:func:`fireflys.phi.perf.choose`: the cycle model's busy cycles of each core alone);
3. ``soak_bitmap`` / ``soak_phi``: the held-out frames back to back through the standalone
   Verilator testbench (no gaps, stalls or resets), every output checked against the golden
   model -> mismatches, cycles between outputs (the frame period);
4. ``xcup_bitmap`` / ``xcup_phi``: Yosys ``synth_xilinx -family xcup`` of the whole
   accelerator in each mode -> LUT (an estimate: the sign-off is Vivado).

Each step is cached as JSON in the work directory (``reuse``). ``summary`` gathers the
figures the issue asks for; :func:`write_summary` writes ``phi_summary.json`` and a plot.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from fireflys.compiler.compile import compile_to_dir
from fireflys.core import golden
from fireflys.core.model import CompiledModel
from fireflys.phi import tables as phi
from fireflys.phi.perf import choose, phi_lanes
from fireflys.progress import Progress
from fireflys.report.benchhw import (
    BenchError,
    Say,
    cached,
    generate_design,
    inputs_digest,
    synth_xcup,
    with_bar,
)

Bar = Callable[[int, str], Any]


def _soak(model: CompiledModel, x: np.ndarray, work: Path, tables: phi.PhiTables | None,
          progress: Progress | None) -> dict[str, Any]:
    from fireflys.verify.soak import soak

    r = soak(model, x, work, in_gap=0.0, out_stall=0.0, reset_rate=0.0, bad_rate=0.0,
             phi=tables, progress=progress)
    if not r.passed:
        raise BenchError(f"{work}: soak of {len(x)} frames failed: {r.message}")
    return r.as_dict()


def _xcup(model: CompiledModel, tables: phi.PhiTables | None, work: Path) -> dict[str, Any]:
    return {"resources": synth_xcup(generate_design(model, work, phi=tables), work)[1]}


def bench_model(model: CompiledModel, name: str, work: Path, *, x_cal: np.ndarray,
                x_eval: np.ndarray, y_eval: np.ndarray | None, q: int = 64,
                plan_frames: int = 16, synth: bool = True, reuse: bool = False,
                say: Say = print, bar: Bar | None = None) -> dict[str, Any]:
    """Both modes of one model (see the module docstring); returns its summary entry."""
    work = work.resolve()
    work.mkdir(parents=True, exist_ok=True)

    mdir = work / "model"  # a copy of the model, the patterns next to it (phi.npz)
    if reuse and (mdir / phi.PHI_FILE).is_file():
        say(f"{name}: patterns: reusing {mdir / phi.PHI_FILE}")
        tables = phi.load(model, mdir)
    else:
        say(f"{name}: patterns, q = {q}, on {len(x_cal)} training frames...")
        compile_to_dir(model, mdir)
        tables = phi.select(model, x_cal, q=q)
        phi.save(tables, model, mdir)
    lanes = phi_lanes(model, tables)
    key = inputs_digest(mdir)  # the model and its patterns, the RTL, the generator
    counts = cached(work / "counts.json", reuse, say, f"{name}: operation counts",
                     lambda: dict(phi.counts(model, tables, x_eval),
                                  planner=choose(lanes, tables, x_eval[:plan_frames])[1]), key)
    soak_b = cached(work / "soak_bitmap.json", reuse, say,
                     f"{name}: Verilator stream, bitmap mode, {len(x_eval)} frames",
                     lambda: with_bar(bar, len(x_eval), "bitmap", lambda p: _soak(
                         model, x_eval, work / "soak_bitmap", None, p)), key)
    soak_p = cached(work / "soak_phi.json", reuse, say,
                     f"{name}: Verilator stream, Phi mode, {len(x_eval)} frames",
                     lambda: with_bar(bar, len(x_eval), "Phi", lambda p: _soak(
                         model, x_eval, work / "soak_phi", tables, p)), key)
    xb = xp = None
    if synth:
        xb = cached(work / "xcup_bitmap.json", reuse, say, f"{name}: Yosys xcup, bitmap mode",
                     lambda: _xcup(model, None, work / "syn_bitmap"), key)
        xp = cached(work / "xcup_phi.json", reuse, say, f"{name}: Yosys xcup, Phi mode",
                     lambda: _xcup(model, tables, work / "syn_phi"), key)
    res = golden.run(model, x_eval)
    acc = (float((res.pred == np.asarray(y_eval)).mean()) if y_eval is not None
           else None)
    return entry(name, model, tables, counts, soak_b, soak_p, xb, xp, acc)


def entry(name: str, model: CompiledModel, tables: phi.PhiTables, counts: dict[str, Any],
          soak_b: dict[str, Any], soak_p: dict[str, Any], xb: dict[str, Any] | None,
          xp: dict[str, Any] | None, accuracy: float | None) -> dict[str, Any]:
    """One model's entry of ``phi_summary.json``."""
    tot = counts["total"]
    cb, cp = float(soak_b["period_mean"]), float(soak_p["period_mean"])
    lb = xb["resources"]["lut"] if xb else None
    lp = xp["resources"]["lut"] if xp else None
    return {
        "model": name, "arch": str(model.arch), "pco": [ly.pco for ly in model.layers],
        "q": tables.q, "phi_layers": [f"L{i}" for i in sorted(tables.layers)],
        "frames": soak_p["frames"],
        "mismatches": 0 if soak_b["passed"] and soak_p["passed"] else None,
        "accuracy": accuracy,
        "ops_zero_skip": tot["ops_zero_skip"], "ops_phi": tot["ops_phi"],
        "ops_ratio": tot["ops_ratio"],
        "union_bitmap": tot["union_bitmap"], "union_phi": tot["union_phi"],
        "union_ratio": tot["union_ratio"],
        "cycles_bitmap": cb, "cycles_phi": cp, "cycles_ratio": cb / cp,
        "cycles_bitmap_p99": soak_b["period_p99"], "cycles_phi_p99": soak_p["period_p99"],
        "lut_bitmap": lb, "lut_phi": lp,
        "lut_ratio": (lp / lb) if lb and lp else None,
        "ff_bitmap": xb["resources"]["ff"] if xb else None,
        "ff_phi": xp["resources"]["ff"] if xp else None,
        "bram36_bitmap": xb["resources"]["bram36"] if xb else None,
        "bram36_phi": xp["resources"]["bram36"] if xp else None,
        "layers": counts["layers"], "planner": counts["planner"],
        "notes": ("operations and union pairs per frame: fireflys.phi.tables on the same held-out "
                  "frames; cycles: the RTL's frame period (mean cycles between outputs, "
                  "frames back to back); LUT: Yosys synth_xilinx -family xcup of the whole "
                  "accelerator (an estimate; the sign-off is Vivado)"),
    }


def merged_entries(out: Path, entries: list[dict[str, Any]],
                   about: dict[str, Any]) -> list[dict[str, Any]]:
    """``entries`` after the entries of other models already in the summary ``out`` (none
    when it does not exist); refuses a summary measured on other frames (``about``'s keys:
    dataset, split, calibration frames)."""
    if not out.is_file():
        return entries
    try:
        doc = json.loads(out.read_text())
        old = doc["models"]
        if not isinstance(old, dict):
            raise TypeError("'models' is not an object")
    except (ValueError, KeyError, TypeError) as e:
        raise BenchError(f"{out}: not a phi_summary.json to merge into ({e})") from None
    for key in ("dataset", "split", "calib"):  # not data_dir: the same files elsewhere
        v = about.get(key)
        if key in doc and doc[key] != v:
            raise BenchError(f"{out}: field {key!r} is {doc[key]!r}, this run's is {v!r}: "
                             "entries measured on other frames are not merged")
    new = {e["model"] for e in entries}
    return [e for name, e in old.items() if name not in new] + entries


def write_summary(entries: list[dict[str, Any]], out: Path,
                  about: dict[str, Any] | None = None) -> Path:
    """``out`` (JSON) and a plot next to it (per layer: operations and union pairs of both
    modes, one panel per model)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.parent.mkdir(parents=True, exist_ok=True)
    doc = {"models": {e["model"]: e for e in entries}, **(about or {})}
    out.write_text(json.dumps(doc, indent=2) + "\n")
    fig, axes = plt.subplots(1, len(entries), figsize=(6 * len(entries), 4), squeeze=False)
    for ax, e in zip(axes[0], entries, strict=True):
        names = [r["layer"] for r in e["layers"]]
        xs = np.arange(len(names))
        for j, (key, label) in enumerate((("ops_zero_skip", "operations, zero-skip"),
                                          ("ops_phi", "operations, Phi"),
                                          ("union_bitmap", "union pairs, bitmap"),
                                          ("union_phi", "union pairs, Phi"))):
            ax.bar(xs + (j - 1.5) * 0.2, [r[key] for r in e["layers"]], 0.2, label=label)
        ax.set_xticks(xs, names)
        ax.set_title(f"{e['model']}: {e['ops_ratio']:.2f} x ops, RTL cycles "
                     f"{e['cycles_ratio']:.2f} x")
        ax.set_ylabel("per frame")
        ax.legend(fontsize=7)
    fig.tight_layout()
    png = out.with_suffix(".png")
    fig.savefig(png, dpi=120)
    plt.close(fig)
    return png
