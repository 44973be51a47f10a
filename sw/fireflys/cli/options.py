"""Options and helpers shared by the stage commands: each option is declared once here."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from fireflys.compiler.compile import RANDOM_DENSITY
from fireflys.core.model import CompiledModel
from fireflys.hwgen.flowcmds import ECP5_GOAL_MHZ
from fireflys.paths import INSTALLED, REPO
from fireflys.verify import frames
from fireflys.verify.frames import (  # noqa: F401  (the commands' frames)
    SPLITS,
    calib_frames,
    eval_frames,
)

DATASETS = ("random", "digits", "mnist", "nmnist-synth")


class Number:
    """An argparse ``type`` for a number in a range: ``lo`` (and ``hi``) inclusive, or ``lo``
    excluded (``open_lo``); a value out of range, or not a number, is an argparse error naming
    the option (exit status 2). ``lo`` stays readable for the tests that walk every option."""

    def __init__(self, kind: type, lo: float, hi: float | None = None, *,
                 open_lo: bool = False, open_hi: bool = False) -> None:
        self.kind, self.lo, self.hi = kind, lo, hi
        self.open_lo, self.open_hi = open_lo, open_hi
        self.__name__ = kind.__name__  # argparse names the type in its messages

    def range_text(self) -> str:
        if self.hi is not None:
            return f"in [{self.lo:g}, {self.hi:g}{')' if self.open_hi else ']'}"
        return f"> {self.lo:g}" if self.open_lo else f">= {self.lo:g}"

    def inside(self, v: float) -> bool:
        above = v > self.lo if self.open_lo else v >= self.lo
        below = self.hi is None or (v < self.hi if self.open_hi else v <= self.hi)
        return above and below

    def __call__(self, text: str):
        try:
            v = self.kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if self.kind is int else 'a number'}, got {text!r}"
            ) from None
        if v != v or not self.inside(v):
            raise argparse.ArgumentTypeError(f"must be {self.range_text()}, got {text}")
        return v


def count(lo: int = 1, hi: int | None = None) -> Number:
    """An integer option: at least ``lo`` (1 by default), at most ``hi``."""
    return Number(int, lo, hi)


def positive(lo: float = 0.0) -> Number:
    """A real option above ``lo`` (0 by default)."""
    return Number(float, lo, open_lo=True)


NON_NEGATIVE = Number(float, 0.0)  # a weight or a rate: 0 allowed
fraction = Number(float, 0.0, 1.0)  # a probability or a share: [0, 1]
SEED = count(0)


class IntList(Number):
    """Comma-separated integers, each at least ``lo``."""

    def __init__(self, lo: int = 1) -> None:
        super().__init__(int, lo)
        self.__name__ = "int list"

    def __call__(self, text: str) -> list[int]:
        try:
            vals = [int(v) for v in text.split(",")]
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated integers, got {text!r}") from None
        bad = [v for v in vals if v < self.lo]
        if bad:
            raise argparse.ArgumentTypeError(f"every value must be >= {self.lo}, got {bad[0]}")
        return vals


int_list = IntList(1)


freeze_fraction = Number(float, 0.0, 1.0, open_hi=True)  # a share of the epochs: [0, 1)


def add_model_dir(p: argparse.ArgumentParser, help: str = "compiled model directory") -> None:
    p.add_argument("model_dir", help=help)


def add_dataset(p: argparse.ArgumentParser, default: str = "random",
                split: bool = True) -> None:
    """``--dataset``, ``--split`` and ``--data-dir``: which frames a command evaluates on
    (``split`` False: training frames only, e.g. calibration; no ``--split``)."""
    p.add_argument("--dataset", choices=DATASETS, default=default,
                   help="random frames, scikit-learn digits, MNIST (IDX files), or the "
                   "N-MNIST-style events made from them (2x34x34 spikes)")
    p.add_argument("--random-density", type=fraction, default=RANDOM_DENSITY, metavar="D",
                   help="--dataset random: fraction of non-zero pixels or spikes (default "
                   f"{RANDOM_DENSITY:g}; 1 = dense images)")
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
                   "test, raw or .gz; default $FIREFLYS_DATA/mnist, else ~/.cache/fireflys/mnist, "
                   "which `fireflys data mnist` fills)")


def frames_about(args: argparse.Namespace) -> dict:
    """:func:`fireflys.verify.frames.frames_about` of a command's options (and the density of
    random frames)."""
    about = frames.frames_about(args.dataset, args.split, args.data_dir)
    if args.dataset == "random":
        about["random_density"] = args.random_density
    return about


def frames_label(args: argparse.Namespace) -> str:
    """``mnist val`` / ``mnist test`` / ``random``, for progress lines."""
    return args.dataset if args.dataset == "random" else f"{args.dataset} {args.split}"


def add_frames(p: argparse.ArgumentParser, default: int, help: str | None = None) -> None:
    p.add_argument("--frames", type=count(1), default=default,
                   help=help or f"default {default}")


def add_seed(p: argparse.ArgumentParser, default: int) -> None:
    p.add_argument("--seed", type=SEED, default=default,
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


CLOCK_MHZ = ECP5_GOAL_MHZ  # the LFE5U-85F timing goal; docs/fpga.md has the measured Fmax


def clock_of(mhz: float | None) -> tuple[float, str]:
    """The clock for frames/s and where it comes from: ``mhz`` as given, else the shipped
    scnn5's measured worst-seed nextpnr-ecp5 Fmax (reports/scnn5_mnist/summary.json, `make
    bench-hw`; in a checkout), else the LFE5U-85F timing target."""
    if mhz is not None:
        return mhz, "--clock-mhz"
    if not INSTALLED:  # an installed package carries no reports
        summary = REPO / "reports" / "scnn5_mnist" / "summary.json"
        try:
            fmax = float(json.loads(summary.read_text())["ecp5_fmax_mhz"])
            return fmax, ("the shipped scnn5's measured Fmax on the LFE5U-85F, worst of "
                          "nextpnr seeds: reports/scnn5_mnist/summary.json")
        except (OSError, ValueError, KeyError, TypeError):
            pass
    return CLOCK_MHZ, "the LFE5U-85F timing target"


def add_clock(p: argparse.ArgumentParser, default: float = CLOCK_MHZ) -> None:
    p.add_argument("--clock-mhz", type=positive(), default=default,
                   help=f"clock for frames/s (default {default:g}: the LFE5U-85F timing target)")


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
    from fireflys.phi import tables

    return tables.load(model, args.model_dir)


def args_frames(args: argparse.Namespace, model: CompiledModel):
    """:func:`eval_frames` from a command's ``model_dir``, ``--dataset``, ``--random-density``,
    ``--split``, ``--data-dir``, ``--frames`` and ``--seed``."""
    return eval_frames(model, args.model_dir, args.dataset, args.frames, args.seed,
                       args.random_density, split=args.split, data_dir=args.data_dir)
