"""Soak testbench: resets between frames, malformed frames (tlast early / late) flagged with
the next frame still correct, random gaps and back-pressure, every output checked."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from fireflys.compiler.compile import random_input
from fireflys.verify.soak import LONG, RESET, SHORT, make_plan, soak
from helpers import random_compiled


def test_soak_resets_and_malformed_frames(tmp_path) -> None:
    rng = np.random.default_rng(5)
    model = random_compiled(rng, "2x5x5-4c3p1-mp2-6fc")
    x = random_input(model, 40, rng, density=0.4)
    plan = np.zeros(len(x), dtype=np.int64)
    plan[[3, 11, 12, 39]] = [SHORT, LONG, SHORT, LONG]  # two in a row; the last frame
    plan[[8, 20, 30]] = [RESET, RESET | SHORT, RESET | LONG]
    r = soak(model, x, tmp_path, in_gap=0.3, out_stall=0.3, plan=plan, seed=3)
    assert r.passed, r.message
    assert (r.frames, r.malformed, r.resets) == (40, 6, 3)

    # the checks can fail: a changed expected output of a well-formed frame is named
    out_hex = tmp_path / "vec" / "out.hex"
    lines = out_hex.read_text().splitlines()
    lines[13] = format(int(lines[13], 16) ^ 1, f"0{len(lines[13])}x")
    out_hex.write_text("\n".join(lines) + "\n")
    p = subprocess.run([str(tmp_path / "obj" / "soak_tb")], capture_output=True, text=True,
                       cwd=tmp_path)
    assert p.returncode != 0 and "FAIL: frame 13: output" in p.stdout + p.stderr


def test_soak_frame_periods(tmp_path) -> None:
    """The testbench prints every output's cycle: with no gaps, stalls or resets the period
    statistics exist, are ordered, and no period is shorter than the input beats of a frame
    (one pixel per beat) nor their sum longer than the run."""
    rng = np.random.default_rng(8)
    model = random_compiled(rng, "1x6x6-4c3p1-mp2-6fc")
    x = random_input(model, 20, rng, density=0.4)
    r = soak(model, x, tmp_path, in_gap=0.0, out_stall=0.0, reset_rate=0.0, bad_rate=0.0)
    assert r.passed, r.message
    assert 36 <= r.period_p50 <= r.period_p99 <= r.period_max
    assert 36 <= r.period_mean and r.period_mean * 19 < r.cycles


@pytest.mark.slow  # a second Verilator build of the same design: make test-all
def test_threaded_testbench_gives_the_same_run(tmp_path) -> None:
    """Verilator with two evaluation threads: the same verdict, cycles and output times as
    one thread (gaps, stalls, a reset and a malformed frame included)."""
    rng = np.random.default_rng(8)
    model = random_compiled(rng, "1x6x6-4c3p1-mp2-6fc")
    x = random_input(model, 12, rng, density=0.4)
    plan = np.zeros(len(x), dtype=np.int64)
    plan[5] |= RESET
    plan[8] |= SHORT
    runs = [soak(model, x, tmp_path / f"t{n}", plan=plan, threads=n) for n in (1, 2)]
    assert all(r.passed for r in runs), [r.message for r in runs]
    one, two = (r.as_dict() for r in runs)
    for k in ("cycles", "resets", "malformed", "period_mean", "period_max", "message"):
        assert one[k] == two[k], k


def test_plan_has_a_reset_and_a_malformed_frame_when_asked() -> None:
    """Rates above 0 give at least one reset (never before the first frame) and one malformed
    frame however few frames are drawn; rate 0 gives none."""
    for seed in range(20):
        plan = make_plan(50, 0.002, 0.002, np.random.default_rng(seed))
        assert (plan & RESET).any() and not plan[0] & RESET
        assert (plan & (SHORT | LONG)).any()
        assert not make_plan(50, 0.0, 0.0, np.random.default_rng(seed)).any()
    plan = make_plan(1000, 0.002, 0.002, np.random.default_rng(1))  # the CLI's default seed
    assert 1 <= int(((plan & RESET) > 0).sum()) <= 5


@pytest.mark.slow  # Phi's RTL: test_hdl_system_random, test_hdl_core; resets: test_soak_resets_...
def test_soak_phi_resets_and_malformed_frames(tmp_path) -> None:
    """Phi mode: resets between frames (the matcher and its ring restart) and
    malformed frames, with gaps and back-pressure; every output checked."""
    from fireflys.phi import tables as phi

    rng = np.random.default_rng(11)
    model = random_compiled(rng, "1x6x6-4c3p1-6c3p1-mp2-6fc")
    x = random_input(model, 24, rng, density=0.4)
    tables = phi.select(model, random_input(model, 8, rng, density=0.4), q=4)
    assert tables.layers
    plan = np.zeros(len(x), dtype=np.int64)
    plan[[4, 15]] = [SHORT, LONG]
    plan[[7, 16, 23]] = [RESET, RESET | SHORT, RESET]
    r = soak(model, x, tmp_path, in_gap=0.3, out_stall=0.3, plan=plan, seed=4, phi=tables)
    assert r.passed, r.message
    assert (r.frames, r.malformed, r.resets) == (24, 3, 3)
