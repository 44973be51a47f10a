"""Compiler: build the integer model, choose widths, write model.json/weights.npz and images.

Before training lands, :func:`random_model` makes an untrained model with random sparse int4
weights whose thresholds are calibrated so that every layer fires at a realistic rate, which
is what the hardware tests need.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fireflys.compiler.memimg import write_memories
from fireflys.core.arch import Arch, Layer, parse_arch
from fireflys.core.golden import check_input, current, fire, pool, to_nhwc
from fireflys.core.model import (
    ENCODINGS,
    MAX_IN_BITS,
    MAX_K,
    MAX_PCI,
    MAX_T,
    READOUTS,
    RESETS,
    CompiledModel,
    CoreLayer,
    default_pci,
    default_pco,
    save_model,
    takes_direct_input,
)
from fireflys.core.widths import layer_bounds
from fireflys.errors import ConfigError

RANDOM_DENSITY = 0.2  # random frames: the fraction of pixels or spikes non-zero, by default


def random_input(model: CompiledModel, n: int, rng: np.random.Generator,
                 density: float = RANDOM_DENSITY) -> np.ndarray:
    """Random frames: sparse pixels (direct) or Bernoulli spikes (event input)."""
    c, h, w = model.arch.in_shape
    if model.encoding == "direct":
        on = rng.random((n, c, h, w)) < density
        return np.where(on, rng.integers(1, model.xmax(0) + 1, (n, c, h, w)), 0)
    return (rng.random((n, model.T, c, h, w)) < density).astype(np.int64)


def _firing_rate(cur: np.ndarray, theta: np.ndarray, k: int, reset: str) -> np.ndarray:
    """Per-channel firing rate of currents [N, T, H, W, C] for thresholds [C]."""
    return fire(cur, theta, k, reset).mean(axis=(0, 1, 2, 3))


def calibrate_thresholds(current: np.ndarray, k: int, reset: str, rate: float) -> np.ndarray:
    """Per-channel integer thresholds (>= 1) giving a firing rate as close to ``rate`` as
    possible without exceeding it (bisection; the rate is monotone in theta)."""
    c = current.shape[-1]
    span = int(np.abs(current).max()) * current.shape[1] + 2
    lo = np.zeros(c, dtype=np.int64)  # rate(lo) may be > target
    hi = np.full(c, max(span, 2), dtype=np.int64)  # rate(hi) == 0 <= target
    while np.any(hi - lo > 1):
        mid = (lo + hi) // 2
        too_many = _firing_rate(current, mid, k, reset) > rate
        lo = np.where(too_many, mid, lo)
        hi = np.where(too_many, hi, mid)
    return np.maximum(hi, 1)


def random_model(
    arch: str | Arch,
    *,
    sparsity: float,
    T: int = 4,
    seed: int = 0,
    encoding: str = "direct",
    in_bits: int = 8,
    k: int = 1,
    reset: str = "zero",
    readout: str = "integrate",
    rate: float = 0.15,
    calib_frames: int = 64,
    input_density: float = 0.2,
    pco: list[int] | None = None,
    pci: list[int] | None = None,
) -> CompiledModel:
    """Untrained model: int4 weights non-zero with probability ``1 - sparsity``, small biases,
    thresholds calibrated layer by layer to fire at about ``rate`` on random frames (a
    fraction ``input_density`` of pixels or spikes non-zero)."""
    a = parse_arch(arch) if isinstance(arch, str) else arch
    _check_options(a, sparsity, T, encoding, in_bits, k, reset, readout, pco, pci)
    if encoding == "spikes":
        in_bits = 1
    n = len(a.layers)
    rng = np.random.default_rng(seed)
    model = CompiledModel(a, T, encoding, in_bits, readout, [])
    x = to_nhwc(check_input(model, random_input(model, calib_frames, rng, input_density)))
    for i, g in enumerate(a.layers):
        ly = _random_layer(g, sparsity, rng, k, reset,
                           pco[i] if pco else default_pco(g.out_ch),
                           pci[i] if pci else default_pci(g.in_shape[0]))
        last = i == n - 1
        direct = takes_direct_input(encoding, i)
        flat = x if direct else x.reshape(-1, *x.shape[2:])
        acc = layer_bounds(ly.weight, ly.bias, None, xmax=model.xmax(i), T=T, k=k,
                           reset=reset, readout=None).widths()["acc"]
        cur = current(flat, ly, acc)
        cur = np.broadcast_to(cur[:, None], (len(x), T, *cur.shape[1:])) if direct else \
            cur.reshape(len(x), T, *cur.shape[1:])
        if last and readout == "integrate":
            ly.theta = None
        else:
            ly.theta = calibrate_thresholds(cur, k, reset, rate).astype(np.int32)
        model.layers.append(ly)
        if ly.theta is not None:
            s = fire(cur, ly.theta, k, reset)
            x = (pool(s) if g.pool == 2 else s).astype(np.int64)
    model.assign_widths()
    return model


def _check_options(
    a: Arch, sparsity: float, T: int, encoding: str, in_bits: int, k: int, reset: str,
    readout: str, pco: list[int] | None, pci: list[int] | None,
) -> None:
    def need(ok: bool, msg: str) -> None:
        if not ok:
            raise ConfigError(msg)

    need(0.0 <= sparsity <= 1.0, f"--random-sparsity must be in [0, 1], got {sparsity}")
    need(1 <= T <= MAX_T, f"-T must be in 1..{MAX_T}, got {T}")
    need(encoding in ENCODINGS, f"--encoding must be one of {list(ENCODINGS)}, got {encoding!r}")
    need(1 <= in_bits <= MAX_IN_BITS, f"--in-bits must be in 1..{MAX_IN_BITS}, got {in_bits}")
    need(0 <= k <= MAX_K, f"--leak-k must be in 0..{MAX_K}, got {k}")
    need(reset in RESETS, f"--reset must be one of {list(RESETS)}, got {reset!r}")
    need(readout in READOUTS, f"--readout must be one of {list(READOUTS)}, got {readout!r}")
    n = len(a.layers)
    for opt, vals, top in (("pco", pco, None), ("pci", pci, MAX_PCI)):
        if vals is None:
            continue
        need(len(vals) == n, f"--{opt} needs {n} values (one per layer), got {len(vals)}")
        for i, (v, g) in enumerate(zip(vals, a.layers, strict=True)):
            hi = g.out_ch if top is None else top
            need(1 <= v <= hi, f"--{opt} value {v} for layer {i} ({g.token()}) must be in 1..{hi}")


def _random_layer(g: Layer, sparsity: float, rng: np.random.Generator, k: int, reset: str,
                  pco: int, pci: int) -> CoreLayer:
    vals = rng.integers(-8, 8, g.weight_shape)
    vals = np.where(vals == 0, 1, vals)
    keep = rng.random(g.weight_shape) >= sparsity
    weight = np.where(keep, vals, 0).astype(np.int8)
    bias = rng.integers(-2, 3, g.out_ch).astype(np.int32)
    return CoreLayer(g, weight, bias, None, k, reset, pco, pci)


def compile_to_dir(model: CompiledModel, out_dir: str | Path) -> dict[str, Path]:
    """Write ``model.json``, ``weights.npz`` and the memory images under ``out_dir/mem``."""
    out = Path(out_dir)
    js = save_model(model, out)
    manifest = write_memories(model, out / "mem")
    return {"model": js, "weights": out / "weights.npz", "memories": manifest}
