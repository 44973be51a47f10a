"""Model-level commands: parse an architecture, compile a (random) model, inspect one, plan
its parallelism."""

from __future__ import annotations

import argparse

import numpy as np

from fireflys.cli.options import (
    SEED,
    add_clock,
    add_dataset,
    add_frames,
    add_json,
    add_model_dir,
    add_seed,
    args_frames,
    count,
    fraction,
    frames_about,
    frames_label,
    int_list,
    positive,
    write_json,
)
from fireflys.compiler.device import DEFAULT_MARGIN, DEVICES
from fireflys.core.arch import PRESETS, parse_arch
from fireflys.core.model import ENCODINGS, READOUTS, RESETS, CompiledModel, load_model
from fireflys.errors import ConfigError


def cmd_arch(args: argparse.Namespace) -> int:
    a = parse_arch(args.arch)
    print(f"arch: {a}")
    print(f"{'layer':<6}{'kind':<6}{'in':>14}{'out':>14}{'kernel':>8}{'pad':>5}{'pool':>6}"
          f"{'params':>10}")
    for i, ly in enumerate(a.layers):
        params = int(np.prod(ly.weight_shape))
        print(f"L{i:<5}{ly.kind:<6}{'x'.join(map(str, ly.in_shape)):>14}"
              f"{'x'.join(map(str, ly.out_shape)):>14}{f'{ly.kh}x{ly.kw}':>8}{ly.pad:>5}"
              f"{ly.pool:>6}{params:>10}")
    return 0


def cmd_compile(args: argparse.Namespace) -> int:
    from fireflys.compiler.compile import compile_to_dir, random_model

    model = random_model(
        args.arch, sparsity=args.random_sparsity, T=args.T, seed=args.seed,
        encoding=args.encoding, in_bits=args.in_bits, k=args.leak_k, reset=args.reset,
        readout=args.readout, rate=args.rate, pco=args.pco, pci=args.pci,
        input_density=args.input_density,
    )
    paths = compile_to_dir(model, args.out)
    _print_model(model)
    for what, p in paths.items():
        print(f"wrote {what}: {p}")
    return 0


def _print_model(model: CompiledModel) -> None:
    print(f"arch {model.arch}  T={model.T}  input={model.encoding}/{model.in_bits}b  "
          f"readout={model.readout}")
    print(f"{'layer':<6}{'core':<18}{'k':>3}{'reset':>9}{'PCO':>5}{'PCI':>5}{'nnz':>8}"
          f"{'sparsity':>10}  widths")
    for name, ly in zip(model.layer_names(), model.layers, strict=True):
        w = " ".join(f"{k}={v}" for k, v in ly.widths.items())
        k, reset = (str(ly.k), ly.reset) if ly.neuron else ("-", "-")
        print(f"{name:<6}{ly.geom.token():<18}{k:>3}{reset:>9}{ly.pco:>5}{ly.pci:>5}"
              f"{ly.nnz:>8}{ly.sparsity:>10.3f}  {w}")


def cmd_info(args: argparse.Namespace) -> int:
    _print_model(load_model(args.model_dir))
    return 0


def _plan_phi(args: argparse.Namespace, model: CompiledModel, x: np.ndarray,
              target: float | None):
    """``plan --phi``: balance a detector budget with the cores of MODEL/phi.npz in Phi mode
    (:func:`fireflys.phi.perf.plan`)."""
    from fireflys.phi import perf as phiperf
    from fireflys.phi import tables as phi

    if args.max_detectors is None or target is not None or args.max_luts is not None:
        raise ConfigError("--phi: give --max-detectors (and no --target-fps or --max-luts): "
                          "the Phi-mode plan balances a detector budget")
    tables = phi.load(model, args.model_dir)
    p = phiperf.plan(phiperf.phi_lanes(model, tables), tables, x, args.max_detectors)
    layers = ",".join(f"L{i}" for i in sorted(tables.layers))
    return p, (f"fireflys.phi.perf: each core alone, {layers} in Phi mode (q = {tables.q}); "
               "the period: the whole chain; LUT: the bitmap datapath only")


