"""Training: snntorch surrogate gradients + Gradient Rewiring + per-channel LSQ, jointly.

:func:`train` runs epochs with a tqdm bar (loss, accuracy, sparsity), evaluates the integer
(eval-mode) network on the validation frames after each epoch, keeps a checkpoint that
:func:`train` can resume from, and finally exports the compiled model, checks it bit for bit
against the golden model on validation frames, and writes ``metrics.json`` and plots.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from . import golden
from .arch import parse_arch
from .augment import random_shift
from .compile import ConfigError, compile_to_dir
from .data import (
    DatasetError,
    holdout_split,
    load_cifar10,
    load_digits,
    load_dvs_gesture,
    load_mnist,
    mnist_split_available,
)
from .distill import distill_loss, teacher_for
from .export import export
from .prune import add_prior_grad, laplace_mu
from .snn import SpikingNet


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
    sparsity: float = 0.9  # target weight sparsity (Grad R prior)
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
    holdout: float = 0.2  # held-out fraction when the dataset has no test split
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


ENCODING = {"digits": "direct", "mnist": "direct", "cifar10": "direct", "dvs-gesture": "spikes"}


def _with_holdout(x: np.ndarray, y: np.ndarray, cfg: TrainConfig, what: str):
    tr, va = holdout_split(len(x), cfg.holdout, cfg.seed)
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
        tr, va = holdout_split(len(x), cfg.holdout, cfg.seed)
        return x[tr], y[tr], x[va], y[va], (f"held-out {cfg.holdout:.0%} of scikit-learn "
                                            f"digits ({len(va)} frames)")
    if cfg.dataset == "mnist":
        x, y = load_mnist(cfg.data_dir, "train", cfg.in_bits)
        if mnist_split_available(cfg.data_dir, "test"):
            xt, yt = load_mnist(cfg.data_dir, "test", cfg.in_bits)
            return x, y, xt, yt, f"MNIST t10k test split ({len(xt)} frames)"
        tr, va = holdout_split(len(x), 10_000 / len(x), cfg.seed)
        return x[tr], y[tr], x[va], y[va], (
            f"no t10k test files: held-out {len(va)} frames of the MNIST training split "
            "(never trained on)")
    raise DatasetError(f"unknown dataset {cfg.dataset!r}: choose one of {list(ENCODING)}")


def _check_config(cfg: TrainConfig) -> None:
    parse_arch(cfg.arch)
    for name, ok in (("epochs", cfg.epochs >= 1), ("batch", cfg.batch >= 1),
                     ("lr", cfg.lr > 0), ("sparsity", 0 < cfg.sparsity < 1),
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
    if cfg.device.startswith("cuda") and not torch.cuda.is_available():
        raise TrainError("--device cuda requested but torch sees no CUDA device")


def evaluate(net: SpikingNet, x: np.ndarray, y: np.ndarray, device: str,
             batch: int = 256) -> float:
    """Accuracy of the integer (eval-mode) network."""
    net.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            s = net(torch.as_tensor(x[i : i + batch], device=device))
            correct += int((s.argmax(dim=1).cpu().numpy() == y[i : i + batch]).sum())
    return correct / max(len(x), 1)


def check_bit_exact(net: SpikingNet, exported, x: np.ndarray, chunk: int = 128,
                    keep_pred: bool = False) -> dict[str, Any]:
    """Eval-mode PyTorch vs the golden model on the exported integers: every layer's spikes at
    every time step, and the scores, in chunks of frames. Returns mismatch counts (all must
    be 0); spikes of removed silent channels count as mismatches too. ``keep_pred``: also
    the PyTorch and golden predictions (``torch_pred``, ``golden_pred``)."""
    net.eval()
    n_layers = len(net.layers)
    layers = [0] * n_layers
    score_mm = pred_mm = 0
    preds: tuple[list[np.ndarray], list[np.ndarray]] = ([], [])
    for i0 in range(0, len(x), chunk):
        xb = x[i0 : i0 + chunk]
        with torch.no_grad():
            scores, traces = net(torch.as_tensor(xb), trace=True)
        g = golden.run(exported.model, xb)
        for i, tr in enumerate(traces):
            if tr.spikes is None:
                continue
            mine = tr.spikes.cpu().numpy().astype(bool)  # B, T, C, H, W
            kept = exported.kept[i]
            removed = np.setdiff1d(np.arange(mine.shape[2]), kept)
            ref = g.pre_pool[i].astype(bool)
            layers[i] += int((mine[:, :, kept] != ref).sum()) + int(mine[:, :, removed].sum())
        sc = scores.cpu().numpy()
        score_mm += int((sc.astype(np.int64) != g.scores).sum()) + int((sc != np.round(sc)).sum())
        pred_mm += int((sc.argmax(axis=1) != g.pred).sum())
        preds[0].append(sc.argmax(axis=1))
        preds[1].append(g.pred)
    out: dict[str, Any] = {"frames": len(x), "spike_mismatches_per_layer": layers,
                           "score_mismatches": score_mm, "prediction_mismatches": pred_mm}
    if keep_pred:
        out["torch_pred"], out["golden_pred"] = (np.concatenate(p) for p in preds)
    return out


def one_cycle(peak: float, step: int, total: int, warm: float = 0.15) -> float:
    """Learning rate at ``step`` (1-based) of ``total``: linear warm-up to ``peak`` over
    ``warm`` of the run, then cosine down to peak / 1000 (a function of the step only, so a
    resumed or extended run continues the same curve)."""
    w = max(1.0, warm * total)
    if step <= w:
        return peak * (0.04 + 0.96 * step / w)
    f = min(1.0, (step - w) / max(1.0, total - w))
    return peak * (1e-3 + (1 - 1e-3) * 0.5 * (1 + math.cos(math.pi * f)))


RAMPS = ("linear", "cubic")


def sparsity_ramp(start: float, target: float, step: int, total: int,
                  reach: float = 0.5, shape: str = "linear") -> float:
    """Sparsity the run should have reached after ``step`` of ``total`` steps: from ``start``
    (the initial network's) to ``target`` at ``reach`` of the run, then flat. ``linear``
    prunes at a constant rate; ``cubic`` (gradual pruning, Zhu & Gupta 2017) prunes fast
    while the network is plastic and slowly near the target, 1 - (1 - f)^3."""
    f = min(1.0, step / max(1.0, reach * total))
    if shape == "cubic":
        f = 1.0 - (1.0 - f) ** 3
    elif shape != "linear":
        raise TrainError(f"unknown sparsity ramp {shape!r}: choose one of {list(RAMPS)}")
    return start + (target - start) * f


def overall_sparsity(net: SpikingNet) -> float:
    sizes = [ly.weight.theta.numel() for ly in net.layers]
    return float(np.average(net.weight_sparsity(), weights=sizes))


def adapt_alpha(net: SpikingNet, alpha: float, want: float, lo: float, hi: float,
                rate: float = 1.2) -> float:
    """Grad R's prior strength sets the sparsity only indirectly (the Laplace location is far
    below zero for useful alphas), so alpha follows the ramp: up when the exported int4
    weights are less sparse than wanted, down otherwise, within [lo, hi]."""
    now = overall_sparsity(net)
    return float(np.clip(alpha * (rate if now < want else 1 / rate), lo, hi))


def weight_masks(net: SpikingNet) -> list[torch.Tensor]:
    """Per Grad R parameter (weight, bias of every layer) the entries that export non-zero."""
    out = []
    for ly in net.layers:
        qw, qb, _ = ly.integers()
        out += [qw != 0, qb != 0]
    return out


def apply_masks(net: SpikingNet, masks: list[torch.Tensor]) -> None:
    """Fixed-mask phase: every entry outside its mask gets ``theta <= 0`` (an exact zero that
    cannot grow back), so the exported sparsity never falls below the frozen one."""
    with torch.no_grad():
        for p, m in zip(net.gradr_params(), masks, strict=True):
            p.theta.masked_fill_(~m & (p.theta > 0), 0.0)


def load_run(run_dir: str | Path) -> tuple[SpikingNet, TrainConfig]:
    """The trained network (eval mode, CPU) and configuration of a run directory."""
    ckpt = Path(run_dir) / "checkpoint.pt"
    if not ckpt.is_file():
        raise TrainError(f"{ckpt}: no checkpoint (is {run_dir} a `fireflys train` run?)")
    try:
        st = torch.load(ckpt, map_location="cpu", weights_only=False)
        cfg = TrainConfig(**st["config"])
        net = SpikingNet(parse_arch(cfg.arch), T=cfg.T, encoding=ENCODING[cfg.dataset],
                         in_bits=cfg.in_bits, k=cfg.k, reset=cfg.reset, readout=cfg.readout,
                         seed=cfg.seed)
        net.load_state_dict(st["net"])
    except (RuntimeError, KeyError, TypeError, ValueError) as e:
        raise TrainError(f"{ckpt}: unreadable checkpoint ({e})") from None
    net.eval()
    return net, cfg


# fields that must equal the initial run's for its weights to mean the same network here and
# for the held-out validation frames to be ones neither run trained on
_INIT_SAME = ("arch", "dataset", "T", "k", "reset", "readout", "in_bits", "seed", "holdout")


def init_from_run(net: SpikingNet, cfg: TrainConfig) -> None:
    """Load the trained weights of the run ``cfg.init_from`` into ``net`` (fine-tuning or a
    second pruning cycle: a fresh optimizer and learning-rate curve, the sparsity ramp starting
    from that network's sparsity)."""
    ckpt = Path(cfg.init_from or "") / "checkpoint.pt"
    if not ckpt.is_file():
        raise TrainError(f"--init-from: no checkpoint at {ckpt}")
    try:
        st = torch.load(ckpt, map_location=cfg.device, weights_only=False)
        other = st["config"]
    except (RuntimeError, KeyError, TypeError, ValueError, EOFError) as e:
        raise TrainError(f"--init-from {ckpt}: unreadable checkpoint ({e})") from None
    for f in _INIT_SAME:
        if other.get(f) != getattr(cfg, f):
            raise TrainError(f"--init-from {ckpt}: config field {f!r} is {other.get(f)!r} "
                             f"there but {getattr(cfg, f)!r} here (must be equal)")
    try:
        net.load_state_dict(st["net"])
    except (RuntimeError, KeyError) as e:
        raise TrainError(f"--init-from {ckpt}: weights do not fit ({e})") from None


def _optimizer(net: SpikingNet, cfg: TrainConfig) -> torch.optim.Optimizer:
    hidden = [p.theta for p in net.gradr_params()]
    ids = {id(p) for p in hidden}
    rest = [p for p in net.parameters() if id(p) not in ids]
    return torch.optim.AdamW([{"params": hidden, "weight_decay": cfg.weight_decay},
                              {"params": rest, "weight_decay": 0.0}], lr=cfg.lr)


def distributed() -> tuple[int, int, int]:
    """(rank, world size, local rank) when started by torchrun, else (0, 1, 0)."""
    env = os.environ
    return int(env.get("RANK", "0")), int(env.get("WORLD_SIZE", "1")), \
        int(env.get("LOCAL_RANK", "0"))


def train(cfg: TrainConfig, resume: bool = False, quiet: bool = False) -> TrainResult:
    """Train, export and check (see the module docstring). Under ``torchrun`` (WORLD_SIZE >
    1) this is PyTorch DDP: every rank trains on its share of each batch (gloo on CPU, NCCL
    on CUDA, one GPU per local rank); rank 0 evaluates, checkpoints and exports."""
    _check_config(cfg)
    rank, world, local = distributed()
    own_group = False
    if world > 1:
        import torch.distributed as dist

        if cfg.device.startswith("cuda"):
            cfg.device = f"cuda:{local}"
            torch.cuda.set_device(local)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if cfg.device.startswith("cuda") else "gloo")
            own_group = True
    main = rank == 0
    quiet = quiet or not main
    try:
        return _train(cfg, resume, quiet, rank, world, main)
    finally:
        if own_group:
            import torch.distributed as dist

            dist.destroy_process_group()


