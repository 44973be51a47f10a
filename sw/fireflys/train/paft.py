"""Pattern-aware fine-tuning (PAFT) of a trained run for Phi.

Loss = task loss + ``lam`` x (Phi operations per frame / 1000), the operations of
:func:`fireflys.train.paft_penalty.penalty` (patterns per pixel block,
:mod:`fireflys.phi.tables`): linear in the spikes for the current patterns and use decisions,
so the surrogate gradient of the spikes carries it. Patterns are re-selected from the exported
model at every epoch start (and once more at the end). Grad R's prior stays on at the run's
final strength, so the sparsity holds; a run that ended in a fixed-mask phase (``--freeze-at``,
its checkpoint's ``masks``) keeps that mask instead, as the trainer does: no weight that
exported as zero grows back.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from fireflys.core import golden
from fireflys.core.model import save_model
from fireflys.phi import tables as phi
from fireflys.train import checkpoint, paft_penalty
from fireflys.train.checkpoint import make_optimizer, open_run
from fireflys.train.dataset import load_dataset
from fireflys.train.evaluate import check_bit_exact
from fireflys.train.export import export
from fireflys.train.loop import Schedule, run_epoch
from fireflys.train.prune import add_prior_grad, apply_masks, laplace_mu


def _snapshot(net, xcal, xva, yva, q, frames_eval, seed):
    net.eval()
    ex = export(net)
    tables = phi.select(ex.model, xcal, q=q, seed=seed)
    rep = phi.counts(ex.model, tables, xva[:frames_eval])
    t = rep["total"]
    t.update(zero_skip=t["ops_zero_skip"], phi=t["ops_phi"], zs_over_phi=t["ops_ratio"])
    g = golden.run(ex.model, xva)
    return ex, tables, rep, float((g.pred == yva).mean())


def finetune(run_dir: str | Path, out: str | Path, *, lam: float = 1e-3, epochs: int = 3,
             lr: float = 2e-4, q: int = 16, calib: int = 512, frames_eval: int = 512,
             batch: int = 64, threads: int | None = None, max_steps: int | None = None,
             quiet: bool = False, penalty: str = "ops",
             beta: float | None = None) -> dict[str, Any]:
    """PAFT of the run in ``run_dir``; writes ``out`` (checkpoint, model/ with phi.npz,
    phi_finetune.json) and returns the before / after figures (the totals' ``zero_skip``/``phi``
    are operations, plus the union positions the core peels). ``penalty="saving"``: only the
    pattern term; ``beta``: Phi minus beta x zero-skip operations
    (:func:`fireflys.train.paft_penalty.penalty`)."""
    pbeta = paft_penalty.penalty_beta(penalty, beta)  # fails before any work on a bad kind
    if beta is not None:
        penalty = "mixed"
    if threads:
        torch.set_num_threads(threads)
    net, cfg, st = open_run(run_dir)
    alpha = float(st.get("alpha", cfg.alpha))
    xtr, ytr, xva, yva, note = load_dataset(cfg)
    xcal = xtr[:calib]
    t0 = time.time()
    ex, tables, before, acc0 = _snapshot(net, xcal, xva, yva, q, frames_eval, cfg.seed)
    sparsity0 = ex.model.sparsity
    if not quiet:
        print(f"before: accuracy {acc0 * 100:.2f} %, Phi {before['total']['phi']:.0f} "
              f"pairs/frame, zero-skip {before['total']['zero_skip']:.0f} "
              f"({before['total']['zs_over_phi']:.2f} x)", flush=True)
    cfg.lr = lr
    opt = make_optimizer(net, cfg.lr, cfg.weight_decay)
    steps = -(-len(xtr) // batch)
    if max_steps:
        steps = min(steps, max_steps)
    sched = Schedule(lr, epochs, steps, batch)
    rng = np.random.default_rng(cfg.seed + 101)
    xtr_t, ytr_t = torch.as_tensor(xtr, dtype=torch.float32), torch.as_tensor(ytr)
    history = []
    # a dense run (--sparsity 0) has no Grad R prior to keep; a fixed-mask run keeps its mask
    fixed = st.get("masks")
    mu = None if net.dense or fixed is not None else laplace_mu(cfg.sparsity, alpha)

    def prior() -> None:
        if mu is not None:
            add_prior_grad(net.gradr_params(), alpha, mu)

    def keep_mask(_gstep: int) -> None:
        if fixed is not None:
            apply_masks(net, fixed)

    for ep in range(epochs):
        if ep:
            net.eval()
            ex = export(net)
            tables = phi.select(ex.model, xcal, q=q, seed=cfg.seed)
        order = torch.as_tensor(rng.permutation(len(xtr)))

        def loss_fn(xb, yb, idx, ex=ex, tables=tables):
            scores, traces = net(xb, trace=True)
            task = F.cross_entropy(scores / cfg.T, yb)
            work = paft_penalty.penalty(traces, ex.model, tables, ex.kept,
                                        beta=pbeta) / len(idx)
            return task + lam * work / 1000.0, scores, {"task": task, "work": work}

        r = run_epoch(net, opt, sched, ep, order, lambda full: (xtr_t[full], ytr_t[full]),
                      loss_fn, desc=f"PAFT epoch {ep + 1}/{epochs}", quiet=quiet,
                      grad_hook=prior, after_step=keep_mask)
        task_loss, work_pf = r.extra["task"], r.extra["work"]
        history.append({"epoch": ep + 1, "task_loss": task_loss, "work_per_frame": work_pf,
                        "train_acc": r.train_acc})
        if not quiet:
            print(f"PAFT epoch {ep + 1}/{epochs}: task loss {task_loss:.4f}, Phi work "
                  f"{work_pf:.0f} pairs/frame (training batches), train {r.train_acc:.4f}",
                  flush=True)
    ex, tables, after, acc1 = _snapshot(net, xcal, xva, yva, q, frames_eval, cfg.seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = {"model": save_model(ex.model, out / "model")}
    phi.save(tables, ex.model, out / "model")
    check = check_bit_exact(net, ex, xva[:256])
    checkpoint.write(out / checkpoint.NAME, net=net, opt=opt, epoch=cfg.epochs, alpha=alpha,
                     sparsity0=st.get("sparsity0", 0.0), history=st.get("history", []),
                     config=cfg, masks=fixed)
    res = {"run": str(run_dir), "validation": note, "lam": lam, "epochs": epochs, "lr": lr,
           "q": q, "penalty": penalty, "beta": pbeta,
           "accuracy_before": acc0, "accuracy_after": acc1,
           "sparsity_before": float(sparsity0), "sparsity_after": float(ex.model.sparsity),
           "fixed_mask": fixed is not None,
           "before": before, "after": after, "history": history,
           "bit_exact_check": check, "seconds": round(time.time() - t0, 1),
           "model": str(files["model"])}
    (out / "phi_finetune.json").write_text(json.dumps(res, indent=2, default=float) + "\n")
    return res