def _plan_front(model, x, target: float | None, b):
    """:func:`fireflys.compiler.plan.plan_front` within the budget ``b`` with a progress bar
    over the cores."""
    from fireflys.compiler.front import plan_front
    from fireflys.progress import bar

    with bar(len(model.layers), "cores' options", unit="core") as progress:
        try:
            return plan_front(model, x, target_cycles=target, max_luts=b.luts, max_ram=b.ram,
                              max_bram=b.bram, progress=progress)
        except ValueError as e:
            raise ConfigError(str(e)) from None


def _print_front(args: argparse.Namespace, points, pick, b) -> None:
    clock = args.clock_mhz
    dev, ram = b.device, b.ram
    print(f"speed/area front ({len(points)} points; frames/s at {clock:g} MHz from the slowest "
          "core alone; LUT: fireflys.compiler.area's estimate"
          + (f"; {dev.name} LUT at {dev.lut_per_est:.2f} per estimated LUT" if dev else "")
          + ")")
    head = f"{'cycles':>8}{'frames/s':>10}{'LUT (est.)':>11}{'det.':>6}"
    print(head + (f"{dev.name + ' LUT':>16}" if dev else "")
          + (f"{'RAM cells':>16}" if ram is not None else "")
          + (f"{'ring BRAM36':>12}" if b.bram else "")
          + "  PCO / word bits / buffers (+ b: rings in block RAM)")
    for q in points:
        mark = " <" if q is pick else ""
        row = f"{q.period:>8.0f}{clock * 1e6 / q.period:>10.0f}{q.luts:>11.0f}{q.detectors:>6}"
        if dev:
            used = q.luts * dev.lut_per_est
            row += f"{used:>9.0f} ({100 * used / dev.luts:>3.0f}%)"
        if ram is not None and dev is not None and dev.ram_cells:
            row += f"{q.ram:>9} ({100 * q.ram / dev.ram_cells:>3.0f}%)"
        if b.bram:
            row += f"{q.bram:>12g}"
        cores = " ".join(f"{o.pco}/{o.scan_bits}/{o.bufs}{'b' if o.ring == 'block' else ''}"
                         for o in q.options)
        over = (b.luts is not None and q.luts > b.luts) or (ram is not None and q.ram > ram)
        print(row + "  " + cores + (" (over budget)" if over else "") + mark)


def _plot_front(path: str, args: argparse.Namespace, points, pick, dev) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    clock = args.clock_mhz
    scale = dev.lut_per_est if dev else 1.0
    unit = f"{dev.name} LUT (estimate)" if dev else "LUT (xcup estimate)"
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.step([q.luts * scale for q in points], [clock * 1e6 / q.period for q in points],
            where="post", marker="o", ms=3, label="the planner's front")
    ax.plot([pick.luts * scale], [clock * 1e6 / pick.period], "r*", ms=12, label="picked")
    if dev:
        ax.axvline(dev.luts, color="grey", ls="--", label=f"{dev.name}: {dev.luts} LUT")
    ax.set_xlabel(unit)
    ax.set_ylabel(f"frames/s at {clock:g} MHz (predicted)")
    ax.set_title(f"{args.model_dir}: speed vs area")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"wrote the front's plot to {path}")


