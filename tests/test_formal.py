"""Formal proofs (SymbiYosys + z3): they pass on the RTL, and fail where they should."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from fireflys.cli.main import main
from fireflys.verify import formal
from helpers import random_compiled

HDL = Path(__file__).resolve().parents[1] / "hdl"


@pytest.mark.parametrize("job", formal.RTL_JOBS)
def test_rtl_proofs_pass(job, tmp_path) -> None:
    proofs = formal.rtl_proofs(tmp_path, {job: None})
    assert proofs and all(p.passed for p in proofs), [(p.name, p.detail) for p in proofs]


def _mutant_fails(tmp_path: Path, job: str, task: str, old: str, new: str,
                  deps: tuple[str, ...], data: tuple[str, ...] = ()) -> None:
    """The proof ``job``/``task`` on a copy of ``hdl/<job>.sv`` with ``old`` replaced by
    ``new`` must fail, naming the module."""
    src = (HDL / f"{job}.sv").read_text()
    bad = src.replace(old, new)
    assert bad != src, f"{old!r} not in hdl/{job}.sv"
    for f in deps:
        shutil.copy(HDL / f, tmp_path / f)
    for f in data:
        shutil.copy(formal.FORMAL_DIR / f, tmp_path / f)
    (tmp_path / f"{job}.sv").write_text(bad)
    sby = (formal.FORMAL_DIR / f"{job}.sby").read_text().replace("../../hdl/", "")
    (tmp_path / f"{job}.sby").write_text(sby)
    (p,) = formal.run_sby(tmp_path / f"{job}.sby", tmp_path / "work", [task])
    assert p.status == "FAIL" and f"Assert failed in {job}" in p.detail, p


def test_scanner_proof_catches_a_body_write_to_a_used_slot(tmp_path) -> None:
    """A scanner writing S3's planes at wr_q (not after the word S4 queues the same cycle)
    overwrites a queued word's body: its proof fails."""
    _mutant_fails(tmp_path, "mask_scanner", "whole", "assign wa = push_c ? wr1_c_q : wr_c_q;",
                  "assign wa = wr_c_q;",
                  ("lut_rom.sv", "sync_rom.sv", "popcount.sv", "adder_tree.sv"),
                  ("mask_scanner_list.hex", "mask_scanner_list_phi.hex", "mask_scanner_mask.hex",
                   "mask_scanner_fields.hex"))


def test_window_proof_catches_a_gather_that_trusts_a_stale_test(tmp_path) -> None:
    """A window source that gathers in the cycle after a gather (GAge 0: its registered input
    test still compares the previous window's newest pixel) starts a window before its
    pixels arrived: its proof fails."""
    _mutant_fails(tmp_path, "window_unit", "conv", "localparam int unsigned GAge = 1;",
                  "localparam int unsigned GAge = 0;", ())


def test_window_proof_catches_a_write_one_pixel_too_far(tmp_path) -> None:
    """A producer whose test after a write compares the count before the write with the limit
    (not with the limit - 1) writes over a pixel the oldest window still reads: its proof
    fails."""
    _mutant_fails(tmp_path, "window_unit", "k1", "lt_adv = ($signed(IW'(n_in_q)) < lim1_q);",
                  "lt_adv = ($signed(IW'(n_in_q)) < limit_q);", ())


def test_peeler_proof_catches_a_rank_that_counts_the_position_itself(tmp_path) -> None:
    """A peeler whose weight rank includes the peeled position (mask & (below | y)) reads the
    next weight: its proof fails."""
    _mutant_fails(tmp_path, "spike_peeler", "w8", "b_rmask <= body_mask_i & below[WordW-1:0];",
                  "b_rmask <= body_mask_i & (below[WordW-1:0] | (x_q[WordW-1:0] & "
                  "~xm1[WordW-1:0]));",
                  ("sync_rom.sv", "popcount.sv", "adder_tree.sv"))


def test_formal_cli(tmp_path, capsys) -> None:
    assert main(["formal", "--no-rtl", "--out", str(tmp_path)]) == 2
    assert "nothing to prove" in capsys.readouterr().err


SLOW_SEEDS = [pytest.param(s, marks=pytest.mark.slow) for s in (21, 0)]  # make test-all


@pytest.mark.parametrize("seed", [2, 12, *SLOW_SEEDS])
def test_neuron_proofs_of_a_model(seed, tmp_path) -> None:
    """The pipelined neuron (lif_neuron) of every channel of random models (seed 2: T = 3, spike
    input, integrate readout, zero reset; 12: T = 3, spike readout, subtract reset; 21: T = 4,
    direct input, spike readout, an IF layer; 0: T = 6) against the wider
    reference within the compiler's bounds; one bit less membrane or score width fails (the
    random models' bounds are reached by all-positive or all-negative accumulators)."""
    model = random_compiled(np.random.default_rng(seed), "1x4x4-3c3p1-4fc")
    proofs = formal.neuron_proofs(model, f"s{seed}", tmp_path / "ok")
    assert len(proofs) == 2 and all(p.passed for p in proofs), [p.detail for p in proofs]
    (p,) = formal.neuron_proofs(model, "v", tmp_path / "v",
                                {0: {"v": model.layers[0].widths["v"] - 1}}, [0])
    assert p.status == "FAIL" and "Assert failed" in p.detail, p
    last = len(model.layers) - 1
    key = "score" if not model.layers[last].neuron else "v"
    (p,) = formal.neuron_proofs(model, "s", tmp_path / "s",
                                {last: {key: model.layers[last].widths[key] - 1}}, [last])
    assert p.status == "FAIL" and "Assert failed" in p.detail, p
