"""NIR (Neuromorphic Intermediate Representation, the ``nir`` package) export and import of
compiled models.

Export writes the integer model as a NIR graph that other tools can read:

- ``Input`` (C, H, W);
- per layer: ``Conv2d`` (stride 1, dilation 1, groups 1, integer padding) or, for an FC layer,
  ``Flatten`` (before the first FC only) and ``Affine``; weights and bias are the integers (as
  float32, exact);
- the neuron: ``LIF`` with ``tau = r = 2**k``, ``v_leak = 0``, ``v_reset = 0`` and
  ``v_threshold = theta`` (per neuron, uniform over H and W), or ``IF`` (r = 1) for k = 0; the
  leak ``V -= V >>> k`` floors, which NIR's linear leak cannot say: the node's metadata carries
  ``k``, the reset mode and that the values are integers;
- 2x2 max-pool of binary spikes, exactly as ``SumPool2d(2, 2)`` + ``IF(r = 1,
  v_threshold = 0.5, v_reset = 0)`` (any spike of the four -> one spike, per time step);
- the readout: ``I`` (an integrator, r = 1: the class score sums the last layer's current over
  the T steps) for the integrate readout, the spiking neuron for the spike-count readout;
- ``Output``.

The graph's metadata ``fireflys`` is the model document (``model.json`` less the weights'
hash): T, the input encoding and IN_BITS, the readout and each layer's widths and parallelism,
so that :func:`read_model` gives back the identical compiled model. Models with the subtract
reset are refused (NIR has no subtract reset). Graphs without that metadata (e.g. snntorch's
``export_to_nir``) are mapped and quantized by :mod:`fireflys.interop.nir_foreign` (the time
step ``dt`` must be given; the import report states the agreement with the float graph).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from fireflys.core.arch import parse_arch
from fireflys.core.model import (
    BUFS,
    FORMAT_NAME,
    CompiledModel,
    CoreLayer,
    ModelFormatError,
    load_model,
    save_model,
)
from fireflys.errors import FireflysError

META_KEY = "fireflys"
NIR_FORMAT = "fireflys-nir"
NIR_VERSION = 1


class NirError(FireflysError, ValueError):
    """A model NIR cannot express, or a NIR file that cannot be imported (the message names
    the file and node)."""


def _nir():
    try:
        import nir
    except ImportError:
        raise NirError("NIR support needs the `nir` package (`make setup` installs it)") from None
    return nir


def _f32(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.float32)


def _meta(**kw: Any) -> dict[str, str]:
    return {META_KEY: json.dumps(kw, sort_keys=True)}


def _doc(model: CompiledModel) -> dict[str, Any]:
    """The model document (what model.json says, minus the weights' hash)."""
    if any(not ly.widths for ly in model.layers):
        model.assign_widths()
    return {
        "format": NIR_FORMAT, "version": NIR_VERSION, "model_format": FORMAT_NAME,
        "arch": str(model.arch), "T": model.T, "encoding": model.encoding,
        "in_bits": model.in_bits, "readout": model.readout,
        "layers": [{"k": ly.k, "reset": ly.reset, "pco": ly.pco, "pci": ly.pci,
                    "scan_bits": ly.scan_bits, "bufs": ly.bufs, "ring": ly.ring,
                    "fifo": ly.fifo, "widths": dict(ly.widths)}
                   for ly in model.layers],
    }


def to_graph(model: CompiledModel):
    """The NIR graph of ``model`` (a ``nir.NIRGraph``)."""
    nir = _nir()
    for i, ly in enumerate(model.layers):
        if ly.neuron and ly.reset != "zero":
            raise NirError(f"layer L{i}: reset '{ly.reset}' cannot be exported (NIR has no "
                           "subtract reset; only reset to zero)")
    nodes: dict[str, Any] = {"input": nir.Input(input_type={"input": np.array(
        model.arch.in_shape)})}
    order = ["input"]

    def add(name: str, node: Any) -> None:
        nodes[name] = node
        order.append(name)

    flat = False
    for i, ly in enumerate(model.layers):
        g, name = ly.geom, f"L{i}"
        info = _meta(layer=i, integer=True)
        if g.kind == "conv":
            add(f"{name}.conv", nir.Conv2d(
                input_shape=(g.in_shape[1], g.in_shape[2]), weight=_f32(ly.weight), stride=1,
                padding=g.pad, dilation=1, groups=1, bias=_f32(ly.bias), metadata=info))
            shape = g.conv_shape
        else:
            if not flat:
                add(f"{name}.flatten", nir.Flatten(
                    input_type={"input": np.array(g.in_shape)}, start_dim=0, end_dim=-1))
                flat = True
            add(f"{name}.fc", nir.Affine(weight=_f32(ly.weight), bias=_f32(ly.bias),
                                         metadata=info))
            shape = (g.out_ch,)
        if ly.neuron:
            theta = np.broadcast_to(_f32(ly.theta).reshape((-1,) + (1,) * (len(shape) - 1)),
                                    shape).copy()
            zero = np.zeros(shape, np.float32)
            meta = _meta(layer=i, k=ly.k, reset=ly.reset, integer=True,
                         leak="V -= V >>> k (floor)", threshold="spike when V > theta")
            if ly.k == 0:
                add(f"{name}.neuron", nir.IF(r=np.ones(shape, np.float32), v_threshold=theta,
                                             v_reset=zero, metadata=meta))
            else:
                tau = np.full(shape, float(1 << ly.k), np.float32)
                add(f"{name}.neuron", nir.LIF(tau=tau, r=tau.copy(), v_leak=zero,
                                              v_threshold=theta, v_reset=zero, metadata=meta))
        else:
            add(f"{name}.readout", nir.I(r=np.ones(shape, np.float32),
                                         metadata=_meta(layer=i, readout="integrate")))
        if g.pool == 2:
            c, h, w = g.out_shape
            add(f"{name}.pool", nir.SumPool2d(kernel_size=np.array([2, 2]),
                                              stride=np.array([2, 2]),
                                              padding=np.array([0, 0])))
            add(f"{name}.pool_or", nir.IF(r=np.ones((c, h, w), np.float32),
                                          v_threshold=np.full((c, h, w), 0.5, np.float32),
                                          v_reset=np.zeros((c, h, w), np.float32),
                                          metadata=_meta(layer=i, op="2x2 OR of spikes")))
    out_shape = model.arch.layers[-1].out_shape
    add("output", nir.Output(output_type={"output": np.array(
        (out_shape[0],) if flat else out_shape)}))
    edges = list(zip(order[:-1], order[1:], strict=True))
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={META_KEY: json.dumps(_doc(model))})


