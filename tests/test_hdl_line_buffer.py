"""Orchestrator: line-buffer windows == numpy im2col for many shapes (cocotb + Verilator)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fireflys.paths import hdl_sources
from fireflys.verify.hdlsim import run_cocotb
from fireflys.verify.vectors import pack_rows


def expected(x: np.ndarray, kh: int, kw: int, pad: int, pci: int) -> tuple[list[str], list[str]]:
    """x [F, L, C, H, W] 0/1 -> input beats (bit l*C+c) and windows (detector layout)."""
    f, lp, c, h, w = x.shape
    beats = pack_rows(x.transpose(0, 3, 4, 1, 2).reshape(f * h * w, lp * c))
    spp = -(-c // pci)
    xp = np.pad(x, ((0, 0), (0, 0), (0, spp * pci - c), (pad, pad), (pad, pad)))
    ho, wo = h + 2 * pad - kh + 1, w + 2 * pad - kw + 1
    rows = []
    for fi in range(f):
        for oy in range(ho):
            for ox in range(wo):
                win = xp[fi, :, :, oy : oy + kh, ox : ox + kw]  # L, Cp, KH, KW
                # bit (l*Nseg + s)*Pci + b, s = (ky*KW + kx)*spp + j, ci = j*Pci + b
                rows.append(win.transpose(0, 2, 3, 1).reshape(-1))
    return beats, pack_rows(np.array(rows))


CASES = [  # (H, W, KH/KW, pad, C, PCI, L)
    (1, 1, 1, 0, 3, 2, 1), (3, 3, 3, 1, 5, 4, 4), (3, 3, 3, 0, 2, 2, 1), (7, 7, 3, 1, 9, 8, 4),
    (7, 7, 1, 0, 4, 4, 1), (28, 28, 3, 1, 1, 1, 4), (5, 4, 3, 2, 3, 2, 2), (7, 3, 3, 1, 17, 16, 1),
    (3, 3, "fc", 0, 6, 4, 4),
]


@pytest.mark.parametrize("case", CASES, ids=[str(c) for c in CASES])
def test_windows_are_im2col(tmp_path, case) -> None:
    h, w, k, pad, c, pci, lp = case
    kh, kw = (h, w) if k == "fc" else (k, k)
    rng = np.random.default_rng(h * 100 + w * 10 + c)
    x = (rng.random((3, lp, c, h, w)) < 0.5).astype(np.uint8)
    beats, wins = expected(x, kh, kw, pad, pci)
    stim = tmp_path / "stim.json"
    stim.write_text(json.dumps({"beats": beats, "windows": wins, "seed": 7, "in_gap": 0.3,
                                "out_stall": 0.3}))
    run_cocotb("line_buffer", hdl_sources("line_buffer"), "tb_line_buffer",
               parameters={"L": lp, "Ci": c, "H": h, "W": w, "KH": kh, "KW": kw, "Pad": pad,
                           "Pci": pci, "Hold": 1},
               extra_env={"FIREFLYS_STIM": str(stim)})
