"""Accuracy of the integer network and its bit-exact check against the golden model."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from fireflys.core import golden
from fireflys.train.snn import SpikingNet


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
