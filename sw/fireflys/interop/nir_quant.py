"""Quantization of a foreign NIR graph's float layers (:mod:`fireflys.interop.nir_foreign`)
to the integer model, and the float reference it is measured against: per output channel,
weights, bias and threshold share one scale (an integrate readout: one scale for all classes),
the scale's fraction chosen per layer on calibration frames; the report gives the agreement
per layer (an approximation, not bit-exact)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from fireflys.core import golden
from fireflys.core.arch import ArchError, parse_arch
from fireflys.core.model import W_MAX, W_MIN, CompiledModel, CoreLayer, default_pci, default_pco
from fireflys.interop.nir_foreign import FloatLayer, ForeignNirError, arch_string

SCALE_CANDIDATES = (1.0, 0.85, 0.7, 0.55)  # f: fraction of the largest weight mapped to 7


# ---------------------------------------------------------------------- float reference


def _fcurrent(x: np.ndarray, ly: FloatLayer, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Float W*x + b, channels last: [N, H, W, C] -> [N, Ho, Wo, CO] (an FC layer is a conv
    whose kernel covers its input)."""
    c, h, wd = ly.in_shape
    if ly.kind == "fc":
        wk = w.reshape(ly.out_ch, c, h, wd)
        kh, kw, pad = h, wd, 0
    else:
        wk, kh, kw, pad = w, w.shape[2], w.shape[3], ly.pad
    if pad:
        x = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    win = sliding_window_view(x.astype(np.float64), (kh, kw), axis=(1, 2))
    n, ho, wo = win.shape[:3]
    cols = win.transpose(0, 1, 2, 4, 5, 3).reshape(n * ho * wo, -1)
    out = cols @ wk.transpose(0, 2, 3, 1).reshape(ly.out_ch, -1).T
    return out.reshape(n, ho, wo, ly.out_ch) + b


def _ffire(cur: np.ndarray, beta: float, theta: np.ndarray) -> np.ndarray:
    """Float neuron over T steps: V = beta V + I, spike when V > theta, reset to 0."""
    v = np.zeros((cur.shape[0], *cur.shape[2:]))
    s = np.empty(cur.shape, dtype=bool)
    for t in range(cur.shape[1]):
        v = beta * v + cur[:, t]
        s[:, t] = v > theta
        v[s[:, t]] = 0.0
    return s


def _float_layer(ly: FloatLayer, x: np.ndarray, T: int, direct: bool):
    """One float layer: input ([B, H, W, C] direct pixels in [0, 1], or [B, T, H, W, C]
    spikes) -> (output spikes [B, T, ...] or None, score [B, CO] or None)."""
    g = ly.gain if ly.gain is not None else np.ones(ly.out_ch)
    if direct:
        c1 = _fcurrent(x, ly, ly.weight, ly.bias)
        cur = np.broadcast_to(c1[:, None], (x.shape[0], T, *c1.shape[1:]))
    else:
        b, t = x.shape[:2]
        cur = _fcurrent(x.reshape(b * t, *x.shape[2:]), ly, ly.weight, ly.bias)
        cur = cur.reshape(b, t, *cur.shape[1:])
    cur = cur * g
    if not ly.spiking:
        if ly.neuron == "LI":  # the float graph's own readout: the membrane at the end
            v = np.zeros((cur.shape[0], *cur.shape[2:]))
            for t in range(T):
                v = ly.beta * v + cur[:, t]
            return None, v.reshape(v.shape[0], -1)
        return None, cur.sum(axis=1).reshape(cur.shape[0], -1)
    s = _ffire(cur, ly.beta, ly.theta)
    return (golden.pool(s) if ly.pool == 2 else s), None


# ---------------------------------------------------------------------------- quantization


def _quantize(ly: FloatLayer, f: float, xmax: int) -> tuple[np.ndarray, np.ndarray,
                                                             np.ndarray | None, np.ndarray]:
    g = ly.gain if ly.gain is not None else np.ones(ly.out_ch)
    shape = (-1,) + (1,) * (ly.weight.ndim - 1)
    weff = ly.weight * g.reshape(shape) / xmax
    beff = ly.bias * g
    top = np.abs(weff).reshape(ly.out_ch, -1).max(axis=1)
    if not ly.spiking:  # a readout: one scale for every class (the argmax compares them)
        top = np.full(ly.out_ch, top.max())
    s = np.where(top > 0, f * top / W_MAX, 1.0)
    w = np.clip(np.round(weff / s.reshape(shape)), W_MIN, W_MAX).astype(np.int8)
    b = np.round(beff / s).astype(np.int64)
    th = None if ly.theta is None else np.round(ly.theta / s).astype(np.int64)
    return w, b, th, s


def _core_layer(model_arch, i: int, ly: FloatLayer, w, b, th) -> CoreLayer:
    g = model_arch.layers[i]
    return CoreLayer(geom=g, weight=w, bias=b.astype(np.int32),
                     theta=None if th is None else th.astype(np.int32), k=ly.k, reset="zero",
                     pco=default_pco(g.out_ch), pci=default_pci(g.in_shape[0]))