def export_model(model_dir: str | Path, out: str | Path) -> Path:
    """Write the model in ``model_dir`` as a NIR file ``out``; return its path."""
    nir = _nir()
    graph = to_graph(load_model(model_dir))
    p = Path(out)
    p.parent.mkdir(parents=True, exist_ok=True)
    nir.write(str(p), graph)
    return p


# ----------------------------------------------------------------------------------------------
# import


def _ints(a: Any, where: str, lo: int, hi: int) -> np.ndarray:
    v = np.asarray(a, dtype=np.float64)
    if not np.all(np.isfinite(v)) or not np.array_equal(v, np.round(v)):
        raise NirError(f"{where}: values are not integers")
    if v.size and (v.min() < lo or v.max() > hi):
        raise NirError(f"{where}: values outside [{lo}, {hi}]")
    return v.astype(np.int64)


def _uniform(a: Any, shape: tuple[int, ...], where: str) -> np.ndarray:
    """A per-neuron parameter of ``shape`` as one value per channel (uniform over H, W)."""
    v = np.asarray(a, dtype=np.float64)
    if v.shape != shape:
        raise NirError(f"{where}: shape {list(v.shape)}, expected {list(shape)}")
    per = v.reshape(shape[0], -1)
    if not np.all(per == per[:, :1]):
        raise NirError(f"{where}: differs within a channel (one value per channel needed)")
    return per[:, 0]


