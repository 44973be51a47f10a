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


def test_detector_proof_catches_a_wrong_weight_address(tmp_path) -> None:
    """A detector whose address counts the peeled bit itself fails its proof, naming it."""
    src = (HDL / "sparse_detector.sv").read_text()
    bad = src.replace("below[b] = (BW'(b) < b_idx);", "below[b] = (BW'(b) <= b_idx);")
    assert bad != src
    for f in ("sync_rom.sv", "lsb_encoder.sv", "popcount.sv"):
        shutil.copy(HDL / f, tmp_path / f)
    (tmp_path / "sparse_detector.sv").write_text(bad)
    sby = (formal.FORMAL_DIR / "sparse_detector.sby").read_text().replace("../../hdl/", "")
    (tmp_path / "sparse_detector.sby").write_text(sby)
    (p,) = formal.run_sby(tmp_path / "sparse_detector.sby", tmp_path / "work", ["look2"])
    assert p.status == "FAIL" and "Assert failed in sparse_detector" in p.detail


def test_scanner_proof_catches_a_body_write_to_a_used_slot(tmp_path) -> None:
    """A scanner writing S2's planes at wr_q (not after the word S3 queues the same cycle)
    overwrites a queued word's body: its proof fails."""
    src = (HDL / "tp_scanner.sv").read_text()
    bad = src.replace("assign body_wa = push ? wr1_q : wr_q;", "assign body_wa = wr_q;")
    assert bad != src
    for f in ("lut_rom.sv", "popcount.sv", "adder_tree.sv"):
        shutil.copy(HDL / f, tmp_path / f)
    shutil.copy(formal.FORMAL_DIR / "tp_scanner_list.hex", tmp_path)
    (tmp_path / "tp_scanner.sv").write_text(bad)
    sby = (formal.FORMAL_DIR / "tp_scanner.sby").read_text().replace("../../hdl/", "")
    (tmp_path / "tp_scanner.sby").write_text(sby)
    (p,) = formal.run_sby(tmp_path / "tp_scanner.sby", tmp_path / "work", ["whole"])
    assert p.status == "FAIL" and "Assert failed in tp_scanner" in p.detail


def test_peeler_proof_catches_a_rank_that_counts_the_position_itself(tmp_path) -> None:
    """A peeler whose weight rank includes the peeled position (mask & (below | y)) reads the
    next weight: its proof fails."""
    src = (HDL / "tp_peeler.sv").read_text()
    bad = src.replace("b_rmask <= body_mask_i & below;", "b_rmask <= body_mask_i & (below | y);")
    assert bad != src
    for f in ("sync_rom.sv", "popcount.sv", "adder_tree.sv"):
        shutil.copy(HDL / f, tmp_path / f)
    (tmp_path / "tp_peeler.sv").write_text(bad)
    sby = (formal.FORMAL_DIR / "tp_peeler.sby").read_text().replace("../../hdl/", "")
    (tmp_path / "tp_peeler.sby").write_text(sby)
    (p,) = formal.run_sby(tmp_path / "tp_peeler.sby", tmp_path / "work", ["w8"])
    assert p.status == "FAIL" and "Assert failed in tp_peeler" in p.detail


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_neuron_proofs_of_a_model(seed, tmp_path) -> None:
    """Every neuron of random models (T, k, reset, readout, encoding vary) proved against the
    wider reference within the compiler's bounds; one bit less membrane or score width fails."""
    model = random_compiled(np.random.default_rng(seed), "1x4x4-3c3p1-4fc")
    proofs = formal.neuron_proofs(model, f"s{seed}", tmp_path / "ok")
    assert len(proofs) == 2 and all(p.passed for p in proofs), [p.detail for p in proofs]
    last = len(model.layers) - 1
    key = "score" if not model.layers[last].neuron else "v"
    narrow = {last: {key: model.layers[last].widths[key] - 1}}
    (p,) = formal.neuron_proofs(model, f"s{seed}", tmp_path / "bad", narrow, [last])
    # the bound is tight only if some input reaches it; the random models' bounds are reached
    # by all-positive or all-negative accumulators, so one bit less must fail
    assert p.status == "FAIL", p
    assert "Assert failed" in p.detail


def test_formal_cli(tmp_path, capsys) -> None:
    assert main(["formal", "--no-rtl", "--out", str(tmp_path)]) == 2
    assert "nothing to prove" in capsys.readouterr().err
