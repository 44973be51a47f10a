"""``fireflys`` command line (``fireflys --help`` lists the commands)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from .arch import PRESETS, ArchError, parse_arch
from .compile import ConfigError
from .data import DatasetError
from .formal import FormalError
from .golden import InputError
from .hdlsim import SimulationError
from .memimg import MemImageError
from .model import ENCODINGS, READOUTS, RESETS, CompiledModel, ModelFormatError, load_model
from .phi import PhiError, PhiTables
from .report import ReportError
from .synth import SynthError

USER_ERRORS = (ArchError, ModelFormatError, InputError, MemImageError, ConfigError,
               SimulationError, DatasetError, ReportError, SynthError, FormalError, PhiError)


def _int_list(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}") from None


def _fraction(text: str) -> float:
    v = float(text)
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {text}")
    return v


def _freeze_fraction(text: str) -> float:
    v = float(text)
    if not 0.0 <= v < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return v


def _phi_tables(args: argparse.Namespace, model: CompiledModel) -> PhiTables | None:
    """MODEL/phi.npz when ``--phi`` is given, else None (bitmap mode)."""
    if not args.phi:
        return None
    from .phi import load_tables

    return load_tables(model, args.model_dir)


def _write_json(path: str | Path, obj: object) -> None:
    """Write a command's JSON report (creating its directory) and say where."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(obj, indent=2) + "\n")
    print(f"wrote {out}")


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
    from .compile import compile_to_dir, random_model

    model = random_model(
        args.arch, sparsity=args.random_sparsity, T=args.T, seed=args.seed,
        encoding=args.encoding, in_bits=args.in_bits, k=args.leak_k, reset=args.reset,
        readout=args.readout, rate=args.rate, pco=args.pco, pci=args.pci,
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


def _frames(model: CompiledModel, dataset: str, n: int, seed: int):
    from .compile import random_input

    if dataset == "random":
        return random_input(model, n, np.random.default_rng(seed)), None
    if dataset == "mnist":
        from .data import holdout_split, load_mnist

        if model.encoding != "direct" or model.arch.in_shape != (1, 28, 28):
            raise InputError(f"dataset 'mnist' gives 1x28x28 direct frames; model takes "
                             f"{'x'.join(map(str, model.arch.in_shape))} {model.encoding} "
                             "input")
        x, y = load_mnist(None, "train", model.in_bits)
        _, va = holdout_split(len(x), 10_000 / len(x), 0)  # `fireflys train`'s held-out set
        return x[va][:n], y[va][:n]
    from .data import load_digits

    if model.encoding != "direct" or model.arch.in_shape != (1, 8, 8):
        raise InputError(f"dataset 'digits' gives 1x8x8 direct frames; model takes "
                         f"{'x'.join(map(str, model.arch.in_shape))} {model.encoding} input")
    x, y = load_digits(model.in_bits)
    return x[:n], y[:n]


def cmd_golden(args: argparse.Namespace) -> int:
    from . import golden

    model = load_model(args.model_dir)
    x, y = _frames(model, args.dataset, args.frames, args.seed)
    res = golden.run(model, x)
    report = {
        "model": str(Path(args.model_dir)), "frames": res.frames, "dataset": args.dataset,
        "spike_density": [None if s is None else float(s.mean()) for s in res.spikes],
        "work_per_frame": [w / res.frames for w in res.work],
        "accuracy": None if y is None else float((res.pred == y).mean()),
        "predictions": res.pred.tolist()[:32],
    }
    print(f"golden model: {res.frames} frames ({args.dataset})")
    print(f"{'layer':<6}{'spike density':>15}{'work/frame':>14}")
    for i, (d, w) in enumerate(zip(report["spike_density"], report["work_per_frame"],
                                   strict=True)):
        print(f"L{i:<5}{'-' if d is None else f'{d:.4f}':>15}{w:>14.1f}")
    if report["accuracy"] is not None:
        print(f"accuracy: {report['accuracy'] * 100:.2f} %")
    if args.json:
        _write_json(args.json, report)
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from .rtlsim import MismatchError, perf_report, simulate

    model = load_model(args.model_dir)
    x, y = _frames(model, args.dataset, args.frames, args.seed)
    print(f"simulating {len(x)} frames of {model.arch} with Verilator "
          f"({'dense baseline' if args.dense else 'sparse'}; the first build takes a while)...",
          flush=True)
    from tqdm import tqdm

    try:
        with tqdm(total=len(x), desc="RTL", unit="frame") as bar:
            r = simulate(model, args.model_dir, x, skip=not args.dense, in_gap=args.in_gap,
                         out_stall=args.out_stall, seed=args.seed,
                         progress=lambda done, _n: bar.update(done - bar.n))
            bar.update(len(x) - bar.n)
    except MismatchError as e:
        print(f"fireflys simulate: RTL != golden: {e}", file=sys.stderr)
        return 1
    rep = perf_report(model, r, labels=y)
    print(f"0 mismatches: every core's output stream and all {r.frames} outputs equal the golden"
          " model")
    if rep["accuracy"] is not None:
        print(f"accuracy (RTL = golden): {rep['accuracy'] * 100:.2f} %")
    print("cycles per frame: ideal = work / PCO, predicted = fireflys.perf, measured = RTL busy;"
          " ratio = measured / ideal; pairs ok: RTL pairs == golden work; det ok: every "
          "detector's cycles == model")
    print(f"{'core':<6}{'PCO':>5}{'work/frame':>12}{'ideal':>10}{'predicted':>11}{'measured':>10}"
          f"{'ratio':>8}{'pairs ok':>10}{'det ok':>8}")
    for c in rep["cores"]:
        print(f"{c['name']:<6}{c['pco']:>5}{c['work_per_frame']:>12.1f}{c['ideal_cycles']:>10.1f}"
              f"{c['predicted_cycles']:>11.1f}{c['busy_cycles']:>10.1f}{c['ratio']:>8.3f}"
              f"{str(c['pairs_match_work']):>10}{str(c['detector_cycles_match_model']):>8}")
    print(f"frame period {rep['frame_period_cycles']:.0f} cycles (slowest core ideal "
          f"{rep['slowest_ideal_cycles']:.0f}): {rep['frames_per_s_at_333mhz']:.0f} frames/s at "
          "333 MHz")
    default = Path("reports") / f"sim_{Path(args.model_dir).name}.json"
    _write_json(args.json or default, rep)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from .train import TrainConfig, train

    arch = PRESETS.get(args.arch, args.arch)
    cfg = TrainConfig(
        arch=arch, dataset=args.dataset, out=args.out, data_dir=args.data_dir,
        epochs=args.epochs, batch=args.batch, lr=args.lr, sparsity=args.sparsity,
        alpha=args.alpha, adapt_every=args.adapt_every, ramp=args.ramp, reach=args.reach,
        weight_decay=args.weight_decay,
        T=args.T, k=args.leak_k, reset=args.reset, readout=args.readout, in_bits=args.in_bits,
        seed=args.seed, device=args.device, max_steps=args.max_steps, threads=args.threads,
        check_frames=args.check_frames, init_from=args.init_from, freeze_at=args.freeze_at,
        distill=args.distill, distill_temp=args.distill_temp,
        teacher_epochs=args.teacher_epochs, augment_shift=args.augment_shift)
    r = train(cfg, resume=args.resume)
    if not r.reporting:
        return 0
    last = r.history[-1]
    c = r.check
    print(f"validation: {r.val_note}")
    if "teacher" in c:
        print(f"distilled from a dense float teacher with {c['teacher']['val_acc'] * 100:.2f} % "
              "validation accuracy")
    print(f"accuracy: PyTorch eval {last.val_acc * 100:.2f} %, golden (exported) "
          f"{c['golden_val_acc'] * 100:.2f} %")
    print(f"int4 weight sparsity: {last.sparsity * 100:.2f} % of the architecture's weights "
          f"({c['exported_weight_sparsity'] * 100:.2f} % of the exported model's, after "
          f"removing {sum(c['removed_silent_channels'])} silent channels)")
    bad = sum(c["spike_mismatches_per_layer"]) + c["score_mismatches"]
    print(f"bit-exact check on {c['frames']} validation frames: {bad} mismatches "
          f"(spikes per layer {c['spike_mismatches_per_layer']}, scores "
          f"{c['score_mismatches']})")
    print(f"training time: {sum(h.seconds for h in r.history):.0f} s; wrote {r.files['model']},"
          f" {r.files['metrics']}, plots {r.files['plot_curves']}")
    return 0 if bad == 0 else 1


def cmd_export(args: argparse.Namespace) -> int:
    from .compile import compile_to_dir
    from .export import export
    from .train import load_run

    net, _ = load_run(args.run_dir)
    ex = export(net)
    out = Path(args.out) if args.out else Path(args.run_dir) / "model"
    files = compile_to_dir(ex.model, out)
    removed = sum(g.out_ch - len(k) for g, k in zip(net.arch.layers, ex.kept, strict=True))
    print(f"exported {ex.model.arch} ({removed} silent channels removed) to {files['model']}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """PyTorch (eval) vs golden vs RTL on the same validation frames of a training run."""
    from .export import export
    from .rtlsim import MismatchError, simulate
    from .train import check_bit_exact, load_dataset, load_run

    net, cfg = load_run(args.run_dir)
    model_dir = Path(args.run_dir) / "model"
    model = load_model(model_dir)
    _, _, xva, yva, note = load_dataset(cfg)
    n = args.frames or len(xva)
    x, y = xva[:n], yva[:n]
    ex = export(net)

    def same_layer(a, b) -> bool:
        return (np.array_equal(a.weight, b.weight) and np.array_equal(a.bias, b.bias)
                and (a.theta is None) == (b.theta is None)
                and (a.theta is None or np.array_equal(a.theta, b.theta)))

    if str(ex.model.arch) != str(model.arch) or not all(
            same_layer(a, b) for a, b in zip(ex.model.layers, model.layers, strict=True)):
        print(f"fireflys compare: error: {model_dir} is not the export of "
              f"{args.run_dir}/checkpoint.pt", file=sys.stderr)
        return 2
    print(f"{len(x)} frames: {note}; PyTorch eval vs golden, every layer and time step...",
          flush=True)
    # the on-disk model equals the export, so the check's golden run is the model's
    chk = check_bit_exact(net, ex, x, keep_pred=True)
    p_torch, p_gold = chk["torch_pred"], chk["golden_pred"]
    m = min(args.rtl_frames, len(x))
    print(f"spike mismatches per layer {chk['spike_mismatches_per_layer']}, score mismatches "
          f"{chk['score_mismatches']}; RTL (Verilator) on the first {m} frames "
          f"({args.in_gap:.0%} input gaps, {args.out_stall:.0%} output stalls)...", flush=True)
    try:
        r = simulate(model, model_dir, x[:m], in_gap=args.in_gap, out_stall=args.out_stall)
    except MismatchError as e:
        print(f"fireflys compare: RTL != golden: {e}", file=sys.stderr)
        return 1
    p_rtl = np.array(r.pred)
    sp = 1 - sum(ly.nnz for ly in model.layers) / sum(ly.weight.size for ly in model.layers)
    print(f"{'':<10}{'frames':>8}{'accuracy':>10}{'disagreements vs golden':>26}")
    for name, p, k in (("PyTorch", p_torch, n), ("golden", p_gold, n), ("RTL", p_rtl, m)):
        print(f"{name:<10}{k:>8}{(p == y[:k]).mean() * 100:>9.2f}%"
              f"{int((p != p_gold[:k]).sum()):>26}")
    print(f"weight sparsity {sp * 100:.2f} % (exported model); RTL per-core streams all equal "
          "the golden model")
    same = (np.array_equal(p_torch, p_gold) and np.array_equal(p_rtl, p_gold[:m])
            and sum(chk["spike_mismatches_per_layer"]) == 0 and chk["score_mismatches"] == 0)
    print("identical (spikes, scores, predictions): " + ("yes" if same else "NO"))
    return 0 if same else 1


def cmd_generate(args: argparse.Namespace) -> int:
    from .hwgen import generate

    model = load_model(args.model_dir)
    name = args.name or "".join(c if c.isalnum() else "_" for c in Path(args.model_dir).name)
    out = Path(args.out)
    tables = _phi_tables(args, model)
    try:
        files = generate(model, out, skip=not args.dense, name=name, phi=tables,
                         match_segs=_match_segs(args.match_segs, model))
    except ValueError as e:
        raise ConfigError(str(e)) from None
    for k in ("top", "mem", "manifest", "core"):
        print(f"wrote {k}: {files[k]}")
    print(f"FuseSoC: fusesoc --cores-root . --cores-root {out} run --target=lint "
          f"fireflys:model:{name}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .report import build, table, write

    model = load_model(args.model_dir)
    opt = {k: Path(v) if v else None for k, v in
           (("dense", args.dense), ("synth", args.synth), ("pnr", args.pnr))}
    name = args.name or Path(args.model_dir).resolve().name
    rep = build(model, Path(args.rtl), name, preset=args.preset, **opt)
    files = write(rep, Path(args.out))
    print(table(rep))
    print("wrote " + ", ".join(str(f) for f in files.values()))
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    from .compile import compile_to_dir
    from .plan import plan, with_pco

    model = load_model(args.model_dir)
    x, _ = _frames(model, args.dataset, args.frames, args.seed)
    target = None
    if args.target_fps:
        target = args.clock_mhz * 1e6 / args.target_fps
    if target is None and args.max_detectors is None and args.max_luts is None:
        raise ConfigError("give --target-fps, --max-detectors or --max-luts (or several)")
    if args.max_detectors is not None and args.max_detectors < len(model.layers):
        raise ConfigError(f"--max-detectors must be >= {len(model.layers)} (one per core)")
    if args.max_luts is not None:
        from .area import model_luts

        floor = model_luts(model, [1] * len(model.layers))
        if args.max_luts < floor:
            raise ConfigError(f"--max-luts {args.max_luts:.0f} is below the {floor:.0f} LUTs "
                              "predicted for one detector per core")
    p = plan(model, x, target_cycles=target, max_detectors=args.max_detectors,
             max_luts=args.max_luts)
    print(f"parallelism plan for {model.arch} from {len(x)} {args.dataset} frames "
          "(cycles per frame predicted by fireflys.perf)")
    print(f"{'core':<6}{'token':<16}{'PCO':>5}{'ideal':>10}{'predicted':>11}")
    for c, ly in zip(p.cores, model.layers, strict=True):
        print(f"{c.name:<6}{ly.geom.token():<16}{c.pco:>5}{c.ideal:>10.0f}{c.cycles:>11.0f}")
    fps = args.clock_mhz * 1e6 / p.period
    print(f"frame period {p.period:.0f} cycles -> {fps:.0f} frames/s at {args.clock_mhz:g} MHz; "
          f"{p.detectors} detectors, ~{p.luts:.0f} LUT (fireflys.area); "
          f"--pco {','.join(map(str, p.pco))}")
    if target is not None and p.period > target:
        print(f"note: target {target:.0f} cycles not reached within the limits")
    if args.json:
        _write_json(args.json, {
            "model": str(args.model_dir), "arch": str(model.arch), "frames": len(x),
            "dataset": args.dataset, "pco": p.pco, "period_cycles": p.period,
            "detectors": p.detectors, "luts_predicted": p.luts, "frames_per_s": fps,
            "clock_mhz": args.clock_mhz,
            "cores": [{"name": c.name, "pco": c.pco, "ideal": c.ideal, "predicted": c.cycles,
                       "candidates": {str(k): v for k, v in c.candidates.items()}}
                      for c in p.cores]})
    if args.apply:
        compile_to_dir(with_pco(model, p.pco), args.apply)
        print(f"wrote the model with this plan to {args.apply}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import bench_golden, write_report

    r = bench_golden(args.arch, args.sparsity, args.batch, args.repeats)
    out = write_report(r, Path(args.out_dir) / "bench_golden.json")
    print(f"golden model, {r['arch']}, {args.sparsity:.0%} sparse, batch {r['batch']}, T={r['T']}: "
          f"{r['frames_per_s']:.0f} frames/s (best of {args.repeats}: {r['seconds_best']} s), "
          f"peak RSS {r['peak_rss_mib']} MiB")
    print(f"wrote {out}")
    return 0


def cmd_soak(args: argparse.Namespace) -> int:
    from .soak import soak

    model = load_model(args.model_dir)
    tables = _phi_tables(args, model)
    x, _ = _frames(model, args.dataset, args.frames, args.seed)
    mode = f"Phi mode, q = {tables.q}" if tables is not None else "bitmap mode"
    print(f"soak: {len(x)} {args.dataset} frames through the RTL of {model.arch} ({mode}; "
          f"input gaps {args.in_gap:.0%}, output stalls {args.out_stall:.0%}, resets "
          f"{args.reset_rate:.1%} and malformed frames {args.bad_rate:.1%} of frames)",
          flush=True)
    r = soak(model, x, args.work, in_gap=args.in_gap, out_stall=args.out_stall,
             reset_rate=args.reset_rate, bad_rate=args.bad_rate, seed=args.seed, quiet=False,
             phi=tables)
    print(r.message)
    print(f"build {r.build_s:.0f} s, run {r.run_s:.0f} s")
    if args.json:
        _write_json(args.json, dict(r.as_dict(), model_dir=str(args.model_dir),
                                    dataset=args.dataset))
    return 0 if r.passed else 1


def _calib_frames(model: CompiledModel, dataset: str, n: int, seed: int) -> np.ndarray:
    """Calibration frames for Phi's pattern selection: training frames, never the held-out
    validation frames that the report evaluates on."""
    from .compile import random_input

    if dataset == "random":
        return random_input(model, n, np.random.default_rng(seed + 1))
    from .data import holdout_split, load_digits, load_mnist

    if dataset == "mnist":
        _frames(model, "mnist", 0, seed)  # shape check
        x, _ = load_mnist(None, "train", model.in_bits)
        tr, _ = holdout_split(len(x), 10_000 / len(x), 0)
    else:
        _frames(model, "digits", 0, seed)
        x, _ = load_digits(model.in_bits)
        tr, _ = holdout_split(len(x), 0.2, 0)
    return x[tr[:n]]


def _add_match_segs(p: argparse.ArgumentParser) -> None:
    p.add_argument("--match-segs", metavar="N|L<i>=N,...",
                   help="Phi: segment indices the matcher handles per cycle, for every Phi "
                   "layer or per layer (default 1: a window costs nseg + 1 cycles)")


def _match_segs(text: str | None, model: CompiledModel) -> dict[int, int] | None:
    """``--match-segs``: one number for every layer, or ``L1=2,L4=3``."""
    if not text:
        return None
    n = len(model.layers)
    try:
        if "=" not in text:
            return {i: int(text) for i in range(n)}
        out = {}
        for item in text.split(","):
            k, v = item.split("=")
            k = k.strip()
            if not (k[:1] in "Ll" and k[1:].isdigit() and int(k[1:]) < n):
                raise ValueError(f"{k!r} is not a layer L0..L{n - 1}")
            out[int(k[1:])] = int(v)
        return out
    except ValueError as e:
        raise ConfigError(f"--match-segs {text!r}: expected N or L<i>=N,... ({e})") from None


def cmd_phi_hw(args: argparse.Namespace) -> int:
    """`phi rtl` and `phi synth`: Phi mode in hardware."""
    from . import phi

    model = load_model(args.model_dir)
    tables = phi.load_tables(model, args.model_dir)
    ms = _match_segs(args.match_segs, model)
    if args.phi_cmd == "synth":
        from .phisynth import estimate

        rep = estimate(model, tables, args.work, detectors=args.detectors, match_segs=ms)
        t = rep["total"]
        print(f"Phi hardware of {len(rep['cores'])} cores: matchers {t['matcher']['lut']:.0f} "
              f"LUT {t['matcher']['ff']:.0f} FF {t['matcher']['bram36']:.1f} BRAM36; PWP "
              f"memories {t['pwp_bits']} bits = {t['pwp']['bram36']:.1f} BRAM36 "
              f"{t['pwp']['lut']:.0f} LUT")
        if args.detectors:
            d = t["detectors_delta_all"]
            print(f"detectors, Phi minus bitmap (all detectors, incl. PWP ROMs): "
                  f"{d['lut']:+.0f} LUT {d['ff']:+.0f} FF {d['bram36']:+.1f} BRAM36")
        if args.json:
            _write_json(args.json, dict(rep, model_dir=str(args.model_dir)))
        return 0
    from .phirtl import compare, compare_standalone, table, table_standalone
    from .rtlsim import MismatchError

    if ms:
        raise ConfigError("--match-segs: `phi rtl` uses the default; generate with it instead")
    x, y = _frames(model, args.dataset, args.frames, args.seed)
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
        print(f"accuracy {rep['accuracy'] * 100:.2f} % on {rep['frames']} {args.dataset} frames "
              "(identical in both modes: every output checked against the golden model)")
    if args.json:
        _write_json(args.json, dict(rep, model_dir=str(args.model_dir), dataset=args.dataset))
    return 0


def cmd_phi(args: argparse.Namespace) -> int:
    from . import phi

    if args.phi_cmd == "finetune":
        from .phi_finetune import finetune

        r = finetune(args.run_dir, args.out, lam=args.lam, epochs=args.epochs, lr=args.lr,
                     q=args.q, batch=args.batch, threads=args.threads,
                     max_steps=args.max_steps)
        b, a = r["before"]["total"], r["after"]["total"]
        print(f"{'':22s} {'before':>10s} {'after':>10s}")
        print(f"{'accuracy %':22s} {r['accuracy_before'] * 100:10.2f} "
              f"{r['accuracy_after'] * 100:10.2f}")
        for key, name in (("zero_skip", "zero-skip pairs/frame"), ("phi", "Phi pairs/frame")):
            print(f"{name:22s} {b[key]:10.0f} {a[key]:10.0f}")
        print(f"{'zero-skip / Phi':22s} {b['zs_over_phi']:10.2f} {a['zs_over_phi']:10.2f}")
        bad = sum(r["bit_exact_check"]["spike_mismatches_per_layer"])
        print(f"validation: {r['validation']}; bit-exact check: {bad} mismatches; wrote "
              f"{args.out}/model (with phi.npz), {args.out}/phi_finetune.json")
        return 0 if bad == 0 else 1
    model = load_model(args.model_dir)
    if args.phi_cmd == "select":
        calib = _calib_frames(model, args.dataset, args.frames, args.seed)
        tables = phi.build_tables(model, calib, q=args.q, method=args.method, seed=args.seed)
        checked = phi.check_exact(model, tables, calib[: min(16, len(calib))])
        out = phi.save_tables(tables, model, args.model_dir)
        for li, tl in tables.layers.items():
            print(f"L{li}: {sum(len(p) for p in tl.patterns)} patterns over {len(tl.patterns)} "
                  f"segment indices (k = {tl.k}), PWP width {tl.pwp_width} bits")
        print(f"exact (P + R == A, currents == golden) on {sum(checked.values())} vectors")
        print(f"wrote {out}")
        return 0
    tables = phi.load_tables(model, args.model_dir)
    x, _ = _frames(model, args.dataset, args.frames, args.seed)
    phi.check_exact(model, tables, x[: min(16, len(x))])
    rep = phi.op_counts(model, tables, x)
    print(f"Phi op counts per frame ({rep['frames']} {args.dataset} frames, q = {tables.q}, "
          "pairs = (non-zero weight, spike) accumulations)")
    print(f"{'layer':6s} {'token':11s} {'dense':>10s} {'zero-skip':>10s} {'Phi L1':>8s} "
          f"{'Phi L2':>9s} {'Phi':>9s} {'zs/Phi':>7s} {'plain Phi':>10s} {'PWP bits':>9s} "
          f"{'bitmap':>8s}")
    for r in rep["layers"]:
        print(f"{r['layer']:6s} {r['token']:11s} {r['dense']:10.0f} {r['zero_skip']:10.0f} "
              f"{r.get('phi_l1', 0):8.0f} {r.get('phi_l2', r['zero_skip']):9.0f} "
              f"{r['phi']:9.0f} {r['zero_skip'] / max(r['phi'], 1e-9):7.2f} "
              f"{r['phi_plain']:10.0f} {r['pwp_bits']:9d} {r['bitmap_bits']:8d}")
    t = rep["total"]
    print(f"total: zero-skip {t['zero_skip']:.0f}, Phi {t['phi']:.0f} pairs/frame: "
          f"{t['zs_over_phi']:.2f} x fewer than zero-skipping ({t['dense_over_phi']:.1f} x "
          f"fewer than dense); Phi as published (mask-blind): {t['zs_over_phi_plain']:.2f} x; "
          f"PWP storage {t['pwp_over_bitmap']:.2f} x the bitmap weights")
    if args.json:
        _write_json(args.json, rep)
    if args.plot:
        from .report import _bars

        names = [f"{r['layer']}\n{r['token']}" for r in rep["layers"]]
        p = _bars(Path(args.plot), names, [
            ("zero-skipping", [r["zero_skip"] for r in rep["layers"]]),
            ("Phi (mask-aware)", [r["phi"] for r in rep["layers"]]),
            ("Phi as published", [r["phi_plain"] for r in rep["layers"]])],
            "pairs / frame", f"work per layer, q = {tables.q}")
        print(f"wrote {p}")
    return 0


def cmd_reliability(args: argparse.Namespace) -> int:
    from . import badinput

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
    _write_json(args.out, rep)
    return 0 if ok else 1


def cmd_formal(args: argparse.Namespace) -> int:
    from . import formal

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
        _write_json(args.json, s)
    return 0 if s["passed"] == s["proofs"] else 1


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="fireflys",
        description="FireFly-S flow: sparse SNN -> integer model -> verified FPGA accelerator.",
    )
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    a = sub.add_parser("arch", help="parse an architecture string and print its shapes")
    a.add_argument("arch", help=f"string like 1x28x28-8c3p1-mp2-10fc or a preset {list(PRESETS)}")
    a.set_defaults(func=cmd_arch)

    c = sub.add_parser("compile", help="compile a model (random sparse int4 weights) to a "
                       "model directory: model.json, weights.npz, mem/*.hex")
    c.add_argument("--arch", required=True, help="architecture string or preset")
    c.add_argument("--random-sparsity", type=_fraction, required=True, metavar="S",
                   help="untrained model: fraction of int4 weights that are zero (0..1)")
    c.add_argument("--out", required=True, help="output model directory")
    c.add_argument("-T", "--T", type=int, default=4, help="time steps (default 4)")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--encoding", choices=ENCODINGS, default="direct")
    c.add_argument("--in-bits", type=int, default=8, help="bits per input pixel (direct)")
    c.add_argument("--leak-k", type=int, default=1, help="leak shift k; 0 = IF (default 1)")
    c.add_argument("--reset", choices=RESETS, default="zero")
    c.add_argument("--readout", choices=READOUTS, default="integrate")
    c.add_argument("--rate", type=_fraction, default=0.15,
                   help="target firing rate used to calibrate thresholds (default 0.15)")
    c.add_argument("--pco", type=_int_list, help="output-channel parallelism per layer, a,b,...")
    c.add_argument("--pci", type=_int_list, help="input segment width per layer, a,b,...")
    c.set_defaults(func=cmd_compile)

    i = sub.add_parser("info", help="validate a model directory and print its layers")
    i.add_argument("model_dir")
    i.set_defaults(func=cmd_info)

    g = sub.add_parser("golden", help="run the numpy golden model on frames")
    g.add_argument("model_dir")
    g.add_argument("--dataset", choices=("random", "digits"), default="random")
    g.add_argument("--frames", type=int, default=256)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--json", help="write a JSON report here")
    g.set_defaults(func=cmd_golden)

    s = sub.add_parser("simulate", help="run the model's RTL (Verilator + cocotb) against "
                       "the golden model; per-core cycles vs ideal")
    s.add_argument("model_dir")
    s.add_argument("--frames", type=int, default=32)
    s.add_argument("--dataset", choices=("random", "digits"), default="random")
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--dense", action="store_true", help="skipping off: the dense baseline")
    s.add_argument("--in-gap", type=_fraction, default=0.0, help="input gap probability")
    s.add_argument("--out-stall", type=_fraction, default=0.0,
                   help="output back-pressure probability")
    s.add_argument("--json", help="report path (default reports/sim_<model dir name>.json)")
    s.set_defaults(func=cmd_simulate)

    t = sub.add_parser("train", help="train a sparse 4-bit SNN (Grad R + LSQ, snntorch) and "
                       "export it as a compiled model (OUT/model)")
    t.add_argument("--arch", required=True, help="architecture string or preset")
    t.add_argument("--dataset", choices=("digits", "mnist", "cifar10", "dvs-gesture"),
                   default="digits", help="digits: embedded; mnist: IDX files; cifar10: python "
                   "pickle batches; dvs-gesture: tonic's on-disk layout (local files only)")
    t.add_argument("--data-dir", help="dataset directory (MNIST default: "
                   "../shared/datasets/mnist)")
    t.add_argument("--out", required=True, help="run directory (checkpoint, metrics, plots, "
                   "model/)")
    t.add_argument("--epochs", type=int, default=10)
    t.add_argument("--batch", type=int, default=128)
    t.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (one-cycle)")
    t.add_argument("--sparsity", type=_fraction, default=0.9, help="target weight sparsity")
    t.add_argument("--alpha", type=float, default=2e-3,
                   help="initial Grad R Laplace prior strength (adapted within alpha/100 .. "
                   "alpha*100 to follow a sparsity ramp to the target)")
    t.add_argument("--adapt-every", type=int, default=10,
                   help="steps between prior-strength updates (0: fixed alpha)")
    t.add_argument("--ramp", choices=("linear", "cubic"), default="linear",
                   help="sparsity ramp shape: linear, or cubic (fast early, gentle near the "
                   "target)")
    t.add_argument("--reach", type=_fraction, default=0.5,
                   help="fraction of the run at which the ramp reaches the target (default 0.5)")
    t.add_argument("--weight-decay", type=float, default=1e-4)
    t.add_argument("-T", "--T", type=int, default=4, help="time steps (default 4)")
    t.add_argument("--leak-k", type=int, default=1, help="leak shift k; 0 = IF (default 1)")
    t.add_argument("--reset", choices=RESETS, default="zero")
    t.add_argument("--readout", choices=READOUTS, default="integrate")
    t.add_argument("--in-bits", type=int, default=8)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="cpu", help="cpu or cuda[:n]")
    t.add_argument("--threads", type=int, help="torch CPU threads")
    t.add_argument("--max-steps", type=int, help="cap on steps per epoch (smoke runs)")
    t.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    t.add_argument("--init-from", metavar="RUN", help="start from the trained weights of another "
                   "run (same arch, dataset, seed, T, neuron): a fine-tuning / second pruning "
                   "cycle with a fresh learning-rate curve")
    t.add_argument("--freeze-at", type=_freeze_fraction, metavar="F",
                   help="fixed-mask phase from this fraction of the run on (0: the whole run, "
                   "useful with --init-from): the Grad R prior is off and weights that export "
                   "as zero then stay zero, so the sparsity cannot fall (default: never)")
    t.add_argument("--distill", type=float, default=0.0, metavar="W",
                   help="knowledge distillation: weight W in [0, 1) of the KL term towards a "
                   "dense float teacher of the same architecture, trained first on the same "
                   "frames and kept in OUT/teacher.pt (default 0: plain cross-entropy)")
    t.add_argument("--distill-temp", type=float, default=4.0, metavar="TAU",
                   help="softmax temperature of the distillation term (default 4)")
    t.add_argument("--teacher-epochs", type=int, default=12,
                   help="training epochs of the teacher (default 12)")
    t.add_argument("--augment-shift", type=int, default=0, metavar="N",
                   help="translate every training frame by a random offset of up to N pixels "
                   "in y and x, zeros moved in (0..8; default 0: off; validation frames are "
                   "never shifted)")
    t.add_argument("--check-frames", type=int, default=256, help="validation frames checked "
                   "bit for bit against the golden model at the end (0: all)")
    t.set_defaults(func=cmd_train)

    ge = sub.add_parser("generate", help="write the hardware of a compiled model: memory "
                        "images, the SystemVerilog top and a FuseSoC core")
    ge.add_argument("model_dir")
    ge.add_argument("--out", required=True, help="output directory")
    ge.add_argument("--name", help="FuseSoC core name fireflys:model:NAME (default: the "
                    "model directory's name)")
    ge.add_argument("--dense", action="store_true", help="skipping off: the dense baseline")
    ge.add_argument("--phi", action="store_true", help="Phi mode for the layers of "
                    "MODEL/phi.npz (`fireflys phi select`)")
    _add_match_segs(ge)
    ge.set_defaults(func=cmd_generate)

    pl = sub.add_parser("plan", help="choose each core's PCO to balance the pipeline "
                        "(measured spike/weight densities + cycle model)")
    pl.add_argument("model_dir")
    pl.add_argument("--dataset", choices=("random", "digits"), default="random")
    pl.add_argument("--frames", type=int, default=16, help="calibration frames")
    pl.add_argument("--seed", type=int, default=1)
    pl.add_argument("--target-fps", type=float, help="stop once this frame rate is reached")
    pl.add_argument("--clock-mhz", type=float, default=333.0)
    pl.add_argument("--max-detectors", type=int, help="budget: total PCO over all cores")
    pl.add_argument("--max-luts", type=float,
                    help="budget: LUTs predicted by fireflys.area (fitted to Yosys xcup results)")
    pl.add_argument("--json", help="write the plan here")
    pl.add_argument("--apply", metavar="OUT", help="write a copy of the model with the plan")
    pl.set_defaults(func=cmd_plan)

    ex = sub.add_parser("export", help="export a training run's checkpoint as a compiled "
                        "model (default RUN_DIR/model)")
    ex.add_argument("run_dir")
    ex.add_argument("--out", help="model directory (default RUN_DIR/model)")
    ex.set_defaults(func=cmd_export)

    cp = sub.add_parser("compare", help="PyTorch vs golden vs RTL accuracy on the validation "
                        "frames of a training run (must be identical)")
    cp.add_argument("run_dir", help="a `fireflys train --out` directory")
    cp.add_argument("--frames", type=int, default=200,
                    help="validation frames for PyTorch vs golden (0: all)")
    cp.add_argument("--rtl-frames", type=int, default=200,
                    help="how many of them also go through the RTL")
    cp.add_argument("--in-gap", type=_fraction, default=0.2)
    cp.add_argument("--out-stall", type=_fraction, default=0.2)
    cp.set_defaults(func=cmd_compare)

    rp = sub.add_parser("report", help="hardware report of a compiled model: ops, cycles per "
                        "core (RTL), resources (Yosys), Fmax (nextpnr), plots, FireFly-S table")
    rp.add_argument("model_dir")
    rp.add_argument("--rtl", required=True, help="`fireflys simulate --json` of this model")
    rp.add_argument("--dense", help="`fireflys simulate --dense --json` (dense baseline)")
    rp.add_argument("--synth", help="<core>.stat.json of the FuseSoC synth target")
    rp.add_argument("--pnr", help="pnr_report.json of the FuseSoC pnr_ecp5 target")
    rp.add_argument("--preset", choices=("scnn5", "scnn7", "scnn9"),
                    help="compare with FireFly-S's published numbers for this network")
    rp.add_argument("--name", help="report name (default: the model directory's name)")
    rp.add_argument("--out", required=True, help="output directory (report.json, .txt, PNGs)")
    rp.set_defaults(func=cmd_report)

    so = sub.add_parser("soak", help="stream many frames through a model's RTL (standalone "
                        "Verilator testbench) with back-pressure, gaps, resets and malformed "
                        "frames; 0 mismatches, no frame lost or duplicated")
    so.add_argument("model_dir", help="compiled model directory")
    so.add_argument("--frames", type=int, default=10_000)
    so.add_argument("--dataset", choices=("random", "digits", "mnist"), default="random",
                    help="random frames, scikit-learn digits, or the MNIST held-out frames")
    so.add_argument("--in-gap", type=_fraction, default=0.2, help="input gap probability")
    so.add_argument("--out-stall", type=_fraction, default=0.2,
                    help="output back-pressure probability")
    so.add_argument("--reset-rate", type=_fraction, default=0.002,
                    help="probability of a reset before a frame")
    so.add_argument("--bad-rate", type=_fraction, default=0.002,
                    help="probability of a malformed frame (tlast early or late)")
    so.add_argument("--seed", type=int, default=1)
    so.add_argument("--phi", action="store_true", help="Phi mode for the layers of "
                    "MODEL/phi.npz (`fireflys phi select`)")
    so.add_argument("--work", default="build/soak", help="work directory")
    so.add_argument("--json", default="reports/soak.json", help="result (JSON)")
    so.set_defaults(func=cmd_soak)

    ph = sub.add_parser("phi", help="Phi pattern-based hierarchical sparsity: select patterns "
                        "and PWP tables, op-count report")
    phs = ph.add_subparsers(dest="phi_cmd", required=True, metavar="STEP")
    for name, hlp in (("select", "k-means patterns per layer and segment index on training "
                       "frames -> MODEL/phi.npz (exactness checked)"),
                      ("report", "per layer: dense, zero-skipping and Phi work, PWP storage")):
        sp = phs.add_parser(name, help=hlp)
        sp.add_argument("model_dir", help="compiled model directory")
        sp.add_argument("--dataset", choices=("random", "digits", "mnist"), default="random")
        sp.add_argument("--frames", type=int, default=256)
        sp.add_argument("--seed", type=int, default=0)
        if name == "select":
            sp.add_argument("--q", type=int, default=16,
                            help="patterns per segment index (default 16)")
            sp.add_argument("--method", choices=("masked", "plain"), default="masked",
                            help="masked: distance weighted by the non-zero weights (default); "
                            "plain: Phi's Hamming distance")
        else:
            sp.add_argument("--json", help="write the report (JSON)")
            sp.add_argument("--plot", help="write a PNG of the work per layer")
        sp.set_defaults(func=cmd_phi)
    pr = phs.add_parser("rtl", help="RTL in Phi mode vs bitmap mode on the same frames: every "
                        "core checked against golden, cycles and operations per core")
    pr.add_argument("model_dir", help="compiled model directory with phi.npz")
    pr.add_argument("--dataset", choices=("random", "digits", "mnist"), default="random")
    pr.add_argument("--frames", type=int, default=16)
    pr.add_argument("--seed", type=int, default=1)
    pr.add_argument("--in-gap", type=_fraction, default=0.0, help="input gap probability")
    pr.add_argument("--out-stall", type=_fraction, default=0.0,
                    help="output back-pressure probability")
    pr.add_argument("--standalone", action="store_true", help="the standalone Verilator "
                    "testbench instead of cocotb: every frame's output checked, total cycles "
                    "only, ~20x faster (long runs)")
    pr.add_argument("--work", default="build/phi_rtl", help="work directory (--standalone)")
    pr.add_argument("--json", help="write the comparison (JSON)")
    pr.set_defaults(func=cmd_phi_hw, match_segs=None)
    py = phs.add_parser("synth", help="Yosys resource estimate (xczu5ev) of every Phi core's "
                        "pattern matcher and PWP memories")
    py.add_argument("model_dir", help="compiled model directory with phi.npz")
    py.add_argument("--detectors", action="store_true", help="also one detector per core "
                    "with and without Phi (slow for large windows)")
    py.add_argument("--work", default="build/phi_synth", help="work directory (inside the "
                    "repository)")
    py.add_argument("--json", help="write the estimate (JSON)")
    _add_match_segs(py)
    py.set_defaults(func=cmd_phi_hw)
    ft = phs.add_parser("finetune", help="pattern-aware fine-tuning of a training run: task "
                        "loss + lam x Phi work; before/after accuracy and op counts")
    ft.add_argument("run_dir", help="a `fireflys train --out` directory")
    ft.add_argument("--out", required=True, help="output run directory")
    ft.add_argument("--lam", type=float, default=1e-3, help="weight of the Phi work (per 1000 "
                    "pairs per frame) in the loss")
    ft.add_argument("--epochs", type=int, default=3)
    ft.add_argument("--lr", type=float, default=2e-4, help="peak learning rate")
    ft.add_argument("--q", type=int, default=16)
    ft.add_argument("--batch", type=int, default=64)
    ft.add_argument("--threads", type=int, help="torch CPU threads")
    ft.add_argument("--max-steps", type=int, help="cap on steps per epoch (smoke runs)")
    ft.set_defaults(func=cmd_phi)

    rl = sub.add_parser("reliability", help="bad-input campaign (hypothesis) plus the formal "
                        "and soak results -> reports/reliability.json")
    rl.add_argument("--examples", type=int, default=1000, help="inputs per campaign")
    rl.add_argument("--formal", default="reports/formal.json", help="`make formal`'s result")
    rl.add_argument("--soak", default="reports/soak.json", help="`make soak`'s result")
    rl.add_argument("--out", default="reports/reliability.json")
    rl.set_defaults(func=cmd_reliability)

    fo = sub.add_parser("formal", help="formal proofs (SymbiYosys + z3): FIFO and detector "
                        "properties, and no neuron overflow within a model's bounds")
    fo.add_argument("--model", action="append", metavar="DIR",
                    help="a compiled model whose neurons to prove (repeatable)")
    fo.add_argument("--no-rtl", action="store_true",
                    help="skip the RTL proofs of sim/formal/*.sby")
    fo.add_argument("--out", default="build/formal", help="work directory (default build/formal)")
    fo.add_argument("--json", help="write the results (JSON)")
    fo.set_defaults(func=cmd_formal)

    b = sub.add_parser("bench", help="golden-model throughput -> reports/bench_golden.json")
    b.add_argument("--arch", default="scnn5")
    b.add_argument("--sparsity", type=_fraction, default=0.9)
    b.add_argument("--batch", type=int, default=256)
    b.add_argument("--repeats", type=int, default=3)
    b.add_argument("--out-dir", default="reports")
    b.set_defaults(func=cmd_bench)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except USER_ERRORS as e:
        print(f"fireflys {args.cmd}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
