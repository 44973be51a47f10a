"""PNG plots (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from fireflys.core.model import CompiledModel  # noqa: E402
from fireflys.train.config import TrainResult  # noqa: E402


def training_plots(r: TrainResult, model: CompiledModel, out: Path) -> dict[str, Path]:
    """Accuracy and sparsity per epoch, sparsity per layer, int4 weight histogram."""
    files = {}
    ep = [h.epoch for h in r.history]
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    ax[0].plot(ep, [h.train_acc for h in r.history], "o-", label="train (fake-quant)")
    ax[0].plot(ep, [h.val_acc for h in r.history], "s-", label="validation (integer)")
    ax[0].set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    ax[0].legend()
    ax[1].plot(ep, [h.sparsity for h in r.history], "o-")
    ax[1].axhline(r.config.sparsity, ls="--", c="gray", label="target")
    ax[1].set(xlabel="epoch", ylabel="weight sparsity", title="int4 weight sparsity")
    ax[1].legend()
    fig.tight_layout()
    files["plot_curves"] = out / "curves.png"
    fig.savefig(files["plot_curves"], dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4))
    names = [f"L{i}\n{ly.geom.token()}" for i, ly in enumerate(model.layers)]
    ax.bar(names, [ly.sparsity for ly in model.layers])
    ax.set(ylabel="weight sparsity", ylim=(0, 1), title="sparsity per layer (exported)")
    fig.tight_layout()
    files["plot_layers"] = out / "layer_sparsity.png"
    fig.savefig(files["plot_layers"], dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4))
    w = np.concatenate([ly.weight.reshape(-1) for ly in model.layers])
    ax.hist(w, bins=np.arange(-8.5, 8.5), log=True)
    ax.set(xlabel="int4 weight", ylabel="count", title="weight histogram (exported)")
    fig.tight_layout()
    files["plot_hist"] = out / "weight_hist.png"
    fig.savefig(files["plot_hist"], dpi=100)
    plt.close(fig)
    return files
