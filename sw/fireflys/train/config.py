"""Training configuration, its checks, and the records a run returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from fireflys.core.arch import parse_arch
from fireflys.errors import ConfigError


class TrainError(ConfigError):
    """Bad training options or an unusable checkpoint (the CLI reports it like any other
    option error: one line, exit status 2)."""


@dataclass
class TrainConfig:
    arch: str
    dataset: str = "digits"
    out: str = "runs/run"
    data_dir: str | None = None
    epochs: int = 10
    batch: int = 128
    lr: float = 2e-3
    sparsity: float = 0.9  # target weight sparsity (Grad R prior); 0: dense, no prior
    alpha: float = 2e-3  # initial Laplace prior strength (adapted within x/100 .. x*100)
    adapt_every: int = 10  # steps between alpha updates following the sparsity ramp (0: off)
    ramp: str = "linear"  # shape of the sparsity ramp: linear or cubic (fast early, gentle late)
    reach: float = 0.5  # fraction of the run at which the ramp reaches the target
    weight_decay: float = 1e-4  # on the Grad R hidden parameters
    T: int = 4
    k: int = 1
    reset: str = "zero"
    readout: str = "integrate"
    in_bits: int = 8
    seed: int = 0
    device: str = "cpu"
    max_steps: int | None = None  # per epoch (tests, smoke runs)
    holdout: float = 0.2  # validation: held-out fraction of the training split (MNIST: 10k)
    check_frames: int = 256  # validation frames checked bit for bit (0: all of them)
    threads: int | None = None
    init_from: str | None = None  # run directory whose trained weights start this run
    freeze_at: float | None = None  # run fraction: mask fixed from here (None: never)
    distill: float = 0.0  # weight of the distillation term (0: plain cross-entropy)
    distill_temp: float = 4.0  # softmax temperature of the distillation term
    teacher_epochs: int = 12  # epochs of the dense float teacher (with distill > 0)
    augment_shift: int = 0  # random translation of training frames by up to this many pixels


@dataclass
class EpochLog:
    epoch: int
    loss: float
    train_acc: float
    val_acc: float
    sparsity: float
    layer_sparsity: list[float]
    seconds: float


@dataclass
class TrainResult:
    config: TrainConfig
    history: list[EpochLog] = field(default_factory=list)
    val_note: str = ""
    files: dict[str, str] = field(default_factory=dict)
    check: dict[str, Any] = field(default_factory=dict)
    reporting: bool = True  # False on DDP ranks other than 0 (they export and report nothing)


ENCODING = {"digits": "direct", "mnist": "direct", "cifar10": "direct", "dvs-gesture": "spikes",
            "nmnist": "spikes", "nmnist-synth": "spikes"}


RAMPS = ("linear", "cubic")


def check_config(cfg: TrainConfig) -> None:
    parse_arch(cfg.arch)
    for name, ok in (("epochs", cfg.epochs >= 1), ("batch", cfg.batch >= 1),
                     ("lr", cfg.lr > 0), ("sparsity", 0 <= cfg.sparsity < 1),
                     ("alpha", cfg.alpha > 0), ("T", 1 <= cfg.T <= 64),
                     ("k", 0 <= cfg.k <= 15), ("reset", cfg.reset in ("zero", "subtract")),
                     ("readout", cfg.readout in ("integrate", "spikes")),
                     ("ramp", cfg.ramp in RAMPS), ("reach", 0 < cfg.reach <= 1),
                     ("freeze-at", cfg.freeze_at is None or 0 <= cfg.freeze_at < 1),
                     ("distill", 0 <= cfg.distill < 1), ("distill-temp", cfg.distill_temp > 0),
                     ("teacher-epochs", cfg.teacher_epochs >= 1),
                     ("augment-shift", 0 <= cfg.augment_shift <= 8)):
        if not ok:
            raise TrainError(f"bad --{name}: {getattr(cfg, name.replace('-', '_'))!r}")
    if cfg.sparsity == 0 and cfg.freeze_at is not None:
        raise TrainError("--freeze-at fixes a pruning mask: it needs --sparsity > 0 "
                         "(--sparsity 0 trains a dense network without pruning)")
    if cfg.device.startswith("cuda") and not torch.cuda.is_available():
        raise TrainError("--device cuda requested but torch sees no CUDA device")
