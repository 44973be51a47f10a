"""Verification commands: golden model, RTL simulation, soak, formal proofs, reliability."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fireflys.cli.options import (
    add_clock,
    add_dataset,
    add_frames,
    add_json,
    add_model_dir,
    add_phi,
    add_seed,
    add_stream_noise,
    args_frames,
    count,
    fraction,
    frames_about,
    frames_label,
    phi_tables,
    write_json,
)
from fireflys.core.model import load_model
from fireflys.errors import ConfigError
from fireflys.progress import bar


def cmd_golden(args: argparse.Namespace) -> int:
    from fireflys.core import golden

    model = load_model(args.model_dir)
    x, y = args_frames(args, model)
    res = golden.run(model, x)
    report = {
        "model": str(Path(args.model_dir)), "frames": res.frames, **frames_about(args),
        "spike_density": [None if s is None else float(s.mean()) for s in res.spikes],
        "work_per_frame": [w / res.frames for w in res.work],
        "accuracy": None if y is None else float((res.pred == y).mean()),
        "predictions": res.pred.tolist()[:32],
    }
    print(f"golden model: {res.frames} frames ({frames_label(args)})")
    print(f"{'layer':<6}{'spike density':>15}{'work/frame':>14}")
    for i, (d, w) in enumerate(zip(report["spike_density"], report["work_per_frame"],
                                   strict=True)):
        print(f"L{i:<5}{'-' if d is None else f'{d:.4f}':>15}{w:>14.1f}")
    if report["accuracy"] is not None:
        print(f"accuracy: {report['accuracy'] * 100:.2f} %")
    if args.json:
        write_json(args.json, report)
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from fireflys.verify.rtlsim import MismatchError, perf_report, simulate

    model = load_model(args.model_dir)
    x, y = args_frames(args, model)
    what = "the dense baseline (nothing skipped)" if args.dense else "the sparse accelerator"
    print(f"simulating {len(x)} frames of {model.arch} on {what} with Verilator (the first "
          "build takes a while)...", flush=True)
    try:
        with bar(len(x), "RTL") as progress:
            r = simulate(model, args.model_dir, x, in_gap=args.in_gap,
                         out_stall=args.out_stall, seed=args.seed, progress=progress,
                         dense=args.dense)
    except MismatchError as e:
        print(f"fireflys simulate: RTL != golden: {e}", file=sys.stderr)
        return 1
    rep = dict(perf_report(model, r, labels=y, clock_mhz=args.clock_mhz), dense=args.dense)
    print(f"0 mismatches: every core's output stream and all {r.frames} outputs equal the golden"
          " model")
    if rep["accuracy"] is not None:
        print(f"accuracy (RTL = golden): {rep['accuracy'] * 100:.2f} %")
    print("cycles per frame: ideal = union work / PCO (the pairs that cost a cycle), predicted = "
          "fireflys.compiler.perf, measured = RTL busy; ratio = measured / ideal; pairs ok: "
          "RTL pairs == golden work; det ok: every detector's cycles == model")
    print(f"{'core':<6}{'PCO':>5}{'union/frame':>12}{'ideal':>10}{'predicted':>11}"
          f"{'measured':>10}{'ratio':>8}{'pairs ok':>10}{'det ok':>8}")
    for c in rep["cores"]:
        print(f"{c['name']:<6}{c['pco']:>5}{c['union_work_per_frame']:>12.1f}"
              f"{c['ideal_cycles']:>10.1f}{c['predicted_cycles']:>11.1f}"
              f"{c['busy_cycles']:>10.1f}{c['ratio']:>8.3f}"
              f"{str(c['pairs_match_work']):>10}{str(c['detector_cycles_match_model']):>8}")
    print(f"frame period {rep['frame_period_cycles']:.0f} cycles (slowest core ideal "
          f"{rep['slowest_ideal_cycles']:.0f}): {rep['frames_per_s']:.0f} frames/s at "
          f"{args.clock_mhz:g} MHz")
    note = ("" if args.in_gap == 0 and args.out_stall == 0
            else " (the model assumes no input gaps and no output stalls)")
    print(f"cycle model: frame period {rep['predicted_frame_period_cycles']:.1f} cycles, "
          f"{rep['frame_period_prediction_error']:+.2%} off the RTL{note}")
    if args.json:
        write_json(args.json, dict(rep, **frames_about(args)))
    return 0


def _phi_layers(tables) -> str:
    """``L1,L2,L3,L4, q = 64``, or with tables of several q (the RTL's pattern slots per core):
    ``L1 (q 32), L2 (q 64)``."""
    from fireflys.phi.hw import q_slots

    names = [f"L{i}" for i in sorted(tables.layers)]
    qs = [q_slots(tables.layers[i]) for i in sorted(tables.layers)]
    if len(set(qs)) > 1:
        return ", ".join(f"{n} (q {q})" for n, q in zip(names, qs, strict=True))
    return f"{','.join(names)}, q = {tables.q}"


def cmd_soak(args: argparse.Namespace) -> int:
    from fireflys.verify.soak import soak

    model = load_model(args.model_dir)
    tables = phi_tables(args, model)
    x, _ = args_frames(args, model)
    mode = "bitmap mode" if tables is None else f"Phi mode on {_phi_layers(tables)}"
    print(f"soak: {len(x)} {frames_label(args)} frames through the RTL of {model.arch} ({mode}; "
          f"input gaps {args.in_gap:.0%}, output stalls {args.out_stall:.0%}, resets "
          f"{args.reset_rate:.1%} and malformed frames {args.bad_rate:.1%} of frames)",
          flush=True)
    with bar(len(x), "soak") as progress:
        r = soak(model, x, args.work, in_gap=args.in_gap, out_stall=args.out_stall,
                 reset_rate=args.reset_rate, bad_rate=args.bad_rate, seed=args.seed,
                 phi=tables, threads=args.threads, progress=progress)
    print(r.message)
    if r.period_mean is not None:
        print(f"cycles between outputs: mean {r.period_mean:.0f}, p50 {r.period_p50:.0f}, "
              f"p99 {r.period_p99:.0f}, max {r.period_max}"
              + ("" if args.in_gap == args.out_stall == 0 else
                 " (with input gaps and output stalls)"))
    print(f"build {r.build_s:.0f} s, run {r.run_s:.0f} s ({len(x) / max(r.run_s, 1e-9):.1f} "
          "frames/s in Verilator)")
    if args.json:
        write_json(args.json, dict(r.as_dict(), model_dir=str(args.model_dir),
                                    **frames_about(args)))
    return 0 if r.passed else 1


def cmd_formal(args: argparse.Namespace) -> int:
    from fireflys.verify import formal

    out = Path(args.out)
    proofs = [] if args.no_rtl else formal.rtl_proofs(out / "rtl")
    for d in args.model or []:
        model = load_model(d)
        label = Path(d).resolve().name.replace("-", "_")
        proofs += formal.neuron_proofs(model, label, out / f"neurons_{label}")
    if not proofs:
        raise ConfigError("nothing to prove: give --model or leave out --no-rtl")
    for pr in proofs:
        print(f"{pr.status:7s} {pr.name:44s} {pr.seconds:7.1f} s")
        if not pr.passed:
            print("        " + pr.detail.replace("\n", "\n        "))
    s = formal.summary(proofs)
    print(f"{s['passed']}/{s['proofs']} proofs passed in {s['seconds']:.0f} s")
    if args.json:
        write_json(args.json, s)
    return 0 if s["passed"] == s["proofs"] else 1


def cmd_reliability(args: argparse.Namespace) -> int:
    from fireflys.verify import badinput

    try:
        import hypothesis  # noqa: F401  (the campaigns' input generator)
    except ImportError:
        raise ConfigError("`fireflys reliability` needs hypothesis, from the dev extra: "
                          "`pip install -e '.[dev]'` (or `make setup`)") from None

    def read(path: str, make: str) -> dict:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"{p} not found: run `make {make}` first")
        try:
            return json.loads(p.read_text())
        except json.JSONDecodeError as e:
            raise ConfigError(f"{p}: not JSON ({e})") from None

    formal = read(args.formal, "formal")
    soak = read(args.soak, "soak")
    camps = []
    for name, fn in badinput.CAMPAIGNS.items():
        r = fn(args.examples)
        camps.append(r.as_dict())
        print(f"bad inputs {name:14s} tried {r.tried:6d}  named errors {r.named_errors:6d}  "
              f"valid {r.accepted:5d}  crashes {len(r.crashes)}")
        for c in r.crashes[:1]:
            print("  " + c.replace("\n", "\n  "))
    rep = {
        "proofs": formal.get("proofs", 0), "proofs_passed": formal.get("passed", 0),
        "proofs_failed": formal.get("failed", []),
        "frames_soaked": soak.get("frames", 0) if soak.get("passed") else 0,
        "soak": {k: soak.get(k) for k in ("model", "dataset", "frames", "resets", "malformed",
                                          "cycles", "in_gap", "out_stall", "run_s", "message",
                                          "passed")},
        "bad_inputs_tried": sum(c["tried"] for c in camps),
        "bad_inputs_named_errors": sum(c["named_errors"] for c in camps),
        "crashes": sum(c["crashes"] for c in camps),
        "campaigns": camps,
    }
    ok = (rep["proofs_passed"] == rep["proofs"] > 0 and bool(soak.get("passed"))
          and rep["crashes"] == 0)
    rep["ok"] = ok
    print(f"proofs {rep['proofs_passed']}/{rep['proofs']} passed, {rep['frames_soaked']} frames "
          f"soaked, {rep['bad_inputs_tried']} bad inputs tried, {rep['crashes']} crashes")
    write_json(args.out, rep)
    return 0 if ok else 1



def register(sub: argparse._SubParsersAction) -> None:
    g = sub.add_parser("golden", help="run the numpy golden model on frames")
    add_model_dir(g)
    add_dataset(g)
    add_frames(g, 256)
    add_seed(g, 0)
    add_json(g)
    g.set_defaults(func=cmd_golden)

    s = sub.add_parser("simulate", help="run the model's RTL (Verilator) against "
                       "the golden model; per-core cycles vs ideal")
    add_model_dir(s)
    add_frames(s, 32)
    add_dataset(s)
    add_seed(s, 1)
    s.add_argument("--dense", action="store_true", help="the dense baseline: the same datapath "
                   "with every weight stored and every position visited, nothing skipped "
                   "(`fireflys report --dense` compares the two)")
    add_stream_noise(s)
    add_clock(s)
    add_json(s, "write the report (JSON) here")
    s.set_defaults(func=cmd_simulate)

    so = sub.add_parser("soak", help="stream many frames through a model's RTL (standalone "
                        "Verilator testbench) with back-pressure, gaps, resets and malformed "
                        "frames; 0 mismatches, no frame lost or duplicated")
    add_model_dir(so)
    add_frames(so, 10_000)
    add_dataset(so)
    add_stream_noise(so, in_gap=0.2, out_stall=0.2)
    so.add_argument("--reset-rate", type=fraction, default=0.002,
                    help="probability of a reset before a frame")
    so.add_argument("--bad-rate", type=fraction, default=0.002,
                    help="probability of a malformed frame (tlast early or late)")
    add_seed(so, 1)
    add_phi(so)
    so.add_argument("--threads", type=count(1, 16), default=1,
                    help="Verilator threads of the testbench (default 1; more help only on "
                         "idle cores)")
    so.add_argument("--work", default="build/soak", help="work directory")
    add_json(so, "write the result (JSON) here")
    so.set_defaults(func=cmd_soak)

    fo = sub.add_parser("formal", help="formal proofs (SymbiYosys + z3): FIFO, scanner, peeler, "
                        "window and framing properties, and no neuron overflow within a "
                        "model's bounds")
    fo.add_argument("--model", action="append", metavar="DIR",
                    help="a compiled model whose neurons (lif_neuron, every channel) to prove "
                    "(repeatable; a bounded check per group of 4 channels: seconds for T <= 4, "
                    "up to minutes per channel for T = 6)")
    fo.add_argument("--no-rtl", action="store_true",
                    help="skip the RTL proofs of sim/formal/*.sby")
    fo.add_argument("--out", default="build/formal", help="work directory (default build/formal)")
    add_json(fo, "write the results (JSON)")
    fo.set_defaults(func=cmd_formal)

    rl = sub.add_parser("reliability", help="bad-input campaign (hypothesis) plus the formal "
                        "and soak results -> reports/reliability.json")
    rl.add_argument("--examples", type=count(1), default=1000, help="inputs per campaign")
    rl.add_argument("--formal", default="reports/formal.json", help="`make formal`'s result")
    rl.add_argument("--soak", default="reports/soak.json", help="`make soak`'s result")
    rl.add_argument("--out", default="reports/reliability.json")
    rl.set_defaults(func=cmd_reliability)