def _train(cfg: TrainConfig, resume: bool, quiet: bool, rank: int, world: int,
           main: bool) -> TrainResult:
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    xtr, ytr, xva, yva, note = load_dataset(cfg)
    arch = parse_arch(cfg.arch)
    enc = ENCODING[cfg.dataset]
    frame = tuple(xtr.shape[2:] if enc == "spikes" else xtr.shape[1:])
    if frame != arch.in_shape:
        raise TrainError(f"dataset {cfg.dataset} frames are {list(frame)}, the "
                         f"architecture's input is {list(arch.in_shape)}")
    if arch.num_classes < int(ytr.max()) + 1:
        raise TrainError(f"architecture has {arch.num_classes} outputs, the dataset "
                         f"{int(ytr.max()) + 1} classes")
    net = SpikingNet(arch, T=cfg.T, encoding=enc, in_bits=cfg.in_bits, k=cfg.k,
                     reset=cfg.reset, readout=cfg.readout, seed=cfg.seed).to(cfg.device)
    if cfg.init_from and not resume:
        init_from_run(net, cfg)
    teacher_logits, teacher_record = None, None
    if cfg.distill > 0:
        teacher_logits, teacher_record = teacher_for(
            arch, xtr, ytr, xva, yva, encoding=enc, in_bits=cfg.in_bits,
            epochs=cfg.teacher_epochs, seed=cfg.seed, device=cfg.device,
            path=out / "teacher.pt", save=main, quiet=quiet)
    opt = _optimizer(net, cfg)
    steps_per_epoch = -(-len(xtr) // cfg.batch)
    if cfg.max_steps:
        steps_per_epoch = min(steps_per_epoch, cfg.max_steps)
    alpha = cfg.alpha
    result = TrainResult(cfg, val_note=note)
    total_steps = cfg.epochs * steps_per_epoch
    # fixed-mask phase: from this step on the Grad R prior is off and pruned entries stay zero
    freeze_step = (None if cfg.freeze_at is None
                   else int(cfg.freeze_at * total_steps) + 1)
    masks: list[torch.Tensor] | None = None
    ckpt = out / "checkpoint.pt"
    start = 0
    if resume:
        if not ckpt.is_file():
            raise TrainError(f"--resume: no checkpoint at {ckpt}")
        try:
            st = torch.load(ckpt, map_location=cfg.device, weights_only=False)
            net.load_state_dict(st["net"])
            opt.load_state_dict(st["opt"])
        except (RuntimeError, KeyError, ValueError) as e:
            raise TrainError(f"{ckpt}: checkpoint does not match this configuration ({e})") \
                from None
        start = st["epoch"]
        alpha = st["alpha"]
        if st.get("masks") is not None:
            masks = [m.to(cfg.device) for m in st["masks"]]
        result.history = [EpochLog(**h) for h in st["history"]]
    sp0 = overall_sparsity(net) if not resume else st.get("sparsity0", 0.0)
    rng = np.random.default_rng(cfg.seed + start)
    xtr_t = torch.as_tensor(xtr, dtype=torch.float32)
    ytr_t = torch.as_tensor(ytr)
    model: torch.nn.Module = net
    if world > 1:
        import torch.distributed as dist
        from torch.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(net, device_ids=[torch.cuda.current_device()]
                                        if cfg.device.startswith("cuda") else None)
    for epoch in range(start, cfg.epochs):
        t0 = time.time()
        net.train()
        order = torch.as_tensor(rng.permutation(len(xtr)))
        tot_loss, tot_ok, seen = 0.0, 0, 0
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{cfg.epochs}",
                   disable=quiet, leave=False)
        for step in bar:
            full = order[step * cfg.batch : (step + 1) * cfg.batch]
            idx = full[rank::world]
            yb = ytr_t[idx].to(cfg.device)
            if cfg.augment_shift:  # shifts drawn for the whole batch: every rank's rng agrees
                xb = random_shift(xtr_t[full], cfg.augment_shift, rng)[rank::world]
            else:
                xb = xtr_t[idx]
            xb = xb.to(cfg.device)
            gstep = epoch * steps_per_epoch + step + 1
            for group in opt.param_groups:
                group["lr"] = one_cycle(cfg.lr, gstep, total_steps)
            if masks is None and freeze_step is not None and gstep >= freeze_step:
                masks = weight_masks(net)
                apply_masks(net, masks)
            scores = model(xb)
            if teacher_logits is None:
                loss = F.cross_entropy(scores / cfg.T, yb)
            else:
                loss = distill_loss(scores / cfg.T, yb, teacher_logits[idx].to(cfg.device),
                                    cfg.distill, cfg.distill_temp)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if masks is None:
                add_prior_grad(net.gradr_params(), alpha, laplace_mu(cfg.sparsity, alpha))
            opt.step()
            if masks is not None:
                apply_masks(net, masks)
            elif cfg.adapt_every and gstep % cfg.adapt_every == 0:
                want = sparsity_ramp(sp0, cfg.sparsity, gstep, total_steps, cfg.reach,
                                     cfg.ramp)
                alpha = adapt_alpha(net, alpha, want, cfg.alpha / 100, cfg.alpha * 100)
            tot_loss += float(loss.detach()) * len(idx)
            tot_ok += int((scores.argmax(dim=1) == yb).sum())
            seen += len(idx)
            if step % 10 == 0:
                bar.set_postfix(loss=f"{tot_loss / seen:.3f}", acc=f"{tot_ok / seen:.3f}",
                                alpha="fixed mask" if masks is not None else f"{alpha:.1e}")
        if not main:  # rank 0 evaluates and checkpoints; the others wait for it
            dist.barrier()
            continue
        layer_sp = net.weight_sparsity()
        sizes = [ly.weight.theta.numel() for ly in net.layers]
        sp = float(np.average(layer_sp, weights=sizes))
        val = evaluate(net, xva, yva, cfg.device)
        log = EpochLog(epoch + 1, tot_loss / seen, tot_ok / seen, val, sp, layer_sp,
                       time.time() - t0)
        result.history.append(log)
        if not quiet:
            print(f"epoch {log.epoch}/{cfg.epochs}: loss {log.loss:.4f} train {log.train_acc:.4f}"
                  f" val {log.val_acc:.4f} sparsity {log.sparsity:.4f} ({log.seconds:.0f} s)",
                  flush=True)
        torch.save({"net": net.state_dict(), "opt": opt.state_dict(),
                    "epoch": epoch + 1, "alpha": alpha, "sparsity0": sp0,
                    "masks": None if masks is None else [m.cpu() for m in masks],
                    "history": [asdict(h) for h in result.history], "config": asdict(cfg)},
                   ckpt)
        if world > 1:
            dist.barrier()
    if not main:
        result.reporting = False
        return result
    net = net.cpu()
    exported = export(net)
    files = compile_to_dir(exported.model, out / "model")
    result.files = {k: str(v) for k, v in files.items()}
    result.check = check_bit_exact(net, exported, xva[: cfg.check_frames or len(xva)])
    g = golden.run(exported.model, xva)
    result.check["golden_val_acc"] = float((g.pred == yva).mean())
    if teacher_record is not None:
        result.check["teacher"] = teacher_record
    result.check["removed_silent_channels"] = [
        int(ly.out_ch - len(k)) for ly, k in zip(arch.layers, exported.kept, strict=True)]
    result.check["exported_weight_sparsity"] = 1 - sum(
        ly.nnz for ly in exported.model.layers) / sum(
        ly.weight.size for ly in exported.model.layers)
    metrics = {"config": asdict(cfg), "validation": note,
               "history": [asdict(h) for h in result.history], "check": result.check,
               "exported_arch": str(exported.model.arch)}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    result.files["metrics"] = str(out / "metrics.json")
    from .plots import training_plots

    result.files.update({k: str(v) for k, v in training_plots(result, exported.model,
                                                                out).items()})
    return result
