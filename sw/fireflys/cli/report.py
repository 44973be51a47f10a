"""Reports and benchmarks."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fireflys.cli.options import (
    NON_NEGATIVE,
    IntList,
    add_dataset,
    add_frames,
    add_model_dir,
    add_seed,
    count,
    eval_frames,
    fraction,
    frames_about,
    frames_label,
    positive,
)
from fireflys.compiler.device import DEFAULT_MARGIN, DEVICES
from fireflys.core.model import load_model
from fireflys.hwgen.flowcmds import ECP5_TARGET_MHZ


def cmd_report(args: argparse.Namespace) -> int:
    from fireflys.report.report import build, table, write

    model = load_model(args.model_dir)
    opt = {k: Path(v) if v else None for k, v in
           (("dense", args.dense), ("synth", args.synth), ("pnr", args.pnr))}
    name = args.name or Path(args.model_dir).resolve().name
    rep = build(model, Path(args.rtl), name, preset=args.preset, **opt)
    files = write(rep, Path(args.out))
    print(table(rep))
    print("wrote " + ", ".join(str(f) for f in files.values()))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from fireflys.report.bench import bench_golden, write_report

    r = bench_golden(args.arch, args.sparsity, args.batch, args.repeats)
    out = write_report(r, Path(args.out_dir) / "bench_golden.json")
    print(f"golden model, {r['arch']}, {args.sparsity:.0%} sparse, batch {r['batch']}, T={r['T']}: "
          f"{r['frames_per_s']:.0f} frames/s (best of {args.repeats}: {r['seconds_best']} s), "
          f"peak RSS {r['peak_rss_mib']} MiB")
    print(f"wrote {out}")
    return 0

def cmd_bench_hw(args: argparse.Namespace) -> int:
    from fireflys.progress import bar, say
    from fireflys.report.benchhw import bench_hw

    model = load_model(args.model_dir)
    name = args.name or Path(args.model_dir).resolve().name
    n = max(args.frames, args.sim_frames)
    x, y = eval_frames(model, args.model_dir, args.dataset, n, args.seed, args.random_density,
                       split=args.split, data_dir=args.data_dir)
    if len(x) < args.frames:
        print(f"fireflys bench-hw: only {len(x)} {frames_label(args)} frames, "
              f"--frames {args.frames} asked", file=sys.stderr)
        return 2
    ys = None if y is None else y[:args.sim_frames]
    work = Path(args.work or f"build/bench_hw/{name}")
    print(f"bench-hw: {model.arch} -> {args.out} (work {work}; every step takes "
          "minutes, the ECP5 place and route the longest)", flush=True)
    s = bench_hw(model, Path(args.model_dir), name, Path(args.out), work,
                 x_sim=x[:args.sim_frames], y_sim=ys, x_soak=x[:args.frames],
                 seeds=tuple(args.seeds), freq_mhz=args.freq, pnr=not args.no_pnr,
                 reuse=args.reuse, preset=args.preset, bram36_budget=args.bram36,
                 jobs=args.jobs,
                 about=frames_about(args),
                 say=say, bar=bar)
    print(f"{s['frames']} frames, {s['mismatches']} mismatches; cycles/frame mean "
          f"{s['cycles_per_frame']:.0f}, p99 {s['cycles_per_frame_p99']:.0f}"
          + ("" if s["verilator_frames_per_s"] is None else
             f"; Verilator {s['verilator_frames_per_s']:.1f} frames/s"))
    print(f"Yosys xcup (estimate): {s['lut']:.0f} LUT ({s['lut_mem']:.0f} as memory), "
          f"{s['ff']:.0f} FF, {s['bram36']:g} BRAM36, {s['dsp']:.0f} DSP, "
          f"{s['lut_levels_max']} LUT levels")
    if "ecp5_fmax_mhz" in s:
        seeds = ", ".join(f"{f:.1f}" for f in s["ecp5_seeds"])
        print(f"nextpnr-ecp5 LFE5U-85F: worst {s['ecp5_fmax_mhz']:.1f} MHz (seeds: {seeds}) "
              f"-> {s['fps_ecp5']:.0f} frames/s")
    print(f"wrote {Path(args.out) / 'summary.json'} and the report next to it")
    return 0


def cmd_bench_front(args: argparse.Namespace) -> int:
    from fireflys.flow.benchfront import bench_front
    from fireflys.progress import bar, say

    model = load_model(args.model_dir)
    n = max(args.frames, args.sim_frames, args.plan_frames)
    x, _ = eval_frames(model, args.model_dir, args.dataset, n, args.seed, args.random_density,
                       split="val", data_dir=args.data_dir)
    if len(x) < n:
        print(f"fireflys bench-front: only {len(x)} {frames_label(args)} frames, {n} asked",
              file=sys.stderr)
        return 2
    print(f"bench-front: {model.arch} on {args.device} -> {args.out} (work {args.work}; "
          "hours: each point's place and route takes up to an hour per seed)", flush=True)
    with bar(len(model.layers), "cores' options", unit="core") as progress:
        s = bench_front(model, Path(args.model_dir), x[:args.plan_frames], out=Path(args.out),
                        work=Path(args.work), device=args.device, margin=args.margin,
                        points=args.points, dataset=args.dataset, data_dir=args.data_dir,
                        sim_frames=args.sim_frames, frames=args.frames,
                        seeds=tuple(args.seeds), freq_mhz=args.freq, jobs=args.jobs,
                        reuse=not args.no_reuse, preset=args.preset, say=say,
                        progress=progress)
    print(f"{'point':>5}{'cycles':>9}{'p99':>9}{'xcup LUT':>10}{'Fmax':>8}{'frames/s':>10}"
          f"{'fits':>6}  PCO / rings")
    for e in s["points"]:
        fmax = e.get("ecp5_fmax_mhz")
        print(f"{e['point']:>5}{e.get('cycles_per_frame', float('nan')):>9.0f}"
              f"{e.get('cycles_per_frame_p99', float('nan')):>9.0f}"
              f"{e.get('lut', float('nan')):>10.0f}{fmax or float('nan'):>8.1f}"
              f"{e.get('fps_ecp5', float('nan')):>10.0f}{'yes' if e['fits_lfe5u_85f'] else 'no':>6}"
              f"  {','.join(map(str, e['pco']))} / {','.join(r[0] for r in e['rings'])}"
              + (f"  ({e['failed']['step']}: {e['failed']['message']})" if "failed" in e
                 else ""))
    print(f"wrote {Path(args.out) / 'summary.json'} and front.png")
    return 1 if any("failed" in e for e in s["points"]) else 0


DEFAULT_PHI_MODELS = ("scnn5_mnist=models/scnn5_mnist,scnn5_dense=models/scnn5_dense,"
                      "scnn5_dense_phi=models/scnn5_dense_phi")


def _named_dirs(text: str) -> list[tuple[str, Path]]:
    """``--models``: ``name=dir,name=dir``."""
    out = []
    for item in text.split(","):
        name, sep, d = item.partition("=")
        if not sep or not name.strip() or not d.strip():
            raise ValueError(f"--models: {item!r} is not NAME=MODEL_DIR")
        out.append((name.strip(), Path(d.strip())))
    return out


def cmd_bench_phi(args: argparse.Namespace) -> int:
    from fireflys.progress import bar, say
    from fireflys.report.benchphi import BenchError, bench_model, merged_entries, write_summary
    from fireflys.verify.frames import calib_frames

    try:
        models = _named_dirs(args.models)
    except ValueError as e:
        print(f"fireflys bench-phi: {e}", file=sys.stderr)
        return 2
    about = {**frames_about(args), "calib": args.calib}
    if args.merge:  # refuse a summary of other frames before hours of benching, not after
        try:
            merged_entries(Path(args.out), [], about)
        except BenchError as e:
            print(f"fireflys bench-phi: {e}", file=sys.stderr)
            return 2
    entries = []
    for name, d in models:
        model = load_model(d)
        x, y = eval_frames(model, d, args.dataset, args.frames, args.seed,
                           args.random_density, split=args.split, data_dir=args.data_dir)
        if len(x) < args.frames:
            print(f"fireflys bench-phi: {d}: only {len(x)} {frames_label(args)} frames, "
                  f"--frames {args.frames} asked", file=sys.stderr)
            return 2
        cal = calib_frames(model, d, args.dataset, args.calib, args.seed,
                           data_dir=args.data_dir, density=args.random_density)
        print(f"bench-phi: {name} ({model.arch}), bitmap and Phi mode, "
              f"{len(x)} {frames_label(args)} frames (work {Path(args.work) / name})",
              flush=True)
        e = bench_model(model, name, Path(args.work) / name, x_cal=cal, x_eval=x, y_eval=y,
                        q=args.q, synth=not args.no_synth, reuse=args.reuse, say=say, bar=bar)
        entries.append(e)
        lut = ("" if e["lut_ratio"] is None else
               f"; LUT {e['lut_bitmap']:.0f} -> {e['lut_phi']:.0f} ({e['lut_ratio']:.2f} x)")
        print(f"{name}: {e['frames']} frames, mismatches {e['mismatches']}; operations "
              f"{e['ops_zero_skip']:.0f} -> {e['ops_phi']:.0f} per frame "
              f"({e['ops_ratio']:.2f} x fewer); RTL cycles/frame {e['cycles_bitmap']:.0f} -> "
              f"{e['cycles_phi']:.0f} ({e['cycles_ratio']:.2f} x){lut}", flush=True)
    if args.merge:
        entries = merged_entries(Path(args.out), entries, about)
    png = write_summary(entries, Path(args.out), about)
    print(f"wrote {args.out} and {png}")
    return 0


def add_pnr_options(p: argparse.ArgumentParser) -> None:
    """``--seeds``, ``--freq`` and ``--jobs`` of the nextpnr-ecp5 runs."""
    p.add_argument("--seeds", type=IntList(0), default=[1, 2, 3],
                   help="nextpnr seeds (default 1,2,3; the worst is quoted)")
    p.add_argument("--freq", type=positive(), default=ECP5_TARGET_MHZ,
                   help=f"nextpnr target clock in MHz (default {ECP5_TARGET_MHZ:g}, above the "
                   "150 MHz aim: the placer and router work on the paths that miss the target; "
                   "Fmax is the routed design's timing analysis either way)")
    p.add_argument("--jobs", type=count(1), default=1, metavar="N",
                   help="nextpnr seeds run at a time (separate processes; default 1)")


def register(sub: argparse._SubParsersAction) -> None:
    rp = sub.add_parser("report", help="hardware report of a compiled model: ops, cycles per "
                        "core (RTL), resources (Yosys), Fmax (nextpnr), plots, FireFly-S table")
    add_model_dir(rp)
    rp.add_argument("--rtl", required=True, help="`fireflys simulate --json` of this model")
    rp.add_argument("--dense", help="`fireflys simulate --dense --json` (dense baseline)")
    rp.add_argument("--synth", help="<core>.stat.json of the FuseSoC synth target")
    rp.add_argument("--pnr", help="pnr_report.json of the FuseSoC pnr_ecp5 target")
    rp.add_argument("--preset", choices=("scnn5", "scnn7", "scnn9"),
                    help="compare with FireFly-S's published numbers for this network")
    rp.add_argument("--name", help="report name (default: the model directory's name)")
    rp.add_argument("--out", required=True, help="output directory (report.json, .txt, PNGs)")
    rp.set_defaults(func=cmd_report)

    bh = sub.add_parser("bench-hw", help="end-to-end hardware benchmark: system "
                        "test, cycles/frame over a stream, Yosys xcup area and LUT levels, "
                        "nextpnr-ecp5 Fmax over seeds -> OUT/summary.json + report")
    add_model_dir(bh)
    add_frames(bh, 1000, "frames streamed back to back for cycles/frame (default 1000)")
    bh.add_argument("--sim-frames", type=count(1), default=200,
                    help="frames of the system test, per-core cycles (default 200)")
    add_dataset(bh, default="mnist")
    add_seed(bh, 1)
    add_pnr_options(bh)
    bh.add_argument("--no-pnr", action="store_true", help="skip the ECP5 place and route")
    bh.add_argument("--reuse", action="store_true",
                    help="reuse the results of steps already in the work directory")
    bh.add_argument("--preset", choices=("scnn5", "scnn7", "scnn9"),
                    help="compare with FireFly-S's published numbers for this network")
    bh.add_argument("--bram36", type=NON_NEGATIVE, metavar="N",
                    help="block RAM36 budget of the generated hardware (long scan lists read "
                    "their masks from block RAM while it lasts; default 5)")
    bh.add_argument("--name", help="report name (default: the model directory's name)")
    bh.add_argument("--work", help="work directory (default build/bench_hw/<name>)")
    bh.add_argument("--out", required=True, help="output directory (summary.json, report)")
    bh.set_defaults(func=cmd_bench_hw)

    bf = sub.add_parser("bench-front", help="the planner's speed/area front measured: the "
                        "front on a device, POINTS of it from the smallest to the fastest "
                        "that fits, each built end to end (system test, soak, Yosys xcup, "
                        "nextpnr-ecp5 seeds) -> OUT/summary.json + front.png",
                        description="Hours on 2 cores: each point's place and route takes "
                        "up to an hour per seed. Steps already done in WORK are kept "
                        "(--no-reuse: run them again), so an interrupted run resumes.")
    add_model_dir(bf)
    add_frames(bf, 1000, "frames streamed back to back per point (default 1000)")
    bf.add_argument("--sim-frames", type=count(1), default=200,
                    help="frames of each point's system test (default 200)")
    bf.add_argument("--plan-frames", type=count(1), default=50,
                    help="held-out frames the planner replays (default 50)")
    add_dataset(bf, default="mnist", split=False)
    add_seed(bf, 1)
    bf.add_argument("--device", choices=sorted(DEVICES), default="lfe5u-85f",
                    help="the device whose budget the points fit (default lfe5u-85f)")
    bf.add_argument("--margin", type=fraction, default=DEFAULT_MARGIN,
                    help=f"share of the device a point may fill (default {DEFAULT_MARGIN:g})")
    bf.add_argument("--points", type=count(2), default=4,
                    help="design points built (default 4)")
    add_pnr_options(bf)
    bf.add_argument("--no-reuse", action="store_true",
                    help="run every step again (default: keep the steps done in WORK)")
    bf.add_argument("--preset", choices=("scnn5", "scnn7", "scnn9"),
                    help="compare each point with FireFly-S's published numbers")
    bf.add_argument("--work", default="build/bench_front",
                    help="work directory (default build/bench_front)")
    bf.add_argument("--out", required=True, help="output directory (summary.json, front.png)")
    bf.set_defaults(func=cmd_bench_front)

    bp = sub.add_parser("bench-phi", help="Phi against bitmap mode, per model: "
                        "operations, RTL cycles/frame (Verilator stream), Yosys xcup LUT -> "
                        "reports/phi_summary.json + plot")
    bp.add_argument("--models", default=DEFAULT_PHI_MODELS, metavar="NAME=DIR,...",
                    help=f"models to compare (default {DEFAULT_PHI_MODELS})")
    add_frames(bp, 1000, "held-out frames streamed back to back per mode (default 1000)")
    bp.add_argument("--calib", type=count(1), default=512,
                    help="training frames the patterns are selected on (default 512)")
    bp.add_argument("--q", type=count(1, 1024), default=64, help="patterns per block (default 64)")
    add_dataset(bp, default="mnist")
    add_seed(bp, 1)
    bp.add_argument("--no-synth", action="store_true", help="skip the Yosys xcup synthesis")
    bp.add_argument("--merge", action="store_true",
                    help="keep the entries of other models already in --out (measured with the "
                    "same dataset, split and calibration frames); a model benched now replaces "
                    "its old entry")
    bp.add_argument("--reuse", action="store_true",
                    help="reuse the results of steps already in the work directory")
    bp.add_argument("--work", default="build/bench_phi", help="work directory (default "
                    "build/bench_phi)")
    bp.add_argument("--out", default="reports/phi_summary.json",
                    help="summary JSON (default reports/phi_summary.json; the plot next to it)")
    bp.set_defaults(func=cmd_bench_phi)

    b = sub.add_parser("bench", help="golden-model throughput -> reports/bench_golden.json")
    b.add_argument("--arch", default="scnn5")
    b.add_argument("--sparsity", type=fraction, default=0.9)
    b.add_argument("--batch", type=count(1), default=256)
    b.add_argument("--repeats", type=count(1), default=3)
    b.add_argument("--out-dir", default="reports")
    b.set_defaults(func=cmd_bench)
