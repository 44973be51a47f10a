"""Phi tables: patterns matched once per input pixel, the two-level decomposition, its exact
reconstruction, operation counts, and the tables' file next to the compiled model.

The core peels a word for all T time steps at once, so its cost is already the *union* over
the steps of the spikes (``popcount(OR_t a_t & m)`` cycles per group and word): what repeats
in time is free. Phi can then only win from patterns that repeat across pixels, and it is
matched where that is cheapest, once per input pixel instead of once per window segment:

* a pixel's channels are cut into blocks of ``k`` bits (block ``b`` = channels
  ``[b * k, (b + 1) * k)``); per layer and block, ``q`` binary patterns (k-means on the
  non-zero per-step vectors of calibration frames, :func:`fireflys.phi.patterns.select_patterns`,
  Hamming distance);
* the matcher gives each pixel block one pattern ``p`` for all its steps: the lowest index of
  the smallest ``sum_{t: a_t != 0} popcount(a_t ^ p)``; the block *uses* it when that is
  cheaper in cycles, ``1 + popcount(OR_t r_t) < popcount(OR_t a_t)`` with the residual
  ``r_t = a_t ^ p`` on the steps with a spike (``r_t = 0`` on silent steps, which add no PWP);
* a used block's residual planes replace its spike planes (in the RTL: in the input ring);
  a residual position adds the weight on steps where the spike is 1 and subtracts it where
  the pattern is 1 (``sign = p[y]``), and each step with a spike adds the block's PWP
  ``PWP[co][kpos][b][j] = sum_i p[i] * W[co, ky, kx, b * k + i]`` once (one PWP token per used
  block and group, its lanes the steps with a spike).

``a_t = p + (r_t with signs)`` on every step with a spike, so Phi stays lossless
(:func:`check_exact` rebuilds every current). The decision does not look at the weight masks:
this mode is for dense weights; on pruned layers the planner leaves it off.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from fireflys.core import golden
from fireflys.core.golden import hw_weight, layer_input
from fireflys.core.model import CompiledModel, CoreLayer
from fireflys.core.widths import signed_width
from fireflys.phi.patterns import (
    PhiError,
    pack_bits,
    popcount,
    select_patterns,
    spike_layers,
    unpack_bits,
)


def block_bits(ly: CoreLayer, k: int | None) -> int:
    """Bits of a block: ``k`` (at most 64), or the whole pixel's channels when ``None``."""
    ci = ly.geom.in_shape[0]
    kb = ci if k is None else min(k, ci)
    if not 1 <= kb <= 64:
        raise PhiError(f"Phi block width must be in 1..64 bits, got {kb} (layer of {ci} "
                       "input channels: pass a smaller k)")
    return kb


