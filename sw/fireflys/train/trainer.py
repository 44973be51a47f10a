"""Training: snntorch surrogate gradients + Gradient Rewiring + per-channel LSQ, jointly.

:func:`train` runs epochs with a tqdm bar (loss, accuracy, sparsity), evaluates the integer
(eval-mode) network on the validation frames after each epoch, keeps a checkpoint that
:func:`train` can resume from, and finally exports the compiled model, checks it bit for bit
against the golden model on validation frames, and writes ``metrics.json`` and plots.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from fireflys.core import golden
from fireflys.core.arch import parse_arch
from fireflys.core.model import save_model
from fireflys.train import checkpoint
from fireflys.train.augment import random_shift
from fireflys.train.checkpoint import init_from_run, make_optimizer
from fireflys.train.config import (
    ENCODING,
    EpochLog,
    TrainConfig,
    TrainError,
    TrainResult,
    check_config,
)
from fireflys.train.dataset import load_dataset, load_test
from fireflys.train.distill import distill_loss, teacher_for
from fireflys.train.evaluate import check_bit_exact, evaluate
from fireflys.train.export import export
from fireflys.train.loop import Schedule, run_epoch
from fireflys.train.prune import add_prior_grad, apply_masks, laplace_mu, weight_masks
from fireflys.train.schedule import adapt_alpha, overall_sparsity, sparsity_ramp


def distributed() -> tuple[int, int, int]:
    """(rank, world size, local rank) when started by torchrun, else (0, 1, 0)."""
    env = os.environ
    return int(env.get("RANK", "0")), int(env.get("WORLD_SIZE", "1")), \
        int(env.get("LOCAL_RANK", "0"))


def train(cfg: TrainConfig, resume: bool = False, quiet: bool = False) -> TrainResult:
    """Train, export and check (see the module docstring). Under ``torchrun`` (WORLD_SIZE >
    1) this is PyTorch DDP: every rank trains on its share of each batch (gloo on CPU, NCCL
    on CUDA, one GPU per local rank); rank 0 evaluates, checkpoints and exports."""
    check_config(cfg)
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
    net = checkpoint.net_for(cfg).to(cfg.device)
    if cfg.init_from and not resume:
        init_from_run(net, cfg)
    teacher_logits, teacher_record = None, None
    if cfg.distill > 0:
        teacher_logits, teacher_record = teacher_for(
            arch, xtr, ytr, xva, yva, encoding=enc, in_bits=cfg.in_bits,
            epochs=cfg.teacher_epochs, seed=cfg.seed, device=cfg.device,
            path=out / "teacher.pt", save=main, quiet=quiet)
    opt = make_optimizer(net, cfg.lr, cfg.weight_decay)
    steps_per_epoch = -(-len(xtr) // cfg.batch)
    if cfg.max_steps:
        steps_per_epoch = min(steps_per_epoch, cfg.max_steps)
    sched = Schedule(cfg.lr, cfg.epochs, steps_per_epoch, cfg.batch)
    st = {"alpha": cfg.alpha, "masks": None}  # state the step hooks change
    result = TrainResult(cfg, val_note=note)
    # fixed-mask phase: from this step on the Grad R prior is off and pruned entries stay zero
    freeze_step = (None if cfg.freeze_at is None
                   else int(cfg.freeze_at * sched.total) + 1)
    ckpt = out / checkpoint.NAME
    start = 0
    if resume:
        saved = checkpoint.read(ckpt, cfg.device, "--resume")
        try:
            net.load_state_dict(saved["net"])
            opt.load_state_dict(saved["opt"])
            start = saved["epoch"]
            st["alpha"] = saved["alpha"]
            result.history = [EpochLog(**h) for h in saved["history"]]
        except (RuntimeError, KeyError, ValueError, TypeError) as e:
            raise TrainError(f"{ckpt}: checkpoint does not match this configuration ({e})") \
                from None
        if saved.get("masks") is not None:
            st["masks"] = [m.to(cfg.device) for m in saved["masks"]]
    sp0 = overall_sparsity(net) if not resume else saved.get("sparsity0", 0.0)
    rng = np.random.default_rng(cfg.seed + start)
    xtr_t = torch.as_tensor(xtr, dtype=torch.float32)
    ytr_t = torch.as_tensor(ytr)
    model: torch.nn.Module = net
    if world > 1:
        import torch.distributed as dist
        from torch.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(net, device_ids=[torch.cuda.current_device()]
                                        if cfg.device.startswith("cuda") else None)

    def batch_of(full: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        idx = full[rank::world]
        if cfg.augment_shift:  # shifts drawn for the whole batch: every rank's rng agrees
            return random_shift(xtr_t[full], cfg.augment_shift, rng)[rank::world], ytr_t[idx]
        return xtr_t[idx], ytr_t[idx]

    def loss_fn(xb, yb, idx):
        scores = model(xb)
        if teacher_logits is None:
            return F.cross_entropy(scores / cfg.T, yb), scores, {}
        return distill_loss(scores / cfg.T, yb, teacher_logits[idx].to(cfg.device),
                            cfg.distill, cfg.distill_temp), scores, {}

    def before_step(gstep: int) -> None:
        if st["masks"] is None and freeze_step is not None and gstep >= freeze_step:
            st["masks"] = weight_masks(net)
            apply_masks(net, st["masks"])

    def grad_hook() -> None:
        if st["masks"] is None and not net.dense:
            a = st["alpha"]
            add_prior_grad(net.gradr_params(), a, laplace_mu(cfg.sparsity, a))

    def after_step(gstep: int) -> None:
        if st["masks"] is not None:
            apply_masks(net, st["masks"])
        elif cfg.adapt_every and gstep % cfg.adapt_every == 0 and not net.dense:
            want = sparsity_ramp(sp0, cfg.sparsity, gstep, sched.total, cfg.reach, cfg.ramp)
            st["alpha"] = adapt_alpha(net, st["alpha"], want, cfg.alpha / 100,
                                      cfg.alpha * 100)

    for epoch in range(start, cfg.epochs):
        t0 = time.time()
        order = torch.as_tensor(rng.permutation(len(xtr)))
        ep = run_epoch(
            model, opt, sched, epoch, order, batch_of, loss_fn,
            desc=f"epoch {epoch + 1}/{cfg.epochs}", quiet=quiet, device=cfg.device,
            rank=rank, world=world, before_step=before_step, grad_hook=grad_hook,
            after_step=after_step,
            postfix=lambda: {"alpha": "fixed mask" if st["masks"] is not None
                             else "dense" if net.dense else f"{st['alpha']:.1e}"})
        if not main:  # rank 0 evaluates and checkpoints; the others wait for it
            dist.barrier()
            continue
        layer_sp = net.weight_sparsity()
        sizes = [ly.weight.theta.numel() for ly in net.layers]
        sp = float(np.average(layer_sp, weights=sizes))
        val = evaluate(net, xva, yva, cfg.device)
        log = EpochLog(epoch + 1, ep.loss, ep.train_acc, val, sp, layer_sp, time.time() - t0)
        result.history.append(log)
        if not quiet:
            print(f"epoch {log.epoch}/{cfg.epochs}: loss {log.loss:.4f} train {log.train_acc:.4f}"
                  f" val {log.val_acc:.4f} sparsity {log.sparsity:.4f} ({log.seconds:.0f} s)",
                  flush=True)
        checkpoint.write(ckpt, net=net, opt=opt, epoch=epoch + 1, alpha=st["alpha"],
                         sparsity0=sp0, masks=st["masks"],
                         history=[asdict(h) for h in result.history], config=cfg)
        if world > 1:
            dist.barrier()
    if not main:
        result.reporting = False
        return result
    net = net.cpu()
    exported = export(net)
    js = save_model(exported.model, out / "model")
    result.files = {"model": str(js), "weights": str(js.parent / "weights.npz")}
    result.check = check_bit_exact(net, exported, xva[: cfg.check_frames or len(xva)])
    g = golden.run(exported.model, xva)
    result.check["golden_val_acc"] = float((g.pred == yva).mean())
    test = load_test(cfg)
    if test is not None:  # reported only: nothing above was chosen on it
        xt, yt, tnote = test
        gt = golden.run(exported.model, xt)
        result.check["test"] = {"split": tnote, "frames": len(xt),
                                "torch_acc": evaluate(net, xt, yt, "cpu"),
                                "golden_acc": float((gt.pred == yt).mean())}
    if teacher_record is not None:
        result.check["teacher"] = teacher_record
    result.check["removed_silent_channels"] = [
        int(ly.out_ch - len(k)) for ly, k in zip(arch.layers, exported.kept, strict=True)]
    result.check["exported_weight_sparsity"] = exported.model.sparsity
    metrics = {"config": asdict(cfg), "validation": note,
               "test": result.check.get("test"),
               "history": [asdict(h) for h in result.history], "check": result.check,
               "exported_arch": str(exported.model.arch)}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    result.files["metrics"] = str(out / "metrics.json")
    from fireflys.train.plots import training_plots

    result.files.update({k: str(v) for k, v in training_plots(result, exported.model,
                                                                out).items()})
    return result
