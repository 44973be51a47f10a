"""The compiled integer model: ``model.json`` + ``weights.npz`` (documented in docs/format.md).

:func:`save_model` writes both files; :func:`load_model` validates every field and raises
:class:`ModelFormatError` with a one-line message naming the file, the layer and the field.
"""

from __future__ import annotations

import hashlib
import json
import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fireflys.core.arch import Arch, ArchError, Layer, parse_arch
from fireflys.core.widths import layer_bounds
from fireflys.errors import FireflysError

FORMAT_NAME = "fireflys-model"
FORMAT_VERSION = 1
ENCODINGS = ("direct", "spikes")
READOUTS = ("integrate", "spikes")
RESETS = ("zero", "subtract")
W_MIN, W_MAX = -8, 7
MAX_T = 64
MAX_PCI = 64
SCAN_BITS = 72  # widest scanner word (bits per plane), the default of every layer
MAX_SCAN_BITS = 128
BUFS = 4  # output pixel buffers of a core, the default of every layer
MAX_BUFS = 64
RINGS = ("lut", "block")  # where a core's scanners keep their ring copies (LUT-RAM, block RAM)
MAX_FIFO = 256  # deepest FIFO after a core
MAX_K = 15
MAX_IN_BITS = 16
MAX_STORED_WIDTH = 32  # bias and theta are stored as int32
MAX_WIDTH = 62  # accumulator / membrane / score


def default_pci(ci: int) -> int:
    """Smallest power of two >= CI, capped at 16 (one segment per kernel position if CI <= 16)."""
    p = 1
    while p < min(ci, 16):
        p *= 2
    return p


def default_pco(co: int) -> int:
    return min(co, 4)


def takes_direct_input(encoding: str, index: int) -> bool:
    """Whether layer ``index`` of a network with input ``encoding`` takes the pixel values
    themselves: the first layer of a ``direct``-encoded network (IN_BITS bit-planes; its current
    is the same every time step, computed once per window and reused for all T)."""
    return index == 0 and encoding == "direct"


class ModelFormatError(FireflysError, ValueError):
    """A compiled model that cannot be used; the message names file, layer and field."""


@dataclass
class CoreLayer:
    """One core of the compiled model: geometry (from the arch string) plus integer parameters."""

    geom: Layer
    weight: np.ndarray  # int8, [CO, CI, K, K] (conv) or [CO, CI*H*W] (fc, torch flatten order)
    bias: np.ndarray  # int32 [CO]
    theta: np.ndarray | None  # int32 [CO]; None for the non-spiking readout layer
    k: int = 1
    reset: str = "zero"
    pco: int = 1
    pci: int = 8
    widths: dict[str, int] = field(default_factory=dict)
    scan_bits: int = SCAN_BITS  # widest scanner word (the planner may narrow it)
    bufs: int = BUFS  # output pixel buffers (a power of two; the planner may add some)
    ring: str = "lut"  # the scanners' ring copies in LUT-RAM or block RAM (RINGS)
    # depth of the FIFO after the core (None: fireflys.compiler.shape.fifo_depth_of its output
    # shape; the planner may deepen it; the last core has none)
    fifo: int | None = None
    # the hardware's dense baseline (fireflys.compiler.coreplan.dense_baseline): every weight,
    # zero or not, stored and visited; never saved (not a field of model.json)
    dense: bool = False

    @property
    def neuron(self) -> bool:
        return self.theta is not None

    @property
    def nnz(self) -> int:
        return int(np.count_nonzero(self.weight))

    def same_values(self, other: CoreLayer) -> bool:
        """Whether the integer parameters (weights, bias, thresholds) equal ``other``'s."""
        return (np.array_equal(self.weight, other.weight)
                and np.array_equal(self.bias, other.bias)
                and (self.theta is None) == (other.theta is None)
                and (self.theta is None or np.array_equal(self.theta, other.theta)))

    @property
    def sparsity(self) -> float:
        return 1.0 - self.nnz / self.weight.size