def pixel_blocks(spikes: np.ndarray, k: int) -> np.ndarray:
    """Spikes [..., C] (0/1) -> uint64 [..., nb] blocks of ``k`` channels (last one padded)."""
    c = spikes.shape[-1]
    nb = -(-c // k)
    z = np.zeros(spikes.shape[:-1] + (nb * k,), dtype=np.uint8)
    z[..., :c] = spikes
    return pack_bits(z.reshape(spikes.shape[:-1] + (nb, k)))


def channel_bits(v: np.ndarray, k: int, ci: int) -> np.ndarray:
    """The inverse of :func:`pixel_blocks`: uint64 blocks [..., nb] -> uint8 [..., ci]."""
    bits = unpack_bits(v, k)  # ..., nb, k
    return bits.reshape(bits.shape[:-2] + (-1,))[..., :ci]


@dataclass
class PhiLayer:
    index: int
    k: int
    patterns: list[np.ndarray]  # per block: uint64 [q_b]
    pwp: np.ndarray  # int64 [CO, KH, KW, nb, q_max] (0 past a block's patterns)

    @property
    def nb(self) -> int:
        return len(self.patterns)

    @property
    def q_max(self) -> int:
        return max((len(p) for p in self.patterns), default=0)

    @property
    def pwp_width(self) -> int:
        return signed_width(int(self.pwp.min(initial=0)), int(self.pwp.max(initial=0)))


@dataclass
class PhiTables:
    q: int
    layers: dict[int, PhiLayer] = field(default_factory=dict)


def pwp_table(ly: CoreLayer, k: int, patterns: list[np.ndarray]) -> np.ndarray:
    """PWP[co, ky, kx, b, j] = sum_i p_j[i] * W[co, ky, kx, b * k + i]."""
    w = hw_weight(ly).astype(np.int64)  # CO, KH, KW, CI
    co, kh, kw, ci = w.shape
    nb = len(patterns)
    wp = np.zeros((co, kh, kw, nb * k), dtype=np.int64)
    wp[..., :ci] = w
    wp = wp.reshape(co, kh, kw, nb, k)
    qm = max((len(p) for p in patterns), default=0)
    out = np.zeros((co, kh, kw, nb, qm), dtype=np.int64)
    for b, p in enumerate(patterns):
        if len(p):
            bits = unpack_bits(p, k).astype(np.int64)  # q_b, k
            out[..., b, : len(p)] = np.einsum("chwi,ji->chwj", wp[..., b, :], bits)
    return out


def hw_layers(model: CompiledModel) -> list[int]:
    """The layers the hardware can run in Phi mode: spike input and a spiking neuron (an
    integrate readout sums the steps in its peeler, which has no Phi mode)."""
    return [i for i in spike_layers(model) if model.layers[i].neuron]


def select(model: CompiledModel, calib_x: np.ndarray, q: int = 16,
           k: dict[int, int | None] | None = None, layers: list[int] | None = None,
           iters: int = 10, seed: int = 0) -> PhiTables:
    """Patterns per block of every chosen spike-input layer (default: those the hardware runs in
    Phi mode, :func:`hw_layers`; an integrate readout may be named for the software's counts)
    from calibration frames; ``k[li]`` the block width (default: the whole pixel, up to 64
    channels)."""
    if not 1 <= q <= 1024:
        raise PhiError(f"q (patterns per block) must be in 1..1024, got {q}")
    res = golden.run(model, calib_x)
    allowed = spike_layers(model)
    tables = PhiTables(q)
    for li in (hw_layers(model) if layers is None else layers):
        if li not in allowed:
            raise PhiError(f"layer L{li} is not a spike-input layer: Phi needs spike input")
        ly = model.layers[li]
        kb = block_bits(ly, (k or {}).get(li, 64))
        v = pixel_blocks(layer_input(model, calib_x, res, li), kb)  # B, T, H, W, nb
        pats = []
        for b in range(v.shape[-1]):
            vb = v[..., b].reshape(-1)
            pats.append(select_patterns(vb[vb != 0], kb, q, iters, seed + b))
        tables.layers[li] = PhiLayer(li, kb, pats, pwp_table(ly, kb, pats))
    return tables


def match(a: np.ndarray, pats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixel blocks ``a`` [N, T] against ``pats`` [q]: the pattern index (lowest of the
    smallest distance summed over the steps with a spike) and whether the block uses it."""
    n = len(a)
    if len(pats) == 0 or n == 0:
        return np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
    nz = a != 0
    d = (popcount(a[:, :, None] ^ pats[None, None, :]) * nz[:, :, None]).sum(axis=1)  # N, q
    j = np.argmin(d, axis=1)
    p = pats[j]
    r = np.where(nz, a ^ p[:, None], np.uint64(0))
    use = 1 + popcount(np.bitwise_or.reduce(r, axis=1)) < popcount(np.bitwise_or.reduce(a, axis=1))
    return j, use


@dataclass
class Decomposed:
    """One layer's input after the matcher, per pixel block: [B, T, H, W, nb] residual
    planes, [B, H, W, nb] pattern bits (0 where unused), index and use flag."""
    k: int
    spikes: np.ndarray
    resid: np.ndarray
    pattern: np.ndarray
    index: np.ndarray
    use: np.ndarray

    @property
    def lanes(self) -> np.ndarray:
        """[B, T, H, W, nb]: the steps that add a used block's PWP (those with a spike)."""
        return self.use[:, None] & (self.spikes != 0)


def decompose(tl: PhiLayer, spikes: np.ndarray) -> Decomposed:
    """The matcher's output for layer input ``spikes`` [B, T, H, W, C]."""
    v = pixel_blocks(spikes, tl.k)
    bsz, t = v.shape[:2]
    resid = v.copy()
    pat = np.zeros((bsz,) + v.shape[2:], dtype=np.uint64)
    idx = np.zeros(pat.shape, dtype=np.int64)
    use = np.zeros(pat.shape, dtype=bool)
    for b, pats in enumerate(tl.patterns):
        a = np.moveaxis(v[..., b], 1, -1).reshape(-1, t)  # B*H*W, T
        j, u = match(a, pats)
        shp = pat.shape[:-1]
        idx[..., b] = j.reshape(shp)
        use[..., b] = u.reshape(shp)
        if len(pats):
            p = np.where(u, pats[j], np.uint64(0)).reshape(shp)
            pat[..., b] = p
            on = use[:, None, ..., b] & (v[..., b] != 0)
            resid[..., b] = np.where(on, v[..., b] ^ p[:, None], v[..., b])
    return Decomposed(tl.k, v, resid, pat, idx, use)


def _windows(z: np.ndarray, ly: CoreLayer) -> np.ndarray:
    """[..., H, W, X] -> [..., Ho, Wo, X, KH, KW] (the layer's padding, stride 1)."""
    g = ly.geom
    co, kh, kw, ci = hw_weight(ly).shape
    p = g.pad if g.kind == "conv" else 0
    z = np.pad(z, [(0, 0)] * (z.ndim - 3) + [(p, p), (p, p), (0, 0)])
    return sliding_window_view(z, (kh, kw), axis=(-3, -2))


def currents(ly: CoreLayer, tl: PhiLayer, dec: Decomposed) -> np.ndarray:
    """Currents without bias [B, T, Ho, Wo, CO] from Level 1 (PWPs) and Level 2 (signed
    residuals): what the RTL accumulates."""
    w = hw_weight(ly).astype(np.int64)  # CO, KH, KW, CI
    co, kh, kw, ci = w.shape
    nb, k = tl.nb, tl.k
    wp = np.zeros((co, kh, kw, nb * k), dtype=np.int64)
    wp[..., :ci] = w
    rbits = unpack_bits(dec.resid, k).astype(np.int64)  # B,T,H,W,nb,k
    sign = 1 - 2 * unpack_bits(dec.pattern, k).astype(np.int64)  # B,H,W,nb,k
    sres = (rbits * sign[:, None]).reshape(rbits.shape[:4] + (nb * k,))
    rw = _windows(sres, ly)  # B,T,Ho,Wo,nb*k,KH,KW
    lvl2 = np.einsum("bthwikl,ckli->bthwc", rw, wp, optimize=True)
    lanes = dec.lanes.astype(np.int64)  # B,T,H,W,nb
    jw = _windows(dec.index, ly)  # B,Ho,Wo,nb,KH,KW
    lw = _windows(lanes, ly)  # B,T,Ho,Wo,nb,KH,KW
    pw = tl.pwp  # CO,KH,KW,nb,q
    lvl1 = np.zeros_like(lvl2)
    if pw.shape[-1] == 0:
        return lvl2
    for ky in range(kh):
        for kx in range(kw):
            for b in range(nb):
                vals = pw[:, ky, kx, b][:, jw[..., b, ky, kx]]  # CO, B, Ho, Wo
                lvl1 += lw[..., b, ky, kx][..., None] * np.moveaxis(vals, 0, -1)[:, None]
    return lvl2 + lvl1


def check_exact(model: CompiledModel, tables: PhiTables, x: np.ndarray) -> dict[int, int]:
    """Rebuild every Phi layer's currents from both levels for frames ``x`` and compare with
    the golden model's; raises :class:`PhiError` on any difference. Returns the pixel blocks
    checked per layer."""
    res = golden.run(model, x)
    out = {}
    for li, tl in tables.layers.items():
        ly = model.layers[li]
        inp = layer_input(model, x, res, li)  # B, T, H, W, C
        dec = decompose(tl, inp)
        got = currents(ly, tl, dec)
        ref = golden.current(inp.reshape(-1, *inp.shape[2:]), ly) - ly.bias
        if not np.array_equal(got.reshape(ref.shape), ref):
            bad = int((got.reshape(ref.shape) != ref).sum())
            raise PhiError(f"layer L{li} ({ly.geom.token()}): {bad} Phi currents differ from "
                           "the golden model's")
        out[li] = int(dec.use.size)
    return out


def layer_counts(ly: CoreLayer, tl: PhiLayer | None, spikes: np.ndarray) -> dict[str, Any]:
    """Totals over the frames of ``spikes`` [B, T, H, W, C]: operations (per step: pairs of a
    spike or residual position with a non-zero weight, plus one per PWP add) and union pairs
    (per group, block and window position: the positions the core peels, plus the PWP tokens)
    in bitmap and Phi mode."""
    w = hw_weight(ly)
    co, kh, kw, ci = w.shape
    k = tl.k if tl is not None else min(64, ci)
    nb = -(-ci // k)
    wp = np.zeros((co, kh, kw, nb * k), dtype=bool)
    wp[..., :ci] = w != 0
    m = pack_bits(wp.reshape(co, kh, kw, nb, k).astype(np.uint8)).transpose(0, 3, 1, 2)
    dec = decompose(tl, spikes) if tl is not None else None
    av = _windows(pixel_blocks(spikes, k), ly)  # B,T,Ho,Wo,nb,KH,KW
    rv = _windows(dec.resid, ly) if dec else av
    lv = _windows(dec.lanes, ly) if dec else None
    c = {"ops_zero_skip": 0, "ops_phi": 0, "union_bitmap": 0, "union_phi": 0}
    for ch in range(co):
        am, rm = av & m[ch], rv & m[ch]
        c["ops_zero_skip"] += int(popcount(am).sum())
        c["union_bitmap"] += int(popcount(np.bitwise_or.reduce(am, axis=1)).sum())
        c["ops_phi"] += int(popcount(rm).sum())
        c["union_phi"] += int(popcount(np.bitwise_or.reduce(rm, axis=1)).sum())
        if lv is not None:
            tok = lv & (m[ch] != 0)  # a block with no weight of this group adds no PWP
            c["ops_phi"] += int(tok.sum())
            c["union_phi"] += int(tok.any(axis=1).sum())
    return c


def counts(model: CompiledModel, tables: PhiTables, x: np.ndarray) -> dict[str, Any]:
    """Per layer and per frame: zero-skipping and Phi operations, bitmap and Phi union pairs,
    patterns and PWP storage; totals and ratios."""
    res = golden.run(model, x)
    nf = len(x)
    rows = []
    for li in spike_layers(model):
        ly = model.layers[li]
        tl = tables.layers.get(li)
        c = layer_counts(ly, tl, layer_input(model, x, res, li))
        row: dict[str, Any] = {"layer": f"L{li}", "token": ly.geom.token(),
                               "phi": tl is not None}
        row.update({key: v / nf for key, v in c.items()})
        if tl is not None:
            row.update(k=tl.k, blocks=tl.nb, patterns=int(sum(len(p) for p in tl.patterns)),
                       pwp_width=tl.pwp_width, pwp_words=int(tl.pwp.size))
        rows.append(row)
    tot = {key: sum(r[key] for r in rows) for key in ("ops_zero_skip", "ops_phi",
                                                      "union_bitmap", "union_phi")}
    tot["ops_ratio"] = tot["ops_zero_skip"] / max(tot["ops_phi"], 1e-9)
    tot["union_ratio"] = tot["union_bitmap"] / max(tot["union_phi"], 1e-9)
    return {"frames": nf, "q": tables.q, "layers": rows, "total": tot}


# ----------------------------------------------------------------------------------------------
# storage next to the compiled model

PHI_FILE = "phi.npz"
FORMAT, VERSION = "fireflys-phi", 2


def _weights_sha(model_dir: Path) -> str:
    return hashlib.sha256((model_dir / "weights.npz").read_bytes()).hexdigest()


def save(tables: PhiTables, model: CompiledModel, model_dir: str | Path) -> Path:
    """``phi.npz`` in the model directory: per Phi layer and block its patterns (the PWPs
    follow from the weights), bound to the weights by their sha256."""
    d = Path(model_dir)
    arrays: dict[str, np.ndarray] = {}
    for li, tl in tables.layers.items():
        for b, p in enumerate(tl.patterns):
            arrays[f"L{li}.b{b}.patterns"] = p
    head = {"format": FORMAT, "version": VERSION, "q": tables.q,
            "layers": {str(li): {"k": tl.k, "blocks": tl.nb} for li, tl in tables.layers.items()},
            "weights_sha256": _weights_sha(d)}
    arrays["meta"] = np.frombuffer(json.dumps(head).encode(), dtype=np.uint8)
    out = d / PHI_FILE
    np.savez_compressed(out, **arrays)
    return out


def _read(f: Path, model_dir: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays and meta of a tables file, checked to be readable, of this format and
    version, and bound to the weights in ``model_dir``."""
    try:
        with np.load(f) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(bytes(arrays["meta"]).decode())
    except (OSError, ValueError, KeyError, UnicodeDecodeError, EOFError,
            zipfile.BadZipFile) as e:
        raise PhiError(f"{f}: corrupt or truncated ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT \
            or meta.get("version") != VERSION:
        raise PhiError(f"{f}: field 'format'/'version': not a version-{VERSION} {FORMAT} file "
                       f"(write it again: `fireflys phi select {model_dir}`)")
    if meta.get("weights_sha256") != _weights_sha(model_dir):
        raise PhiError(f"{f}: field 'weights_sha256': the tables belong to other weights")
    return arrays, meta


def load(model: CompiledModel, model_dir: str | Path) -> PhiTables:
    """Read and validate ``phi.npz`` (patterns fit their blocks, at most q per block, the
    tables belong to these weights)."""
    d = Path(model_dir)
    f = d / PHI_FILE
    if not f.is_file():
        raise PhiError(f"{f}: no Phi tables (run `fireflys phi select {d}`)")
    arrays, meta = _read(f, d)
    try:
        q = int(meta["q"])
        layers = {int(key): (int(v["k"]), int(v["blocks"])) for key, v in meta["layers"].items()}
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise PhiError(f"{f}: corrupt or truncated ({e})") from None
    tables = PhiTables(q)
    for li, (k, nb) in layers.items():
        if li not in spike_layers(model):
            raise PhiError(f"{f}: field 'layers': L{li} is not a spike-input layer")
        ly = model.layers[li]
        ci = ly.geom.in_shape[0]
        if not 1 <= k <= min(64, ci) or nb != -(-ci // k):
            raise PhiError(f"{f}: layer L{li}: k = {k}, {nb} blocks do not fit {ci} channels")
        pats = []
        for b in range(nb):
            try:
                p = arrays[f"L{li}.b{b}.patterns"].astype(np.uint64)
            except KeyError as e:
                raise PhiError(f"{f}: missing array {e}") from None
            if p.ndim != 1 or len(p) > q or np.any(p >> np.uint64(k)):
                raise PhiError(f"{f}: L{li}.b{b}.patterns: more than q = {q} patterns or "
                               f"wider than {k} bits")
            pats.append(p)
        tables.layers[li] = PhiLayer(li, k, pats, pwp_table(ly, k, pats))
    return tables