def _node_meta(node: Any) -> dict[str, Any]:
    raw = (getattr(node, "metadata", None) or {}).get(META_KEY)
    return json.loads(raw) if isinstance(raw, str) else {}


def from_graph(graph: Any, where: str = "NIR graph") -> CompiledModel:
    """The compiled model of a graph written by :func:`to_graph` (checked node by node)."""
    raw = (getattr(graph, "metadata", None) or {}).get(META_KEY)
    if not isinstance(raw, str):
        raise NirError(f"{where}: no '{META_KEY}' metadata: importing NIR graphs written by "
                       "other tools (e.g. snntorch's export_to_nir) is not supported yet; only "
                       "files from `fireflys nir export` are")
    try:
        doc = json.loads(raw)
        arch = parse_arch(doc["arch"])
        T, enc, in_bits, readout = doc["T"], doc["encoding"], doc["in_bits"], doc["readout"]
        lmeta = doc["layers"]
    except (ValueError, KeyError, TypeError, FireflysError) as e:
        raise NirError(f"{where}: metadata '{META_KEY}' is unreadable ({e})") from None
    if doc.get("format") != NIR_FORMAT or doc.get("version") != NIR_VERSION:
        raise NirError(f"{where}: metadata format {doc.get('format')!r} version "
                       f"{doc.get('version')!r}, expected {NIR_FORMAT!r} {NIR_VERSION}")
    if len(lmeta) != len(arch.layers):
        raise NirError(f"{where}: metadata has {len(lmeta)} layers, arch {len(arch.layers)}")
    nodes = graph.nodes
    layers = []
    for i, (g, m) in enumerate(zip(arch.layers, lmeta, strict=True)):
        name = f"L{i}"
        key = f"{name}.conv" if g.kind == "conv" else f"{name}.fc"
        if key not in nodes:
            raise NirError(f"{where}: node {key} missing")
        syn = nodes[key]
        w = np.asarray(syn.weight)
        if w.shape != tuple(g.weight_shape):
            raise NirError(f"{where}: node {key}: weight shape {list(w.shape)}, arch "
                           f"{str(arch)!r} needs {list(g.weight_shape)}")
        weight = _ints(w, f"{where}: node {key} weight", -8, 7).astype(np.int8)
        bias = _ints(syn.bias, f"{where}: node {key} bias", -(2**31), 2**31 - 1)
        theta = None
        shape = g.conv_shape if g.kind == "conv" else (g.out_ch,)
        if f"{name}.neuron" in nodes:
            nn = nodes[f"{name}.neuron"]
            th = _uniform(nn.v_threshold, shape, f"{where}: node {name}.neuron v_threshold")
            theta = _ints(th, f"{where}: node {name}.neuron v_threshold", -(2**31), 2**31 - 1)
            k = int(_node_meta(nn).get("k", m["k"]))
            if k != m["k"]:
                raise NirError(f"{where}: node {name}.neuron: k {k}, model metadata {m['k']}")
        elif f"{name}.readout" not in nodes:
            raise NirError(f"{where}: layer {name} has neither a neuron nor a readout node")
        layers.append(CoreLayer(
            geom=g, weight=weight, bias=bias.astype(np.int32),
            theta=None if theta is None else theta.astype(np.int32), k=int(m["k"]),
            reset=m["reset"], pco=int(m["pco"]), pci=int(m["pci"]),
            widths={k2: int(v) for k2, v in m["widths"].items()},
            scan_bits=int(m["scan_bits"]), bufs=int(m.get("bufs", BUFS)),
            ring=str(m.get("ring", "lut")),
            fifo=None if m.get("fifo") is None else int(m["fifo"])))
    return CompiledModel(arch=arch, T=int(T), encoding=enc, in_bits=int(in_bits),
                         readout=readout, layers=layers)


IMPORT_REPORT = "nir_import.json"


