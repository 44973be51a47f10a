"""spike_peeler (the time-parallel peeler) against a Python model: random words, every
mode, block and LUT-RAM weight ROMs, word widths 8..64, 1..8 planes."""

from __future__ import annotations

import json
import random

import pytest

from fireflys.compiler.memimg import write_hex
from fireflys.paths import REPO, hdl_sources
from fireflys.verify.hdlsim import run_cocotb

MODES = {"lanes": 0, "direct": 1, "popcount": 2}


def model(words: list[dict], wt: list[int], mode: int, planes: int, acc_w: int,
          pwp: list[int] | None = None, qw: int = 1) -> tuple[list[list[str]], int, int]:
    """Events in order (["res", accumulator word, tag] and ["done"]), peel-stage cycles and
    positions of ``words`` under the open/close protocol of spike_peeler. Phi (``pwp``): a
    residual position subtracts its weight where its sign bit is 1; position ``width + i`` is
    token i, adding PWP word ((pbase + i) << qw) | tidx[i] to the planes of its lanes."""
    num_acc = planes if mode == 0 else 1
    acc, grp = [0] * num_acc, None  # grp: the open group's tag

    def result() -> list[str]:
        word = 0
        for i, a in enumerate(acc):
            word |= (a & ((1 << acc_w) - 1)) << (i * acc_w)
        return ["res", hex(word), hex(grp)]

    out, busy, pairs = [], 0, 0
    for w in words:
        busy += max(1, w["count"]) + int(
            bool(w["open"] and w["close"] and grp is not None and w["count"] <= 1))
        if w["open"]:
            if grp is not None:
                out.append(result())
            acc, grp = [0] * num_acc, w["tag"]
        for p in range(w["bits"].bit_length()):
            if not w["bits"] >> p & 1:
                continue
            pairs += 1
            if p >= w["width"]:  # a PWP token
                i = p - w["width"]
                j = w["tidx"] >> (i * qw) & ((1 << qw) - 1)
                v = pwp[((w["pbase"] + i) << qw) | j]
                lanes = [w["tlanes"] >> (i * planes + lv) & 1 for lv in range(planes)]
            else:
                rank = bin(w["mask"] & ((1 << p) - 1)).count("1")
                v = wt[w["ptr"] + rank] * (-1 if w.get("sign", 0) >> p & 1 else 1)
                lanes = [w["planes"] >> (lv * w["width"] + p) & 1 for lv in range(planes)]
            if mode == 0:
                acc = [a + v * ln for a, ln in zip(acc, lanes, strict=True)]
            elif mode == 1:
                acc[0] += v * sum(ln << lv for lv, ln in enumerate(lanes))
            else:
                acc[0] += v * sum(lanes)
        if w["close"]:
            if grp is not None:
                out.append(result())
            out.append(["done"])
            acc, grp = [0] * num_acc, None
    return out, busy, pairs


def random_words(rng: random.Random, n: int, width: int, planes: int, depth: int,
                 density: float, ntok: int = 0, qw: int = 1, rows: int = 1) -> list[dict]:
    """Words as a scanner sends them: a word with positions opens a group when none is open;
    some words (with or without positions) open or close at random, the last one closes."""
    words, grp_open = [], False
    for i in range(n):
        mask = sum(1 << b for b in range(width) if rng.random() < density)
        bits = 0 if rng.random() < 0.15 else sum(
            1 << b for b in range(width) if mask >> b & 1 and rng.random() < 0.6)
        pl = 0
        for b in range(width):
            if bits >> b & 1:  # a position to peel spikes in at least one plane
                lanes = rng.randrange(1, 1 << planes)
                for lv in range(planes):
                    pl |= (lanes >> lv & 1) << (lv * width + b)
        nnz = bin(mask).count("1")
        phi = {}
        if ntok:  # Phi: signs, and tokens above the positions
            tok = sum(1 << i for i in range(ntok) if rng.random() < 0.4)
            tl = sum(rng.randrange(1, 1 << planes) << (i * planes) for i in range(ntok))
            phi = {"sign": rng.randrange(0, 1 << width) & bits, "tlanes": tl,
                   "tidx": rng.randrange(0, 1 << (qw * ntok)),
                   "pbase": rng.randrange(0, rows - ntok + 1)}
            bits |= tok << width
        count = bin(bits).count("1")
        opens = rng.random() < 0.3 or (count > 0 and not grp_open)
        close = i == n - 1 or rng.random() < 0.2
        grp_open = not close and (grp_open or opens)
        words.append({"bits": bits, "planes": pl, "mask": mask,
                      "ptr": rng.randrange(0, depth - nnz + 1), "count": count,
                      "le1": int(count <= 1),
                      "open": int(opens), "close": int(close),
                      "tag": rng.randrange(0, 8), "width": width, **phi})
    return words