def cmd_plan(args: argparse.Namespace) -> int:
    from fireflys.compiler.compile import compile_to_dir
    from fireflys.compiler.device import budget
    from fireflys.compiler.plan import design_luts, plan

    model = load_model(args.model_dir)
    target = None
    if args.target_fps:
        target = args.clock_mhz * 1e6 / args.target_fps
    b = budget(args.max_luts, args.device, args.margin)
    dev = b.device
    if (target is None and args.max_detectors is None and b.luts is None
            and not args.front and not args.plot):
        raise ConfigError("give --target-fps, --max-detectors, --max-luts, --device or "
                          "--front (or several)")
    if args.max_detectors is not None and args.max_detectors < len(model.layers):
        raise ConfigError(f"--max-detectors must be >= {len(model.layers)} (one per core)")
    if args.max_luts is not None:
        floor = design_luts(model, [1] * len(model.layers))
        if args.max_luts < floor:
            raise ConfigError(f"--max-luts {args.max_luts:.0f} is below the {floor:.0f} LUTs "
                              "estimated for one detector per core")
    if args.max_detectors is not None and (args.device or args.front or args.plot):
        raise ConfigError("--max-detectors plans PCOs alone: not with --device, --front or "
                          "--plot (the front's budget is LUTs)")
    x, _ = args_frames(args, model)
    points = pick = None
    if args.phi:
        p, how = _plan_phi(args, model, x, target)
    elif args.max_detectors is None and (b.luts is not None or args.front or args.plot):
        p, points, pick = _plan_front(model, x, target, b)
        how = ("fireflys.compiler.perf: each core alone, every PCO x word width x output "
               "buffers on its front; the period: the whole chain")
    else:
        p = plan(model, x, target_cycles=target, max_detectors=args.max_detectors,
                 max_luts=args.max_luts)
        how = "fireflys.compiler.perf: each core alone; the period: the whole chain"
    if points is not None and args.front:
        _print_front(args, points, pick, b)
    if points is not None and args.plot:
        _plot_front(args.plot, args, points, pick, dev)
    print(f"parallelism plan for {model.arch}, from {len(x)} {frames_label(args)} frames "
          f"(cycles per frame predicted by {how})")
    print(f"{'core':<6}{'token':<16}{'PCO':>5}{'word bits':>10}{'buffers':>8}{'ring':>6}"
          f"{'FIFO':>6}{'predicted':>11}{'LUT (est.)':>11}")
    for c, ly in zip(p.cores, model.layers, strict=True):
        print(f"{c.name:<6}{ly.geom.token():<16}{c.pco:>5}{c.scan_bits:>10}{c.bufs:>8}"
              f"{c.ring:>6}{c.fifo or '-':>6}{c.cycles:>11.0f}{c.luts or 0:>11.0f}")
    fps = args.clock_mhz * 1e6 / p.period
    print(f"frame period {p.period:.0f} cycles -> {fps:.0f} frames/s at {args.clock_mhz:g} MHz; "
          f"{p.detectors} detectors, ~{p.luts:.0f} LUT (fireflys.compiler.area, an "
          f"estimate); PCO {','.join(map(str, p.pco))}"
          + ("" if args.apply else " (--apply OUT writes the model with this plan)"))
    if dev is not None:
        used = (p.luts or 0.0) * dev.lut_per_est
        print(f"{dev.name}: ~{used:.0f} of {dev.luts} LUT ({100 * used / dev.luts:.0f} %, "
              f"budget {100 * args.margin:.0f} %; {dev.lut_per_est:.2f} device LUT per "
              "estimated LUT: fireflys.compiler.device)")
        if dev.ram_cells and pick is not None:
            print(f"{dev.name}: ~{pick.ram} of {dev.ram_cells} distributed-RAM cells "
                  f"({100 * pick.ram / dev.ram_cells:.0f} %; fireflys.compiler.area."
                  "ecp5_ram_cells)")
        if pick is not None and pick.bram:
            print(f"{dev.name}: ring copies in block RAM: {pick.bram:g} BRAM36 of the "
                  f"{b.bram:g} left beside the weights and lists (fireflys.compiler.area."
                  "ring_bram36)")
    if target is not None and p.period > target:
        print(f"note: target {target:.0f} cycles not reached within the limits")
    if args.json:
        write_json(args.json, {
            "model": str(args.model_dir), "arch": str(model.arch), "frames": len(x),
            **frames_about(args), "pco": p.pco, "period_cycles": p.period,
            "detectors": p.detectors, "luts_predicted": p.luts, "frames_per_s": fps,
            "scan_bits": p.scan_bits, "bufs": p.bufs, "rings": p.rings, "fifos": p.fifos,
            "clock_mhz": args.clock_mhz,
            "lut_budget": b.luts, "device": dev.name if dev else None,
            "ram_budget": b.ram, "ring_bram36_budget": b.bram,
            "ecp5_ram_cells": None if pick is None else pick.ram,
            "ring_bram36": None if pick is None else pick.bram,
            "cores": [{"name": c.name, "pco": c.pco, "bufs": c.bufs, "ring": c.ring,
                       "ideal": c.ideal,
                       "predicted": c.cycles, "luts_predicted": c.luts,
                       "candidates": {str(k): v for k, v in c.candidates.items()}}
                      for c in p.cores],
            "front": None if points is None else [
                {"period_cycles": q.period, "luts_predicted": q.luts, "ecp5_ram_cells": q.ram,
                 "ring_bram36": q.bram, "detectors": q.detectors, "picked": q is pick,
                 "cores": [{"pco": o.pco, "scan_bits": o.scan_bits, "bufs": o.bufs,
                            "ring": o.ring, "cycles": o.cycles, "luts_predicted": o.luts}
                           for o in q.options]} for q in points]})
    if args.apply:
        from fireflys.data import keep_run_split

        compile_to_dir(p.apply(model), args.apply)
        kept = keep_run_split(args.model_dir, args.apply)  # its held-out frames stay the run's
        print(f"wrote the model with this plan to {args.apply}"
              + (" (with its training run's metrics)" if kept else ""))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    a = sub.add_parser("arch", help="parse an architecture string and print its shapes")
    a.add_argument("arch", help=f"string like 1x28x28-8c3p1-mp2-10fc or a preset {list(PRESETS)}")
    a.set_defaults(func=cmd_arch)

    c = sub.add_parser("compile", help="compile a model (random sparse int4 weights) to a "
                       "model directory: model.json, weights.npz, mem/*.hex")
    c.add_argument("--arch", required=True, help="architecture string or preset")
    c.add_argument("--random-sparsity", type=fraction, required=True, metavar="S",
                   help="untrained model: fraction of int4 weights that are zero (0..1)")
    c.add_argument("--out", required=True, help="output model directory")
    c.add_argument("-T", "--T", type=count(1), default=4, help="time steps (default 4)")
    c.add_argument("--seed", type=SEED, default=0)
    c.add_argument("--encoding", choices=ENCODINGS, default="direct")
    c.add_argument("--in-bits", type=count(1, 16), default=8, help="bits per input pixel (direct)")
    c.add_argument("--leak-k", type=count(0), default=1, help="leak shift k; 0 = IF (default 1)")
    c.add_argument("--reset", choices=RESETS, default="zero")
    c.add_argument("--readout", choices=READOUTS, default="integrate")
    c.add_argument("--rate", type=fraction, default=0.15,
                   help="target firing rate used to calibrate thresholds (default 0.15)")
    c.add_argument("--input-density", type=fraction, default=0.2,
                   help="fraction of non-zero pixels (direct) or spikes of the random "
                   "calibration frames (default 0.2; 1 = dense images)")
    c.add_argument("--pco", type=int_list, help="output-channel parallelism per layer, a,b,...")
    c.add_argument("--pci", type=int_list, help="input segment width per layer, a,b,...")
    c.set_defaults(func=cmd_compile)

    i = sub.add_parser("info", help="validate a model directory and print its layers")
    add_model_dir(i)
    i.set_defaults(func=cmd_info)

    pl = sub.add_parser("plan", help="choose each core's PCO to balance the pipeline "
                        "(measured spike/weight densities + cycle model)")
    add_model_dir(pl)
    add_dataset(pl)
    add_frames(pl, 16, "calibration frames (default 16)")
    add_seed(pl, 1)
    pl.add_argument("--target-fps", type=positive(),
                    help="alone: the fewest estimated LUTs (PCO and scanner word width per "
                    "core) that reach it; with a budget: stop once it is reached")
    add_clock(pl)
    pl.add_argument("--max-detectors", type=count(1), help="budget: total PCO over all cores")
    pl.add_argument("--max-luts", type=positive(),
                    help="budget: LUTs of the design estimated by fireflys.compiler.area "
                    "(the fastest plan of the speed/area front within it)")
    pl.add_argument("--device", choices=sorted(DEVICES),
                    help="budget: the device's LUTs x --margin (fireflys.compiler.device: "
                    "ECP5 LUT4 per estimated LUT measured on the shipped scnn5), and on ECP5 "
                    "its distributed-RAM cells x --margin")
    pl.add_argument("--margin", type=fraction, default=DEFAULT_MARGIN,
                    help=f"share of --device's LUTs (and ECP5 RAM cells) a plan may fill "
                    f"(default {DEFAULT_MARGIN})")
    pl.add_argument("--front", action="store_true",
                    help="print the speed/area front (every PCO x word width x output buffers "
                    "per core; predicted frames/s at --clock-mhz vs estimated LUT)")
    pl.add_argument("--plot", metavar="PNG", help="plot the speed/area front here")
    add_json(pl, "write the plan here")
    pl.add_argument("--apply", metavar="OUT", help="write a copy of the model with the plan")
    pl.add_argument("--phi", action="store_true", help="with --max-detectors: plan for Phi "
                    "mode, the layers of MODEL/phi.npz (`fireflys phi select`) replayed with "
                    "their residual union and PWP tokens")
    pl.set_defaults(func=cmd_plan)
