"""A run's training and validation frames (the held-out rule is :func:`fireflys.data.heldout`)."""

from __future__ import annotations

import numpy as np

from fireflys.core.arch import parse_arch
from fireflys.data import (
    DatasetError,
    heldout,
    load_cifar10,
    load_digits,
    load_mnist,
    mnist_split_available,
)
from fireflys.events import load_dvs_gesture, load_nmnist, load_nmnist_synth
from fireflys.train.config import ENCODING, TrainConfig


def _train_split(cfg: TrainConfig) -> tuple[np.ndarray, np.ndarray, str]:
    """All frames and labels of the dataset's training split, and its name."""
    if cfg.dataset == "nmnist-synth":
        return (*load_nmnist_synth(cfg.data_dir, "train", cfg.T),
                "N-MNIST-style events made from MNIST")
    if cfg.dataset in ("cifar10", "dvs-gesture", "nmnist"):
        if cfg.data_dir is None:
            raise DatasetError(f"--dataset {cfg.dataset} needs --data-dir (local files only)")
        if cfg.dataset == "cifar10":
            return (*load_cifar10(cfg.data_dir, "train", cfg.in_bits), "CIFAR-10")
        if cfg.dataset == "nmnist":
            return (*load_nmnist(cfg.data_dir, "train", cfg.T), "N-MNIST")
        size = parse_arch(cfg.arch).in_shape[1]
        return (*load_dvs_gesture(cfg.data_dir, "train", cfg.T, size), "DVS-Gesture")
    if cfg.dataset == "digits":
        return (*load_digits(cfg.in_bits), "scikit-learn digits")
    if cfg.dataset == "mnist":
        return (*load_mnist(cfg.data_dir, "train", cfg.in_bits), "MNIST")
    raise DatasetError(f"unknown dataset {cfg.dataset!r}: choose one of {list(ENCODING)}")


def load_dataset(cfg: TrainConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
    """(train x, train y, validation x, validation y, a note saying what validation is).

    Validation is always the run's held-out frames of the training split
    (:func:`fireflys.data.heldout`, the one rule every command evaluating a model on
    ``--split val`` follows); a dataset's own test split is never used to choose anything:
    :func:`load_test` reads it for the final report."""
    x, y, what = _train_split(cfg)
    tr, va = heldout(cfg.dataset, len(x), cfg.seed, cfg.holdout)
    return x[tr], y[tr], x[va], y[va], (f"held-out {len(va)} frames of the {what} training "
                                        "split (never trained on)")


def load_test(cfg: TrainConfig) -> tuple[np.ndarray, np.ndarray, str] | None:
    """The dataset's own test split (MNIST t10k, CIFAR-10 test batch, DVS-Gesture test
    recordings) as (x, y, note), or None when its files are absent (digits has none)."""
    if cfg.dataset in ("mnist", "nmnist-synth"):
        if not mnist_split_available(cfg.data_dir, "test"):
            return None
        if cfg.dataset == "nmnist-synth":
            xt, yt = load_nmnist_synth(cfg.data_dir, "test", cfg.T)
            return xt, yt, f"N-MNIST-style events of MNIST t10k ({len(xt)} frames)"
        xt, yt = load_mnist(cfg.data_dir, "test", cfg.in_bits)
        return xt, yt, f"MNIST t10k test split ({len(xt)} frames)"
    local = {  # datasets read from --data-dir only: loader of the test split, what it is
        "nmnist": (lambda: load_nmnist(cfg.data_dir, "test", cfg.T), "N-MNIST test split",
                   "frames"),
        "cifar10": (lambda: load_cifar10(cfg.data_dir, "test", cfg.in_bits),
                    "CIFAR-10 test batch", "frames"),
        "dvs-gesture": (lambda: load_dvs_gesture(cfg.data_dir, "test", cfg.T,
                                                 parse_arch(cfg.arch).in_shape[1]),
                        "DVS-Gesture test split", "recordings"),
    }
    if cfg.dataset in local and cfg.data_dir is not None:
        load, what, unit = local[cfg.dataset]
        try:
            xt, yt = load()
        except DatasetError:
            return None
        return xt, yt, f"{what} ({len(xt)} {unit})"
    return None
