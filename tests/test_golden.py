"""Golden model vs an independent, straightforward int64 reference (explicit loops)."""

from __future__ import annotations

import numpy as np
import pytest

from fireflys.compiler.compile import random_input, random_model
from fireflys.core import golden
from fireflys.core.golden import InputError
from fireflys.core.model import CompiledModel
from helpers import random_compiled, random_frames


def _conv_ref(x: np.ndarray, w: np.ndarray, b: np.ndarray, pad: int) -> np.ndarray:
    """x [C, H, W] int64, w [CO, C, KH, KW] -> [CO, Ho, Wo] by explicit pixel loops."""
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    co, _, kh, kw = w.shape
    ho, wo = xp.shape[1] - kh + 1, xp.shape[2] - kw + 1
    out = np.zeros((co, ho, wo), dtype=np.int64)
    for oy in range(ho):
        for ox in range(wo):
            win = xp[:, oy : oy + kh, ox : ox + kw]
            out[:, oy, ox] = (w * win[None]).sum(axis=(1, 2, 3)) + b
    return out


def reference(model: CompiledModel, frames: np.ndarray):
    """Per frame: spikes per layer [T, C, H, W] and scores, with Python-int neuron maths."""
    all_spikes, all_scores = [], []
    T = model.T
    for frame in frames.astype(np.int64):
        inp = [frame] * T if model.encoding == "direct" else list(frame)
        spikes_frame, scores = [], None
        for li, ly in enumerate(model.layers):
            g = ly.geom
            w = ly.weight.astype(np.int64)
            if g.kind == "fc":
                w = w.reshape(g.out_ch, *g.in_shape)
            cur = [_conv_ref(inp[t], w, ly.bias.astype(np.int64), g.pad) for t in range(T)]
            if ly.theta is None:
                scores = sum(c.reshape(-1) for c in cur)
                spikes_frame.append(None)
                break
            v = np.zeros_like(cur[0])
            out = []
            for t in range(T):
                if ly.k:
                    v = v - (v // (2**ly.k))  # floor division == arithmetic shift
                v = v + cur[t]
                s = v > ly.theta.astype(np.int64)[:, None, None]
                th = ly.theta.astype(np.int64)[:, None, None]
                v = np.where(s, 0, v) if ly.reset == "zero" else np.where(s, v - th, v)
                if g.pool == 2:
                    ph, pw = s.shape[1] // 2, s.shape[2] // 2
                    p = np.zeros((s.shape[0], ph, pw), dtype=bool)
                    for oy in range(ph):
                        for ox in range(pw):
                            quad = s[:, 2 * oy : 2 * oy + 2, 2 * ox : 2 * ox + 2]
                            p[:, oy, ox] = quad.any(axis=(1, 2))
                    s = p
                out.append(s)
            spikes_frame.append(np.stack(out))
            inp = [o.astype(np.int64) for o in out]
            if li == len(model.layers) - 1:
                scores = np.stack(out).sum(axis=(0, 2, 3))
        all_spikes.append(spikes_frame)
        all_scores.append(scores)
    return all_spikes, np.stack(all_scores)


@pytest.mark.parametrize("seed", range(200))
def test_golden_matches_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    model = random_compiled(rng)
    frames = random_frames(model, 3, rng)
    res = golden.run(model, frames, chunk=2)  # chunking is part of what is tested
    ref_spikes, ref_scores = reference(model, frames)
    for b in range(len(frames)):
        for li in range(len(model.layers)):
            want = ref_spikes[b][li]
            got = res.spikes[li]
            if want is None:
                assert got is None
                continue
            if not np.array_equal(got[b], want):
                t, c, y, x = np.argwhere(got[b] != want)[0]
                pytest.fail(f"{model.arch}: frame {b} layer {li} t={t} c={c} y={y} x={x}: "
                            f"golden {got[b][t, c, y, x]} reference {want[t, c, y, x]}")
    np.testing.assert_array_equal(res.scores, ref_scores)
    ties_low = np.array([int(np.flatnonzero(s == s.max())[0]) for s in ref_scores])
    np.testing.assert_array_equal(res.pred, ties_low)


def _work_reference(model: CompiledModel, frames: np.ndarray, res: golden.GoldenResult) -> list:
    """Pairs counted by brute force: for each window, channel, step: mask AND input."""
    out = []
    inputs = frames.astype(np.int64)
    for li, ly in enumerate(model.layers):
        g = ly.geom
        mask = (ly.weight != 0).astype(np.int64)
        if g.kind == "fc":
            mask = mask.reshape(g.out_ch, *g.in_shape)
        total = 0
        for b in range(len(frames)):
            if li == 0 and model.encoding == "direct":
                planes = [np.bitwise_count(inputs[b].astype(np.uint64)).astype(np.int64)]
            else:
                seq = inputs[b] if li == 0 else res.spikes[li - 1][b].astype(np.int64)
                planes = list(seq)
            for x in planes:
                total += int(_conv_ref(x, mask, np.zeros(g.out_ch, np.int64), g.pad).sum())
        out.append(total)
    return out


@pytest.mark.parametrize("seed", range(20))
def test_work_counts_pairs(seed: int) -> None:
    rng = np.random.default_rng(1000 + seed)
    model = random_compiled(rng)
    frames = random_frames(model, 2, rng)
    res = golden.run(model, frames)
    assert res.work == _work_reference(model, frames, res)
    assert [int(w.sum()) for w in res.work_per_channel] == res.work


def test_scnn5_shapes_and_density() -> None:
    model = random_model("scnn5", sparsity=0.9, seed=3)
    res = golden.run(model, random_input(model, 8, np.random.default_rng(0)))
    shapes = [s.shape for s in res.spikes if s is not None]
    assert shapes == [(8, 4, 8, 28, 28), (8, 4, 16, 14, 14), (8, 4, 32, 7, 7),
                      (8, 4, 64, 7, 7), (8, 4, 64, 3, 3)]
    for s, ly in zip(res.pre_pool[:-1], model.layers[:-1], strict=True):
        assert 0.02 < s.mean() < 0.3, ly.geom.token()  # calibrated near the 0.15 target
    assert res.scores.shape == (8, 10)


@pytest.mark.parametrize(
    ("shape", "values", "msg"),
    [
        ((2, 1, 28), 0, "expected [batch, 1, 28, 28]"),
        ((2, 1, 28, 28), 256, "must be in [0, 255]"),
        ((2, 1, 28, 28), -1, "must be in [0, 255]"),
    ],
)
def test_bad_input_frames(shape, values, msg) -> None:
    model = random_model("scnn5", sparsity=0.9, seed=0, calib_frames=4)
    with pytest.raises(InputError, match=msg.replace("[", r"\[").replace("]", r"\]")):
        golden.run(model, np.full(shape, values))
    with pytest.raises(InputError, match="integers"):
        golden.run(model, np.zeros((1, 1, 28, 28), dtype=np.float32))
