"""The planner's speed/area front, measured (``fireflys bench-front``, ``make bench-front``).

For a model and a device preset (:mod:`fireflys.compiler.device`),
:func:`fireflys.compiler.plan.plan_front` on the model's held-out frames gives the front (ring
copies moved to block RAM where a point needs it); :func:`select` keeps ``points`` of the points
that fit the device by the estimate, from the smallest to the fastest, evenly spaced in
estimated LUTs. Each is written as a model (``WORK/p<k>/model``, the training run's metrics
beside it, so its frames are the same held-out frames) and built by ``fireflys build``'s steps
(generate, simulate, soak, synth, pnr, report) in ``WORK/p<k>``; ``reuse`` keeps the steps
already done, so a run of many hours can be resumed. A point whose step fails (a placement
that does not fit, a mismatch) is reported with the step and its message.

``OUT/summary.json``: the device, the frames, and per point the plan (PCO, word bits, buffers,
rings), the planner's predictions, and the measured figures: cycles/frame (mean, p99) over the
soak's frames, latency (the first frame through the empty pipeline, cycles and us at the worst
seed's Fmax), Yosys xcup LUT/FF/BRAM36/DSP and LUT levels, nextpnr-ecp5 Fmax per seed and the
LFE5U-85F's utilisation, frames/s = worst Fmax / cycles; ``OUT/front.png`` plots frames/s
against LUTs with the published accelerators (:data:`PUBLISHED`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fireflys.compiler.compile import compile_to_dir
from fireflys.compiler.device import DEFAULT_MARGIN, budget
from fireflys.compiler.front import FrontPoint, plan_front
from fireflys.core.model import CompiledModel
from fireflys.data import keep_run_split
from fireflys.flow.build import BuildConfig, run_build
from fireflys.hwgen.flowcmds import ECP5_TARGET_MHZ
from fireflys.report.benchhw import lfe5u_85f_use, summary

STEPS = ["generate", "simulate", "soak", "synth", "pnr", "report"]
CLOCK_MHZ = 150.0  # the clock of the predicted front's frames/s


@dataclass(frozen=True)
class Published:
    """A published accelerator's MNIST figures (None: not in the sources we have)."""

    name: str
    device: str
    clock: str
    fps: float | None
    luts: float | None
    note: str


PUBLISHED = (
    Published("FireFly-S", "xczu5ev (KV260)", "333 MHz", 10_047, 30_911,
              "SCNN5, 98.03 %, Vivado, their Table IV"),
    Published("DeepFire", "7-series / UltraScale+", "375 / 500 MHz", 40_100, None,
              "99.14 %, FPL 2021 abstract (LUTs not in our sources)"),
    Published("Skydiver", "XC7Z045", "-", 22_600, None,
              "98.5 %, its abstract (LUTs not in our sources)"),
    Published("SyncNN", "xczu9eg", "-", None, None,
              "4,072.5 frames/s per W as FireFly-S quotes it; frames/s and LUTs not in our "
              "sources"),
)


def select(points: list[FrontPoint], n: int) -> list[FrontPoint]:
    """``n`` of the ``points`` (sorted by LUTs), the first and the last among them, the others
    the points nearest to evenly spaced LUT levels in between; fewer when there are fewer."""
    pts = sorted(points, key=lambda q: q.luts)
    if len(pts) <= n:
        return pts
    lo, hi = pts[0].luts, pts[-1].luts
    out: list[FrontPoint] = []
    for k in range(n):
        level = lo + (hi - lo) * k / (n - 1)
        rest = [q for q in pts if q not in out]
        out.append(min(rest, key=lambda q: abs(q.luts - level)))
    return sorted(out, key=lambda q: q.luts)


def _read(p: Path) -> dict[str, Any] | None:
    return json.loads(p.read_text()) if p.is_file() else None


def _entry(k: int, q: FrontPoint, build: Path, done: list) -> dict[str, Any]:
    """Point ``k``'s entry: the plan, the predictions and what its build measured."""
    e: dict[str, Any] = {
        "point": k, "pco": [o.pco for o in q.options],
        "scan_bits": [o.scan_bits for o in q.options], "bufs": [o.bufs for o in q.options],
        "rings": [o.ring for o in q.options], "predicted_cycles": q.period,
        "luts_estimate": q.luts, "ecp5_ram_cells_estimate": q.ram,
        "ring_bram36_estimate": q.bram,
        "steps": {r.step: r.verdict for r in done},
    }
    failed = [r for r in done if r.verdict == "FAIL"]
    if failed:
        e["failed"] = {"step": failed[0].step, "message": failed[0].message}
    work = build / "work"
    sim, soak, xcup, ecp5 = (_read(work / f"{n}.json") for n in ("sim", "soak", "xcup", "ecp5"))
    if sim is not None and soak is not None and xcup is not None:
        e.update(summary(f"p{k}", sim, soak, xcup, ecp5))
    else:  # the steps that ran
        if sim is not None:
            e.update(sim_frames=sim["frames"], sim_frame_period=sim["frame_period_cycles"],
                     predicted_frame_period=sim["predicted_frame_period_cycles"],
                     latency_cycles=sim.get("latency_cycles"))
        if soak is not None:
            e.update(frames=soak["frames"], mismatches=0 if soak["passed"] else None,
                     cycles_per_frame=float(soak["period_mean"]),
                     cycles_per_frame_p99=soak["period_p99"])
    use = lfe5u_85f_use(ecp5["cells"]) if ecp5 is not None else None
    e["fits_lfe5u_85f"] = bool(use is not None and max(use.values()) <= 1.0
                               and "pnr" in e["steps"] and e["steps"]["pnr"] == "PASS")
    return e


