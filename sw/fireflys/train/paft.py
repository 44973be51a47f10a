"""Pattern-aware fine-tuning (PAFT) of a trained run for Phi.

Loss = task loss + ``lam`` x (Phi work per frame / 1000), where the work of a vector ``a``
(a segment of a detector window, see :mod:`fireflys.phi`) with its current pattern ``p`` is,
summed over output channels with segment mask ``m``: ``popcount((a ^ p) & m)`` for the
channels that use the pattern and ``popcount(a & m)`` for the others. For binary ``a`` and a
fixed assignment this is linear in the spikes, ``sum_b G[b] * a[b]`` + const with
``G = cp * (1 - 2 p) + cz`` (``cp``, ``cz``: per bit, the channels with a non-zero weight there
that use / do not use the pattern), so the surrogate gradient of the spikes carries it.
Assignments are recomputed every step from the network's current spikes; patterns and masks
are re-derived from the exported model at every epoch start (and once more at the end).
Grad R's prior stays on at the run's final strength, so the sparsity holds; a run that ended
in a fixed-mask phase (``--freeze-at``, its checkpoint's ``masks``) keeps that mask instead, as
the trainer does: no weight that exported as zero grows back.
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
from fireflys.phi import tp
from fireflys.train import checkpoint, paft_tp
from fireflys.train.checkpoint import make_optimizer, open_run
from fireflys.train.dataset import load_dataset
from fireflys.train.evaluate import check_bit_exact
from fireflys.train.export import export
from fireflys.train.loop import Schedule, run_epoch
from fireflys.train.prune import add_prior_grad, apply_masks, laplace_mu


def _layer_vectors_torch(s: torch.Tensor, ly, kept: np.ndarray) -> torch.Tensor:
    """Torch spikes [B, T, C_full, H, W] of the previous layer -> the compiled layer's segment
    bits [R, nseg, k] (float, with the spikes' gradient)."""
    g = ly.geom
    co, kh, kw, ci, spp = phi.geometry(ly)
    x = s[:, :, torch.as_tensor(kept)]
    b, t = x.shape[:2]
    x = x.reshape(b * t, *x.shape[2:])
    if g.pad:
        x = F.pad(x, (g.pad, g.pad, g.pad, g.pad))
    if spp * ly.pci != ci:
        x = F.pad(x, (0, 0, 0, 0, 0, spp * ly.pci - ci))
    cols = F.unfold(x, (kh, kw))  # N, Cp*kh*kw, L (channel-major)
    n, _, nl = cols.shape
    cols = cols.reshape(n, spp * ly.pci, kh * kw, nl).permute(0, 3, 2, 1)
    return cols.reshape(n * nl, kh * kw * spp, ly.pci)


def _seg_coef(u: np.ndarray, pats: np.ndarray, masks: np.ndarray, k: int,
              method: str) -> tuple[np.ndarray, np.ndarray]:
    """For distinct vectors ``u`` of one segment index: G [n, k] of the module docstring and
    the constant [n] that makes ``sum(G * a) + const`` their Level-2 plus zero-skipping
    pairs."""
    best, use = phi.assign(u, pats, masks, k, method)
    mb = phi.unpack_bits(masks, k).astype(np.float32)  # CO, k
    cp = use.astype(np.float32) @ mb
    cz = (~use).astype(np.float32) @ mb
    pb = phi.unpack_bits(phi.chosen(pats, best), k).astype(np.float32)
    return cp * (1 - 2 * pb) + cz, (cp * pb).sum(axis=1)


def _coefficients(bits: np.ndarray, pats: list[np.ndarray], masks: np.ndarray, k: int,
                  method: str) -> tuple[np.ndarray, float]:
    """G [R, nseg, k] for packed vectors ``bits`` [R, nseg] and the summed constant."""
    out = np.zeros((*bits.shape, k), dtype=np.float32)
    const = 0.0
    for s in range(bits.shape[1]):
        u, inv, cnt = np.unique(bits[:, s], return_inverse=True, return_counts=True)
        g, c = _seg_coef(u, pats[s], masks[:, s], k, method)
        out[:, s] = g[inv.reshape(-1)]
        const += float((c * cnt).sum())
    return out, const


def coefficient_tables(tables: phi.PhiTables, model, masks: dict[int, np.ndarray]
                       ) -> dict[int, list[tuple[np.ndarray, np.ndarray]]]:
    """Per spike layer and segment index, G and the constant for every possible k-bit vector
    (2**k rows): a training step only looks them up."""
    out: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
    for li, tl in tables.layers.items():
        k = model.layers[li].pci
        allv = np.arange(1 << k, dtype=np.uint64)
        out[li] = [_seg_coef(allv, tl.patterns[s], masks[li][:, s], k, tables.method)
                   for s in range(len(tl.patterns))]
    return out


def phi_penalty(traces, model, tables: phi.PhiTables, kept: list[np.ndarray],
                masks: dict[int, np.ndarray],
                lut: dict[int, list[tuple[np.ndarray, np.ndarray]]] | None = None
                ) -> torch.Tensor:
    """Differentiable Phi work (pairs) of a batch, summed over the spike layers (``lut``:
    :func:`coefficient_tables`, much faster than assigning every step)."""
    total = torch.zeros(())
    for li, tl in tables.layers.items():
        ly = model.layers[li]
        a = _layer_vectors_torch(traces[li - 1].out, ly, kept[li - 1])
        bits = phi.pack_bits((a.detach() > 0.5).numpy().astype(np.uint8))
        if lut is None:
            coef, const = _coefficients(bits, tl.patterns, masks[li], ly.pci, tables.method)
        else:
            coef = np.stack([lut[li][s][0][bits[:, s].astype(np.int64)]
                             for s in range(bits.shape[1])], axis=1)
            const = float(sum(lut[li][s][1][bits[:, s].astype(np.int64)].sum()
                              for s in range(bits.shape[1])))
        total = total + (torch.as_tensor(coef, dtype=a.dtype) * a).sum() + const
    return total


def _tables(model, xcal, q, method, seed, core):
    if core == 2:
        return tp.select(model, xcal, q=q, seed=seed)
    return phi.build_tables(model, xcal, q=q, method=method, seed=seed)


def _snapshot(net, xcal, xva, yva, q, frames_eval, method, seed, core=1):
    net.eval()
    ex = export(net)
    tables = _tables(ex.model, xcal, q, method, seed, core)
    if core == 2:
        rep = tp.counts(ex.model, tables, xva[:frames_eval])
        t = rep["total"]
        t.update(zero_skip=t["ops_zero_skip"], phi=t["ops_phi"], zs_over_phi=t["ops_ratio"])
    else:
        rep = phi.op_counts(ex.model, tables, xva[:frames_eval])
    g = golden.run(ex.model, xva)
    return ex, tables, rep, float((g.pred == yva).mean())


def finetune(run_dir: str | Path, out: str | Path, *, lam: float = 1e-3, epochs: int = 3,
             lr: float = 2e-4, q: int = 16, calib: int = 512, frames_eval: int = 512,
             method: str = "masked", batch: int = 64, threads: int | None = None,
             max_steps: int | None = None, quiet: bool = False, core: int = 1,
             penalty: str = "ops", beta: float | None = None) -> dict[str, Any]:
    """PAFT of the run in ``run_dir``; writes ``out`` (checkpoint, model/, phi.npz,
    phi_finetune.json) and returns the before / after figures. ``core=2``: core-v2 Phi
    (patterns per pixel block, :mod:`fireflys.train.paft_tp`'s penalty, ``phi_tp.npz``; the
    totals' ``zero_skip``/``phi`` are operations, plus the union positions core v2 peels;
    ``penalty="saving"``: only the pattern term; ``beta``: Phi minus beta x zero-skip
    operations, :func:`fireflys.train.paft_tp.penalty`)."""
    if core not in (1, 2):
        raise ValueError(f"core must be 1 or 2, got {core}")
    if beta is not None and core != 2:
        raise ValueError("a penalty beta needs core 2 (core-v2 Phi)")
    pbeta = paft_tp.penalty_beta(penalty, beta)  # fails before any work on a bad kind
    if beta is not None:
        penalty = "mixed"
    if threads:
        torch.set_num_threads(threads)
    net, cfg, st = open_run(run_dir)
    alpha = float(st.get("alpha", cfg.alpha))
    xtr, ytr, xva, yva, note = load_dataset(cfg)
    xcal = xtr[:calib]
    t0 = time.time()
    ex, tables, before, acc0 = _snapshot(net, xcal, xva, yva, q, frames_eval, method, cfg.seed,
                                         core)
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
            tables = _tables(ex.model, xcal, q, method, cfg.seed, core)
        masks = ({} if core == 2 else
                 {li: phi.segment_masks(ex.model.layers[li]) for li in tables.layers})
        lut = None if core == 2 else coefficient_tables(tables, ex.model, masks)
        order = torch.as_tensor(rng.permutation(len(xtr)))

        def loss_fn(xb, yb, idx, ex=ex, tables=tables, masks=masks, lut=lut):
            scores, traces = net(xb, trace=True)
            task = F.cross_entropy(scores / cfg.T, yb)
            if core == 2:
                work = paft_tp.penalty(traces, ex.model, tables, ex.kept, beta=pbeta) / len(idx)
            else:
                work = phi_penalty(traces, ex.model, tables, ex.kept, masks, lut) / len(idx)
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
    ex, tables, after, acc1 = _snapshot(net, xcal, xva, yva, q, frames_eval, method, cfg.seed,
                                        core)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = {"model": save_model(ex.model, out / "model")}
    if core == 2:
        tp.save(tables, ex.model, out / "model")
    else:
        phi.save_tables(tables, ex.model, out / "model")
    check = check_bit_exact(net, ex, xva[:256])
    checkpoint.write(out / checkpoint.NAME, net=net, opt=opt, epoch=cfg.epochs, alpha=alpha,
                     sparsity0=st.get("sparsity0", 0.0), history=st.get("history", []),
                     config=cfg, masks=fixed)
    res = {"run": str(run_dir), "validation": note, "lam": lam, "epochs": epochs, "lr": lr,
           "q": q, "method": method, "core": core, "penalty": penalty,
           "beta": pbeta if core == 2 else None,
           "accuracy_before": acc0, "accuracy_after": acc1,
           "sparsity_before": float(sparsity0), "sparsity_after": float(ex.model.sparsity),
           "fixed_mask": fixed is not None,
           "before": before, "after": after, "history": history,
           "bit_exact_check": check, "seconds": round(time.time() - t0, 1),
           "model": str(files["model"])}
    (out / "phi_finetune.json").write_text(json.dumps(res, indent=2, default=float) + "\n")
    return res
