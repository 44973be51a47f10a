"""mask_scanner (the scanner) with window_unit against a Python model: random sparse
weights and spikes, whole-pixel and part-pixel words, several detectors, back-pressure."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fireflys.compiler.bitmap import pack_hw, wt_depth
from fireflys.compiler.memimg import write_hex
from fireflys.compiler.scanlist import (
    entry_width,
    entry_word,
    field_word,
    scan_list,
    words_per_window,
)
from fireflys.paths import REPO, hdl_sources
from fireflys.verify.hdlsim import run_cocotb
from fireflys.verify.vectors import pack_rows


def model_words(x: np.ndarray, lists: list, kh: int, kw: int, pad: int, pci: int,
                spw: int) -> list[list[dict]]:
    """Queue words of every detector for frames x [F, L, C, H, W] (see mask_scanner)."""
    f, lp, c, h, w = x.shape
    spp = -(-c // pci)
    nseg = kh * kw * spp
    nw = words_per_window(nseg, spw)
    width = spw * pci
    xp = np.zeros((f, lp, spp * pci, h + 2 * pad, w + 2 * pad), dtype=np.uint8)
    xp[:, :, :c, pad : pad + h, pad : pad + w] = x
    out: list[list[dict]] = [[] for _ in lists]
    for fi in range(f):
        for oy in range(h + 2 * pad - kh + 1):
            for ox in range(w + 2 * pad - kw + 1):
                win = xp[fi, :, :, oy : oy + kh, ox : ox + kw]  # L, Cp, KH, KW
                segs = win.transpose(0, 2, 3, 1).reshape(lp, nseg, pci)  # L, s, b
                segs = np.concatenate([segs, np.zeros((lp, nw * spw - nseg, pci), np.uint8)],
                                      axis=1)
                words = [[int("".join(map(str, segs[lv, wi * spw:(wi + 1) * spw].reshape(-1)
                                           [::-1])), 2) for wi in range(nw)]
                         for lv in range(lp)]
                for d, entries in enumerate(lists):
                    pushed = False
                    for ei, e in enumerate(entries):
                        planes = [words[lv][e.word] & e.mask for lv in range(lp)]
                        bits = 0
                        for p in planes:
                            bits |= p
                        last = ei == len(entries) - 1
                        opens = bool(bits) and (e.first or not pushed)
                        pushed = (bits != 0) if e.first else (pushed or bits != 0)
                        if bits or last:
                            out[d].append({
                                "bits": bits, "planes": sum(p << (lv * width)
                                                            for lv, p in enumerate(planes)),
                                "mask": e.mask, "ptr": e.ptr, "count": bin(bits).count("1"),
                                "le1": int(bin(bits).count("1") <= 1),
                                "open": int(opens), "close": int(last), "tag": e.tag})
                        if last:
                            pushed = False
    return out


CASES = {  # id: (H, W, K, pad, CI, L, CO, PCO, PCI, SPW, weight density, spike density)
    "l1-like-9px-words": (8, 8, 3, 1, 7, 4, 6, 2, 8, 9, 0.2, 0.2),
    "l4-like-1px-words": (5, 5, 3, 1, 34, 4, 8, 3, 16, 3, 0.1, 0.3),
    "half-pixel-words": (4, 4, 3, 1, 20, 2, 4, 2, 5, 2, 0.2, 0.4),
    "direct-in8": (6, 6, 3, 1, 1, 8, 3, 1, 1, 9, 0.4, 0.3),
    "fc-3x3": (3, 3, "fc", 0, 12, 4, 5, 2, 16, 1, 0.3, 0.5),
    "empty-detector": (4, 4, 3, 0, 3, 1, 3, 3, 4, 3, 0.0, 0.5),
    "k1-two-px-words": (5, 5, 1, 0, 8, 1, 4, 2, 8, 2, 0.5, 0.3),
    "masks-in-block-ram": (5, 5, 3, 1, 10, 4, 9, 2, 10, 3, 0.2, 0.3),
    "fields-in-block-ram": (5, 5, 3, 1, 10, 4, 9, 3, 10, 3, 0.15, 0.3),
    "fields-in-block-ram-short-lists": (4, 4, 3, 0, 3, 1, 3, 3, 4, 3, 0.0, 0.5),
    "ring-in-block-ram": (6, 6, 3, 1, 7, 4, 6, 2, 8, 9, 0.3, 0.3),
    "ring-in-block-ram-half-pixel": (4, 4, 3, 1, 20, 2, 4, 2, 5, 2, 0.2, 0.4),
}
BLOCK = {"masks-in-block-ram": 0b01,  # ListBlockOf: detector 0 reads its masks from block RAM
         "fields-in-block-ram": 0b011}
# FieldBlockOf: the detectors that read their other list fields from block RAM, two ahead
FIELD_BLOCK = {"fields-in-block-ram": 0b110, "fields-in-block-ram-short-lists": 0b111}
RING_BLOCK = {"ring-in-block-ram", "ring-in-block-ram-half-pixel"}  # RingBlock: ring copies
SLOW = {  # cases run by make test-all only
    "l4-like-1px-words",
    "direct-in8",
    "empty-detector",
    "k1-two-px-words",
}


@pytest.mark.parametrize("case", [
    pytest.param(c, marks=pytest.mark.slow) if c in SLOW else c for c in CASES])
def test_scanner_words_match_model(case: str) -> None:
    h, w, k, pad, c, lp, co, pco, pci, spw, wd, sd = CASES[case]
    kh, kw = (h, w) if k == "fc" else (k, k)
    rng = np.random.default_rng(sum(map(ord, case)))
    wt = np.where(rng.random((co, kh, kw, c)) < wd, rng.integers(-8, 8, (co, kh, kw, c)), 0)
    if case in ("empty-detector", "fields-in-block-ram-short-lists"):
        wt[0] = np.where(rng.random((kh, kw, c)) < 0.3, 3, 0)  # only channel 0 has weights
    packed = pack_hw(wt.astype(np.int8), pco, pci)
    lists = [scan_list(packed, d, spw) for d in range(pco)]
    spp = -(-c // pci)
    nw = words_per_window(kh * kw * spp, spw)
    depth = wt_depth(packed)
    ptr_bits = max(1, (depth - 1).bit_length())
    tag_bits = max(1, (packed.groups - 1).bit_length())
    work = REPO / "build" / "scanner" / case
    work.mkdir(parents=True, exist_ok=True)
    ew = entry_width(spw * pci, ptr_bits, tag_bits, nw)
    for d, entries in enumerate(lists):
        image = [entry_word(e, spw * pci, ptr_bits, tag_bits, nw) for e in entries]
        write_hex(work / f"l_d{d}_list.hex", image, ew, signed=False)
        write_hex(work / f"l_d{d}_fields.hex", [field_word(v, spw * pci, nw) for v in image],
                  ew - spw * pci, signed=False)
        write_hex(work / f"l_d{d}_mask.hex", [e.mask for e in entries], spw * pci, signed=False)
    x = (rng.random((3, lp, c, h, w)) < sd).astype(np.uint8)
    words = model_words(x, lists, kh, kw, pad, pci, spw)
    stim = {"beats": pack_rows(x.transpose(0, 3, 4, 1, 2).reshape(-1, lp * c)), "pco": pco,
            "words": [[{f: hex(v) for f, v in wd_.items()} for wd_ in det] for det in words],
            "in_gap": 0.2, "stall": 0.3, "seed": 11}
    (work / "stim.json").write_text(json.dumps(stim))
    entries_of = sum(len(lst) << (16 * d) for d, lst in enumerate(lists))
    run_cocotb("scan_harness", [*hdl_sources("window_unit", "mask_scanner", "lut_rom", "sync_rom",
                                             "popcount", "adder_tree"),
                                REPO / "sim" / "scan_harness.sv"],
               "tb_scanner",
               parameters={"L": lp, "Ci": c, "H": h, "W": w, "KH": kh, "KW": kw, "Pad": pad,
                           "Hold": w, "NumWin": 4, "Pco": pco, "Pci": pci, "Spw": spw,
                           "WtDepth": depth, "TagW": tag_bits, "FifoDepth": 8,
                           "EntriesOf": f"{16 * pco}'h{entries_of:x}",
                           "ListBlockOf": f"{pco}'h{BLOCK.get(case, 0):x}",
                           "FieldBlockOf": f"{pco}'h{FIELD_BLOCK.get(case, 0):x}",
                           "RingBlock": int(case in RING_BLOCK),
                           "ListPrefix": f'"{work / "l"}"'},
               build_root=work / "sim_build", extra_env={"FIREFLYS_STIM": str(work / "stim.json")})
