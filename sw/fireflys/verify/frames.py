"""Frames to evaluate or calibrate a model on: random frames, the held-out frames of the
model's training run (``split`` 'val', :func:`fireflys.data.heldout`), or a dataset's own test
split (``split`` 'test', MNIST's t10k files)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fireflys.compiler.compile import RANDOM_DENSITY
from fireflys.core.golden import InputError
from fireflys.core.model import CompiledModel
from fireflys.errors import ConfigError

SPLITS = ("val", "test")
# frame shape and input encoding of each named dataset
DATASET_INPUT = {"digits": ((1, 8, 8), "direct"), "mnist": ((1, 28, 28), "direct"),
                 "nmnist-synth": ((2, 34, 34), "spikes")}
MNIST_BASED = ("mnist", "nmnist-synth")  # read from the MNIST files


def frames_about(dataset: str, split: str, data_dir: str | Path | None) -> dict:
    """What a report says about its frames: dataset, split and, for MNIST, the directory given
    (``default``: the default data directory, whichever machine's it is: no machine's
    absolute path in a committed report)."""
    out = {"dataset": dataset, "split": None if dataset == "random" else split}
    if dataset in MNIST_BASED:
        out["data_dir"] = str(Path(data_dir)) if data_dir else "default"
    return out


def _check_shape(model: CompiledModel, dataset: str) -> None:
    shape, enc = DATASET_INPUT[dataset]
    if model.encoding != enc or model.arch.in_shape != shape:
        raise InputError(f"dataset '{dataset}' gives {'x'.join(map(str, shape))} {enc} frames; "
                         f"model takes {'x'.join(map(str, model.arch.in_shape))} "
                         f"{model.encoding} input")


def _load(model: CompiledModel, dataset: str, split: str, data_dir: str | Path | None):
    from fireflys.data import load_digits, load_mnist

    if dataset == "mnist":
        return load_mnist(data_dir, split, model.in_bits)
    if dataset == "nmnist-synth":
        from fireflys.events import load_nmnist_synth

        return load_nmnist_synth(data_dir, split, model.T)
    return load_digits(model.in_bits)


def _dataset_split(model: CompiledModel, dataset: str, model_dir: str | Path,
                   data_dir: str | Path | None = None):
    """All frames and labels of a named dataset's training split, with the (train, held-out)
    indices of the run that produced the model (:func:`fireflys.data.heldout`)."""
    from fireflys.data import heldout, run_split

    _check_shape(model, dataset)
    x, y = _load(model, dataset, "train", data_dir)
    seed, frac = run_split(model_dir)
    return x, y, heldout(dataset, len(x), seed, frac)


def test_split(model: CompiledModel, dataset: str,
               data_dir: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A named dataset's own test split (MNIST's t10k files; a clear error naming the missing
    files, or saying the dataset has none)."""
    if dataset not in MNIST_BASED:
        raise ConfigError(f"--split test: {dataset} frames have no test split (use --split val,"
                          " the held-out frames of the model's training run)"
                          if dataset == "digits" else
                          "--split test: random frames have no split (use --dataset mnist)")
    _check_shape(model, dataset)
    return _load(model, dataset, "test", data_dir)


def eval_frames(model: CompiledModel, model_dir: str | Path, dataset: str, n: int,
                seed: int, density: float = RANDOM_DENSITY, split: str = "val",
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
                 seed: int, data_dir: str | Path | None = None,
                 density: float = RANDOM_DENSITY) -> np.ndarray:
    """Calibration frames (Phi's pattern selection): training frames of the model's run,
    never the held-out frames or the test split that the reports evaluate on (random frames:
    a fraction ``density`` non-zero, other ones than :func:`eval_frames`')."""
    if dataset == "random":
        from fireflys.compiler.compile import random_input

        return random_input(model, n, np.random.default_rng(seed + 1), density)
    x, _, (tr, _) = _dataset_split(model, dataset, model_dir, data_dir)
    return x[tr[:n]]
