"""Options and helpers shared by the stage commands: each option is declared once here."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from fireflys.core.golden import InputError
from fireflys.core.model import CompiledModel
from fireflys.data import DEFAULT_MNIST_DIR
from fireflys.errors import ConfigError

DATASETS = ("random", "digits", "mnist")
# frame shape of each named dataset (both give direct-encoded pixels)
DATASET_INPUT = {"digits": (1, 8, 8), "mnist": (1, 28, 28)}


def int_list(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}") from None


def fraction(text: str) -> float:
    v = float(text)
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {text}")
    return v


def freeze_fraction(text: str) -> float:
    v = float(text)
    if not 0.0 <= v < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return v


def add_model_dir(p: argparse.ArgumentParser, help: str = "compiled model directory") -> None:
    p.add_argument("model_dir", help=help)


SPLITS = ("val", "test")


def add_dataset(p: argparse.ArgumentParser, default: str = "random",
                split: bool = True) -> None:
    """``--dataset``, ``--split`` and ``--data-dir``: which frames a command evaluates on
    (``split`` False: training frames only, e.g. calibration; no ``--split``)."""
    p.add_argument("--dataset", choices=DATASETS, default=default,
                   help="random frames, scikit-learn digits, or MNIST (IDX files)")
    if split:
        add_split(p)
    else:
        add_data_dir(p)


def add_split(p: argparse.ArgumentParser) -> None:
    """``--split`` and ``--data-dir`` (also for commands whose dataset comes from a run)."""
    p.add_argument("--split", choices=SPLITS, default="val",
                   help="val (default): the held-out frames of the model's training run "
                   "(never trained on); test: the dataset's own test split (MNIST t10k-* "
                   "files; scikit-learn digits and random frames have none)")
    add_data_dir(p)


def add_data_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", metavar="DIR",
                   help="MNIST: the directory of the IDX files (train-* for val, t10k-* for "
                   f"test, raw or .gz; default {DEFAULT_MNIST_DIR})")


def frames_about(args: argparse.Namespace) -> dict:
    """What a report says about its frames: dataset, split and, for MNIST, the directory."""
    out = {"dataset": args.dataset, "split": None if args.dataset == "random" else args.split}
    if args.dataset == "mnist":
        out["data_dir"] = str(Path(args.data_dir) if args.data_dir else DEFAULT_MNIST_DIR)
    return out


def frames_label(args: argparse.Namespace) -> str:
    """``mnist val`` / ``mnist test`` / ``random``, for progress lines."""
    return args.dataset if args.dataset == "random" else f"{args.dataset} {args.split}"


def add_frames(p: argparse.ArgumentParser, default: int, help: str | None = None) -> None:
    p.add_argument("--frames", type=int, default=default, help=help or f"default {default}")


def add_seed(p: argparse.ArgumentParser, default: int) -> None:
    p.add_argument("--seed", type=int, default=default,
                   help=f"random frames, stalls and selections (default {default})")


def add_stream_noise(p: argparse.ArgumentParser, in_gap: float = 0.0,
                     out_stall: float = 0.0) -> None:
    """``--in-gap`` and ``--out-stall``: random input gaps and output back-pressure."""
    p.add_argument("--in-gap", type=fraction, default=in_gap,
                   help=f"input gap probability (default {in_gap:g})")
    p.add_argument("--out-stall", type=fraction, default=out_stall,
                   help=f"output back-pressure probability (default {out_stall:g})")


def add_json(p: argparse.ArgumentParser, help: str = "write a JSON report here",
             default: str | None = None) -> None:
    p.add_argument("--json", default=default, help=help)


def add_phi(p: argparse.ArgumentParser) -> None:
    p.add_argument("--phi", action="store_true", help="Phi mode for the layers of "
                   "MODEL/phi.npz (`fireflys phi select`)")


def add_core(p: argparse.ArgumentParser) -> None:
    p.add_argument("--core", type=int, choices=(1, 2), default=1,
                   help="sparse core version: 1 (sparse_core, default) or 2 (tp_core: "
                   "time-parallel pipelined detectors; no Phi mode and no dense baseline yet)")


def check_core(args: argparse.Namespace) -> None:
    """Core v2 has no Phi mode and no dense baseline yet: say so in one line."""
    if args.core == 2 and getattr(args, "phi", False):
        raise ConfigError("--phi: the Phi mode is not available on core v2 yet (use --core 1; "
                          "`fireflys phi select/report/finetune` work either way)")
    if args.core == 2 and getattr(args, "dense", False):
        raise ConfigError("--dense: core v2 has no dense baseline yet (use --core 1)")


def add_match_segs(p: argparse.ArgumentParser) -> None:
    p.add_argument("--match-segs", metavar="N|L<i>=N,...",
                   help="Phi: segment indices the matcher handles per cycle, for every Phi "
                   "layer or per layer (default 1: a window costs nseg + 1 cycles)")


def write_json(path: str | Path, obj: object) -> None:
    """Write a command's JSON report (creating its directory) and say where."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(obj, indent=2) + "\n")
    print(f"wrote {out}")


