"""Training-stage commands: train, export a run's checkpoint, compare PyTorch / golden / RTL."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np

from fireflys.cli.options import (
    NON_NEGATIVE,
    SEED,
    add_split,
    add_stream_noise,
    clock_of,
    count,
    fraction,
    freeze_fraction,
    positive,
)
from fireflys.core.arch import PRESETS
from fireflys.core.model import READOUTS, RESETS, load_model


def cmd_train(args: argparse.Namespace) -> int:
    from fireflys.train.config import TrainConfig
    from fireflys.train.trainer import train

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
    out = Path(args.out)
    created = not out.exists()
    try:
        r = train(cfg, resume=args.resume)
    except BaseException:  # an error or an interrupt: leave nothing half-written behind
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise
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
    if "test" in c:
        t = c["test"]
        print(f"test ({t['split']}; reported only, never used to choose): PyTorch eval "
              f"{t['torch_acc'] * 100:.2f} %, golden {t['golden_acc'] * 100:.2f} %")
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
    from fireflys.core.model import save_model
    from fireflys.train.checkpoint import load_run
    from fireflys.train.export import export

    net, _ = load_run(args.run_dir)
    ex = export(net)
    out = Path(args.out) if args.out else Path(args.run_dir) / "model"
    js = save_model(ex.model, out)
    removed = sum(g.out_ch - len(k) for g, k in zip(net.arch.layers, ex.kept, strict=True))
    print(f"exported {ex.model.arch} ({removed} silent channels removed) to {js}")
    return 0


def _run_frames(cfg, split: str, data_dir: str | None):
    """A training run's validation frames (its held-out frames) or its dataset's test split,
    with a note saying which; ``data_dir`` overrides the run's dataset directory."""
    from dataclasses import replace

    from fireflys.data import DatasetError, load_mnist
    from fireflys.train.dataset import load_dataset, load_test

    if data_dir is not None:
        cfg = replace(cfg, data_dir=data_dir)
    if split == "val":
        _, _, x, y, note = load_dataset(cfg)
        return x, y, note
    test = load_test(cfg)
    if test is None:
        if cfg.dataset == "mnist":
            load_mnist(cfg.data_dir, "test")  # raises, naming the missing files
        raise DatasetError(f"--split test: the run's dataset {cfg.dataset} has no test split"
                           + ("" if cfg.dataset == "digits" else
                              f" in {cfg.data_dir} (pass --data-dir)"))
    return test


def cmd_compare(args: argparse.Namespace) -> int:
    """PyTorch (eval) vs golden vs RTL on the same validation frames of a training run."""
    from fireflys.train.checkpoint import load_run
    from fireflys.train.evaluate import check_bit_exact
    from fireflys.train.export import export
    from fireflys.verify.rtlsim import MismatchError, simulate

    net, cfg = load_run(args.run_dir)
    model_dir = Path(args.run_dir) / "model"
    model = load_model(model_dir)
    xva, yva, note = _run_frames(cfg, args.split, args.data_dir)
    n = args.frames or len(xva)
    x, y = xva[:n], yva[:n]
    ex = export(net)

    if str(ex.model.arch) != str(model.arch) or not all(
            a.same_values(b) for a, b in zip(ex.model.layers, model.layers, strict=True)):
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
    sp = model.sparsity
    print(f"{'':<10}{'frames':>8}{'accuracy':>10}{'disagreements vs golden':>26}")
    for name, p, k in (("PyTorch", p_torch, n), ("golden", p_gold, n), ("RTL", p_rtl, m)):
        print(f"{name:<10}{k:>8}{(p == y[:k]).mean() * 100:>9.2f}%"
              f"{int((p != p_gold[:k]).sum()):>26}")
    print(f"weight sparsity {sp * 100:.2f} % (exported model); RTL per-core streams all equal "
          "the golden model")
    same = (np.array_equal(p_torch, p_gold) and np.array_equal(p_rtl, p_gold[:m])
            and sum(chk["spike_mismatches_per_layer"]) == 0 and chk["score_mismatches"] == 0)
    print("identical (spikes, scores, predictions): " + ("yes" if same else "NO"))
    if same:
        acc = float((p_gold == y).mean()) * 100
        rtl = "all of them" if m == n else f"the first {m}"
        print(f"accuracy {acc:.2f} % on {n} frames: PyTorch == golden on every frame, RTL == "
              f"golden on {rtl}, 0 disagreements")
    clock, source = clock_of(args.clock_mhz)
    print(f"hardware: {r.frame_period:.0f} cycles/frame (RTL counters, {m} frames"
          + (f", {args.in_gap:.0%} input gaps and {args.out_stall:.0%} output stalls"
             if args.in_gap or args.out_stall else " back to back")
          + f"; cycle model {r.predicted_period:.0f}) -> {clock * 1e6 / r.frame_period:,.0f} "
          f"frames/s at {clock:.1f} MHz ({source})")
    print("the shipped scnn5 (MNIST) end to end: reports/scnn5_mnist/report.txt (`make "
          "bench-hw`), docs/fpga.md")
    return 0 if same else 1



