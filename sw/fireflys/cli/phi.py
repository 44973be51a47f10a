"""Phi commands (pattern-based hierarchical sparsity): ``phi select | report | rtl |
finetune``, one handler per step."""

from __future__ import annotations

import argparse
from pathlib import Path

from fireflys.cli.options import (
    NON_NEGATIVE,
    IntList,
    add_dataset,
    add_frames,
    add_json,
    add_model_dir,
    add_seed,
    add_stream_noise,
    args_frames,
    calib_frames,
    count,
    fraction,
    frames_about,
    frames_label,
    int_list,
    positive,
    write_json,
)
from fireflys.core.model import load_model
from fireflys.errors import ConfigError
from fireflys.phi import tables as phi
from fireflys.phi.patterns import spike_layers


def cmd_select(args: argparse.Namespace) -> int:
    if args.auto and args.plan_frames < 1:
        raise ConfigError(f"--plan-frames must be >= 1, got {args.plan_frames}")
    if len(args.q) > 1 and not args.auto:
        raise ConfigError(f"--q {','.join(map(str, args.q))}: several values need --auto (one "
                          "per core is chosen)")
    if args.json and not args.auto:
        raise ConfigError("--json: the choice per core is written with --auto")
    model = load_model(args.model_dir)
    calib = calib_frames(model, args.model_dir, args.dataset, args.frames, args.seed,
                         data_dir=args.data_dir, density=args.random_density)
    k = None if args.k is None else dict.fromkeys(spike_layers(model), args.k)
    layers = None if args.layers is None else [int(v) for v in args.layers]
    cands = [phi.select(model, calib, q=q, k=k, layers=layers, seed=args.seed) for q in args.q]
    tables = cands[0]
    if args.auto:
        tables = _auto(args, model, cands, calib)
        if not tables.layers:
            old = Path(args.model_dir) / phi.PHI_FILE
            print("Phi pays on no core: nothing written"
                  + (f" ({old}, older, is left as it was)" if old.exists() else ""))
            return 0
    checked = phi.check_exact(model, tables, calib[: min(8, len(calib))])
    out = phi.save(tables, model, args.model_dir)
    for li, tl in tables.layers.items():
        print(f"L{li}: {sum(len(p) for p in tl.patterns)} patterns over {tl.nb} block(s) of "
              f"k = {tl.k} channels, {tl.pwp.size} PWP words of {tl.pwp_width} bits")
    print(f"exact (currents from PWPs + signed residuals == golden) on "
          f"{sum(checked.values())} pixel blocks")
    print(f"wrote {out}")
    return 0


def _report_outputs(args: argparse.Namespace, rep: dict, series: list[tuple[str, str]],
                    ylabel: str, title: str) -> None:
    """``--json``: the report; ``--plot``: bars per layer of the ``(label, field)`` series."""
    if args.json:
        write_json(args.json, dict(rep, **frames_about(args)))
    if args.plot:
        from fireflys.report.report import bars

        names = [f"{r['layer']}\n{r['token']}" for r in rep["layers"]]
        p = bars(Path(args.plot), names,
                 [(label, [r[key] for r in rep["layers"]]) for label, key in series],
                 ylabel, title)
        print(f"wrote {p}")


def cmd_report(args: argparse.Namespace) -> int:
    model = load_model(args.model_dir)
    tables = phi.load(model, args.model_dir)
    x, _ = args_frames(args, model)
    phi.check_exact(model, tables, x[: min(8, len(x))])
    rep = phi.counts(model, tables, x)
    print(f"Phi per frame ({rep['frames']} {frames_label(args)} frames, q = {tables.q}): "
          "operations per time step, union = positions the core peels (all steps at once)")
    print(f"{'layer':6s} {'token':11s} {'k':>3s} {'ops zs':>10s} {'ops Phi':>10s} {'ratio':>6s} "
          f"{'union bm':>10s} {'union Phi':>10s} {'ratio':>6s} {'PWP words':>10s}")
    for r in rep["layers"]:
        print(f"{r['layer']:6s} {r['token']:11s} {r.get('k', '-')!s:>3s} "
              f"{r['ops_zero_skip']:10.0f} {r['ops_phi']:10.0f} "
              f"{r['ops_zero_skip'] / max(r['ops_phi'], 1e-9):6.2f} {r['union_bitmap']:10.0f} "
              f"{r['union_phi']:10.0f} {r['union_bitmap'] / max(r['union_phi'], 1e-9):6.2f} "
              f"{r.get('pwp_words', 0):10d}")
    t = rep["total"]
    print(f"spike layers: {t['ops_ratio']:.2f} x fewer operations than zero-skipping, "
          f"{t['union_ratio']:.2f} x fewer union positions than bitmap mode")
    _report_outputs(args, rep, [("operations, zero-skipping", "ops_zero_skip"),
                                ("operations, Phi", "ops_phi"),
                                ("union positions, bitmap", "union_bitmap"),
                                ("union positions, Phi", "union_phi")],
                    "per frame", f"Phi per layer, q = {tables.q}")
    return 0


