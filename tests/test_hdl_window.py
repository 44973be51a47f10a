"""window_unit (the window source): every detector reads every window intact from its
ring copy, for many shapes, detector counts and slack, frames back to back."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fireflys.paths import REPO, hdl_sources
from fireflys.verify.hdlsim import run_cocotb
from fireflys.verify.vectors import pack_rows


def windows(x: np.ndarray, kh: int, kw: int, pad: int) -> list[dict]:
    """x [F, L, C, H, W] 0/1 -> per window: pixel words per kernel position, in-image flags."""
    f, lp, c, h, w = x.shape
    words = np.array(pack_rows(x.transpose(0, 3, 4, 1, 2).reshape(f * h * w, lp * c)),
                     dtype=object).reshape(f, h, w)
    out = []
    for fi in range(f):
        for oy in range(h + 2 * pad - kh + 1):
            for ox in range(w + 2 * pad - kw + 1):
                px, img = [], []
                for ky in range(kh):
                    for kx in range(kw):
                        y, xx = oy - pad + ky, ox - pad + kx
                        inside = 0 <= y < h and 0 <= xx < w
                        px.append(words[fi, y, xx] if inside else "0")
                        img.append(int(inside))
                out.append({"pixels": px, "img": img})
    return out


CASES = {  # id: (H, W, K, pad, C, L, Pco, Hold, NumWin)
    "7x7-k3p1-c5-t4-d2": (7, 7, 3, 1, 5, 4, 2, 7, 4),
    "28x28-k3p1-c1-in8-d1": (28, 28, 3, 1, 1, 8, 1, 28, 4),
    "5x4-k3p2-c3-d3-hold1": (5, 4, 3, 2, 3, 2, 3, 1, 2),
    "6x6-k1p0-c4-d2-hold2": (6, 6, 1, 0, 4, 1, 2, 2, 2),
    "fc-3x3-c6-d2": (3, 3, "fc", 0, 6, 4, 2, 4, 2),
    "4x4-k3p0-c2-d4-win8": (4, 4, 3, 0, 2, 1, 4, 3, 8),
}
SLOW = {  # cases run by make test-all only
    "5x4-k3p2-c3-d3-hold1",
    "6x6-k1p0-c4-d2-hold2",
    "4x4-k3p0-c2-d4-win8",
    "28x28-k3p1-c1-in8-d1",
}


@pytest.mark.parametrize("case", [
    pytest.param(c, marks=pytest.mark.slow) if c in SLOW else c for c in CASES])
def test_window_reads_match_im2col(case: str) -> None:
    h, w, k, pad, c, lp, pco, hold, numwin = CASES[case]
    kh, kw = (h, w) if k == "fc" else (k, k)
    rng = np.random.default_rng(sum(map(ord, case)))
    x = (rng.random((3, lp, c, h, w)) < 0.5).astype(np.uint8)
    beats = pack_rows(x.transpose(0, 3, 4, 1, 2).reshape(-1, lp * c))
    span = (kh - 1) * w + kw
    depth = min(span + hold, h * w)
    work = REPO / "build" / "window" / case
    work.mkdir(parents=True, exist_ok=True)
    stim = work / "stim.json"
    stim.write_text(json.dumps({"beats": beats, "windows": windows(x, kh, kw, pad),
                                "pco": pco, "kw": kw, "w": w, "depth": depth, "seed": 3,
                                "in_gap": 0.3, "take": 0.5, "fin": 0.4, "gate": 0.8}))
    run_cocotb("window_unit", hdl_sources("window_unit"), "tb_window",
               parameters={"L": lp, "Ci": c, "H": h, "W": w, "KH": kh, "KW": kw, "Pad": pad,
                           "Hold": hold, "NumWin": numwin, "Pco": pco},
               build_root=work / "sim_build", extra_env={"FIREFLYS_STIM": str(stim)})
