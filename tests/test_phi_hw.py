"""Phi as a hardware mode (issue 6): phi_matcher + Phi detectors (cocotb + Verilator) against
the golden model, and their operation counts against the software's Phi decisions."""

from __future__ import annotations

import subprocess
from unittest import mock

import numpy as np
import pytest

from fireflys.compiler.compile import random_input, random_model
from fireflys.compiler.memimg import read_hex
from fireflys.core import golden
from fireflys.paths import REPO
from fireflys.phi import hw as phihw
from fireflys.phi import tables as phi
from fireflys.verify.hdlsim import SimulationError
from fireflys.verify.rtlsim import simulate, simulate_core
from helpers import assert_generated_top_lint_clean

CASES = {
    # id: (arch, layer, random_model options, q, match_segs)
    "conv-ci5pci4-co7pco3-q4-auto": ("5x6x6-7c3p1-mp2-4fc", 0,
                                     dict(encoding="spikes", sparsity=0.5, T=3, pco=[3, 2],
                                          pci=[4, 8]), 4, None),
    "conv-ci5pci4-co7pco3-q4-ms1": ("5x6x6-7c3p1-mp2-4fc", 0,
                                    dict(encoding="spikes", sparsity=0.5, T=3, pco=[3, 2],
                                         pci=[4, 8]), 4, 1),
    # Look = 2 (two groups per mask word), 5 chunks of 2 segment indices (last one padded)
    "conv-look2-pci16-q16-ms2": ("16x5x5-8c3p1-3fc", 0,
                                 dict(encoding="spikes", sparsity=0.6, pco=[2, 3],
                                      pci=[16, 8]), 16, 2),
    # 1x1 kernel: one segment index; q = 3 padded to 4 pattern slots; subtract reset
    "conv-k1-q3-subtract": ("8x4x4-6c1-3fc", 0,
                            dict(encoding="spikes", sparsity=0.3, reset="subtract",
                                 pco=[4, 3], pci=[8, 8]), 3, None),
    "fc-integrate-readout-q8": ("4x3x3-6c3p1-10fc", 1,
                                dict(encoding="spikes", sparsity=0.4, pco=[3, 4],
                                     pci=[4, 8]), 8, None),
    "fc-spike-readout-k2-q2": ("4x3x3-6c3p1-7fc", 1,
                               dict(encoding="spikes", sparsity=0.3, readout="spikes", k=2,
                                    pco=[3, 7], pci=[4, 16]), 2, 3),
}


def _setup(case: str):
    arch, index, opts, q, ms = CASES[case]
    model = random_model(arch, seed=11, calib_frames=16, **opts)
    rng = np.random.default_rng(4)
    tables = phi.build_tables(model, random_input(model, 32, rng, density=0.5), q=q)
    x = random_input(model, 3, rng, density=0.5)
    return model, index, tables, x, ms


@pytest.mark.parametrize("case", list(CASES))
def test_phi_core_matches_golden_and_counts(tmp_path, case: str) -> None:
    model, index, tables, x, ms = _setup(case)
    res = golden.run(model, x)
    ops = phihw.expected_ops(model, tables, x, res)[index]
    assert ops < res.work[index], "the case must exercise patterns (Phi ops < pairs)"
    # every detector result (accumulated currents) and every output word vs golden
    r = simulate_core(model, index, x, work_dir=tmp_path, in_gap=0.3, out_stall=0.3, seed=5,
                      phi=tables, match_segs=ms)
    # the RTL took the same pattern and per-channel decisions as fireflys.phi
    assert r["pairs"] == ops


def test_a_wrong_pwp_is_caught(tmp_path) -> None:
    model, index, tables, x, ms = _setup("conv-ci5pci4-co7pco3-q4-auto")
    for t in tables.layers[index].pwp:
        t += 1  # every PWP of the layer off by one
    with pytest.raises(SimulationError):
        simulate_core(model, index, x, work_dir=tmp_path, phi=tables, match_segs=ms)