def cmd_rtl(args: argparse.Namespace) -> int:
    from fireflys.verify.phicheck import compare, compare_standalone, table, table_standalone
    from fireflys.verify.rtlsim import MismatchError

    model = load_model(args.model_dir)
    tables = phi.load(model, args.model_dir)
    x, y = args_frames(args, model)
    try:
        if args.standalone:
            rep = compare_standalone(model, tables, x, y, in_gap=args.in_gap,
                                     out_stall=args.out_stall, seed=args.seed,
                                     work_dir=args.work)
        else:
            rep = compare(model, args.model_dir, tables, x, y, in_gap=args.in_gap,
                          out_stall=args.out_stall, seed=args.seed)
    except (MismatchError, AssertionError) as e:
        print(f"FAIL: {e}")
        return 1
    print(table_standalone(rep) if args.standalone else table(rep))
    if rep["accuracy"] is not None:
        print(f"accuracy {rep['accuracy'] * 100:.2f} % on {rep['frames']} {frames_label(args)} "
              "frames (identical in both modes: every output checked against the golden model)")
    if args.json:
        write_json(args.json, dict(rep, model_dir=str(args.model_dir), **frames_about(args)))
    return 0


def cmd_finetune(args: argparse.Namespace) -> int:
    from fireflys.train.paft import finetune

    r = finetune(args.run_dir, args.out, lam=args.lam, epochs=args.epochs, lr=args.lr,
                 q=args.q, batch=args.batch, threads=args.threads,
                 max_steps=args.max_steps, penalty=args.penalty, beta=args.beta)
    b, a = r["before"]["total"], r["after"]["total"]
    print(f"{'':22s} {'before':>10s} {'after':>10s}")
    print(f"{'accuracy %':22s} {r['accuracy_before'] * 100:10.2f} "
          f"{r['accuracy_after'] * 100:10.2f}")
    print(f"{'weight sparsity %':22s} {r['sparsity_before'] * 100:10.2f} "
          f"{r['sparsity_after'] * 100:10.2f}"
          + ("  (the run's fixed mask kept)" if r["fixed_mask"] else ""))
    for key, name in (("zero_skip", "zero-skip pairs/frame"), ("phi", "Phi pairs/frame")):
        print(f"{name:22s} {b[key]:10.0f} {a[key]:10.0f}")
    print(f"{'zero-skip / Phi':22s} {b['zs_over_phi']:10.2f} {a['zs_over_phi']:10.2f}")
    for key, name in (("union_bitmap", "union bitmap/frame"), ("union_phi", "union Phi/frame"),
                      ("union_ratio", "bitmap / Phi union")):
        print(f"{name:22s} {b[key]:10.2f} {a[key]:10.2f}")
    bad = sum(r["bit_exact_check"]["spike_mismatches_per_layer"])
    print(f"validation: {r['validation']}; bit-exact check: {bad} mismatches; wrote "
          f"{args.out}/model (with {phi.PHI_FILE}), "
          f"{args.out}/phi_finetune.json")
    return 0 if bad == 0 else 1


def _auto(args: argparse.Namespace, model, cands, calib):
    """Keep Phi on the cores where it pays, each with its q (:func:`fireflys.phi.perf.
    choose`); print the choice and write it to ``--json``."""
    from fireflys.phi import perf as phiperf

    x = calib[: args.plan_frames]
    kept, rows = phiperf.choose(phiperf.phi_lanes(model, cands[0]), cands, x,
                                min_gain=args.min_gain, max_lut_ratio=args.max_lut_ratio)
    budget = "" if args.max_lut_ratio is None else f", LUTs <= {args.max_lut_ratio} x bitmap"
    print(f"per core, alone, {len(x)} frames (cycle model; LUTs: area estimate): Phi on "
          f"where bitmap / Phi busy cycles >= {args.min_gain}{budget}")
    print(f"{'core':>5} {'bitmap':>9} {'Phi':>9} {'gain':>6} {'q':>5} {'+LUT':>7} "
          f"{'+ROM bits':>10}  Phi")
    for r in rows:
        why = f" (off: {r['dropped']})" if "dropped" in r else ""
        print(f"{r['layer']:>5} {r['busy_bitmap']:9.0f} {r['busy_phi']:9.0f} {r['gain']:6.2f} "
              f"{r['q']:5d} {r['lut_phi']:7d} {r['pattern_bits'] + r['pwp_bits']:10d}  "
              f"{'on' if r['phi'] else 'off'}{why}")
    if args.json:
        write_json(args.json, {"frames": len(x), "q_tried": [c.q for c in cands],
                               "min_gain": args.min_gain,
                               "max_lut_ratio": args.max_lut_ratio, "cores": rows})
    return kept


