"""Import of NIR graphs written by other tools (e.g. snntorch's ``export_to_nir``): strict
mapping onto the integer model, 4-bit per-channel quantization, and the agreement with a
float reference of the source graph, per layer (an approximation: not claimed bit-exact).

Accepted, as one chain of nodes from ``Input`` to ``Output`` (no branches, no recurrent edges,
no subgraphs):

- ``Conv2d`` (stride 1, dilation 1, groups 1, equal integer padding, square kernel) or, after a
  ``Flatten``, ``Affine``/``Linear``;
- after each synapse a neuron: ``LIF`` (v_leak 0, v_reset 0, one tau over the layer) or ``IF``
  (v_reset 0); parameters per channel (uniform over H and W). NIR has no time step: ``dt``
  is given by the user (snntorch writes tau = dt / (1 - beta), r = tau / dt with dt = 1e-4).
  The discrete neuron is V = beta V + g I, beta = 1 - dt / tau, g = r dt / tau (IF: beta 1,
  g = r dt); the hardware's leak V -= V >>> k has beta = 1 - 2**-k (k = 0: no leak), so the
  nearest k is taken and the import report states both;
- the 2x2 OR-pool of spikes: ``SumPool2d(2, 2)`` followed by ``IF`` with v_reset 0 and
  0 < v_threshold < r dt (one spike fires it);
- the last layer: a spiking neuron (spike-count readout), or ``LI``/``I``/nothing (integrate
  readout: the class score sums the current over the T steps; an LI's leak is not modelled
  and its effect shows in the agreement).

Anything else is refused with one line naming the node and the reason. Quantization
(:mod:`fireflys.interop.nir_quant`): per
output channel c, weights, bias and threshold share the scale s_c (the FireFly-S contract):
w = clip(round(g_c W / s_c), -8, 7), b = round(g_c B / s_c), theta = round(theta_c / s_c),
with s_c = f max|g_c W_c| / 7 (an integrate readout: one scale for all classes, whose scores
the argmax compares) and f chosen per layer from a few candidates by the agreement with the
float layer on the calibration frames (given the float reference's input spikes). Direct
input: the float graph sees pixels x / (2**in_bits - 1).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fireflys.core.model import MAX_K
from fireflys.errors import FireflysError

SUPPORTED = ("Input, Output, Conv2d, Affine, Linear, Flatten, LIF, IF, LI, I, "
             "SumPool2d + IF (2x2 OR-pool)")


class ForeignNirError(FireflysError, ValueError):
    """A NIR graph that cannot be mapped (the message names the node)."""


@dataclass
class FloatLayer:
    """One layer of the source graph, in float: synapse, neuron, pool."""

    kind: str  # conv | fc
    weight: np.ndarray  # [CO, CI, K, K] or [CO, N]
    bias: np.ndarray  # [CO]
    pad: int
    in_shape: tuple[int, int, int]
    nodes: list[str] = field(default_factory=list)
    neuron: str | None = None  # LIF | IF | LI | I | None (readout)
    beta: float = 1.0  # V = beta V + gain I
    gain: np.ndarray | None = None  # [CO]
    theta: np.ndarray | None = None  # [CO]
    k: int = 0
    pool: int = 1

    @property
    def out_ch(self) -> int:
        return int(self.weight.shape[0])

    @property
    def spiking(self) -> bool:
        return self.neuron in ("LIF", "IF")


# ---------------------------------------------------------------------------------- the chain


def _chain(graph: Any, where: str) -> list[str]:
    """The node names from the Input to the Output; a clear error for anything else."""
    import nir

    nodes = graph.nodes
    succ: dict[str, list[str]] = defaultdict(list)
    pred: dict[str, list[str]] = defaultdict(list)
    for a, b in graph.edges:
        for n in (a, b):
            if n not in nodes:
                raise ForeignNirError(f"{where}: edge ({a}, {b}) names no node {n!r}")
        succ[a].append(b)
        pred[b].append(a)
    for name, node in nodes.items():
        if isinstance(node, nir.NIRGraph):
            raise ForeignNirError(f"{where}: node {name}: a subgraph (e.g. a recurrent layer: "
                                  "RLeaky, RSynaptic) is not supported")
    ins = [n for n, v in nodes.items() if isinstance(v, nir.Input)]
    if len(ins) != 1:
        raise ForeignNirError(f"{where}: {len(ins)} Input nodes, one needed")
    order, seen, cur = [ins[0]], {ins[0]}, ins[0]
    while not isinstance(nodes[cur], nir.Output):
        nxt = succ.get(cur, [])
        if len(nxt) != 1:
            raise ForeignNirError(f"{where}: node {cur}: {len(nxt)} outgoing edges (only a "
                                  "chain of nodes is supported: no branches, no dead ends)")
        cur = nxt[0]
        if cur in seen:
            raise ForeignNirError(f"{where}: recurrent edge into node {cur} (recurrent "
                                  "connections are not supported)")
        if len(pred[cur]) != 1:
            raise ForeignNirError(f"{where}: node {cur}: {len(pred[cur])} incoming edges "
                                  "(only a chain of nodes is supported)")
        order.append(cur)
        seen.add(cur)
    left = sorted(set(nodes) - seen)
    if left:
        raise ForeignNirError(f"{where}: node(s) {', '.join(left)} not on the path from "
                              f"{ins[0]} to {cur}")
    return order


def _arr(v: Any) -> np.ndarray:
    return np.asarray(v, dtype=np.float64)


def _per_channel(v: Any, shape: tuple[int, ...], where: str) -> np.ndarray:
    """A neuron parameter of a layer with output ``shape``: a scalar, one value per channel
    ([C]) or one per neuron (``shape``, uniform over H and W) -> [C]."""
    a = _arr(v)
    if a.size == 1:
        return np.full(shape[0], float(a.ravel()[0]))
    if a.shape == shape:
        per = a.reshape(shape[0], -1)
        if not np.all(per == per[:, :1]):
            raise ForeignNirError(f"{where}: differs within a channel (one value per channel "
                                  "needed: uniform over H and W)")
        return per[:, 0].copy()
    if a.ndim == 1 and a.size == shape[0]:
        return a.copy()
    raise ForeignNirError(f"{where}: shape {list(a.shape)} does not fit the layer's output "
                          f"{list(shape)} (a scalar, [C] or the full shape)")


def _pair(v: Any, where: str, what: str) -> int:
    a = np.atleast_1d(_arr(v)).ravel()
    if a.size == 0 or not np.all(a == a[0]) or a[0] != round(a[0]):
        raise ForeignNirError(f"{where}: {what} {a.tolist()} (equal integers needed)")
    return int(a[0])


def _nearest_k(beta: float, where: str) -> int:
    """The leak shift k whose beta (1 - 2**-k; k = 0: 1) is nearest ``beta``."""
    if not 0.0 <= beta <= 1.0:
        raise ForeignNirError(f"{where}: beta = 1 - dt/tau = {beta:.4g} is outside [0, 1] "
                              "(tau < dt: check --dt)")
    cands = [(abs((1.0 if k == 0 else 1.0 - 2.0 ** -k) - beta), k) for k in range(MAX_K + 1)]
    return min(cands)[1]


def map_graph(graph: Any, dt: float, where: str = "NIR graph") -> list[FloatLayer]:
    """The source graph as float layers (strict rules: see the module docstring)."""
    import nir

    if not dt > 0:
        raise ForeignNirError(f"{where}: --dt must be positive (the graph's time step)")
    nodes = graph.nodes
    order = _chain(graph, where)
    inp = nodes[order[0]]
    shape = tuple(int(s) for s in np.ravel(_arr(next(iter(inp.input_type.values())))))
    if len(shape) == 4 and shape[0] == 1:
        shape = shape[1:]
    if len(shape) != 3:
        raise ForeignNirError(f"{where}: node {order[0]}: input shape {list(shape)}, expected "
                              "C x H x W")
    cur: tuple[int, ...] = shape
    img: tuple[int, ...] | None = None
    flat = False
    layers: list[FloatLayer] = []
    i = 1
    while i < len(order) - 1:
        name, node = order[i], nodes[order[i]]
        at = f"{where}: node {name}"
        last = layers[-1] if layers else None
        pending = last is not None and last.neuron is None
        if isinstance(node, nir.Conv2d | nir.Affine | nir.Linear):
            if pending:
                raise ForeignNirError(f"{at}: a synapse right after node {last.nodes[-1]} "
                                      "(a neuron, LIF or IF, must come between two synapses)")
            w = _arr(node.weight)
            b = np.zeros(w.shape[0]) if getattr(node, "bias", None) is None else _arr(node.bias)
            if isinstance(node, nir.Conv2d):
                if flat:
                    raise ForeignNirError(f"{at}: Conv2d after a Flatten")
                if _pair(node.stride, at, "stride") != 1:
                    _fail(at, "stride != 1 (only stride 1)")
                if _pair(node.dilation, at, "dilation") != 1:
                    _fail(at, "dilation != 1 (only dilation 1)")
                if int(np.ravel(_arr(node.groups))[0]) != 1:
                    _fail(at, f"groups {node.groups} (only 1)")
                if isinstance(node.padding, str):
                    _fail(at, f"padding {node.padding!r} (an integer needed)")
                pad = _pair(node.padding, at, "padding")
                if w.ndim != 4 or w.shape[2] != w.shape[3]:
                    _fail(at, f"weight shape {list(w.shape)} (a square K x K kernel needed)")
                if w.shape[1] != cur[0]:
                    _fail(at, f"weight has {w.shape[1]} input channels, its input has {cur[0]}")
                ly = FloatLayer("conv", w, b, pad, (int(cur[0]), int(cur[1]), int(cur[2])),
                                [name])
                k = w.shape[2]
                cur = (w.shape[0], cur[1] + 2 * pad - k + 1, cur[2] + 2 * pad - k + 1)
            else:
                if not flat and len(cur) == 3 and cur[1] * cur[2] > 1:
                    _fail(at, f"{type(node).__name__} on a {'x'.join(map(str, cur))} input "
                          "(a Flatten must come before it)")
                if w.ndim != 2 or w.shape[1] != math.prod(cur):
                    _fail(at, f"weight shape {list(w.shape)}, input has {math.prod(cur)} values")
                src = img if len(cur) == 1 and img is not None else cur
                if len(src) == 1:  # FC after FC: a 1 x 1 image of the previous outputs
                    src = (src[0], 1, 1)
                img = None
                ly = FloatLayer("fc", w, b, 0, (int(src[0]), int(src[1]), int(src[2])), [name])
                cur = (w.shape[0],)
            if b.shape != (w.shape[0],):
                _fail(at, f"bias shape {list(b.shape)}, expected [{w.shape[0]}]")
            layers.append(ly)
        elif isinstance(node, nir.Flatten):
            if flat or len(cur) != 3:
                _fail(at, "Flatten only once, before the first Affine/Linear")
            if int(node.start_dim) != 0 or int(node.end_dim) not in (-1, 2):
                _fail(at, f"Flatten(start_dim {node.start_dim}, end_dim {node.end_dim}): only "
                      "all of C x H x W (start_dim 0, end_dim -1)")
            flat = True
            img = cur  # the image the first Affine reads (flattened C, H, W)
            cur = (math.prod(cur),)
        elif isinstance(node, nir.LIF | nir.IF | nir.LI | nir.I):
            if not pending:
                _fail(at, f"{type(node).__name__} without a synapse before it")
            oshape = tuple(int(s) for s in cur) if len(cur) == 3 else (int(cur[0]),)
            kind = type(node).__name__
            r = _per_channel(node.r, oshape, f"{at} r")
            if kind in ("LIF", "LI"):
                if np.any(_arr(node.v_leak) != 0):
                    _fail(at, "leaky v_leak != 0 (the neuron must leak towards 0)")
                tau = _per_channel(node.tau, oshape, f"{at} tau")
                if not np.all(tau == tau[0]):
                    _fail(at, "tau differs between channels (one leak per layer)")
                beta, gain = 1.0 - dt / tau[0], r * dt / tau
            else:
                beta, gain = 1.0, r * dt
            if kind in ("LIF", "IF"):
                if np.any(_arr(node.v_reset) != 0):
                    _fail(at, "v_reset != 0 (only reset to zero)")
                last.theta = _per_channel(node.v_threshold, oshape, f"{at} v_threshold")
            elif i != len(order) - 2:
                _fail(at, f"{kind} is a readout: only the last node before the Output")
            last.neuron, last.beta, last.gain = kind, float(beta), gain
            last.k = _nearest_k(float(beta), at) if kind != "I" else 0
            last.nodes.append(name)
        elif isinstance(node, nir.SumPool2d):
            nxt = nodes[order[i + 1]] if i + 1 < len(order) - 1 else None
            if (last is None or last.kind != "conv" or not last.spiking or last.pool != 1
                    or len(cur) != 3):
                _fail(at, "SumPool2d must follow a spiking conv layer")
            if (_pair(node.kernel_size, at, "kernel_size") != 2
                    or _pair(node.stride, at, "stride") != 2
                    or _pair(node.padding, at, "padding") != 0):
                _fail(at, "only SumPool2d(kernel 2, stride 2, padding 0) is supported")
            if not isinstance(nxt, nir.IF):
                _fail(at, "SumPool2d must be followed by IF (the 2x2 OR-pool of spikes: "
                      "SumPool2d(2, 2) + IF(v_threshold 0.5, r 1))")
            pshape = (cur[0], cur[1] // 2, cur[2] // 2)
            at2 = f"{where}: node {order[i + 1]}"
            thr = _per_channel(nxt.v_threshold, pshape, f"{at2} v_threshold")
            gain = _per_channel(nxt.r, pshape, f"{at2} r") * dt
            if np.any(_arr(nxt.v_reset) != 0) or np.any(thr <= 0) or np.any(thr >= gain):
                _fail(at2, "the IF after SumPool2d must fire on one spike and never without "
                      "(v_reset 0, 0 < v_threshold < r*dt): the 2x2 OR of spikes")
            last.pool = 2
            last.nodes += [name, order[i + 1]]
            cur = pshape
            i += 1
        elif isinstance(node, nir.AvgPool2d):
            _fail(at, "AvgPool2d: average pooling is not supported (the hardware pools spikes "
                  "with a 2x2 OR: SumPool2d(2, 2) + IF(v_threshold 0.5))")
        elif isinstance(node, nir.CubaLIF):
            _fail(at, "CubaLIF: synaptic current dynamics (tau_syn) are not supported (LIF/IF)")
        elif isinstance(node, nir.Delay):
            _fail(at, "Delay: delays are not supported")
        else:
            _fail(at, f"NIR type {type(node).__name__} is not supported (supported: "
                  f"{SUPPORTED})")
        i += 1
    if not layers:
        raise ForeignNirError(f"{where}: no synapse (Conv2d/Affine/Linear) in the graph")
    for ly in layers[:-1]:
        if not ly.spiking:
            raise ForeignNirError(f"{where}: node {ly.nodes[-1]}: a spiking neuron (LIF/IF) "
                                  "is needed after every synapse but the last")
    return layers


def _fail(at: str, why: str) -> None:
    raise ForeignNirError(f"{at}: {why}")


def arch_string(layers: list[FloatLayer]) -> str:
    toks = ["x".join(map(str, layers[0].in_shape))]
    for ly in layers:
        if ly.kind == "conv":
            toks.append(f"{ly.out_ch}c{ly.weight.shape[2]}p{ly.pad}")
            if ly.pool == 2:
                toks.append("mp2")
        else:
            toks.append(f"{ly.out_ch}fc")
    return "-".join(toks)