def import_model(path: str | Path, out_dir: str | Path, *, dt: float | None = None, T: int = 4,
                 encoding: str = "direct", in_bits: int = 8,
                 calib: np.ndarray | None = None, calib_frames: int = 64,
                 seed: int = 0) -> Path:
    """Read a NIR file and write the compiled model into ``out_dir`` (validated by loading it
    back); return its model.json. A file from :func:`export_model` gives the identical model
    (the other arguments are not used); any other graph is mapped by strict rules and
    quantized (:mod:`fireflys.interop.nir_foreign`): ``dt`` is its time step, ``T``,
    ``encoding`` and ``in_bits`` the model's, ``calib`` the calibration frames in the model's
    input format (default: ``calib_frames`` random ones); the report goes to
    ``out_dir``/nir_import.json."""
    nir = _nir()
    p = Path(path)
    if not p.is_file():
        raise NirError(f"{p}: no such file")
    try:
        graph = nir.read(str(p))
    except Exception as e:  # noqa: BLE001  (h5py/nir raise many kinds)
        raise NirError(f"{p}: not a readable NIR file ({type(e).__name__}: {e})") from None
    if isinstance((getattr(graph, "metadata", None) or {}).get(META_KEY), str):
        model = from_graph(graph, str(p))
        report = None
    else:
        model, report = _foreign(graph, str(p), dt, T, encoding, in_bits, calib,
                                 calib_frames, seed)
    js = save_model(model, out_dir, provenance(p, report))
    if report is not None:
        report["fidelity"] = "approximate"
        (Path(out_dir) / IMPORT_REPORT).write_text(json.dumps(report, indent=2) + "\n")
    try:
        load_model(out_dir)
    except ModelFormatError as e:
        raise NirError(f"{p}: the imported model is not valid ({e})") from None
    return js


def provenance(path: Path, report: dict[str, Any] | None) -> dict[str, Any]:
    """What model.json says of an imported model: the NIR file and the fidelity, ``bit-exact``
    (a fireflys file: the integer model itself) or ``approximate`` (another tool's graph,
    quantized: the agreement with its float graph, from the import report)."""
    if report is None:
        return {"source": "nir", "file": path.name, "fidelity": "bit-exact",
                "why": "a fireflys file: the integer model from its own metadata"}
    return {"source": "nir", "file": path.name, "fidelity": "approximate",
            "why": "another tool's float graph quantized to 4 bits per channel",
            "prediction_agreement": report["prediction_agreement"],
            "spike_agreement": {ly["layer"]: ly["spike_agreement"] for ly in report["layers"]
                                if "spike_agreement" in ly},
            "calibration_frames": report["frames"], "report": IMPORT_REPORT}


def _foreign(graph: Any, where: str, dt: float | None, T: int, encoding: str, in_bits: int,
             calib: np.ndarray | None, calib_frames: int, seed: int):
    """A graph from another tool: map, quantize on calibration frames, report."""
    from fireflys.compiler.compile import random_input
    from fireflys.interop.nir_foreign import ForeignNirError, map_graph
    from fireflys.interop.nir_quant import quantize

    if dt is None:
        raise NirError(f"{where}: a NIR graph from another tool (no '{META_KEY}' metadata): "
                       "give its time step, --dt (snntorch's export_to_nir uses 1e-4)")
    if encoding not in ("direct", "spikes"):
        raise NirError(f"{where}: encoding {encoding!r} is not direct or spikes")
    try:
        layers = map_graph(graph, dt, where)
        if calib is None:
            from fireflys.core.arch import parse_arch
            from fireflys.interop.nir_foreign import arch_string

            shell = CompiledModel(arch=parse_arch(arch_string(layers)), T=T, encoding=encoding,
                                  in_bits=in_bits if encoding == "direct" else 1,
                                  readout="integrate", layers=[])
            calib = random_input(shell, calib_frames, np.random.default_rng(seed))
        model, report = quantize(layers, T, encoding, in_bits, calib, where)
    except ForeignNirError as e:
        raise NirError(str(e)) from None
    report["source"] = where
    report["dt"] = dt
    return model, report
