"""``fireflys build CONFIG``: the flow's named steps with a verdict each."""

from __future__ import annotations

import argparse

from fireflys.flow.build import STEPS


def cmd_build(args: argparse.Namespace) -> int:
    from fireflys.flow.build import load_config, parse_overrides, run_build

    cfg = load_config(args.config, parse_overrides(args.set or []))
    done = run_build(cfg, args.start, args.stop)
    print(f"{'step':<10}{'verdict':<9}{'seconds':>8}  figure")
    for r in done:
        fig = ", ".join(f"{k} {v}" for k, v in r.figure.items()) or "-"
        print(f"{r.step:<10}{r.verdict:<9}{r.seconds:>8.0f}  {fig}")
    print(f"wrote {cfg.build_dir}/steps.json")
    return 1 if any(r.verdict == "FAIL" for r in done) else 0


def register(sub: argparse._SubParsersAction) -> None:
    b = sub.add_parser("build", help="run the flow's steps (export, plan, generate, simulate, "
                       "soak, synth, pnr, report) from a YAML/JSON config; each step's verdict "
                       "in BUILD_DIR/steps.json",
                       description="Fields (defaults): build_dir (build/flow/<config name>), "
                       "model (a compiled model directory) or run (a training run), name, "
                       "steps [export, plan, generate, simulate, report], dataset (random), "
                       "split (val), data_dir, random_density (0.2), sim_frames (8), frames "
                       "(100), seed (1), plan ({target_fps, clock_mhz}, {max_detectors}, "
                       "{max_luts} or {device, margin}; frames: what the planner replays, "
                       "default sim_frames), "
                       "bram36, seeds ([1, 2, 3]), freq_mhz (150), jobs (1), preset, goals "
                       "({cycles_per_frame, lut, ff, bram36, fmax_mhz}), report_dir "
                       "(BUILD_DIR/report), reuse (false; true keeps the steps' results "
                       "already in BUILD_DIR/work). "
                       "See docs/flow.md.")
    b.add_argument("config", help="YAML (.yaml/.yml) or JSON config file")
    b.add_argument("--from", dest="start", choices=STEPS, help="first step to run")
    b.add_argument("--to", dest="stop", choices=STEPS, help="last step to run")
    b.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="replace a config field (VALUE read as YAML: jobs=3, "
                   "steps=[generate,synth], model=DIR); repeatable")
    b.set_defaults(func=cmd_build)