CASES = {
    "lanes-w16-t4": dict(mode="lanes", width=16, planes=4, block=False),
    "lanes-w8-t1": dict(mode="lanes", width=8, planes=1, block=False),
    "lanes-w64-t8-bram": dict(mode="lanes", width=64, planes=8, block=True),
    "direct-w8-in8": dict(mode="direct", width=8, planes=8, block=False),
    "direct-w9-in3-bram": dict(mode="direct", width=9, planes=3, block=True),
    "popcount-w16-t4": dict(mode="popcount", width=16, planes=4, block=False),
    "popcount-w32-t5": dict(mode="popcount", width=32, planes=5, block=True),
    # deep LUT ROMs: the weight address in 2 and 3 copies (one per output bit or pair)
    "lanes-w16-t4-deep300": dict(mode="lanes", width=16, planes=4, block=False, depth=300),
    "direct-w8-in4-deep600": dict(mode="direct", width=8, planes=4, block=False, depth=600),
    # Phi: signed residual lanes and PWP tokens (LUT and block ROMs)
    "phi-w16-t4-tok2-q8": dict(mode="lanes", width=16, planes=4, block=False, ntok=2, qw=3,
                               pwp_w=7),
    "phi-w64-t4-tok1-q64-bram": dict(mode="lanes", width=64, planes=4, block=True, ntok=1,
                                     qw=6, pwp_w=9),
}


SLOW = {"phi-w64-t4-tok1-q64-bram"}  # make test-all only


@pytest.mark.parametrize("case", [
    pytest.param(c, marks=pytest.mark.slow) if c in SLOW else c for c in CASES])
def test_peeler_matches_model(case: str) -> None:
    c = CASES[case]
    rng = random.Random(case)
    width, planes, mode = c["width"], c["planes"], MODES[c["mode"]]
    depth, acc_w = c.get("depth", 3 * width), 14
    wt = [rng.choice([v for v in range(-8, 8) if v]) for _ in range(depth)]
    ntok, qw, pwp_w = c.get("ntok", 0), c.get("qw", 1), c.get("pwp_w", 4)
    rows = 12
    pwp = [rng.randrange(-(1 << (pwp_w - 1)), 1 << (pwp_w - 1)) for _ in range(rows << qw)]
    pwp[0] = -(1 << (pwp_w - 1))  # the most negative PWP: its negation needs the extra bit
    wt[0] = -8
    words = random_words(rng, 160, width, planes, depth, density=0.5, ntok=ntok, qw=qw,
                         rows=rows)
    results, busy, pairs = model(words, wt, mode, planes, acc_w, pwp if ntok else None, qw)
    work = REPO / "build" / "peeler" / case
    work.mkdir(parents=True, exist_ok=True)
    write_hex(work / "wt.hex", wt, 4, signed=True)
    write_hex(work / "pwp.hex", pwp, pwp_w, signed=True)
    stim = {"words": [{k: hex(v) for k, v in w.items() if k != "width"} for w in words],
            "results": results, "busy": busy, "pairs": pairs,
            "in_gap": 0.0 if "w8" in case else 0.3, "seed": 5}
    (work / "stim.json").write_text(json.dumps(stim))
    params = {"WordW": width, "L": planes, "Mode": mode, "WtDepth": depth, "AccW": acc_w,
              "TagW": 3, "WtBlock": int(c["block"]), "WtFile": f'"{work / "wt.hex"}"'}
    if ntok:
        params.update(Phi=1, NTok=ntok, QW=qw, PwpDepth=rows << qw, PwpW=pwp_w,
                      PwpFile=f'"{work / "pwp.hex"}"')
    run_cocotb("spike_peeler", hdl_sources("spike_peeler", "popcount", "adder_tree", "sync_rom"),
               "tb_peeler", parameters=params, build_root=work / "sim_build",
               extra_env={"FIREFLYS_STIM": str(work / "stim.json")})