def register(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser("train", help="train a sparse 4-bit SNN (Grad R + LSQ, snntorch) and "
                       "export it as a compiled model (OUT/model)")
    t.add_argument("--arch", required=True, help="architecture string or preset")
    t.add_argument("--dataset", choices=("digits", "mnist", "cifar10", "dvs-gesture", "nmnist",
                                         "nmnist-synth"),
                   default="digits", help="digits: embedded; mnist: IDX files; cifar10: python "
                   "pickle batches; dvs-gesture: the AEDAT files as distributed or tonic's npy "
                   "layout; nmnist: N-MNIST's Train/Test .bin files; nmnist-synth: N-MNIST-style "
                   "events made from MNIST (offline; 2x34x34 input). Local files only")
    t.add_argument("--data-dir", help="dataset directory (MNIST default: $FIREFLYS_DATA/mnist, "
                   "else ~/.cache/fireflys/mnist: `fireflys data mnist` fills it)")
    t.add_argument("--out", required=True, help="run directory (checkpoint, metrics, plots, "
                   "model/)")
    t.add_argument("--epochs", type=count(1), default=10)
    t.add_argument("--batch", type=count(1), default=128)
    t.add_argument("--lr", type=positive(), default=2e-3, help="peak learning rate (one-cycle)")
    t.add_argument("--sparsity", type=fraction, default=0.9,
                   help="target weight sparsity; 0 trains a dense network (no Grad R prior, "
                   "weights may change sign: LSQ only)")
    t.add_argument("--alpha", type=NON_NEGATIVE, default=2e-3,
                   help="initial Grad R Laplace prior strength (adapted within alpha/100 .. "
                   "alpha*100 to follow a sparsity ramp to the target)")
    t.add_argument("--adapt-every", type=count(1), default=10,
                   help="steps between prior-strength updates (0: fixed alpha)")
    t.add_argument("--ramp", choices=("linear", "cubic"), default="linear",
                   help="sparsity ramp shape: linear, or cubic (fast early, gentle near the "
                   "target)")
    t.add_argument("--reach", type=fraction, default=0.5,
                   help="fraction of the run at which the ramp reaches the target (default 0.5)")
    t.add_argument("--weight-decay", type=NON_NEGATIVE, default=1e-4)
    t.add_argument("-T", "--T", type=count(1), default=4, help="time steps (default 4)")
    t.add_argument("--leak-k", type=count(0), default=1, help="leak shift k; 0 = IF (default 1)")
    t.add_argument("--reset", choices=RESETS, default="zero")
    t.add_argument("--readout", choices=READOUTS, default="integrate")
    t.add_argument("--in-bits", type=count(1, 16), default=8)
    t.add_argument("--seed", type=SEED, default=0)
    t.add_argument("--device", default="cpu", help="cpu or cuda[:n]")
    t.add_argument("--threads", type=count(1), help="torch CPU threads")
    t.add_argument("--max-steps", type=count(1), help="cap on steps per epoch (smoke runs)")
    t.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    t.add_argument("--init-from", metavar="RUN", help="start from the trained weights of another "
                   "run (same arch, dataset, seed, T, neuron): a fine-tuning / second pruning "
                   "cycle with a fresh learning-rate curve")
    t.add_argument("--freeze-at", type=freeze_fraction, metavar="F",
                   help="fixed-mask phase from this fraction of the run on (0: the whole run, "
                   "useful with --init-from): the Grad R prior is off and weights that export "
                   "as zero then stay zero, so the sparsity cannot fall (default: never)")
    t.add_argument("--distill", type=NON_NEGATIVE, default=0.0, metavar="W",
                   help="knowledge distillation: weight W in [0, 1) of the KL term towards a "
                   "dense float teacher of the same architecture, trained first on the same "
                   "frames and kept in OUT/teacher.pt (default 0: plain cross-entropy)")
    t.add_argument("--distill-temp", type=positive(), default=4.0, metavar="TAU",
                   help="softmax temperature of the distillation term (default 4)")
    t.add_argument("--teacher-epochs", type=count(1), default=12,
                   help="training epochs of the teacher (default 12)")
    t.add_argument("--augment-shift", type=count(0), default=0, metavar="N",
                   help="translate every training frame by a random offset of up to N pixels "
                   "in y and x, zeros moved in (0..8; default 0: off; validation frames are "
                   "never shifted)")
    t.add_argument("--check-frames", type=count(0), default=256, help="validation frames checked "
                   "bit for bit against the golden model at the end (0: all)")
    t.set_defaults(func=cmd_train)

    ex = sub.add_parser("export", help="export a training run's checkpoint as a compiled "
                        "model (default RUN_DIR/model)")
    ex.add_argument("run_dir")
    ex.add_argument("--out", help="model directory (default RUN_DIR/model)")
    ex.set_defaults(func=cmd_export)

    cp = sub.add_parser("compare", help="PyTorch vs golden vs RTL accuracy on the validation "
                        "frames of a training run (must be identical)")
    cp.add_argument("run_dir", help="a `fireflys train --out` directory")
    add_split(cp)
    cp.add_argument("--frames", type=count(0), default=200,
                    help="validation frames for PyTorch vs golden (0: all)")
    cp.add_argument("--rtl-frames", type=count(1), default=200,
                    help="how many of them also go through the RTL")
    add_stream_noise(cp, in_gap=0.2, out_stall=0.2)
    cp.add_argument("--clock-mhz", type=positive(), help="clock for frames/s (default: the "
                    "shipped scnn5's measured worst-seed Fmax on the LFE5U-85F, from "
                    "reports/scnn5_mnist/summary.json, else the 150 MHz target)")
    cp.set_defaults(func=cmd_compare)