@dataclass
class CompiledModel:
    arch: Arch
    T: int
    encoding: str  # "direct" | "spikes"
    in_bits: int  # bits per input pixel for "direct" (1 for "spikes")
    readout: str  # "integrate" | "spikes"
    layers: list[CoreLayer]

    @property
    def num_classes(self) -> int:
        return self.arch.num_classes

    def direct(self, index: int) -> bool:
        """Whether core ``index`` takes direct (pixel) input (:func:`takes_direct_input`)."""
        return takes_direct_input(self.encoding, index)

    def planes(self, index: int) -> int:
        """Input planes of core ``index``: IN_BITS bit-planes for direct input, else T."""
        return self.in_bits if self.direct(index) else self.T

    def xmax(self, index: int) -> int:
        """Largest input value of layer ``index`` (pixel maximum for the direct first layer)."""
        return (1 << self.in_bits) - 1 if self.direct(index) else 1

    @property
    def sparsity(self) -> float:
        """Fraction of the model's weights that are zero."""
        return 1 - sum(ly.nnz for ly in self.layers) / sum(ly.weight.size for ly in self.layers)

    def layer_names(self) -> list[str]:
        return [f"L{i}" for i in range(len(self.layers))]

    def bounds(self, index: int):  # -> widths.LayerBounds
        ly = self.layers[index]
        last = index == len(self.arch.layers) - 1
        return layer_bounds(
            ly.weight, ly.bias, ly.theta, xmax=self.xmax(index), T=self.T, k=ly.k,
            reset=ly.reset, readout=self.readout if last else None,
        )

    def assign_widths(self) -> None:
        """Set every layer's widths to the minimal ones proven by :mod:`fireflys.core.widths`."""
        for i, ly in enumerate(self.layers):
            ly.widths = self.bounds(i).widths()


# ----------------------------------------------------------------------------------------------
# writing


def _layer_json(ly: CoreLayer) -> dict[str, Any]:
    g = ly.geom
    return {
        "kind": g.kind,
        "in_shape": list(g.in_shape),
        "out_shape": list(g.out_shape),
        "kernel": [g.kh, g.kw],
        "pad": g.pad,
        "pool": g.pool,
        "neuron": ly.neuron,
        "k": ly.k,
        "reset": ly.reset,
        "widths": dict(ly.widths),
        "pco": ly.pco,
        "pci": ly.pci,
        "scan_bits": ly.scan_bits,
        "bufs": ly.bufs,
        "ring": ly.ring,
        **({} if ly.fifo is None else {"fifo": ly.fifo}),
        "nnz": ly.nnz,
        "sparsity": round(ly.sparsity, 6),
    }


