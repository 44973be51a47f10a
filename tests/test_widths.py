"""Width analysis: bounds are sound (adversarial inputs never exceed them) and minimal."""

from __future__ import annotations

import numpy as np
import pytest

from fireflys.core import golden
from fireflys.core.arch import parse_arch
from fireflys.core.model import CompiledModel, CoreLayer
from fireflys.core.widths import signed_width
from helpers import random_compiled, random_frames


@pytest.mark.parametrize(("lo", "hi", "n"), [
    (0, 0, 2), (-1, 0, 2), (0, 1, 2), (-2, 1, 2), (0, 2, 3), (-3, 0, 3), (-128, 127, 8),
    (-129, 0, 9), (0, 128, 9), (-(2**40), 5, 41)])
def test_signed_width(lo: int, hi: int, n: int) -> None:
    assert signed_width(lo, hi) == n


def _fits(rng: tuple[int, int], width: int) -> bool:
    return -(1 << (width - 1)) <= rng[0] and rng[1] <= (1 << (width - 1)) - 1


def _extreme_model(wval: int, theta: int, k: int, reset: str, T: int, readout: str,
                   encoding: str) -> CompiledModel:
    a = parse_arch("3x6x6-5c3p1-mp2-7c3p1-4fc")
    in_bits = 8 if encoding == "direct" else 1
    m = CompiledModel(a, T, encoding, in_bits, readout, [])
    for i, g in enumerate(a.layers):
        w = np.full(g.weight_shape, wval, dtype=np.int8)
        b = np.full(g.out_ch, 3 if wval > 0 else -4, dtype=np.int32)
        neuron = i < len(a.layers) - 1 or readout == "spikes"
        th = np.full(g.out_ch, theta, dtype=np.int32) if neuron else None
        m.layers.append(CoreLayer(g, w, b, th, k, reset, 1, 8))
    m.assign_widths()
    return m


@pytest.mark.parametrize("wval", [7, -8])
@pytest.mark.parametrize("theta", [0, 5, 10**6])
@pytest.mark.parametrize("k", [0, 1, 3])
@pytest.mark.parametrize("reset", ["zero", "subtract"])
@pytest.mark.parametrize(("readout", "encoding"), [("integrate", "direct"), ("spikes", "spikes")])
def test_adversarial_all_on(wval, theta, k, reset, readout, encoding) -> None:
    """All inputs at their maximum and extreme weights: every value stays inside its width,
    and the current bound of the first layer is reached exactly (the analysis is tight)."""
    m = _extreme_model(wval, theta, k, reset, 8, readout, encoding)
    shape = (2, *m.arch.in_shape) if encoding == "direct" else (2, 8, *m.arch.in_shape)
    x = np.full(shape, m.xmax(0))
    res = golden.run(m, x, trace=True)
    for ly, rng in zip(m.layers, res.ranges, strict=True):
        assert _fits(rng["current"], ly.widths["acc"])
        if "v" in rng:
            assert _fits(rng["v"], ly.widths["v"])
    assert _fits(res.ranges[-1]["score"], m.layers[-1].widths["score"])
    b0 = m.bounds(0)
    assert (res.ranges[0]["current"][1] if wval > 0 else res.ranges[0]["current"][0]) == (
        b0.current[1] if wval > 0 else b0.current[0])


@pytest.mark.parametrize("seed", range(60))
def test_random_models_stay_in_bounds(seed: int) -> None:
    rng = np.random.default_rng(5000 + seed)
    m = random_compiled(rng)
    res = golden.run(m, random_frames(m, 4, rng), trace=True)
    for i, (ly, r) in enumerate(zip(m.layers, res.ranges, strict=True)):
        b = m.bounds(i)
        assert b.current[0] <= r["current"][0] and r["current"][1] <= b.current[1]
        if "v" in r:
            assert b.v is not None and b.v[0] <= r["v"][0] and r["v"][1] <= b.v[1]
            assert _fits(r["v"], ly.widths["v"])
    assert _fits(res.ranges[-1]["score"], m.layers[-1].widths["score"])


def test_if_neuron_membrane_bound_grows_with_T() -> None:
    """IF (k=0) with a huge threshold integrates T currents: the V bound must be T * I_max."""
    m = _extreme_model(7, 10**6, 0, "zero", 8, "integrate", "direct")
    b = m.bounds(0)
    assert b.v is not None and b.v[1] == 8 * b.current[1]
    m1 = _extreme_model(7, 10**6, 1, "zero", 8, "integrate", "direct")
    assert m1.bounds(0).v[1] < b.v[1]  # the leak keeps it below 2 * I_max
    assert m1.bounds(0).v[1] <= 2 * m1.bounds(0).current[1]
