"""Reports and benchmarks."""

from __future__ import annotations

import argparse
from pathlib import Path

from fireflys.cli.options import add_model_dir, fraction
from fireflys.core.model import load_model


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

    b = sub.add_parser("bench", help="golden-model throughput -> reports/bench_golden.json")
    b.add_argument("--arch", default="scnn5")
    b.add_argument("--sparsity", type=fraction, default=0.9)
    b.add_argument("--batch", type=int, default=256)
    b.add_argument("--repeats", type=int, default=3)
    b.add_argument("--out-dir", default="reports")
    b.set_defaults(func=cmd_bench)