def _int_layer(model: CompiledModel, i: int, x: np.ndarray) -> tuple[np.ndarray | None,
                                                                      np.ndarray | None]:
    """The integer layer ``i`` of ``model`` on its input (golden model's arithmetic)."""
    ly = model.layers[i]
    T = model.T
    if model.direct(i):
        c1 = golden.current(x, ly)
        cur = np.broadcast_to(c1[:, None], (x.shape[0], T, *c1.shape[1:]))
    else:
        b = x.shape[0]
        cur = golden.current(x.reshape(b * T, *x.shape[2:]), ly)
        cur = cur.reshape(b, T, *cur.shape[1:])
    if ly.theta is None:
        return None, cur.sum(axis=1, dtype=np.int64).reshape(cur.shape[0], -1)
    s = golden.fire(cur, ly.theta, ly.k, ly.reset)
    return (golden.pool(s) if ly.geom.pool == 2 else s), None


def quantize(layers: list[FloatLayer], T: int, encoding: str, in_bits: int,
             calib: np.ndarray, where: str = "NIR graph") -> tuple[CompiledModel,
                                                                   dict[str, Any]]:
    """The compiled model of the float layers, and the import report: per layer the chosen
    scale fraction, k and beta, and the spike agreement with the float reference."""
    try:
        arch = parse_arch(arch_string(layers))
    except ArchError as e:
        raise ForeignNirError(f"{where}: the graph maps to no supported architecture ({e})") \
            from None
    direct = encoding == "direct"
    xmax = (1 << in_bits) - 1 if direct else 1
    model = CompiledModel(arch=arch, T=T, encoding=encoding, in_bits=in_bits if direct else 1,
                          readout="integrate" if not layers[-1].spiking else "spikes",
                          layers=[])
    x_int = golden.check_input(model, calib)
    fx = golden.to_nhwc(x_int.astype(np.float64) / xmax)  # the float graph's input
    ix = golden.to_nhwc(x_int)
    report: list[dict[str, Any]] = []
    float_out: list[np.ndarray | None] = []  # the float graph's spikes per layer
    f_score = None
    for i, ly in enumerate(layers):
        d = direct and i == 0
        f_out, f_score = _float_layer(ly, fx, T, d)
        float_out.append(f_out)
        # the integer layer runs on the float reference's input (its own error only)
        src = ix if d else fx.astype(np.int64)
        best = None
        for f in SCALE_CANDIDATES:
            w, b, th, scale = _quantize(ly, f, xmax if d else 1)
            model.layers = model.layers[:i] + [_core_layer(arch, i, ly, w, b, th)]
            model.layers[i].widths = model.bounds(i).widths()
            i_out, i_score = _int_layer(model, i, src)
            if f_out is not None:  # spikes: the fraction equal
                agree = float(np.mean(i_out == f_out))
                key = agree
            else:  # a readout: the scores' relative error (the argmax agreement is coarse)
                agree = float(np.mean(np.argmax(i_score, 1) == np.argmax(f_score, 1)))
                err = np.linalg.norm(i_score * scale - f_score) / max(
                    float(np.linalg.norm(f_score)), 1e-30)
                key = -float(err)
            if best is None or key > best[0]:  # ties: the larger fraction (listed first)
                best = (key, agree, f, model.layers[i])
        key, agree, f, core = best
        model.layers[i] = core
        report.append({"layer": f"L{i}", "nodes": ly.nodes, "neuron": ly.neuron,
                       "beta": round(ly.beta, 6),
                       "beta_hw": 1.0 if ly.k == 0 else 1.0 - 2.0 ** -ly.k, "k": ly.k,
                       "scale_fraction": f,
                       "agreement_given_float_input": round(agree, 6)})
        if f_out is None:
            report[-1]["score_rel_error_given_float_input"] = round(-key, 6)
        if f_out is not None:
            fx = f_out.astype(np.float64)
    model.assign_widths()
    # the whole integer model against the whole float graph (errors accumulate here)
    res = golden.run(model, x_int)
    for i, f_out in enumerate(float_out):
        if f_out is not None:
            report[i]["spike_agreement"] = round(float(np.mean(
                golden.to_nhwc(res.spikes[i]) == f_out)), 6)
            report[i]["spike_rate_float"] = round(float(f_out.mean()), 6)
            report[i]["spike_rate_int"] = round(float(res.spikes[i].mean()), 6)
    last = float_out[-1]
    score = f_score if last is None else last.sum(axis=1).reshape(last.shape[0], -1)
    pred_f = np.argmax(score, axis=1)
    summary = {"frames": int(len(x_int)), "arch": str(arch), "T": T, "encoding": encoding,
               "readout": model.readout,
               "prediction_agreement": round(float(np.mean(res.pred == pred_f)), 6),
               "layers": report,
               "note": "quantized approximation of the float graph: agreement measured, not "
                       "bit-exact"}
    return model, summary