def phi_tables(args: argparse.Namespace, model: CompiledModel):
    """MODEL/phi.npz when ``--phi`` is given, else None (bitmap mode)."""
    if not args.phi:
        return None
    from fireflys.phi.tables import load_tables

    return load_tables(model, args.model_dir)


def match_segs(text: str | None, model: CompiledModel) -> dict[int, int] | None:
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


def _check_shape(model: CompiledModel, dataset: str) -> None:
    shape = DATASET_INPUT[dataset]
    if model.encoding != "direct" or model.arch.in_shape != shape:
        raise InputError(f"dataset '{dataset}' gives {'x'.join(map(str, shape))} direct frames; "
                         f"model takes {'x'.join(map(str, model.arch.in_shape))} "
                         f"{model.encoding} input")


def _dataset_split(model: CompiledModel, dataset: str, model_dir: str | Path,
                   data_dir: str | Path | None = None):
    """All frames and labels of a named dataset's training split, with the (train, held-out)
    indices of the run that produced the model (:func:`fireflys.data.heldout`)."""
    from fireflys.data import heldout, load_digits, load_mnist, run_split

    _check_shape(model, dataset)
    x, y = (load_mnist(data_dir, "train", model.in_bits) if dataset == "mnist"
            else load_digits(model.in_bits))
    seed, frac = run_split(model_dir)
    return x, y, heldout(dataset, len(x), seed, frac)


def test_split(model: CompiledModel, dataset: str,
               data_dir: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A named dataset's own test split (MNIST's t10k files; a clear error naming the missing
    files, or saying the dataset has none)."""
    from fireflys.data import load_mnist

    if dataset != "mnist":
        raise ConfigError(f"--split test: {dataset} frames have no test split (use --split val,"
                          " the held-out frames of the model's training run)"
                          if dataset == "digits" else
                          "--split test: random frames have no split (use --dataset mnist)")
    _check_shape(model, dataset)
    return load_mnist(data_dir, "test", model.in_bits)


def eval_frames(model: CompiledModel, model_dir: str | Path, dataset: str, n: int,
                seed: int, density: float = 0.2, split: str = "val",
                data_dir: str | Path | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """``n`` frames (and labels) to evaluate a model on: random frames (a fraction
    ``density`` of pixels or spikes non-zero), the held-out frames of its training run
    (``split`` 'val': never trained on) or the dataset's test split (``split`` 'test')."""
    if split not in SPLITS:
        raise ConfigError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    if dataset == "random":
        if split == "test":
            test_split(model, dataset)  # raises: random frames have no split
        from fireflys.compiler.compile import random_input

        return random_input(model, n, np.random.default_rng(seed), density), None
    if split == "test":
        x, y = test_split(model, dataset, data_dir)
        return x[:n], y[:n]
    x, y, (_, va) = _dataset_split(model, dataset, model_dir, data_dir)
    return x[va][:n], y[va][:n]


def calib_frames(model: CompiledModel, model_dir: str | Path, dataset: str, n: int,
                 seed: int, data_dir: str | Path | None = None) -> np.ndarray:
    """Calibration frames (Phi's pattern selection): training frames of the model's run,
    never the held-out frames or the test split that the reports evaluate on."""
    if dataset == "random":
        from fireflys.compiler.compile import random_input

        return random_input(model, n, np.random.default_rng(seed + 1))
    x, _, (tr, _) = _dataset_split(model, dataset, model_dir, data_dir)
    return x[tr[:n]]


def args_frames(args: argparse.Namespace, model: CompiledModel):
    """:func:`eval_frames` from a command's ``model_dir``, ``--dataset``, ``--split``,
    ``--data-dir``, ``--frames`` and ``--seed``."""
    return eval_frames(model, args.model_dir, args.dataset, args.frames, args.seed,
                       split=args.split, data_dir=args.data_dir)
