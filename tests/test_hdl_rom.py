"""Memory images as Verilator's $readmemh sees them (sync_rom, cocotb)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fireflys.compiler.memimg import read_hex, write_hex
from fireflys.paths import hdl_sources
from fireflys.verify.hdlsim import run_cocotb


@pytest.mark.parametrize(("width", "depth", "signed"), [(4, 1, True), (13, 5, True),
                                                          (64, 37, False)])
def test_readmemh_matches_writer(tmp_path, width: int, depth: int, signed: bool) -> None:
    rng = np.random.default_rng(width * 1000 + depth)
    if signed:
        vals = [int(v) for v in rng.integers(-(1 << (width - 1)), 1 << (width - 1), depth)]
    else:
        vals = [int(v) for v in rng.integers(0, 1 << 62, depth)]
        vals[0] = (1 << 64) - 1  # all ones in the top bit too
    f = tmp_path / "rom.hex"
    write_hex(f, vals, width, signed)
    words = read_hex(f, width, depth)
    run_cocotb(
        "sync_rom", hdl_sources("sync_rom"), "tb_sync_rom",
        parameters={"Width": width, "Depth": depth, "InitFile": f'"{f}"'},
        extra_env={"ROM_EXPECTED": json.dumps(words)},
    )