def bench_front(model: CompiledModel, model_dir: Path, x_plan: np.ndarray, *, out: Path,
                work: Path, device: str = "lfe5u-85f", margin: float = DEFAULT_MARGIN,
                points: int = 4, dataset: str = "mnist", data_dir: str | None = None,
                sim_frames: int = 200, frames: int = 1000, seeds: tuple[int, ...] = (1, 2, 3),
                freq_mhz: float = ECP5_TARGET_MHZ, jobs: int = 1, reuse: bool = True,
                steps: list[str] | None = None, preset: str | None = None,
                say: Callable[[str], None] = print,
                progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Plan the front on ``x_plan``, build the selected points, write ``out``/summary.json
    and the plot; returns the summary."""
    b = budget(None, device, margin)
    _, front, _ = plan_front(model, x_plan, max_luts=b.luts, max_ram=b.ram, max_bram=b.bram,
                             progress=progress)
    fit = [q for q in front if q.fits(b.luts, b.ram)]
    chosen = select(fit, points)
    say(f"bench-front: {len(front)} points on the front, {len(fit)} within {b.device.name} "
        f"at {margin:.0%}; building {len(chosen)}: "
        + "; ".join(f"{q.period:.0f} cycles / ~{q.luts:.0f} LUT" for q in chosen))
    out.mkdir(parents=True, exist_ok=True)
    entries: list[dict[str, Any]] = []
    if not chosen:  # nothing fits: the summary says so, with no point built
        return _write(out, b.device.name, margin, len(x_plan), dataset, frames, front, entries)
    for k, q in enumerate(chosen):
        pdir = work / f"p{k}"
        mdir = pdir / "model"
        compile_to_dir(q.plan().apply(model), mdir)
        keep_run_split(model_dir, mdir)  # the run's split: the same held-out frames
        cfg = BuildConfig(build_dir=str(pdir), model=str(mdir), name=f"p{k}",
                          steps=list(steps or STEPS), dataset=dataset, data_dir=data_dir,
                          sim_frames=sim_frames, frames=frames, seeds=list(seeds),
                          freq_mhz=freq_mhz, jobs=jobs, preset=preset, reuse=reuse,
                          report_dir=str(out / f"p{k}"))
        say(f"bench-front: point {k} (PCO {','.join(str(o.pco) for o in q.options)}) in {pdir}")
        entries.append(_entry(k, q, pdir, run_build(cfg, say=say)))
        s = _write(out, b.device.name, margin, len(x_plan), dataset, frames, front, entries)
    return s  # written after each point (a long run leaves the points done so far)


def _write(out: Path, device: str, margin: float, plan_frames: int, dataset: str, frames: int,
           front: list[FrontPoint], entries: list[dict[str, Any]]) -> dict[str, Any]:
    s = {
        "device": device, "margin": margin, "plan_frames": plan_frames, "dataset": dataset,
        "split": "val", "frames": frames, "clock_mhz_predicted": CLOCK_MHZ,
        "front": [{"predicted_cycles": q.period, "luts_estimate": q.luts,
                   "ecp5_ram_cells_estimate": q.ram, "ring_bram36_estimate": q.bram}
                  for q in front],
        "points": entries,
        "published": [vars(p) for p in PUBLISHED],
    }
    (out / "summary.json").write_text(json.dumps(s, indent=2) + "\n")
    plot(s, out / "front.png")
    return s


def plot(s: dict[str, Any], path: Path) -> None:
    """Frames/s against LUTs: the predicted front (estimated xcup LUT, CLOCK_MHZ), the
    measured points (Yosys xcup LUT, nextpnr-ecp5 worst seed), the published accelerators
    (a point where their LUTs are known, a line where only their frames/s are)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    fr = s["front"]
    ax.step([q["luts_estimate"] for q in fr],
            [CLOCK_MHZ * 1e6 / q["predicted_cycles"] for q in fr], where="post", color="grey",
            lw=1, label=f"planner's front (estimate, {CLOCK_MHZ:g} MHz)")
    meas = [e for e in s["points"] if e.get("fps_ecp5")]
    if meas:
        ax.plot([e["lut"] for e in meas], [e["fps_ecp5"] for e in meas], "o-", color="C0",
                label=f"measured: xcup LUT, {s['device']} worst-seed Fmax")
    for i, p in enumerate(s["published"]):
        if p["fps"] is None:
            continue
        lab = f"{p['name']} ({p['device']}, {p['clock']})"
        if p["luts"] is not None:
            ax.plot([p["luts"]], [p["fps"]], "s", color=f"C{i + 1}", label=lab)
        else:
            ax.axhline(p["fps"], color=f"C{i + 1}", ls="--", lw=1, label=lab + ", LUT unknown")
    ax.set_xlabel("LUT (xcup: Yosys, or the planner's estimate)")
    ax.set_ylabel("frames/s")
    ax.set_title(f"scnn5 speed vs area ({s['device']})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
