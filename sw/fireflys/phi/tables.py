"""Phi pattern-based hierarchical sparsity, in software (issue 6): pattern selection, the
two-level decomposition and its exact reconstruction, PWP tables, op counts.

Vectors are the hardware's segments: for a spike-input layer, each (frame, time step, output
pixel) window in the detectors' window order (ky, kx, ci) is cut into ``nseg`` segments of
``k = PCI`` bits (:mod:`fireflys.compiler.bitmap`), and segment index ``s`` is the K-partition. Per
layer and segment index, ``q`` binary patterns are chosen by k-means on calibration spikes.

Level 1: a vector ``a`` is matched to one pattern ``p`` of its segment index, shared by all
output channels (one matcher per core); Level 2: the residual ``R = a - p`` in {-1, 0, +1},
``R+ = a & ~p`` (add the weight), ``R- = p & ~a`` (subtract it). ``p + R == a`` exactly, so
the current is unchanged (Phi is lossless).

Beyond Phi (its weights are dense; ours are pruned, and a pair with a zero weight costs
nothing in either level): the cost of a vector for output channel ``c`` with mask ``m`` is
``popcount(a & m)`` by zero skipping, ``1 + popcount((a ^ p) & m)`` with the pattern (one PWP
add plus the residual pairs with non-zero weights). So

* the pattern shared by the channels is the one with the fewest residual pairs summed over
  the channels: a Hamming distance weighted per bit by the number of channels whose weight
  there is non-zero (``colw``);
* each channel (detector) uses the pattern only where that is cheaper for it;
* k-means selects patterns with the same weighted distance.

``method="plain"`` is Phi as published (mask-blind Hamming distance, pattern used when
``popcount(a ^ p) + 1 < popcount(a)``, for every channel alike), counted with the same pair
costs, for comparison.
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

from fireflys.core.golden import hw_weight, layer_input
from fireflys.core.model import CompiledModel, CoreLayer
from fireflys.core.widths import signed_width
from fireflys.errors import FireflysError

PHI_FILE = "phi.npz"


class PhiError(FireflysError, ValueError):
    """Unusable Phi tables or options (the message names the file and field)."""


# ----------------------------------------------------------------------------------------------
# vectors and masks in the hardware's segment order


def geometry(ly: CoreLayer) -> tuple[int, int, int, int, int]:
    co, kh, kw, ci = hw_weight(ly).shape
    spp = -(-ci // ly.pci)
    return co, kh, kw, ci, spp


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """[..., k] of 0/1 -> [...] uint64, bit b = element b."""
    k = bits.shape[-1]
    w = np.left_shift(np.uint64(1), np.arange(k, dtype=np.uint64))
    return (bits.astype(np.uint64) * w).sum(axis=-1, dtype=np.uint64)


def unpack_bits(v: np.ndarray, k: int) -> np.ndarray:
    """[...] uint64 -> [..., k] uint8."""
    return ((v[..., None] >> np.arange(k, dtype=np.uint64)) & np.uint64(1)).astype(np.uint8)


def _popcount(v: np.ndarray) -> np.ndarray:
    return np.bitwise_count(v).astype(np.int64)


def segment_vectors(ly: CoreLayer, spikes_nhwc: np.ndarray) -> np.ndarray:
    """Input spikes [N, H, W, C] (N = frames x steps) -> uint64 [N * Ho * Wo, nseg]."""
    g = ly.geom
    co, kh, kw, ci, spp = geometry(ly)
    x = spikes_nhwc.astype(np.uint8)
    if g.pad:
        x = np.pad(x, ((0, 0), (g.pad, g.pad), (g.pad, g.pad), (0, 0)))
    if spp * ly.pci != ci:
        x = np.pad(x, ((0, 0), (0, 0), (0, 0), (0, spp * ly.pci - ci)))
    win = sliding_window_view(x, (kh, kw), axis=(1, 2))  # N, Ho, Wo, C, KH, KW
    n, ho, wo = win.shape[:3]
    cols = win.transpose(0, 1, 2, 4, 5, 3).reshape(n * ho * wo, kh * kw * spp, ly.pci)
    return pack_bits(cols)


def segment_masks(ly: CoreLayer) -> np.ndarray:
    """Non-zero weight masks per output channel and segment: uint64 [CO, nseg]."""
    co, kh, kw, ci, spp = geometry(ly)
    w = np.zeros((co, kh, kw, spp * ly.pci), dtype=np.int8)
    w[..., :ci] = hw_weight(ly)
    return pack_bits((w != 0).reshape(co, kh * kw * spp, ly.pci))


def segment_weights(ly: CoreLayer) -> np.ndarray:
    """Weights per output channel, segment and bit: int64 [CO, nseg, k]."""
    co, kh, kw, ci, spp = geometry(ly)
    w = np.zeros((co, kh, kw, spp * ly.pci), dtype=np.int64)
    w[..., :ci] = hw_weight(ly)
    return w.reshape(co, kh * kw * spp, ly.pci)


def spike_layers(model: CompiledModel) -> list[int]:
    """Layers whose input is spikes (a direct-input first layer sees pixel bit-planes)."""
    return [i for i in range(len(model.layers)) if i > 0 or model.encoding == "spikes"]


def layer_vectors(model: CompiledModel, x: np.ndarray, res, li: int) -> np.ndarray:
    """All input vectors of layer ``li`` for frames ``x`` (golden run ``res``)."""
    inp = layer_input(model, x, res, li)  # [B, T, H, W, C]
    return segment_vectors(model.layers[li], inp.reshape(-1, *inp.shape[2:]))


# ----------------------------------------------------------------------------------------------
# costs and assignment


def _distance(u: np.ndarray, pats: np.ndarray, colw: np.ndarray) -> np.ndarray:
    """Weighted Hamming distance of vectors ``u`` [n] to patterns [q] -> [n, q]."""
    k = colw.shape[0]
    diff = unpack_bits(u[:, None] ^ pats[None, :], k)  # n, q, k
    return (diff * colw).sum(axis=-1, dtype=np.int64)


def bit_weights(masks: np.ndarray, k: int, method: str) -> np.ndarray:
    """Per bit of a segment, the weight of a mismatch in the pattern distance: the number of
    channels whose weight there is non-zero (``masked``), or 1 (``plain``, Phi's Hamming)."""
    if method == "masked":
        return unpack_bits(masks, k).sum(axis=0).astype(np.int64)
    if method == "plain":
        return np.ones(k, dtype=np.int64)
    raise PhiError(f"unknown Phi method {method!r}: 'masked' or 'plain'")


def chosen(pats: np.ndarray, best: np.ndarray) -> np.ndarray:
    """The pattern each vector uses (``best`` from :func:`assign`), 0 where none."""
    if len(pats) == 0:
        return np.zeros(len(best), dtype=np.uint64)
    return np.where(best >= 0, pats[np.maximum(best, 0)], np.uint64(0)).astype(np.uint64)


def assign(u: np.ndarray, pats: np.ndarray, masks: np.ndarray, k: int,
           method: str = "masked") -> tuple[np.ndarray, np.ndarray]:
    """For vectors ``u`` [n] of one segment index (``k`` bits): the shared pattern index
    (-1: none) and the per-channel use flags [n, CO] (masks [CO] of that segment)."""
    n = len(u)
    colw = bit_weights(masks, k, method)
    if len(pats) == 0 or n == 0:
        return np.full(n, -1, dtype=np.int64), np.zeros((n, len(masks)), dtype=bool)
    d = _distance(u, pats, colw)
    best = np.argmin(d, axis=1)
    p = pats[best]
    zs = _popcount(u[:, None] & masks[None, :])  # n, CO
    with_p = 1 + _popcount((u ^ p)[:, None] & masks[None, :])
    if method == "masked":
        use = with_p < zs
    else:
        use = np.broadcast_to((_popcount(u ^ p) + 1 < _popcount(u))[:, None], zs.shape).copy()
    best = np.where(use.any(axis=1), best, -1)
    return best, use


def vector_costs(u: np.ndarray, pats: np.ndarray, masks: np.ndarray, k: int,
                 method: str = "masked") -> dict[str, np.ndarray]:
    """Per vector: zero-skipping pairs, Level-1 adds, Level-2 pairs (summed over channels)."""
    best, use = assign(u, pats, masks, k, method)
    zs = _popcount(u[:, None] & masks[None, :])
    p = chosen(pats, best)
    res = _popcount((u ^ p)[:, None] & masks[None, :])
    l1 = use.sum(axis=1)
    l2 = np.where(use, res, zs).sum(axis=1)
    return {"zs": zs.sum(axis=1), "l1": l1, "l2": l2, "best": best}


# ----------------------------------------------------------------------------------------------
# pattern selection


def _kmeanspp(u: np.ndarray, f: np.ndarray, q: int, colw: np.ndarray,
              rng: np.random.Generator) -> np.ndarray:
    first = int(rng.choice(len(u), p=f / f.sum()))
    cent = [u[first]]
    d = _distance(u, np.array(cent, dtype=np.uint64), colw)[:, 0].astype(np.float64)
    for _ in range(1, q):
        w = f * d
        if w.sum() <= 0:
            break
        nxt = int(rng.choice(len(u), p=w / w.sum()))
        cent.append(u[nxt])
        d = np.minimum(d, _distance(u, np.array([u[nxt]], dtype=np.uint64), colw)[:, 0])
    return np.array(cent, dtype=np.uint64)


def select_patterns(vectors: np.ndarray, masks: np.ndarray, k: int, q: int,
                    method: str = "masked", iters: int = 10, seed: int = 0) -> np.ndarray:
    """Up to ``q`` binary patterns for one segment index from its calibration ``vectors``:
    all-zero and one-hot vectors dropped, frequency-weighted k-means (k-means++ start) with
    the (weighted) Hamming distance, centroids rounded to 0/1; patterns of fewer than two
    ones (no better than a weight) and duplicates removed."""
    colw = bit_weights(masks, k, method)
    if not colw.any():
        return np.zeros(0, dtype=np.uint64)
    u, f = np.unique(vectors, return_counts=True)
    keep = _popcount(u & pack_bits(colw > 0)) >= 2
    u, f = u[keep], f[keep].astype(np.float64)
    if len(u) == 0:
        return np.zeros(0, dtype=np.uint64)
    rng = np.random.default_rng(seed)
    cent = _kmeanspp(u, f, min(q, len(u)), colw, rng)
    bits = unpack_bits(u, k).astype(np.float64)
    for _ in range(iters):
        lab = np.argmin(_distance(u, cent, colw), axis=1)
        new = []
        for j in range(len(cent)):
            sel = lab == j
            if not sel.any():
                continue
            mean = (bits[sel] * f[sel, None]).sum(axis=0) / f[sel].sum()
            new.append(pack_bits((mean >= 0.5).astype(np.uint8)))
        new_arr = np.unique(np.array(new, dtype=np.uint64))
        if len(new_arr) == len(cent) and np.array_equal(np.sort(cent), new_arr):
            break
        cent = new_arr
    cent = np.unique(cent)
    return cent[_popcount(cent) >= 2]


# ----------------------------------------------------------------------------------------------
# tables


@dataclass
class PhiLayer:
    index: int
    k: int
    patterns: list[np.ndarray]  # per segment index: uint64 [q_s]
    pwp: list[np.ndarray]  # per segment index: int64 [q_s, CO] = sum_b p[b] * W[co, s, b]

    @property
    def q_max(self) -> int:
        return max((len(p) for p in self.patterns), default=0)

    @property
    def pwp_width(self) -> int:
        vals = [v for t in self.pwp for v in (t.min(initial=0), t.max(initial=0))]
        return signed_width(min(vals, default=0), max(vals, default=0))


@dataclass
class PhiTables:
    q: int
    method: str
    layers: dict[int, PhiLayer] = field(default_factory=dict)


def build_tables(model: CompiledModel, calib_x: np.ndarray, q: int = 16,
                 method: str = "masked", iters: int = 10, seed: int = 0) -> PhiTables:
    """Select patterns on calibration frames and compute the PWP tables of every
    spike-input layer."""
    from fireflys.core import golden

    if not 1 <= q <= 1024:
        raise PhiError(f"q (patterns per segment index) must be in 1..1024, got {q}")
    res = golden.run(model, calib_x)
    tables = PhiTables(q, method)
    for li in spike_layers(model):
        ly = model.layers[li]
        vec = layer_vectors(model, calib_x, res, li)
        masks = segment_masks(ly)
        w = segment_weights(ly)
        pats, pwps = [], []
        for s in range(vec.shape[1]):
            p = select_patterns(vec[:, s], masks[:, s], ly.pci, q, method, iters, seed + s)
            pats.append(p)
            pb = unpack_bits(p, ly.pci).astype(np.int64)  # q_s, k
            pwps.append(pb @ w[:, s, :].T)  # q_s, CO
        tables.layers[li] = PhiLayer(li, ly.pci, pats, pwps)
    return tables


# ----------------------------------------------------------------------------------------------
# exactness


def check_exact(model: CompiledModel, tables: PhiTables, x: np.ndarray) -> dict[int, int]:
    """Rebuild every spike layer's current from Level 1 (PWPs) and Level 2 (residuals) for
    frames ``x`` and compare with the golden model's; also check P + R == A on every vector.
    Returns the vectors checked per layer; raises :class:`PhiError` on any difference."""
    from fireflys.core import golden

    res = golden.run(model, x)
    checked = {}
    for li, tl in tables.layers.items():
        ly = model.layers[li]
        vec = layer_vectors(model, x, res, li)
        masks = segment_masks(ly)
        w = segment_weights(ly)
        co = w.shape[0]
        total = np.zeros((vec.shape[0], co), dtype=np.int64)
        for s in range(vec.shape[1]):
            u = vec[:, s]
            pats = tl.patterns[s]
            best, use = assign(u, pats, masks[:, s], ly.pci, tables.method)
            p = chosen(pats, best)
            rp, rn = u & ~p, p & ~u
            if np.any(((p | rp) & ~rn) != u):
                raise PhiError(f"layer L{li} segment {s}: P + R != A")
            bits_a = unpack_bits(u, ly.pci).astype(np.int64)
            plain = bits_a @ w[:, s, :].T  # n, CO
            lvl1 = (tl.pwp[s][np.maximum(best, 0)] if len(pats)
                    else np.zeros((len(u), co), dtype=np.int64))
            r = (unpack_bits(rp, ly.pci).astype(np.int64)
                 - unpack_bits(rn, ly.pci).astype(np.int64))
            lvl2 = r @ w[:, s, :].T
            total += np.where(use, lvl1 + lvl2, plain)
        g = ly.geom
        inp = layer_input(model, x, res, li)
        ref = golden.current(inp.reshape(-1, *inp.shape[2:]), ly) - ly.bias
        if not np.array_equal(total.reshape(ref.shape), ref):
            bad = int((total.reshape(ref.shape) != ref).sum())
            raise PhiError(f"layer L{li} ({g.token()}): {bad} currents differ from the golden "
                           "model's")
        checked[li] = int(vec.size)
    return checked


# ----------------------------------------------------------------------------------------------
# op counts


def op_counts(model: CompiledModel, tables: PhiTables, x: np.ndarray,
              methods: tuple[str, ...] = ("masked", "plain")) -> dict[str, Any]:
    """Per layer, per frame: dense pairs, zero-skipping pairs, Phi Level-1 adds and Level-2
    pairs (the tables' patterns, assigned by each of ``methods``), and the PWP storage."""
    from fireflys.core import golden

    res = golden.run(model, x)
    nf = len(x)
    out: dict[str, Any] = {"frames": nf, "q": tables.q, "select": tables.method, "layers": []}
    for li, ly in enumerate(model.layers):
        g = ly.geom
        co, kh, kw, ci, spp = geometry(ly)
        _, ho, wo = g.conv_shape
        planes = model.T if (li > 0 or model.encoding == "spikes") else model.in_bits
        dense = planes * ho * wo * co * kh * kw * ci
        row: dict[str, Any] = {"layer": f"L{li}", "token": g.token(), "dense": dense,
                               "zero_skip": res.work[li] / nf, "pci": ly.pci}
        nnz = int(np.count_nonzero(ly.weight))
        nseg = kh * kw * spp
        ptr_w = max(1, int(np.ceil(np.log2(max(2, nnz + 1)))))
        row["bitmap_bits"] = co * nseg * ly.pci + 4 * nnz + co * nseg * ptr_w
        if li in tables.layers:
            tl = tables.layers[li]
            vec = layer_vectors(model, x, res, li)
            masks = segment_masks(ly)
            for m in methods:
                zs = l1 = l2 = 0
                for s in range(vec.shape[1]):
                    u, cnt = np.unique(vec[:, s], return_counts=True)
                    c = vector_costs(u, tl.patterns[s], masks[:, s], ly.pci, m)
                    zs += int((c["zs"] * cnt).sum())
                    l1 += int((c["l1"] * cnt).sum())
                    l2 += int((c["l2"] * cnt).sum())
                if zs != res.work[li]:
                    raise PhiError(f"layer L{li}: zero-skipping pairs {zs} != golden work "
                                   f"{res.work[li]}")
                key = "phi" if m == "masked" else "phi_plain"
                row[f"{key}_l1"] = l1 / nf
                row[f"{key}_l2"] = l2 / nf
                row[key] = (l1 + l2) / nf
            q_used = sum(len(p) for p in tl.patterns)
            row["patterns"] = q_used
            row["pwp_width"] = tl.pwp_width
            row["pwp_bits"] = q_used * co * tl.pwp_width + q_used * ly.pci
        else:
            row["phi"] = row["zero_skip"]
            row["phi_plain"] = row["zero_skip"]
            row["patterns"] = 0
            row["pwp_bits"] = 0
        out["layers"].append(row)
    tot = {k: sum(r[k] for r in out["layers"]) for k in ("dense", "zero_skip", "phi",
                                                         "phi_plain", "bitmap_bits",
                                                         "pwp_bits")}
    tot["zs_over_phi"] = tot["zero_skip"] / max(tot["phi"], 1e-9)
    tot["zs_over_phi_plain"] = tot["zero_skip"] / max(tot["phi_plain"], 1e-9)
    tot["dense_over_phi"] = tot["dense"] / max(tot["phi"], 1e-9)
    tot["pwp_over_bitmap"] = tot["pwp_bits"] / max(tot["bitmap_bits"], 1)
    out["total"] = tot
    return out


# ----------------------------------------------------------------------------------------------
# storage next to the compiled model


def _weights_sha(model_dir: Path) -> str:
    return hashlib.sha256((model_dir / "weights.npz").read_bytes()).hexdigest()


def write_table_file(out: Path, fmt: str, arrays: dict[str, np.ndarray], meta: dict[str, Any],
                     model_dir: Path) -> Path:
    """``arrays`` and ``meta`` (plus format, version 1 and the weights' sha256) as ``out``."""
    head = {"format": fmt, "version": 1, **meta, "weights_sha256": _weights_sha(model_dir)}
    arrays = dict(arrays, meta=np.frombuffer(json.dumps(head).encode(), dtype=np.uint8))
    np.savez_compressed(out, **arrays)
    return out


def read_table_file(f: Path, fmt: str, model_dir: Path
                    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays and meta of a table file written by :func:`write_table_file`, checked to be
    readable, a version-1 ``fmt`` file and bound to the weights in ``model_dir``."""
    try:
        with np.load(f) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(bytes(arrays["meta"]).decode())
    except (OSError, ValueError, KeyError, UnicodeDecodeError, EOFError,
            zipfile.BadZipFile) as e:
        raise PhiError(f"{f}: corrupt or truncated ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != fmt or meta.get("version") != 1:
        raise PhiError(f"{f}: field 'format'/'version': not a version-1 {fmt} file")
    if meta.get("weights_sha256") != _weights_sha(model_dir):
        raise PhiError(f"{f}: field 'weights_sha256': the tables belong to other weights")
    return arrays, meta


def save_tables(tables: PhiTables, model: CompiledModel, model_dir: str | Path) -> Path:
    """``phi.npz`` in the model directory: per spike layer and segment index the patterns and
    PWPs, bound to the weights by their sha256."""
    d = Path(model_dir)
    arrays: dict[str, np.ndarray] = {}
    for li, tl in tables.layers.items():
        for s, (p, t) in enumerate(zip(tl.patterns, tl.pwp, strict=True)):
            arrays[f"L{li}.s{s}.patterns"] = p
            arrays[f"L{li}.s{s}.pwp"] = t
    meta = {"q": tables.q, "method": tables.method,
            "layers": {str(li): len(tl.patterns) for li, tl in tables.layers.items()}}
    return write_table_file(d / PHI_FILE, "fireflys-phi", arrays, meta, d)


def load_tables(model: CompiledModel, model_dir: str | Path) -> PhiTables:
    """Read and validate ``phi.npz``: the patterns fit their segment, the PWPs equal the
    patterns times the model's weights."""
    d = Path(model_dir)
    f = d / PHI_FILE
    if not f.is_file():
        raise PhiError(f"{f}: no Phi tables (run `fireflys phi select {d}`)")
    arrays, meta = read_table_file(f, "fireflys-phi", d)
    tables = PhiTables(int(meta["q"]), str(meta["method"]))
    for key, nseg in meta["layers"].items():
        li = int(key)
        if li not in spike_layers(model):
            raise PhiError(f"{f}: field 'layers': L{li} is not a spike-input layer")
        ly = model.layers[li]
        w = segment_weights(ly)
        if nseg != w.shape[1]:
            raise PhiError(f"{f}: layer L{li}: {nseg} segment indices, the model has "
                           f"{w.shape[1]}")
        pats, pwps = [], []
        for s in range(nseg):
            try:
                p = arrays[f"L{li}.s{s}.patterns"].astype(np.uint64)
                t = arrays[f"L{li}.s{s}.pwp"].astype(np.int64)
            except KeyError as e:
                raise PhiError(f"{f}: missing array {e}") from None
            if len(p) > tables.q or np.any(p >> np.uint64(ly.pci)):
                raise PhiError(f"{f}: L{li}.s{s}.patterns: more than q patterns or wider than "
                               f"{ly.pci} bits")
            want = unpack_bits(p, ly.pci).astype(np.int64) @ w[:, s, :].T
            if t.shape != want.shape or not np.array_equal(t, want):
                raise PhiError(f"{f}: L{li}.s{s}.pwp: not the patterns times the weights")
            pats.append(p)
            pwps.append(t)
        tables.layers[li] = PhiLayer(li, ly.pci, pats, pwps)
    return tables
