"""The training checkpoint (``RUN/checkpoint.pt``): the one writer and reader, used by
``fireflys train`` (save, resume, ``--init-from``), ``export``, ``compare`` and ``phi finetune``.

Contents: ``net`` (state dict), ``opt`` (optimizer state), ``epoch``, ``alpha`` (Grad R prior
strength), ``sparsity0`` (the ramp's start), ``masks`` (fixed-mask phase, or None),
``history`` (epoch logs) and ``config`` (the :class:`TrainConfig` as a dict).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from fireflys.core.arch import parse_arch
from fireflys.train.config import ENCODING, TrainConfig, TrainError
from fireflys.train.snn import SpikingNet

NAME = "checkpoint.pt"


def read(path: Path, device: str = "cpu", what: str = "checkpoint") -> dict[str, Any]:
    """A ``torch.save``d dictionary; a missing or unreadable file raises :class:`TrainError`
    naming it (``what``: how the message calls it, e.g. ``--init-from``)."""
    if not path.is_file():
        raise TrainError(f"{what}: no checkpoint at {path}")
    try:
        st = torch.load(path, map_location=device, weights_only=False)
    except (RuntimeError, EOFError, OSError, ValueError) as e:
        raise TrainError(f"{what} {path}: unreadable checkpoint ({e})") from None
    if not isinstance(st, dict):
        raise TrainError(f"{what} {path}: not a checkpoint (got {type(st).__name__})")
    return st


def write(path: Path, *, net: torch.nn.Module, opt: torch.optim.Optimizer, epoch: int,
          alpha: float, sparsity0: float, history: list[dict], config: TrainConfig,
          masks: list[torch.Tensor] | None = None) -> Path:
    torch.save({"net": net.state_dict(), "opt": opt.state_dict(), "epoch": epoch,
                "alpha": alpha, "sparsity0": sparsity0,
                "masks": None if masks is None else [m.cpu() for m in masks],
                "history": history, "config": asdict(config)}, path)
    return path


def net_for(cfg: TrainConfig) -> SpikingNet:
    """A fresh network of a run's configuration."""
    return SpikingNet(parse_arch(cfg.arch), T=cfg.T, encoding=ENCODING[cfg.dataset],
                      in_bits=cfg.in_bits, k=cfg.k, reset=cfg.reset, readout=cfg.readout,
                      seed=cfg.seed, dense=cfg.sparsity == 0)


def open_run(run_dir: str | Path) -> tuple[SpikingNet, TrainConfig, dict[str, Any]]:
    """The trained network (eval mode, CPU), configuration and checkpoint of a run."""
    ckpt = Path(run_dir) / NAME
    if not ckpt.is_file():
        raise TrainError(f"{ckpt}: no checkpoint (is {run_dir} a `fireflys train` run?)")
    st = read(ckpt)
    try:
        cfg = TrainConfig(**st["config"])
        net = net_for(cfg)
        net.load_state_dict(st["net"])
    except (RuntimeError, KeyError, TypeError, ValueError) as e:
        raise TrainError(f"{ckpt}: unreadable checkpoint ({e})") from None
    net.eval()
    return net, cfg, st


def load_run(run_dir: str | Path) -> tuple[SpikingNet, TrainConfig]:
    """The trained network (eval mode, CPU) and configuration of a run directory."""
    net, cfg, _ = open_run(run_dir)
    return net, cfg


# fields that must equal the initial run's for its weights to mean the same network here and
# for the held-out validation frames to be ones neither run trained on
_INIT_SAME = ("arch", "dataset", "T", "k", "reset", "readout", "in_bits", "seed", "holdout")


def init_from_run(net: SpikingNet, cfg: TrainConfig) -> None:
    """Load the trained weights of the run ``cfg.init_from`` into ``net`` (fine-tuning or a
    second pruning cycle: a fresh optimizer and learning-rate curve, the sparsity ramp starting
    from that network's sparsity)."""
    ckpt = Path(cfg.init_from or "") / NAME
    st = read(ckpt, cfg.device, "--init-from")
    other = st.get("config")
    if not isinstance(other, dict):
        raise TrainError(f"--init-from {ckpt}: unreadable checkpoint (no config)")
    for f in _INIT_SAME:
        if other.get(f) != getattr(cfg, f):
            raise TrainError(f"--init-from {ckpt}: config field {f!r} is {other.get(f)!r} "
                             f"there but {getattr(cfg, f)!r} here (must be equal)")
    sd = dict(st["net"])
    if net.dense and other.get("sparsity") != 0:
        # a pruned run into a dense one: its signed weights sign * relu(theta) become theta
        for key in [k for k in sd if k.endswith(".theta") and k[:-6] + ".sign" in sd]:
            sign_key = key[:-6] + ".sign"
            sd[key] = sd[sign_key] * sd[key].clamp(min=0)
            sd[sign_key] = torch.ones_like(sd[sign_key])
    elif not net.dense and other.get("sparsity") == 0:
        raise TrainError(f"--init-from {ckpt}: a dense run (--sparsity 0) cannot seed a pruned "
                         "one (its weights have no fixed signs)")
    try:
        net.load_state_dict(sd)
    except (RuntimeError, KeyError) as e:
        raise TrainError(f"--init-from {ckpt}: weights do not fit ({e})") from None


def make_optimizer(net: SpikingNet, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    """AdamW with weight decay on the Grad R hidden parameters only."""
    hidden = [p.theta for p in net.gradr_params()]
    ids = {id(p) for p in hidden}
    rest = [p for p in net.parameters() if id(p) not in ids]
    return torch.optim.AdamW([{"params": hidden, "weight_decay": weight_decay},
                              {"params": rest, "weight_decay": 0.0}], lr=lr)
