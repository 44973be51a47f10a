"""A run's training and validation frames (the held-out rule is :func:`fireflys.data.heldout`)."""

from __future__ import annotations

import numpy as np

from fireflys.core.arch import parse_arch
from fireflys.data import (
    DatasetError,
    heldout,
    load_cifar10,
    load_digits,
    load_dvs_gesture,
    load_mnist,
    mnist_split_available,
)
from fireflys.train.config import ENCODING, TrainConfig


def _with_holdout(x: np.ndarray, y: np.ndarray, cfg: TrainConfig, what: str):
    tr, va = heldout(cfg.dataset, len(x), cfg.seed, cfg.holdout)
    return x[tr], y[tr], x[va], y[va], (f"no test split: held-out {cfg.holdout:.0%} of the "
                                        f"{what} training split ({len(va)} frames)")


def load_dataset(cfg: TrainConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
    """(train x, train y, validation x, validation y, a note saying what validation is)."""
    if cfg.dataset in ("cifar10", "dvs-gesture"):
        if cfg.data_dir is None:
            raise DatasetError(f"--dataset {cfg.dataset} needs --data-dir (local files only)")
        if cfg.dataset == "cifar10":
            x, y = load_cifar10(cfg.data_dir, "train", cfg.in_bits)
            try:
                xt, yt = load_cifar10(cfg.data_dir, "test", cfg.in_bits)
            except DatasetError:
                return _with_holdout(x, y, cfg, "CIFAR-10")
            return x, y, xt, yt, f"CIFAR-10 test batch ({len(xt)} frames)"
        size = parse_arch(cfg.arch).in_shape[1]
        x, y = load_dvs_gesture(cfg.data_dir, "train", cfg.T, size)
        try:
            xt, yt = load_dvs_gesture(cfg.data_dir, "test", cfg.T, size)
        except DatasetError:
            return _with_holdout(x, y, cfg, "DVS-Gesture")
        return x, y, xt, yt, f"DVS-Gesture test split ({len(xt)} recordings)"
    if cfg.dataset == "digits":
        x, y = load_digits(cfg.in_bits)
        tr, va = heldout(cfg.dataset, len(x), cfg.seed, cfg.holdout)
        return x[tr], y[tr], x[va], y[va], (f"held-out {cfg.holdout:.0%} of scikit-learn "
                                            f"digits ({len(va)} frames)")
    if cfg.dataset == "mnist":
        x, y = load_mnist(cfg.data_dir, "train", cfg.in_bits)
        if mnist_split_available(cfg.data_dir, "test"):
            xt, yt = load_mnist(cfg.data_dir, "test", cfg.in_bits)
            return x, y, xt, yt, f"MNIST t10k test split ({len(xt)} frames)"
        tr, va = heldout(cfg.dataset, len(x), cfg.seed, cfg.holdout)
        return x[tr], y[tr], x[va], y[va], (
            f"no t10k test files: held-out {len(va)} frames of the MNIST training split "
            "(never trained on)")
    raise DatasetError(f"unknown dataset {cfg.dataset!r}: choose one of {list(ENCODING)}")