def test_phi_images_layout(tmp_path) -> None:
    model, index, tables, _, _ = _setup("conv-look2-pci16-q16-ms2")
    ly = model.layers[index]
    entries = phihw.write_images(model, tables, tmp_path, {index: 2})
    prm = phihw.core_params(model, tables, index, 2)
    q, k, cw = prm["Q"], ly.pci, prm["ColwW"]
    assert q == 16 and prm["MatchSegs"] == 2
    pat = next(e for e in entries if e["kind"] == "phi_pat")
    words = read_hex(tmp_path / pat["file"], pat["width"])
    masks = phi.segment_masks(ly)
    seg_w = q * k + q + k * cw
    assert len(words) == 5  # 9 segment indices in chunks of 2
    for s, pats in enumerate(tables.layers[index].patterns):
        f = (words[s // 2] >> ((s % 2) * seg_w)) & ((1 << seg_w) - 1)
        got = [(f >> (j * k)) & ((1 << k) - 1) for j in range(len(pats))]
        assert got == [int(p) for p in pats]
        assert (f >> (q * k)) & ((1 << q) - 1) == (1 << len(pats)) - 1
        colw = [(f >> (q * k + q + b * cw)) & ((1 << cw) - 1) for b in range(k)]
        assert colw == phi.bit_weights(masks[:, s], k, "masked").tolist()
    assert (words[4] >> seg_w) == 0  # padding slot of the last chunk: no valid pattern


def test_phi_rejects_unsupported_tables() -> None:
    model, index, tables, _, _ = _setup("conv-ci5pci4-co7pco3-q4-auto")
    plain = phi.PhiTables(tables.q, "plain", tables.layers)
    with pytest.raises(phi.PhiError, match="mask-aware"):
        phihw.check_tables(model, plain)
    with pytest.raises(phi.PhiError, match="match_segs must be in 1..18"):
        phihw.core_params(model, tables, index, 19)
    direct = random_model("1x6x6-4c3p1-3fc", sparsity=0.5, seed=1, calib_frames=4,
                          pco=[2, 3], pci=[1, 4])
    t = phi.build_tables(direct, random_input(direct, 8, np.random.default_rng(0)), q=4)
    t.layers[0] = phi.PhiLayer(0, 1, [np.zeros(0, np.uint64)] * 9,
                               [np.zeros((0, 4), np.int64)] * 9)
    with pytest.raises(phi.PhiError, match="direct"):
        phihw.check_tables(direct, t)
    with pytest.raises(ValueError, match="zero skipping"):
        from fireflys.hwgen.params import core_params
        core_params(model, REPO / "build", skip=False, phi=tables)


def test_phi_system_matches_golden(tmp_path) -> None:
    """A whole model with every spike layer in Phi mode: every core's output stream and the
    outputs vs the golden model, with input gaps and output stalls; per-core op counters."""
    model = random_model("2x8x8-6c3p1-mp2-8c3p1-mp2-5fc", encoding="spikes", sparsity=0.6,
                         seed=5, calib_frames=8)
    from fireflys.compiler.compile import compile_to_dir

    compile_to_dir(model, tmp_path / "model")
    rng = np.random.default_rng(2)
    tables = phi.build_tables(model, random_input(model, 32, rng, density=0.5), q=8)
    x = random_input(model, 4, rng, density=0.5)
    r = simulate(model, tmp_path / "model", x, phi=tables, in_gap=0.2, out_stall=0.2,
                 work_dir=tmp_path / "rtl")
    ops = phihw.expected_ops(model, tables, x, golden.run(model, x))
    assert r.pairs == ops
    assert sum(ops) < sum(r.work)


def test_phi_standalone_compare(tmp_path) -> None:
    """`fireflys phi rtl --standalone`: both modes in the standalone testbench, every output vs
    golden; a wrong expected output in the Phi run is reported as a mismatch."""
    from fireflys.verify.phirtl import compare_standalone
    from fireflys.verify.rtlsim import MismatchError

    model = random_model("2x6x6-5c3p1-mp2-6fc", encoding="spikes", sparsity=0.5, seed=3,
                         calib_frames=8, pco=[2, 3], pci=[2, 8])
    rng = np.random.default_rng(6)
    tables = phi.build_tables(model, random_input(model, 32, rng, density=0.5), q=4)
    x = random_input(model, 12, rng, density=0.5)
    rep = compare_standalone(model, tables, x, in_gap=0.2, out_stall=0.2, work_dir=tmp_path,
                             quiet=True)
    assert rep["mismatches"] == 0 and rep["frames"] == 12
    assert rep["phi"]["total_cycles"] > 0 and rep["bitmap"]["total_cycles"] > 0
    assert rep["ops_per_frame"]["phi"] < rep["ops_per_frame"]["bitmap_pairs"]
    # the Phi run's checks can fail: break an expected output and run its binary again
    out_hex = tmp_path / "phi" / "vec" / "out.hex"
    lines = out_hex.read_text().splitlines()
    lines[5] = format(int(lines[5], 16) ^ 2, f"0{len(lines[5])}x")
    out_hex.write_text("\n".join(lines) + "\n")
    p = subprocess.run([str(tmp_path / "phi" / "obj" / "soak_tb")], capture_output=True,
                       text=True, cwd=tmp_path / "phi")
    assert p.returncode != 0 and "FAIL: frame 5: output" in p.stdout + p.stderr
    with pytest.raises(MismatchError, match="phi mode"):
        with mock.patch("fireflys.verify.phirtl.soak", side_effect=lambda *a, **k: _failed(k)):
            compare_standalone(model, tables, x[:2], work_dir=tmp_path / "again",
                               quiet=True)


def _failed(kw):
    from fireflys.verify.soak import SoakResult

    return SoakResult(model="m", mode="phi" if kw.get("phi") is not None else "bitmap",
                      frames=2, resets=0, malformed=0, cycles=-1, in_gap=0, out_stall=0,
                      seed=1, build_s=0, run_s=0, passed=kw.get("phi") is None,
                      message="FAIL: frame 0: output")


def test_generated_phi_top_is_lint_clean() -> None:
    from fireflys.hwgen.generate import generate

    model = random_model("3x6x6-5c3p1-mp2-6fc", encoding="spikes", sparsity=0.5, seed=2,
                         calib_frames=4, pco=[2, 3], pci=[2, 8])
    tables = phi.build_tables(model, random_input(model, 16, np.random.default_rng(1),
                                                  density=0.5), q=4)
    out = REPO / "build" / "lint-generated" / "phi"  # read_slang cannot read under /tmp
    generate(model, out, phi=tables)
    assert "Phi(1)" in (out / "fireflys_top.sv").read_text()
    assert_generated_top_lint_clean(out)