def save_model(model: CompiledModel, out_dir: str | Path,
               provenance: dict[str, Any] | None = None) -> Path:
    """Write ``model.json`` and ``weights.npz`` into ``out_dir`` (created); return the json path.
    ``provenance``: where the model came from (an imported model's source and fidelity), kept
    in model.json as it is."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if any(not ly.widths for ly in model.layers):
        model.assign_widths()
    arrays: dict[str, np.ndarray] = {}
    for name, ly in zip(model.layer_names(), model.layers, strict=True):
        arrays[f"{name}.weight"] = ly.weight.astype(np.int8)
        arrays[f"{name}.bias"] = ly.bias.astype(np.int32)
        if ly.theta is not None:
            arrays[f"{name}.theta"] = ly.theta.astype(np.int32)
    npz = out / "weights.npz"
    np.savez_compressed(npz, **arrays)
    doc = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "arch": str(model.arch),
        "T": model.T,
        "input": {
            "shape": list(model.arch.in_shape),
            "encoding": model.encoding,
            "in_bits": model.in_bits,
        },
        "readout": model.readout,
        "num_classes": model.num_classes,
        "weights_sha256": hashlib.sha256(npz.read_bytes()).hexdigest(),
        "layers": [
            {"name": n, **_layer_json(ly)}
            for n, ly in zip(model.layer_names(), model.layers, strict=True)
        ],
    }
    if provenance is not None:
        doc["provenance"] = provenance
    js = out / "model.json"
    js.write_text(json.dumps(doc, indent=2) + "\n")
    return js


# ----------------------------------------------------------------------------------------------
# loading + validation


class _Ctx:
    """Builds one-line error messages: '<file>: layer <i> (<name>): field '<f>': <problem>'."""

    def __init__(self, file: Path, layer: tuple[int, str] | None = None) -> None:
        self.file = file
        self.layer = layer

    def at(self, index: int, name: str) -> _Ctx:
        return _Ctx(self.file, (index, name))

    def err(self, fld: str, problem: str) -> ModelFormatError:
        where = f"{self.file}: "
        if self.layer is not None:
            where += f"layer {self.layer[0]} ({self.layer[1]}): "
        return ModelFormatError(f"{where}field '{fld}': {problem}")

    def get(self, obj: dict[str, Any], fld: str) -> Any:
        if fld not in obj:
            raise self.err(fld, "missing")
        return obj[fld]

    def int_in(self, obj: dict[str, Any], fld: str, lo: int, hi: int) -> int:
        v = self.get(obj, fld)
        if not isinstance(v, int) or isinstance(v, bool):
            raise self.err(fld, f"expected an integer, got {type(v).__name__} {v!r}")
        if not lo <= v <= hi:
            raise self.err(fld, f"{v} is out of range [{lo}, {hi}]")
        return v

    def choice(self, obj: dict[str, Any], fld: str, options: tuple[str, ...]) -> str:
        v = self.get(obj, fld)
        if not isinstance(v, str) or v not in options:
            raise self.err(fld, f"expected one of {list(options)}, got {v!r}")
        return v

    def int_list(self, obj: dict[str, Any], fld: str, n: int) -> list[int]:
        v = self.get(obj, fld)
        ok = isinstance(v, list) and len(v) == n
        ok = ok and all(isinstance(e, int) and not isinstance(e, bool) for e in v)
        if not ok:
            raise self.err(fld, f"expected a list of {n} integers, got {v!r}")
        return v


def _read_json(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ModelFormatError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ModelFormatError(f"{path}: cannot read ({e})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise ModelFormatError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(doc, dict):
        raise ModelFormatError(f"{path}: top level must be a JSON object")
    return doc


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise ModelFormatError(f"{path}: file not found")
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ModelFormatError(f"{path}: corrupt or truncated npz ({msg})") from None


def _check_array(
    ctx: _Ctx, arrays: dict[str, np.ndarray], key: str, fld: str, shape: tuple[int, ...],
    lo: int, hi: int,
) -> np.ndarray:
    if key not in arrays:
        raise ctx.err(fld, f"array '{key}' missing")
    a = arrays[key]
    if a.dtype.kind not in "iu":
        raise ctx.err(fld, f"array '{key}' must be integer, got dtype {a.dtype}")
    if a.shape != shape:
        raise ctx.err(fld, f"array '{key}' has shape {list(a.shape)}, expected {list(shape)}")
    if a.size:
        amin, amax = int(a.min()), int(a.max())
        if amin < lo or amax > hi:
            bad = amin if amin < lo else amax
            raise ctx.err(fld, f"value {bad} in '{key}' is out of range [{lo}, {hi}]")
    return a.astype(np.int8 if fld == "weight" else np.int32)


def _signed_range(width: int) -> tuple[int, int]:
    return -(1 << (width - 1)), (1 << (width - 1)) - 1


def load_model(model_dir: str | Path) -> CompiledModel:
    """Load and validate a compiled model directory (``model.json`` + ``weights.npz``)."""
    d = Path(model_dir)
    js, npz = d / "model.json", d / "weights.npz"
    doc = _read_json(js)
    ctx = _Ctx(js)
    fmt = ctx.get(doc, "format")
    if fmt != FORMAT_NAME:
        raise ctx.err("format", f"expected '{FORMAT_NAME}', got {fmt!r}")
    ver = ctx.get(doc, "version")
    if ver != FORMAT_VERSION or isinstance(ver, bool):
        raise ctx.err("version", f"unsupported format version {ver!r} (this tool reads "
                      f"version {FORMAT_VERSION})")
    arch_s = ctx.get(doc, "arch")
    if not isinstance(arch_s, str):
        raise ctx.err("arch", f"expected a string, got {arch_s!r}")
    try:
        arch = parse_arch(arch_s)
    except ArchError as e:
        raise ctx.err("arch", str(e)) from None
    T = ctx.int_in(doc, "T", 1, MAX_T)
    inp = ctx.get(doc, "input")
    if not isinstance(inp, dict):
        raise ctx.err("input", f"expected an object, got {inp!r}")
    if tuple(ctx.int_list(inp, "shape", 3)) != arch.in_shape:
        raise ctx.err("input.shape", f"{inp['shape']} does not match arch {list(arch.in_shape)}")
    encoding = ctx.choice(inp, "encoding", ENCODINGS)
    in_bits = ctx.int_in(inp, "in_bits", 1, MAX_IN_BITS)
    if encoding == "spikes" and in_bits != 1:
        raise ctx.err("input.in_bits", f"must be 1 for spike input, got {in_bits}")
    readout = ctx.choice(doc, "readout", READOUTS)
    ncls = ctx.int_in(doc, "num_classes", 1, 1 << 16)
    if ncls != arch.num_classes:
        raise ctx.err("num_classes", f"{ncls} does not match arch ({arch.num_classes})")
    layers_js = ctx.get(doc, "layers")
    if not isinstance(layers_js, list) or len(layers_js) != len(arch.layers):
        n = len(layers_js) if isinstance(layers_js, list) else type(layers_js).__name__
        raise ctx.err("layers", f"expected {len(arch.layers)} layers for the arch, got {n}")

    arrays = _read_npz(npz)
    model = CompiledModel(arch, T, encoding, in_bits, readout, [])
    used: set[str] = set()
    for i, (lj, geom) in enumerate(zip(layers_js, arch.layers, strict=True)):
        name = f"L{i}"
        lc = ctx.at(i, name)
        if not isinstance(lj, dict):
            raise lc.err("layer", f"expected an object, got {type(lj).__name__}")
        if lj.get("name") != name:
            raise lc.err("name", f"expected {name!r}, got {lj.get('name')!r}")
        _check_geometry(lc, lj, geom)
        last = i == len(arch.layers) - 1
        neuron = lc.get(lj, "neuron")
        want_neuron = not last or readout == "spikes"
        if neuron is not want_neuron:
            raise lc.err("neuron", f"must be {str(want_neuron).lower()} (readout '{readout}')")
        k = lc.int_in(lj, "k", 0, MAX_K)
        reset = lc.choice(lj, "reset", RESETS)
        co = geom.out_ch
        pco = lc.int_in(lj, "pco", 1, co)
        pci = lc.int_in(lj, "pci", 1, MAX_PCI)
        wj = lc.get(lj, "widths")
        keys = {"acc", "bias"} | ({"theta", "v"} if neuron else set())
        keys |= {"score"} if last else set()
        if not isinstance(wj, dict) or set(wj) != keys:
            got = sorted(wj) if isinstance(wj, dict) else wj
            raise lc.err("widths", f"expected keys {sorted(keys)}, got {got}")
        widths = {
            kk: lc.int_in(wj, kk, 2, MAX_STORED_WIDTH if kk in ("bias", "theta") else MAX_WIDTH)
            for kk in sorted(keys)
        }
        wlo, whi = W_MIN, W_MAX
        weight = _check_array(lc, arrays, f"{name}.weight", "weight", geom.weight_shape, wlo, whi)
        bias = _check_array(lc, arrays, f"{name}.bias", "bias", (co,),
                            *_signed_range(widths["bias"]))
        theta = None
        if neuron:
            theta = _check_array(lc, arrays, f"{name}.theta", "theta", (co,),
                                 *_signed_range(widths["theta"]))
        elif f"{name}.theta" in arrays:
            raise lc.err("theta", f"array '{name}.theta' present but the layer has no neuron")
        used.update(f"{name}.{s}" for s in ("weight", "bias", "theta"))
        # optional (files written before the planner have none)
        scan_bits = (lc.int_in(lj, "scan_bits", 1, MAX_SCAN_BITS) if "scan_bits" in lj
                     else SCAN_BITS)
        bufs = lc.int_in(lj, "bufs", 2, MAX_BUFS) if "bufs" in lj else BUFS
        if bufs & (bufs - 1):
            raise lc.err("bufs", f"expected a power of two, got {bufs}")
        ring = lc.choice(lj, "ring", RINGS) if "ring" in lj else "lut"
        fifo = lc.int_in(lj, "fifo", 2, MAX_FIFO) if "fifo" in lj else None
        if fifo is not None and last:
            raise lc.err("fifo", "the last core has no FIFO after it")
        ly = CoreLayer(geom, weight, bias, theta, k, reset, pco, pci, widths, scan_bits, bufs,
                       ring, fifo)
        nnz = lc.int_in(lj, "nnz", 0, weight.size)
        if nnz != ly.nnz:
            raise lc.err("nnz", f"says {nnz} but weights.npz has {ly.nnz} non-zero weights")
        sp = lc.get(lj, "sparsity")
        if not isinstance(sp, (int, float)) or isinstance(sp, bool) or not 0.0 <= sp <= 1.0:
            raise lc.err("sparsity", f"expected a number in [0, 1], got {sp!r}")
        if not math.isclose(sp, ly.sparsity, abs_tol=1e-5):
            raise lc.err("sparsity", f"says {sp} but the weights have {ly.sparsity:.6f}")
        model.layers.append(ly)
        need = model.bounds(i).widths()
        for kk, n in need.items():
            if widths[kk] < n:
                raise lc.err(f"widths.{kk}", f"{widths[kk]} bits is too narrow: the worst-case "
                             f"bound of these weights needs {n}")
    extra = sorted(set(arrays) - used)
    if extra:
        raise ModelFormatError(f"{npz}: unexpected arrays {extra} (mismatched model files?)")
    sha = ctx.get(doc, "weights_sha256")
    actual = hashlib.sha256(npz.read_bytes()).hexdigest()
    if sha != actual:
        raise ctx.err("weights_sha256", f"{npz.name} does not belong to this model.json "
                      f"(sha256 {actual[:12]}..., expected {str(sha)[:12]}...)")
    return model


def _check_geometry(lc: _Ctx, lj: dict[str, Any], geom: Layer) -> None:
    kind = lc.choice(lj, "kind", ("conv", "fc"))
    if kind != geom.kind:
        raise lc.err("kind", f"'{kind}' does not match the arch ('{geom.kind}')")
    for fld, want in (("in_shape", geom.in_shape), ("out_shape", geom.out_shape)):
        got = lc.int_list(lj, fld, 3)
        if tuple(got) != want:
            raise lc.err(fld, f"{got} does not match the arch {list(want)}")
    if tuple(lc.int_list(lj, "kernel", 2)) != (geom.kh, geom.kw):
        raise lc.err("kernel", f"{lj['kernel']} does not match the arch {[geom.kh, geom.kw]}")
    if lc.int_in(lj, "pad", 0, 64) != geom.pad:
        raise lc.err("pad", f"{lj['pad']} does not match the arch ({geom.pad})")
    if lc.int_in(lj, "pool", 1, 2) != geom.pool:
        raise lc.err("pool", f"{lj['pool']} does not match the arch ({geom.pool})")
