"""Training pieces: LSQ, Grad R, silent channels, and a tiny end-to-end run whose eval-mode
PyTorch network equals the golden model on the exported integers, bit for bit."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from fireflys.core import golden
from fireflys.core.arch import parse_arch
from fireflys.core.model import load_model
from fireflys.data import load_digits
from fireflys.train.checkpoint import load_run, net_for
from fireflys.train.config import TrainConfig, TrainError
from fireflys.train.evaluate import check_bit_exact
from fireflys.train.export import export
from fireflys.train.prune import GradRParam, bias_only_spikes, laplace_mu, silent_channels
from fireflys.train.quant import fake_quant, to_int
from fireflys.train.schedule import sparsity_ramp
from fireflys.train.snn import SpikingNet
from fireflys.train.trainer import train

TINY = "1x8x8-6c3p1-mp2-8c3p1-10fc"


@pytest.mark.parametrize("target", [0.3, 0.5, 0.9, 0.94])
def test_laplace_mass_below_zero_is_the_target(target: float) -> None:
    alpha = 2e-3
    mu = laplace_mu(target, alpha)
    # Laplace CDF at 0
    cdf = 0.5 * math.exp(alpha * (0 - mu)) if 0 < mu else 1 - 0.5 * math.exp(-alpha * (0 - mu))
    assert cdf == pytest.approx(target)


def test_gradr_prunes_and_regrows() -> None:
    p = GradRParam(torch.tensor([0.5, -0.5, 0.2]))
    with torch.no_grad():
        p.theta[2] = -0.1  # pruned
    w = p()
    assert w.tolist() == [0.5, -0.5, 0.0]
    (w * torch.tensor([1.0, 1.0, -3.0])).sum().backward()
    # the gradient reaches the pruned theta (ReLU ignored), signed by the fixed sign
    assert p.theta.grad.tolist() == [1.0, -1.0, -3.0]


def test_fake_quant_matches_exported_integers() -> None:
    x = torch.randn(1000) * 3
    step = torch.tensor(0.37)
    np.testing.assert_allclose(fake_quant(x, step, -8, 7).numpy(),
                               (to_int(x, step, -8, 7) * step).numpy(), rtol=1e-6)
    assert int(to_int(x, step, -8, 7).min()) >= -8 and int(to_int(x, step, -8, 7).max()) <= 7


def test_silent_channel_rule() -> None:
    w = np.zeros((3, 2, 3, 3), dtype=np.int64)
    w[0, 0, 1, 1] = 2
    bias, theta = np.array([0, -1, 3]), np.array([1, 1, 4])
    # ch1: no weights, negative bias -> silent; ch2: no weights but bias 3 + leak -> fires
    assert bias_only_spikes(bias, theta, 4, 1, "zero")[:, 2].any()
    assert silent_channels(w, bias, theta, 4, 1, "zero").tolist() == [1]


def _trained_net(readout: str = "integrate", reset: str = "zero", k: int = 1) -> SpikingNet:
    torch.manual_seed(0)
    net = SpikingNet(parse_arch(TINY), T=4, seed=1, readout=readout, reset=reset, k=k)
    x, y = load_digits()
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3)
    for i in range(6):
        net.train()
        opt.zero_grad()
        s = net(torch.as_tensor(x[i * 64 : (i + 1) * 64], dtype=torch.float32))
        torch.nn.functional.cross_entropy(s / 4, torch.as_tensor(y[i * 64 : (i + 1) * 64])
                                          ).backward()
        opt.step()
    return net


@pytest.mark.parametrize(("readout", "reset", "k"), [("integrate", "zero", 1),
                                                      ("spikes", "subtract", 2),
                                                      ("integrate", "zero", 0)])
def test_eval_mode_equals_golden_bit_for_bit(readout: str, reset: str, k: int) -> None:
    net = _trained_net(readout, reset, k)
    x, _ = load_digits()
    ex = export(net)
    c = check_bit_exact(net, ex, x[:300])
    assert c["spike_mismatches_per_layer"] == [0] * 3
    assert c["score_mismatches"] == 0 and c["prediction_mismatches"] == 0


def test_silent_channels_are_removed_and_nothing_changes() -> None:
    net = _trained_net()
    with torch.no_grad():  # make channels 1 and 4 of L0 silent: no weights, negative bias
        for c in (1, 4):
            net.layers[0].weight.theta[c] = -1.0
            net.layers[0].bias.theta[c] = 5.0
            net.layers[0].bias.sign[c] = -1.0
    ex = export(net)
    assert ex.kept[0].tolist() == [0, 2, 3, 5]
    assert str(ex.model.arch) == "1x8x8-4c3p1-mp2-8c3p1-10fc"
    x, _ = load_digits()
    c = check_bit_exact(net, ex, x[:200])
    assert sum(c["spike_mismatches_per_layer"]) == 0 and c["score_mismatches"] == 0


def test_train_export_reload_and_resume(tmp_path) -> None:
    cfg = TrainConfig(arch=TINY, dataset="digits", out=str(tmp_path / "run"), epochs=1,
                      batch=32, max_steps=4, check_frames=64, sparsity=0.5)
    r = train(cfg, quiet=True)
    assert sum(r.check["spike_mismatches_per_layer"]) == 0 and r.check["score_mismatches"] == 0
    m = load_model(tmp_path / "run" / "model")  # the compiled model reloads and validates
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["history"][0]["epoch"] == 1
    x, y = load_digits()
    g = golden.run(m, x)
    assert abs(metrics["check"]["golden_val_acc"] - r.history[-1].val_acc) < 1e-12
    assert 0.0 <= (g.pred == y).mean() <= 1.0
    for f in ("plot_curves", "plot_layers", "plot_hist"):
        assert (tmp_path / "run" / r.files[f].split("/")[-1]).stat().st_size > 1000
    # resume: one more epoch on top of the checkpoint
    cfg.epochs = 2
    r2 = train(cfg, resume=True, quiet=True)
    assert [h.epoch for h in r2.history] == [1, 2]
    assert r2.history[0] == r.history[0]
    # init-from: a new run starts from the trained weights (a zero-step run keeps them exactly)
    from fireflys.train.checkpoint import init_from_run

    cfg3 = TrainConfig(arch=TINY, dataset="digits", out=str(tmp_path / "ft"), epochs=1,
                       batch=32, max_steps=2, check_frames=32, sparsity=0.5,
                       init_from=str(tmp_path / "run"))
    net, _ = load_run(tmp_path / "run")
    fresh = SpikingNet(parse_arch(TINY), T=cfg3.T, encoding="direct", seed=1)
    init_from_run(fresh, cfg3)
    for a, b in zip(fresh.state_dict().values(), net.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    r3 = train(cfg3, quiet=True)
    assert [h.epoch for h in r3.history] == [1]
    assert abs(r3.history[0].sparsity - r2.history[-1].sparsity) < 0.2
    cfg3.seed = 7  # another held-out split: the initial run trained on its frames
    with pytest.raises(TrainError, match="config field 'seed' is 0 there but 7 here"):
        train(cfg3, quiet=True)
    cfg3.seed, cfg3.init_from = 0, str(tmp_path / "nothing")
    with pytest.raises(TrainError, match="--init-from: no checkpoint"):
        train(cfg3, quiet=True)


def test_fixed_mask_phase_keeps_pruned_weights_zero(tmp_path) -> None:
    """--freeze-at 0 with --init-from: a high learning rate moves the surviving weights, but no
    weight that exported as zero grows back (the Grad R prior alone would let it), and a resumed
    run keeps the same frozen mask."""
    base = TrainConfig(arch=TINY, dataset="digits", out=str(tmp_path / "run"), epochs=1,
                       batch=32, max_steps=6, check_frames=16, sparsity=0.6, alpha=2e-2)
    train(base, quiet=True)
    before, _ = load_run(tmp_path / "run")
    zero0 = [ly.integers()[0] == 0 for ly in before.layers]
    assert sum(int(z.sum()) for z in zero0) > 0
    cfg = TrainConfig(arch=TINY, dataset="digits", out=str(tmp_path / "fix"), epochs=1,
                      batch=32, max_steps=8, check_frames=16, sparsity=0.6, lr=2e-2,
                      init_from=str(tmp_path / "run"), freeze_at=0.0)
    r = train(cfg, quiet=True)
    assert sum(r.check["spike_mismatches_per_layer"]) == 0 and r.check["score_mismatches"] == 0
    after, _ = load_run(tmp_path / "fix")
    moved = 0
    for z, a, b in zip(zero0, after.layers, before.layers, strict=True):
        qa = a.integers()[0]
        assert not (qa[z] != 0).any(), "a frozen zero weight grew back"
        moved += int((qa != b.integers()[0]).sum())
    assert moved > 0, "the fixed-mask phase did not train"
    st = torch.load(tmp_path / "fix" / "checkpoint.pt", weights_only=False)
    assert st["masks"] is not None and len(st["masks"]) == 2 * len(after.layers)
    cfg.epochs = 2
    train(cfg, resume=True, quiet=True)
    again, _ = load_run(tmp_path / "fix")
    for m, a in zip(st["masks"][::2], again.layers, strict=True):
        assert not (a.integers()[0][~m] != 0).any()


def test_dense_training_flips_signs_and_stays_bit_exact(tmp_path) -> None:
    """--sparsity 0: no Grad R prior, signed weights (a weight may cross zero instead of
    sticking there), exported bit-exactly; a pruned run can seed it, not the other way."""
    from fireflys.train.checkpoint import init_from_run

    cfg = TrainConfig(arch=TINY, dataset="digits", out=str(tmp_path / "dense"), epochs=1,
                      batch=32, max_steps=8, check_frames=32, sparsity=0.0, lr=2e-2)
    net0 = net_for(cfg)
    w0 = [ly.weight().detach().clone() for ly in net0.layers]
    assert net0.dense and all(torch.equal(p.sign, torch.ones_like(p.sign))
                              for p in net0.gradr_params())
    r = train(cfg, quiet=True)
    assert sum(r.check["spike_mismatches_per_layer"]) == 0 and r.check["score_mismatches"] == 0
    net, _ = load_run(tmp_path / "dense")
    flips = sum(int(((a > 0) & (ly.weight() < 0)).sum() + ((a < 0) & (ly.weight() > 0)).sum())
                for a, ly in zip(w0, net.layers, strict=True))
    assert flips > 0, "no weight changed sign: the dense parameterization is not in use"
    assert r.history[-1].sparsity < 0.5
    # a pruned run seeds a dense one: same signed weights
    pruned = TrainConfig(arch=TINY, dataset="digits", out=str(tmp_path / "pruned"), epochs=1,
                         batch=32, max_steps=4, check_frames=16, sparsity=0.5)
    train(pruned, quiet=True)
    src, _ = load_run(tmp_path / "pruned")
    cfg2 = TrainConfig(arch=TINY, dataset="digits", out=str(tmp_path / "d2"), epochs=1,
                       sparsity=0.0, init_from=str(tmp_path / "pruned"))
    dst = net_for(cfg2)
    init_from_run(dst, cfg2)
    for a, b in zip(dst.layers, src.layers, strict=True):
        assert torch.equal(a.weight(), b.weight()) and torch.equal(a.bias(), b.bias())
    cfg3 = TrainConfig(arch=TINY, dataset="digits", out=str(tmp_path / "p2"), epochs=1,
                       sparsity=0.5, init_from=str(tmp_path / "dense"))
    with pytest.raises(TrainError, match="a dense run .* cannot seed a pruned one"):
        init_from_run(net_for(cfg3), cfg3)
    with pytest.raises(TrainError, match="--freeze-at fixes a pruning mask"):
        train(TrainConfig(arch=TINY, out=str(tmp_path / "x"), sparsity=0.0, freeze_at=0.5),
              quiet=True)


def test_bad_options(tmp_path) -> None:
    with pytest.raises(TrainError, match="--resume: no checkpoint"):
        train(TrainConfig(arch=TINY, out=str(tmp_path / "x")), resume=True, quiet=True)
    with pytest.raises(TrainError, match="bad --sparsity"):
        train(TrainConfig(arch=TINY, out=str(tmp_path / "x"), sparsity=1.5), quiet=True)
    with pytest.raises(TrainError, match="bad --ramp: 'quadratic'"):
        train(TrainConfig(arch=TINY, out=str(tmp_path / "x"), ramp="quadratic"), quiet=True)
    with pytest.raises(TrainError, match="bad --freeze-at: 1.0"):
        train(TrainConfig(arch=TINY, out=str(tmp_path / "x"), freeze_at=1.0), quiet=True)
    with pytest.raises(TrainError, match="bad --reach: 0.0"):
        train(TrainConfig(arch=TINY, out=str(tmp_path / "x"), reach=0.0), quiet=True)
    with pytest.raises(TrainError, match=r"frames are \[1, 8, 8\], the architecture's input "
                       r"is \[1, 28, 28\]"):
        train(TrainConfig(arch="scnn5", out=str(tmp_path / "x"), epochs=1), quiet=True)


def test_spike_input_training_on_dvs_layout(tmp_path) -> None:
    """Event data (DVS-Gesture files in tonic's layout) trains with spike encoding and
    exports bit-exactly."""
    rng = np.random.default_rng(0)
    for split in ("ibmGestureTrain", "ibmGestureTest"):
        for u in range(3):
            d = tmp_path / split / f"user{u:02d}_led"
            d.mkdir(parents=True)
            for c in range(11):
                n = 300
                ev = np.stack([rng.integers(0, 128, n), rng.integers(0, 128, n),
                               rng.integers(0, 2, n), np.sort(rng.integers(0, 10**6, n))], 1)
                np.save(d / f"{c}.npy", ev)
    cfg = TrainConfig(arch="2x16x16-4c3p1-mp2-11fc", dataset="dvs-gesture",
                      data_dir=str(tmp_path), out=str(tmp_path / "run"), epochs=1, batch=8,
                      max_steps=3, check_frames=33)
    r = train(cfg, quiet=True)
    assert "held-out" in r.val_note  # validation: held-out recordings of the training split
    assert r.check["test"]["split"] == "DVS-Gesture test split (33 recordings)"
    assert sum(r.check["spike_mismatches_per_layer"]) == 0 and r.check["score_mismatches"] == 0
    assert load_model(tmp_path / "run" / "model").encoding == "spikes"


def test_ddp_two_ranks_with_torchrun(tmp_path) -> None:
    """Multi-process training is PyTorch DDP under torchrun (gloo on CPU here): two ranks
    share each batch (an odd one: unequal shares), rank 0 exports, the export is bit-exact;
    shift augmentation and distillation run under DDP too (rank 0 keeps the teacher)."""
    import shutil
    import subprocess
    import sys

    torchrun = shutil.which("torchrun") or str(Path(sys.executable).parent / "torchrun")
    cmd = [torchrun, "--standalone", "--nproc_per_node", "2", "-m", "fireflys.cli",
           "train", "--arch", "1x8x8-4c3p1-mp2-10fc", "--dataset", "digits",
           "--epochs", "2", "--max-steps", "3", "--batch", "31", "--threads", "1",
           "--augment-shift", "1", "--distill", "0.5", "--teacher-epochs", "1",
           "--out", str(tmp_path / "ddp")]
    r = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=600)
    if r.returncode != 0 and "terminate called without an active exception" in r.stderr:
        # seen once on a loaded 2-core machine (a rank aborted by the C++ runtime after its
        # last epoch; 0 of 3 reruns): one more run, which must then pass
        r = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "0 mismatches" in r.stdout
    metrics = json.loads((tmp_path / "ddp" / "metrics.json").read_text())
    assert [h["epoch"] for h in metrics["history"]] == [1, 2]
    assert metrics["check"]["teacher"]["epochs"] == 1
    assert (tmp_path / "ddp" / "teacher.pt").is_file()


@pytest.mark.parametrize("shape", ["linear", "cubic"])
def test_sparsity_ramp_shapes(shape: str) -> None:
    """Both ramps start at the initial sparsity, rise monotonically, reach the target exactly
    at ``reach`` of the run and stay there; the cubic one is ahead of the linear one."""
    total, reach = 1000, 0.6
    vals = [sparsity_ramp(0.2, 0.9, s, total, reach, shape) for s in range(total + 1)]
    assert vals[0] == pytest.approx(0.2)
    assert bool(np.all(np.diff(vals) >= 0))
    assert vals[600] == pytest.approx(0.9) and vals[-1] == pytest.approx(0.9)
    assert vals[599] < 0.9
    lin = sparsity_ramp(0.2, 0.9, 300, total, reach, "linear")
    assert lin == pytest.approx(0.2 + 0.7 * 0.5)
    if shape == "cubic":
        assert vals[300] == pytest.approx(0.2 + 0.7 * (1 - 0.5 ** 3))
    with pytest.raises(TrainError, match="unknown sparsity ramp"):
        sparsity_ramp(0.2, 0.9, 1, total, reach, "step")


def test_distill_loss_formula() -> None:
    """The loss is (1 - W) CE + W tau^2 KL(teacher || student) at temperature tau, written
    out here in numpy; W = 0 is the plain cross-entropy."""
    from fireflys.train.distill import distill_loss

    g = torch.Generator().manual_seed(3)
    z = torch.randn(5, 10, generator=g, dtype=torch.float64) * 3
    t = torch.randn(5, 10, generator=g, dtype=torch.float64) * 3
    y = torch.tensor([0, 3, 9, 2, 2])

    def log_softmax(a: np.ndarray) -> np.ndarray:
        a = a - a.max(axis=1, keepdims=True)
        return a - np.log(np.exp(a).sum(axis=1, keepdims=True))

    zn, tn = z.numpy(), t.numpy()
    ce = -log_softmax(zn)[np.arange(5), y.numpy()].mean()
    for w, tau in ((0.5, 4.0), (0.9, 2.0)):
        lp, lq = log_softmax(tn / tau), log_softmax(zn / tau)
        kl = (np.exp(lp) * (lp - lq)).sum(axis=1).mean()
        want = (1 - w) * ce + w * tau * tau * kl
        assert abs(float(distill_loss(z, y, t, w, tau)) - want) < 1e-9
    assert float(distill_loss(z, y, t, 0.0, 4.0)) == pytest.approx(ce, abs=1e-12)
    # the KL term vanishes when the student's logits equal the teacher's
    assert float(distill_loss(t, y, t, 0.5, 4.0)) == pytest.approx(
        0.5 * float(torch.nn.functional.cross_entropy(t, y)), abs=1e-12)


def test_teacher_trains_and_is_reused(tmp_path) -> None:
    """The dense float teacher learns the digits, is kept in its file and reloaded for the
    same settings (the same logits); other settings train a new one."""
    from fireflys.train.distill import accuracy, teacher_for

    x, y = load_digits()
    arch = parse_arch(TINY)
    kw = {"encoding": "direct", "in_bits": 8, "seed": 0, "device": "cpu", "quiet": True}
    path = tmp_path / "teacher.pt"
    l1, rec1 = teacher_for(arch, x[:1400], y[:1400], x[1400:], y[1400:], epochs=25,
                           path=path, **kw)
    assert rec1["val_acc"] > 0.7, rec1  # 10 classes: chance is 0.1
    assert l1.shape == (1400, 10) and accuracy(l1, y[:1400]) == rec1["train_acc"]
    assert json.loads(path.with_suffix(".json").read_text())["val_acc"] == rec1["val_acc"]
    l2, rec2 = teacher_for(arch, x[:1400], y[:1400], x[1400:], y[1400:], epochs=25,
                           path=path, **kw)
    assert rec2 == rec1
    assert torch.equal(l1, l2)
    _, rec3 = teacher_for(arch, x[:1400], y[:1400], x[1400:], y[1400:], epochs=2,
                          path=path, **kw)
    assert rec3["epochs"] == 2 and rec3["val_acc"] < rec1["val_acc"]


def test_distilled_training_stays_bit_exact(tmp_path) -> None:
    """--distill changes the training (other weights than the plain run from the same seed)
    and nothing of the export: the eval-mode network still equals the golden model."""
    base = {"arch": TINY, "dataset": "digits", "epochs": 1, "batch": 32, "max_steps": 6,
            "check_frames": 64, "sparsity": 0.5}
    plain = train(TrainConfig(out=str(tmp_path / "plain"), **base), quiet=True)
    kd = train(TrainConfig(out=str(tmp_path / "kd"), distill=0.7, distill_temp=3.0,
                           teacher_epochs=3, **base), quiet=True)
    assert sum(kd.check["spike_mismatches_per_layer"]) == 0 and kd.check["score_mismatches"] == 0
    assert kd.check["teacher"]["epochs"] == 3 and "teacher" not in plain.check
    assert (tmp_path / "kd" / "teacher.pt").is_file()
    assert kd.history[0].loss != plain.history[0].loss
    a, _ = load_run(tmp_path / "plain")
    b, _ = load_run(tmp_path / "kd")
    assert any(not torch.equal(p, q) for p, q in
               zip(a.state_dict().values(), b.state_dict().values(), strict=True))
    for bad, name in (({"distill": 1.0}, "distill"), ({"distill_temp": 0.0}, "distill-temp"),
                      ({"teacher_epochs": 0}, "teacher-epochs")):
        with pytest.raises(TrainError, match=f"bad --{name}:"):
            train(TrainConfig(out=str(tmp_path / "x"), **{**base, **bad}), quiet=True)


@pytest.mark.parametrize("shape", [(6, 2, 7, 9), (5, 3, 2, 6, 6)])
def test_shift_frames_matches_a_pixel_loop(shape: tuple[int, ...]) -> None:
    """Each frame moves by its own (dy, dx), zeros come in at the borders; direct frames
    [B, C, H, W] and spike frames [B, T, C, H, W] alike."""
    from fireflys.train.augment import random_shift, shift_frames

    rng = np.random.default_rng(5)
    x = torch.as_tensor(rng.integers(1, 256, size=shape))
    dy, dx = rng.integers(-3, 4, size=len(x)), rng.integers(-3, 4, size=len(x))
    dy[0], dx[0] = 3, -3  # the largest offsets both ways
    out = shift_frames(x, dy, dx).numpy()
    h, w = shape[-2:]
    want = np.zeros(shape, dtype=out.dtype)
    for b in range(len(x)):
        for i in range(h):
            for j in range(w):
                si, sj = i - dy[b], j - dx[b]
                if 0 <= si < h and 0 <= sj < w:
                    want[b, ..., i, j] = x[b, ..., si, sj].numpy()
    assert np.array_equal(out, want)
    assert torch.equal(random_shift(x, 0, rng), x)
    moved = random_shift(x, 2, np.random.default_rng(0))
    assert moved.shape == x.shape and not torch.equal(moved, x)


def test_augmented_training_runs_and_stays_bit_exact(tmp_path) -> None:
    base = {"arch": TINY, "dataset": "digits", "epochs": 1, "batch": 32, "max_steps": 4,
            "check_frames": 64, "sparsity": 0.5}
    plain = train(TrainConfig(out=str(tmp_path / "plain"), **base), quiet=True)
    aug = train(TrainConfig(out=str(tmp_path / "aug"), augment_shift=1, **base), quiet=True)
    assert sum(aug.check["spike_mismatches_per_layer"]) == 0 and aug.check["score_mismatches"] == 0
    assert aug.history[0].loss != plain.history[0].loss
    with pytest.raises(TrainError, match="bad --augment-shift: 9"):
        train(TrainConfig(out=str(tmp_path / "x"), augment_shift=9, **base), quiet=True)
