"""Numpy golden model of the integer semantics (DESIGN.md), vectorized over a batch of frames.

Convolutions run as im2col matrix products in floating point, which is *exact* here: every
partial sum is an integer bounded by the layer's proven accumulator width (see
:mod:`fireflys.core.widths`), and float32 (float64) represents all integers below 2**24 (2**53)
exactly whatever the summation order. Layers whose bound exceeds 2**53 are rejected. The
neuron update, reset, pooling and readout are done in int64.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from fireflys.core.model import CompiledModel, CoreLayer
from fireflys.errors import FireflysError


class InputError(FireflysError, ValueError):
    """Input frames that do not fit the model (shape, dtype or range)."""


@dataclass
class GoldenResult:
    """Outputs of :func:`run` for a batch of B frames.

    ``spikes[l]``: bool [B, T, C, H, W], the spikes layer l sends to the next core (after its
    max-pool); ``None`` for a non-spiking readout layer. ``pre_pool[l]``: the neuron's spikes
    before pooling (same object as ``spikes[l]`` when the layer has no pool).
    ``work[l]``: (non-zero weight, input = 1) pairs summed over the batch; a direct first layer
    counts each bit-plane's pairs once per window (its current is reused for all T).
    ``work_per_channel[l]``: the same, per output channel [CO].
    ``ranges[l]``: observed (min, max) of 'current', 'v' and 'score' when ``trace=True``.
    """

    spikes: list[np.ndarray | None]
    pre_pool: list[np.ndarray | None]
    scores: np.ndarray  # int64 [B, classes]
    pred: np.ndarray  # int64 [B]
    work: list[int]
    work_per_channel: list[np.ndarray]
    frames: int
    ranges: list[dict[str, tuple[int, int]]] = field(default_factory=list)


def check_input(model: CompiledModel, x: np.ndarray) -> np.ndarray:
    """Validate a batch of input frames; return it as int64.

    direct: [B, C, H, W] integers in [0, 2**in_bits - 1]; spikes: [B, T, C, H, W] of 0/1.
    """
    x = np.asarray(x)
    c, h, w = model.arch.in_shape
    want = (c, h, w) if model.encoding == "direct" else (model.T, c, h, w)
    if x.ndim != len(want) + 1 or tuple(x.shape[1:]) != want:
        dims = ", ".join(map(str, want))
        raise InputError(f"input frames have shape {list(x.shape)}, expected [batch, {dims}] "
                         f"for {model.encoding} input")
    if x.dtype.kind not in "iub":
        raise InputError(f"input frames must be integers, got dtype {x.dtype}")
    hi = model.xmax(0)
    if x.size and (int(x.min()) < 0 or int(x.max()) > hi):
        raise InputError(f"input values must be in [0, {hi}], got [{int(x.min())}, {int(x.max())}]")
    return x.astype(np.int64)


def exact_dtype(acc: int) -> type:
    """Float type in which every integer of an ``acc``-bit accumulator is exact."""
    if acc <= 25:
        return np.float32
    if acc <= 54:
        return np.float64
    raise ValueError(f"accumulator width {acc} too large for the exact float path")


def int_dtype(ly: CoreLayer) -> type:
    """Integer type holding every current and membrane value of the layer."""
    return np.int32 if max(ly.widths.values()) <= 31 else np.int64


def hw_weight(ly: CoreLayer) -> np.ndarray:
    """Weights as [CO, KH, KW, CI]: the hardware window order (FC columns permuted)."""
    g = ly.geom
    c, h, w = g.in_shape
    if g.kind == "fc":
        return ly.weight.reshape(g.out_ch, c, h, w).transpose(0, 2, 3, 1)
    return ly.weight.transpose(0, 2, 3, 1)


def current(x: np.ndarray, ly: CoreLayer, acc_width: int | None = None) -> np.ndarray:
    """Synaptic current W*x + b, channels last: inputs [N, H, W, C] -> [N, Ho, Wo, CO].

    im2col, then one matrix product in a float type that is exact for ``acc_width`` (default:
    the layer's ``widths['acc']``) bits.
    """
    g = ly.geom
    dt = exact_dtype(ly.widths["acc"] if acc_width is None else acc_width)
    if g.pad:
        x = np.pad(x, ((0, 0), (g.pad, g.pad), (g.pad, g.pad), (0, 0)))
    win = sliding_window_view(x.astype(dt), (g.kh, g.kw), axis=(1, 2))  # N, Ho, Wo, C, KH, KW
    n, ho, wo, c = win.shape[:4]
    cols = win.transpose(0, 1, 2, 4, 5, 3).reshape(n * ho * wo, g.kh * g.kw * c)
    wmat = hw_weight(ly).reshape(g.out_ch, -1).astype(dt)
    out = (cols @ wmat.T).reshape(n, ho, wo, g.out_ch)
    idt = int_dtype(ly) if acc_width is None else np.int64
    return out.astype(idt) + ly.bias.astype(idt)


def fire(
    cur: np.ndarray, theta: np.ndarray, k: int, reset: str,
    ranges: dict[str, tuple[int, int]] | None = None,
) -> np.ndarray:
    """Neurons over T steps, channels last: currents [N, T, H, W, C] -> bool spikes, same shape.

    V = leak(V) + I; s = V > theta (strict); then zero or subtract reset. V = 0 at frame start.
    ``ranges``, when given, collects the min/max of V before and after the reset.
    """
    th = theta.astype(cur.dtype)
    v = np.zeros((cur.shape[0], *cur.shape[2:]), dtype=cur.dtype)
    s = np.empty(cur.shape, dtype=bool)
    for t in range(cur.shape[1]):
        if k:
            v -= v >> k
        v += cur[:, t]
        fired = np.greater(v, th, out=s[:, t])
        if ranges is not None:
            _update(ranges, "v", v)
        if reset == "zero":
            np.putmask(v, fired, 0)
        else:
            v -= fired * th
        if ranges is not None:
            _update(ranges, "v", v)
    return s


def pool(s: np.ndarray) -> np.ndarray:
    """2x2 OR-pool, stride 2, floor on odd sizes, channels last: [..., H, W, C] -> [..., H//2,
    W//2, C]."""
    h, w = s.shape[-3] // 2 * 2, s.shape[-2] // 2 * 2
    s = s[..., :h, :w, :]
    return (s[..., 0:h:2, 0:w:2, :] | s[..., 0:h:2, 1:w:2, :]
            | s[..., 1:h:2, 0:w:2, :] | s[..., 1:h:2, 1:w:2, :])


def _work(counts: np.ndarray, ly: CoreLayer) -> np.ndarray:
    """Pairs per output channel. ``counts`` [H, W, C]: how many ones each input position
    carries in total (over frames and steps, or bit-planes for direct input)."""
    g = ly.geom
    if g.pad:
        counts = np.pad(counts, ((g.pad, g.pad), (g.pad, g.pad), (0, 0)))
    _, ho, wo = g.conv_shape
    seen = np.empty((g.kh, g.kw, counts.shape[2]), dtype=np.int64)  # windows seeing a 1 there
    for ky in range(g.kh):
        for kx in range(g.kw):
            seen[ky, kx] = counts[ky : ky + ho, kx : kx + wo].sum(axis=(0, 1))
    mask = hw_weight(ly) != 0  # CO, KH, KW, CI
    return (mask * seen[None]).reshape(g.out_ch, -1).sum(axis=1)


def _popcount(x: np.ndarray) -> np.ndarray:
    return np.bitwise_count(x.astype(np.uint64)).astype(np.int64)


def _update(ranges: dict[str, tuple[int, int]], key: str, a: np.ndarray) -> None:
    if a.size == 0:
        return
    lo, hi = int(a.min()), int(a.max())
    old = ranges.get(key)
    ranges[key] = (lo, hi) if old is None else (min(old[0], lo), max(old[1], hi))


def to_nchw(a: np.ndarray) -> np.ndarray:
    """Channels-last [..., H, W, C] -> [..., C, H, W] (a view)."""
    return np.moveaxis(a, -1, -3)


def to_nhwc(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(a, -3, -1))


def layer_input(model: CompiledModel, x: np.ndarray, res: GoldenResult,
                index: int) -> np.ndarray:
    """Input of layer ``index``, channels last (int64): the frames, or the previous layer's
    spikes from the golden run ``res`` of ``x``."""
    if index == 0:
        return to_nhwc(check_input(model, x))
    prev = res.spikes[index - 1]
    assert prev is not None, "only the last layer may lack spikes"
    return to_nhwc(prev.astype(np.int64))


def run(
    model: CompiledModel, x: np.ndarray, *, trace: bool = False, chunk: int = 32
) -> GoldenResult:
    """Run a batch of frames through the integer model (see :func:`check_input` for ``x``)."""
    x = check_input(model, x)
    parts = [_run_chunk(model, x[i : i + chunk], trace) for i in range(0, max(len(x), 1), chunk)]
    if len(parts) == 1:
        return parts[0]
    return _concat(parts)


def _run_chunk(model: CompiledModel, x: np.ndarray, trace: bool) -> GoldenResult:
    T = model.T
    B = x.shape[0]
    spikes: list[np.ndarray | None] = []
    pre_pool: list[np.ndarray | None] = []
    work: list[int] = []
    wpc: list[np.ndarray] = []
    ranges: list[dict[str, tuple[int, int]]] = []
    scores = np.zeros((B, model.num_classes), dtype=np.int64)
    cur_in = to_nhwc(x)  # direct: [B, H, W, C]; spikes: [B, T, H, W, C]
    for li, ly in enumerate(model.layers):
        rng: dict[str, tuple[int, int]] = {}
        co, ho, wo = ly.geom.conv_shape
        if model.direct(li):
            i_once = current(cur_in, ly)  # computed once per window, reused for all T
            cur = np.broadcast_to(i_once[:, None], (B, T, ho, wo, co))
            counts = _popcount(cur_in).sum(axis=0)
        else:
            flat = cur_in.reshape(B * T, *cur_in.shape[2:])
            cur = current(flat, ly).reshape(B, T, ho, wo, co)
            counts = cur_in.sum(axis=(0, 1), dtype=np.int64)
        per_ch = _work(counts, ly)
        wpc.append(per_ch)
        work.append(int(per_ch.sum()))
        if trace:
            _update(rng, "current", cur)
        if ly.theta is None:  # non-spiking readout: integrate the current
            scores = cur.sum(axis=1, dtype=np.int64).reshape(B, co)
            spikes.append(None)
            pre_pool.append(None)
        else:
            s = fire(cur, ly.theta, ly.k, ly.reset, rng if trace else None)
            out = pool(s) if ly.geom.pool == 2 else s
            pre_pool.append(to_nchw(s))
            spikes.append(to_nchw(out))
            if li == len(model.layers) - 1:
                scores = out.sum(axis=1, dtype=np.int64).reshape(B, co)
            cur_in = out
        if trace and li == len(model.layers) - 1:
            _update(rng, "score", scores)
        ranges.append(rng)
    return GoldenResult(spikes, pre_pool, scores, np.argmax(scores, axis=1), work, wpc, B, ranges)


def _concat(parts: list[GoldenResult]) -> GoldenResult:
    def cat(arrs: list[np.ndarray | None]) -> np.ndarray | None:
        return None if arrs[0] is None else np.concatenate(arrs)  # type: ignore[arg-type]

    n = len(parts[0].spikes)
    ranges = []
    for li in range(len(parts[0].ranges)):
        merged: dict[str, tuple[int, int]] = {}
        for p in parts:
            for key, (lo, hi) in p.ranges[li].items():
                _update(merged, key, np.array([lo, hi]))
        ranges.append(merged)
    return GoldenResult(
        spikes=[cat([p.spikes[i] for p in parts]) for i in range(n)],
        pre_pool=[cat([p.pre_pool[i] for p in parts]) for i in range(n)],
        scores=np.concatenate([p.scores for p in parts]),
        pred=np.concatenate([p.pred for p in parts]),
        work=[sum(p.work[i] for p in parts) for i in range(n)],
        work_per_channel=[sum(p.work_per_channel[i] for p in parts) for i in range(n)],
        frames=sum(p.frames for p in parts),
        ranges=ranges,
    )


def pair_counts(model: CompiledModel, x: np.ndarray,
                res: GoldenResult | None = None) -> list[np.ndarray]:
    """Per layer: pairs k[frame, pixel, channel] over all planes of each output pixel."""
    res = res if res is not None else run(model, x)
    out = []
    for i, ly in enumerate(model.layers):
        ones = replace(ly, weight=(ly.weight != 0).astype(np.int8),
                       bias=np.zeros_like(ly.bias))
        inp = layer_input(model, x, res, i)
        if model.direct(i):
            counts = np.bitwise_count(inp.astype(np.uint64)).astype(np.int64)
            k = current(counts, ones, 40)  # B, Ho, Wo, CO
        else:
            b, t = inp.shape[:2]
            flat = inp.reshape(b * t, *inp.shape[2:])
            cur = current(flat, ones, 40)
            k = cur.reshape(b, t, *cur.shape[1:]).sum(axis=1)
        out.append(k.reshape(k.shape[0], -1, k.shape[-1]))
    return out