def register(sub: argparse._SubParsersAction) -> None:
    ph = sub.add_parser("phi", help="Phi pattern-based hierarchical sparsity: select patterns "
                        "and PWP tables, operation report, RTL check, fine-tuning")
    phs = ph.add_subparsers(dest="phi_cmd", required=True, metavar="STEP")
    se = phs.add_parser("select", help="k-means patterns per layer and pixel block on training "
                        "frames -> MODEL/phi.npz (exactness checked)")
    add_model_dir(se)
    add_dataset(se, split=False)
    add_frames(se, 256)
    add_seed(se, 0)
    se.add_argument("--q", type=int_list, default=[16], help="patterns per block (default "
                    "16); with --auto a list (e.g. 16,32,64): per core the q of the fewest "
                    "cycles, or a smaller one within 2 %% of them")
    se.add_argument("--k", type=count(1, 64),
                    help="block width in channels (default: the whole pixel, "
                    "up to 64)")
    se.add_argument("--layers", type=IntList(0), help="the spike-input layers to give patterns "
                    "(default: those with spiking neurons; an integrate readout may be named "
                    "for the counts, the hardware cannot run it in Phi mode)")
    se.add_argument("--auto", action="store_true", help="keep Phi only on the cores where the "
                    "cycle model says it pays (and within --max-lut-ratio); prints the choice "
                    "per core")
    se.add_argument("--min-gain", type=positive(), default=1.1, help="--auto: least bitmap / Phi "
                    "busy cycles of a core alone (default 1.1)")
    se.add_argument("--max-lut-ratio", type=positive(), help="--auto: most estimated LUTs of the "
                    "design in Phi mode over bitmap mode (default: no limit)")
    se.add_argument("--plan-frames", type=count(1), default=16, help="--auto: frames of the cycle "
                    "model (default 16)")
    add_json(se, help="--auto: write the choice per core here")
    se.set_defaults(func=cmd_select)

    re_ = phs.add_parser("report", help="per layer: zero-skipping and Phi operations, the union "
                         "positions the core peels in each mode, PWP storage")
    add_model_dir(re_)
    add_dataset(re_)
    add_frames(re_, 256)
    add_seed(re_, 0)
    add_json(re_, "write the report (JSON)")
    re_.add_argument("--plot", help="write a PNG of the work per layer")
    re_.set_defaults(func=cmd_report)

    pr = phs.add_parser("rtl", help="RTL in Phi mode vs bitmap mode on the same frames: every "
                        "core checked against golden, cycles and operations per core")
    add_model_dir(pr, "compiled model directory with phi.npz")
    add_dataset(pr)
    add_frames(pr, 16)
    add_seed(pr, 1)
    add_stream_noise(pr)
    pr.add_argument("--standalone", action="store_true", help="the standalone Verilator "
                    "soak testbench instead of the stream harness: every frame's output "
                    "checked, cycles between outputs only, no per-core figures (long runs)")
    pr.add_argument("--work", default="build/phi_rtl", help="work directory (--standalone)")
    add_json(pr, "write the comparison (JSON)")
    pr.set_defaults(func=cmd_rtl)

    ft = phs.add_parser("finetune", help="pattern-aware fine-tuning of a training run: task "
                        "loss + lam x Phi operations; before/after accuracy and op counts")
    ft.add_argument("run_dir", help="a `fireflys train --out` directory")
    ft.add_argument("--out", required=True, help="output run directory")
    ft.add_argument("--lam", type=NON_NEGATIVE, default=1e-3,
                    help="weight of the Phi operations (per "
                    "1000 per frame) in the loss")
    ft.add_argument("--epochs", type=count(1), default=3)
    ft.add_argument("--lr", type=positive(), default=2e-4, help="peak learning rate")
    ft.add_argument("--q", type=count(1, 1024), default=16)
    ft.add_argument("--batch", type=count(1), default=64)
    ft.add_argument("--threads", type=count(1), help="torch CPU threads")
    ft.add_argument("--max-steps", type=count(1), help="cap on steps per epoch (smoke runs)")
    pen = ft.add_mutually_exclusive_group()
    pen.add_argument("--penalty", choices=("ops", "saving"), default="ops",
                     help="ops (the Phi operations: rewards silence too) or saving (Phi minus "
                     "zero-skip operations: only completing patterns is rewarded)")
    pen.add_argument("--beta", type=fraction,
                     help="penalty = Phi - BETA x zero-skip operations, BETA in 0..1 (ops is 0, "
                     "saving is 1; in between rewards patterns and still costs spikes)")
    ft.set_defaults(func=cmd_finetune)
