"""Randomized sweeps of the accelerator against the golden model.

Each seed draws a small network and its options: T in 1..8, spike or direct (multi-bit)
input, leak shift k, both resets, both readouts, 1x1 or 3x3 kernels with or without padding,
max-pool or not, PCI not dividing CI and PCO not dividing CO where the layer allows it. Every
core's output stream and the readout must be bit-exact with input gaps and output
back-pressure, every (weight, spike) pair counted once per step. Two seeds run in
``make test``, the rest in ``make test-all``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from fireflys.compiler.compile import compile_to_dir, random_input, random_model
from fireflys.core import golden
from fireflys.core.arch import parse_arch
from fireflys.verify.rtlsim import simulate

FAST = (4, 5)  # between them: direct and spike input, both resets, both readouts, pad 0 and 1
SEEDS = tuple(range(8))


@dataclass(frozen=True)
class Draw:
    arch: str
    opts: dict

    @property
    def id(self) -> str:
        o = self.opts
        enc = "spikes" if o["encoding"] == "spikes" else f"direct{o['in_bits']}b"
        return (f"{self.arch}-T{o['T']}-{enc}-k{o['k']}-{o['reset']}-{o['readout']}"
                f"-pci{'.'.join(map(str, o['pci']))}-pco{'.'.join(map(str, o['pco']))}")


def _not_dividing(rng: np.random.Generator, n: int, top: int) -> int:
    """A value in 1..top that does not divide n, when there is one (else any)."""
    vals = [v for v in range(1, top + 1) if n % v]
    return int(rng.choice(vals)) if vals else int(rng.integers(1, top + 1))


def draw(seed: int) -> Draw:
    rng = np.random.default_rng(7000 + seed)
    ci, size = int(rng.integers(1, 6)), int(rng.integers(5, 9))
    tokens = [f"{ci}x{size}x{size}"]
    for _ in range(int(rng.integers(1, 3))):
        co = int(rng.integers(3, 10))
        kernel = int(rng.choice([1, 3]))
        pad = kernel == 3 and bool(rng.integers(0, 2))
        tokens.append(f"{co}c{kernel}" + ("p1" if pad else ""))
        size = size if pad or kernel == 1 else size - 2
        if size >= 4 and rng.random() < 0.5:
            tokens.append("mp2")
            size //= 2
    tokens.append(f"{int(rng.integers(3, 8))}fc")
    arch = "-".join(tokens)
    layers = parse_arch(arch).layers
    encoding = str(rng.choice(["spikes", "direct"]))
    opts = dict(
        T=int(rng.integers(1, 9)), encoding=encoding,
        in_bits=int(rng.integers(2, 9)) if encoding == "direct" else 1,
        k=int(rng.integers(0, 3)), reset=str(rng.choice(["zero", "subtract"])),
        readout=str(rng.choice(["integrate", "spikes"])),
        sparsity=float(rng.choice([0.3, 0.6, 0.9])),
        pci=[_not_dividing(rng, g.in_shape[0], min(g.in_shape[0], 8)) for g in layers],
        pco=[_not_dividing(rng, g.out_ch, min(g.out_ch, 4)) for g in layers],
    )
    return Draw(arch, opts)


DRAWS = {s: draw(s) for s in SEEDS}


@pytest.mark.parametrize("seed", [
    pytest.param(s, id=f"s{s}-{DRAWS[s].id}",
                 marks=() if s in FAST else pytest.mark.slow) for s in SEEDS])
def test_random_system(tmp_path, seed: int) -> None:
    d = DRAWS[seed]
    model = random_model(d.arch, seed=seed, calib_frames=16, **d.opts)
    compile_to_dir(model, tmp_path / "model")
    x = random_input(model, 6, np.random.default_rng(seed), density=0.3)
    r = simulate(model, tmp_path / "model", x, in_gap=0.3, out_stall=0.3, seed=seed,
                 work_dir=tmp_path / "w")
    assert r.raw["frames_out"] == len(x) and not r.frame_error
    assert r.pairs == golden.run(model, x).work  # each pair once, per step
    for occ, busy in zip(r.occ, r.busy, strict=True):
        assert max(occ) <= busy <= sum(occ)


@pytest.mark.parametrize("q,k", [(8, None), pytest.param(4, 3, marks=pytest.mark.slow)],
                         ids=["q8-whole-pixels", "q4-k3-blocks"])
def test_phi_system(tmp_path, q: int, k: int | None) -> None:
    """The accelerator with both spiking layers' cores in Phi mode (one fed by the other):
    every core's stream and the readout bit-exact with gaps and back-pressure; each Phi
    core's pairs counter equals fireflys.phi.tables's Phi operations, the others the golden
    work."""
    from fireflys.phi import tables as phi
    from fireflys.phi.tables import layer_input
    from helpers import patterned_spikes

    model = random_model("6x6x6-8c3p1-mp2-8c3p1-5fc", seed=3, calib_frames=16, T=4,
                         encoding="spikes", sparsity=0.3, pco=[3, 2, 2], pci=[6, 8, 8])
    compile_to_dir(model, tmp_path / "model")
    rng = np.random.default_rng(1)
    tables = phi.select(model, patterned_spikes(model, 8, rng), q=q,
                       k=None if k is None else {0: k, 1: k})
    assert sorted(tables.layers) == [0, 1]  # not the integrate readout
    x = patterned_spikes(model, 4, rng)
    r = simulate(model, tmp_path / "model", x, in_gap=0.3, out_stall=0.3, seed=2,
                 work_dir=tmp_path / "w", phi=tables)
    assert r.raw["frames_out"] == len(x) and not r.frame_error
    res = golden.run(model, x)
    want = list(res.work)
    for li, tl in tables.layers.items():
        want[li] = phi.layer_counts(model.layers[li], tl,
                                   layer_input(model, x, res, li))["ops_phi"]
    assert r.pairs == want
