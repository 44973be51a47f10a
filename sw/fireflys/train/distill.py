"""Knowledge distillation for `fireflys train --distill W`.

The teacher is a dense floating-point CNN of the student's own architecture (same layer
string, ReLU instead of spiking neurons, no pruning, no quantization), trained first on the
same training frames. The student's loss is then

    (1 - W) * CE(z, label) + W * tau^2 * KL(softmax(teacher / tau) || softmax(z / tau)),
    z = scores / T

(Hinton et al. 2015; tau = ``--distill-temp``), where z = ``scores / T`` are the logits the
plain cross-entropy loss already uses. Only the training loss changes: the exported integer
network and its bit-exactness are untouched.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from fireflys.core.arch import Arch
from fireflys.train import checkpoint

_BATCH = 128  # teacher training batch


class Teacher(nn.Module):
    """Dense float CNN of ``arch``: conv/FC, ReLU, 2x2 max-pool where the arch pools."""

    def __init__(self, arch: Arch, *, encoding: str, in_bits: int, seed: int) -> None:
        super().__init__()
        self.encoding = encoding
        self.in_scale = 1.0 / ((1 << in_bits) - 1) if encoding == "direct" else 1.0
        mods: list[nn.Module] = []
        with torch.random.fork_rng():  # seeded init that leaves the caller's RNG alone
            torch.manual_seed(seed)
            for i, g in enumerate(arch.layers):
                if g.kind == "fc":
                    mods += [nn.Flatten(), nn.Linear(g.fan_in, g.out_ch)]
                else:
                    mods.append(nn.Conv2d(g.in_shape[0], g.out_ch, g.kernel, padding=g.pad))
                if i < len(arch.layers) - 1:
                    mods.append(nn.ReLU())
                    if g.pool == 2:
                        mods.append(nn.MaxPool2d(2))
        self.body = nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x as the student gets it: direct pixels [B, C, H, W] or spikes [B, T, C, H, W]
        (the teacher sees the spike rate)."""
        x = x.float()
        if self.encoding == "spikes":
            x = x.mean(dim=1)
        out = self.body(x * self.in_scale)
        return out.reshape(len(out), -1)


def distill_loss(logits: torch.Tensor, labels: torch.Tensor, teacher: torch.Tensor,
                 weight: float, temp: float) -> torch.Tensor:
    """(1 - weight) * CE(logits, labels) + weight * temp^2 * KL(teacher || student) at
    temperature ``temp`` (batch mean)."""
    ce = F.cross_entropy(logits, labels)
    if weight == 0:
        return ce
    kl = F.kl_div(F.log_softmax(logits / temp, dim=1), F.log_softmax(teacher / temp, dim=1),
                  reduction="batchmean", log_target=True)
    return (1 - weight) * ce + weight * temp * temp * kl


def accuracy(logits: torch.Tensor, y: np.ndarray) -> float:
    return float((logits.argmax(dim=1).numpy() == y).mean())


def logits_of(model: Teacher, x: torch.Tensor | np.ndarray, batch: int = 1024) -> torch.Tensor:
    """The teacher's logits for every frame of ``x`` (eval mode, CPU tensor)."""
    model.eval()
    dev = next(model.parameters()).device
    x = torch.as_tensor(x)
    with torch.no_grad():
        return torch.cat([model(x[i : i + batch].to(dev)).cpu()
                          for i in range(0, len(x), batch)])


def teacher_for(arch: Arch, xtr: np.ndarray, ytr: np.ndarray, xva: np.ndarray,
                yva: np.ndarray, *, encoding: str, in_bits: int, epochs: int, seed: int,
                device: str, path: Path, quiet: bool, save: bool = True
                ) -> tuple[torch.Tensor, dict]:
    """Train the teacher (Adam, lr 2e-3 cosine-annealed to 0, batch ``_BATCH``), or reload
    it from ``path`` when a teacher of the same architecture, data and settings is there.
    Returns its logits for the training frames ``xtr`` (CPU) and its record (settings,
    validation and training accuracy, seconds). ``save`` False (DDP ranks other than 0,
    which train the same teacher) leaves the file alone."""
    key = {"arch": str(arch), "encoding": encoding, "in_bits": in_bits, "epochs": epochs,
           "seed": seed, "train_frames": len(xtr)}
    model = Teacher(arch, encoding=encoding, in_bits=in_bits, seed=seed).to(device)
    if path.is_file():
        st = checkpoint.read(path, device, "teacher")
        if st.get("key") == key:
            model.load_state_dict(st["state"])
            return logits_of(model, xtr), st["record"]
    t0 = time.time()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    steps = epochs * -(-len(xtr) // _BATCH)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    rng = np.random.default_rng(seed)
    xt = torch.as_tensor(xtr)
    yt = torch.as_tensor(ytr)
    for ep in range(epochs):
        model.train()
        order = torch.as_tensor(rng.permutation(len(xtr)))
        bar = tqdm(range(0, len(xtr), _BATCH), desc=f"teacher {ep + 1}/{epochs}",
                   disable=quiet, leave=False)
        for i in bar:
            idx = order[i : i + _BATCH]
            loss = F.cross_entropy(model(xt[idx].to(device)), yt[idx].to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    train_logits = logits_of(model, xt)
    record = {**key, "val_acc": accuracy(logits_of(model, xva), yva),
              "train_acc": accuracy(train_logits, ytr), "seconds": time.time() - t0}
    if not quiet:
        print(f"teacher (dense float {arch}): validation {record['val_acc'] * 100:.2f} %, "
              f"train {record['train_acc'] * 100:.2f} % ({record['seconds']:.0f} s)", flush=True)
    if save:
        torch.save({"key": key, "state": model.state_dict(), "record": record}, path)
        path.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    return train_logits, record
