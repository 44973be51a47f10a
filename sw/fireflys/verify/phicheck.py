"""The same frames through the RTL in Phi mode and in bitmap mode (``fireflys phi rtl``).

:func:`compare` runs the system test twice (:func:`fireflys.verify.rtlsim.simulate`:
every core's output stream and every output checked against the golden model in both modes)
and reports per core the operations the RTL counted (its ``pairs`` counter: (non-zero weight,
spike) pairs per step in bitmap mode; residual pairs plus PWP adds in Phi mode, which must
equal :func:`fireflys.phi.tables.counts`' Phi operations) and its busy cycles per frame.
:func:`compare_standalone` streams the frames through the standalone Verilator testbench of
:mod:`fireflys.verify.soak` in both modes (every output checked; cycles between outputs only),
for long runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fireflys.core.model import CompiledModel
from fireflys.phi import tables as phi
from fireflys.verify.rtlsim import simulate


def _accuracy(pred: list[int], y: np.ndarray | None) -> float | None:
    return None if y is None else float((np.asarray(pred) == y).mean())


def compare(model: CompiledModel, model_dir: str | Path, tables: phi.PhiTables, x: np.ndarray,
            y: np.ndarray | None = None, *, in_gap: float = 0.0, out_stall: float = 0.0,
            seed: int = 1, work_dir: str | Path | None = None) -> dict[str, Any]:
    """Both modes through the stream harness (see the module docstring); raises
    :class:`fireflys.verify.rtlsim.MismatchError` on a wrong output and AssertionError when the
    Phi-mode operation counters differ from the software's count."""
    runs = {mode: simulate(model, model_dir, x, in_gap=in_gap, out_stall=out_stall, seed=seed,
                           work_dir=work_dir, phi=t)
            for mode, t in (("bitmap", None), ("phi", tables))}
    want = {int(r["layer"][1:]): r["ops_phi"] for r in phi.counts(model, tables, x)["layers"]}
    nf = len(x)
    cores = []
    for i in range(len(model.layers)):
        b, p = runs["bitmap"], runs["phi"]
        if i in tables.layers and p.pairs[i] != round(want[i] * nf):
            raise AssertionError(f"L{i}: the RTL counted {p.pairs[i]} Phi operations, the "
                                 f"software {round(want[i] * nf)}")
        cores.append({"name": f"L{i}", "phi": i in tables.layers,
                      "ops_bitmap": b.pairs[i] / nf, "ops_phi": p.pairs[i] / nf,
                      "busy_bitmap": b.busy[i] / nf, "busy_phi": p.busy[i] / nf})
    return {"frames": nf, "q": tables.q, "phi_layers": sorted(tables.layers),
            "accuracy": _accuracy(runs["phi"].pred, y), "mismatches": 0, "cores": cores,
            "period_bitmap": runs["bitmap"].frame_period, "period_phi": runs["phi"].frame_period}


def compare_standalone(model: CompiledModel, tables: phi.PhiTables, x: np.ndarray,
                       y: np.ndarray | None = None, *, in_gap: float = 0.0,
                       out_stall: float = 0.0, seed: int = 1,
                       work_dir: str | Path = "build/phi_rtl") -> dict[str, Any]:
    """Both modes through the standalone testbench (no resets, no malformed frames); raises
    AssertionError naming the failed mode."""
    from fireflys.core import golden
    from fireflys.verify.soak import soak

    out: dict[str, Any] = {"frames": len(x), "q": tables.q, "phi_layers": sorted(tables.layers)}
    for mode, t in (("bitmap", None), ("phi", tables)):
        r = soak(model, x, Path(work_dir) / mode, in_gap=in_gap, out_stall=out_stall,
                 reset_rate=0.0, bad_rate=0.0, seed=seed, phi=t)
        if not r.passed:
            raise AssertionError(f"{mode} mode: {r.message}")
        out[f"cycles_{mode}"] = r.cycles
        out[f"period_{mode}"] = r.period_mean
    out["mismatches"] = 0
    out["accuracy"] = _accuracy(golden.run(model, x).pred.tolist(), y)
    return out


def table(rep: dict[str, Any]) -> str:
    """:func:`compare`'s report as text."""
    lines = [f"{rep['frames']} frames, q = {rep['q']}, per frame (operations: the RTL's pairs "
             "counter; busy: cycles with a detector working)",
             f"{'core':<6}{'Phi':>5}{'ops bitmap':>12}{'ops Phi':>10}{'busy bitmap':>13}"
             f"{'busy Phi':>10}{'ratio':>7}"]
    for c in rep["cores"]:
        lines.append(f"{c['name']:<6}{'on' if c['phi'] else '-':>5}{c['ops_bitmap']:>12.1f}"
                     f"{c['ops_phi']:>10.1f}{c['busy_bitmap']:>13.1f}{c['busy_phi']:>10.1f}"
                     f"{c['busy_bitmap'] / max(c['busy_phi'], 1e-9):>7.2f}")
    lines.append(f"frame period: bitmap {rep['period_bitmap']:.0f}, Phi {rep['period_phi']:.0f} "
                 f"cycles ({rep['period_bitmap'] / max(rep['period_phi'], 1e-9):.2f} x)")
    return "\n".join(lines)


def table_standalone(rep: dict[str, Any]) -> str:
    """:func:`compare_standalone`'s report as text."""
    return (f"{rep['frames']} frames, 0 mismatches in both modes; cycles between outputs: "
            f"bitmap {rep['period_bitmap']:.0f}, Phi {rep['period_phi']:.0f} "
            f"({rep['period_bitmap'] / max(rep['period_phi'], 1e-9):.2f} x); total cycles "
            f"bitmap {rep['cycles_bitmap']}, Phi {rep['cycles_phi']}")
