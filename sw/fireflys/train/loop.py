"""The one epoch loop of ``fireflys train`` and ``fireflys phi finetune``.

Per step: the batch's frames (a slice of a seeded permutation), the learning rate of the
one-cycle curve, the caller's loss, backward, the caller's gradient hook (Grad R's prior),
the optimizer step and the caller's after-step hook (fixed masks, prior adaptation). A tqdm
bar shows the running loss, accuracy and whatever the caller adds. Under DDP every rank
takes its share ``[rank::world]`` of each batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from tqdm import tqdm

from fireflys.train.schedule import one_cycle

# (frames, labels, batch indices) -> (loss, scores, extra figures to average)
LossFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor],
                  tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]]


@dataclass
class EpochStats:
    loss: float
    train_acc: float
    extra: dict[str, float] = field(default_factory=dict)


@dataclass
class Schedule:
    """Steps and learning-rate curve of a run: ``steps`` per epoch, ``epochs`` in all."""

    lr: float
    epochs: int
    steps: int
    batch: int

    @property
    def total(self) -> int:
        return self.epochs * self.steps

    def global_step(self, epoch: int, step: int) -> int:
        return epoch * self.steps + step + 1


def run_epoch(
    net: torch.nn.Module, opt: torch.optim.Optimizer, sched: Schedule, epoch: int,
    order: torch.Tensor, batch_of: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
    loss_fn: LossFn, *, desc: str, quiet: bool, device: str = "cpu",
    rank: int = 0, world: int = 1,
    before_step: Callable[[int], None] | None = None,
    grad_hook: Callable[[], None] | None = None,
    after_step: Callable[[int], None] | None = None,
    postfix: Callable[[], dict[str, str]] | None = None,
) -> EpochStats:
    """One epoch; ``batch_of(full_batch_indices)`` gives this rank's (frames, labels) and
    hooks get the global step (1-based)."""
    net.train()
    tot_loss, tot_ok, seen = 0.0, 0, 0
    sums: dict[str, float] = {}
    bar = tqdm(range(sched.steps), desc=desc, disable=quiet, leave=False)
    for step in bar:
        full = order[step * sched.batch : (step + 1) * sched.batch]
        idx = full[rank::world]
        xb, yb = batch_of(full)
        xb, yb = xb.to(device), yb.to(device)
        gstep = sched.global_step(epoch, step)
        for group in opt.param_groups:
            group["lr"] = one_cycle(sched.lr, gstep, sched.total)
        if before_step is not None:
            before_step(gstep)
        loss, scores, extra = loss_fn(xb, yb, idx)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if grad_hook is not None:
            grad_hook()
        opt.step()
        if after_step is not None:
            after_step(gstep)
        n = len(idx)
        tot_loss += float(loss.detach()) * n
        tot_ok += int((scores.argmax(dim=1) == yb).sum())
        for k, v in extra.items():
            sums[k] = sums.get(k, 0.0) + float(v.detach()) * n
        seen += n
        if step % 10 == 0:
            bar.set_postfix(loss=f"{tot_loss / seen:.3f}", acc=f"{tot_ok / seen:.3f}",
                            **(postfix() if postfix else {}))
    seen = max(seen, 1)
    return EpochStats(tot_loss / seen, tot_ok / seen, {k: v / seen for k, v in sums.items()})
