"""FPGA flows of a generated model: the yosys shim Edalize runs, resource parsing, the
hardware report and `fireflys bench-hw` (the FuseSoC targets: tests/test_fusesoc.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fireflys.cli.main import main
from fireflys.compiler.compile import compile_to_dir, random_model
from fireflys.eda.synth import SynthError, cell_summary, resources
from fireflys.eda.yosys_shim import main as shim_main
from fireflys.eda.yosys_shim import mounts, record_tcl
from fireflys.report.benchhw import pnr_inputs
from fireflys.report.report import FIREFLY_S, ReportError, build, pnr_fmax, table, write

TINY = "1x6x6-4c3p1-mp2-5fc"


# ----------------------------------------------------------------------------- yosys shim
def test_shim_records_yosys_commands_of_a_tcl_template(tmp_path, monkeypatch) -> None:
    """Tcl control flow and paths are evaluated; Yosys commands (imported or via `yosys`)
    are recorded in order with their arguments."""
    (tmp_path / "procs.tcl").write_text("proc read_files {} {\n read_verilog -sv {a b.sv}\n}\n")
    t = tmp_path / "t.tcl"
    t.write_text("yosys -import\nsource procs.tcl\nset top my_top\n"
                 "proc read_verilog {args} { lappend ::srcs [lindex $args end] }\n"
                 "read_files\n"
                 "foreach f $::srcs { yosys read_slang $f }\n"
                 "synth_xilinx -family xcup -top $top\n"
                 "if {0} { never_this }\n")
    monkeypatch.chdir(tmp_path)
    cmds = record_tcl(t)
    assert cmds == ['read_slang "a b.sv"', "synth_xilinx -family xcup -top my_top"]


def test_shim_reports_tcl_errors(tmp_path, capsys) -> None:
    t = tmp_path / "bad.tcl"
    t.write_text("set x [expr {1 +}]\n")
    assert shim_main(["-l", str(tmp_path / "y.log"), "-p", f"tcl {t}"]) == 1
    err = capsys.readouterr().err
    assert str(t) in err and "Tcl error" in err


def test_shim_mounts_hide_nothing_under_tmp(tmp_path) -> None:
    """YoWASP mounts a private /tmp; the shim mounts the host's directory of a run under
    /tmp one level down so a clone there stays readable."""
    m = mounts([tmp_path / "x.ys", Path("/work")])
    entries = dict(e.split("=", 1) for e in m.split(":"))
    top = "/tmp/" + tmp_path.relative_to("/tmp").parts[0]
    assert entries[top] == top
    assert "/tmp" not in entries and entries.get("/usr") == "/usr"


# ----------------------------------------------------------------------------- parsing
def test_cell_summary_counts_xilinx_resources() -> None:
    s = cell_summary({"LUT6": 10, "LUT2": 3, "RAM32M16": 2, "FDRE": 7, "FDSE": 1,
                      "RAMB18E2": 3, "RAMB36E2": 1, "CARRY8": 2, "DSP48E2": 1, "IBUF": 9})
    assert s == {"lut_logic": 13, "lut_mem": 16, "lut": 29, "ff": 8, "bram36": 2.5,
                 "uram": 0, "dsp": 1, "carry": 2}


def test_bad_statistics_and_reports_are_named(tmp_path) -> None:
    with pytest.raises(SynthError, match="no Yosys statistics"):
        resources(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{ not json")
    with pytest.raises(SynthError, match=r"bad\.json: not a Yosys `stat -json` file"):
        resources(tmp_path / "bad.json")
    (tmp_path / "pnr.json").write_text(json.dumps({"utilization": {}}))
    with pytest.raises(ReportError, match="no fmax"):
        pnr_fmax(tmp_path / "pnr.json")


def _fake_sim(model, period: float) -> dict:
    cores = []
    for i, ly in enumerate(model.layers):
        cores.append({"name": f"L{i}", "pco": ly.pco, "pci": ly.pci, "work_per_frame": 100.0,
                      "ideal_cycles": 100.0 / ly.pco, "predicted_cycles": 60.0,
                      "busy_cycles": 62.0, "ratio": 62.0 / (100.0 / ly.pco),
                      "prediction_error": -2 / 62})
    return {"arch": str(model.arch), "frames": 4, "frame_period_cycles": period,
            "slowest_ideal_cycles": 50.0, "cores": cores}


def test_report_json_plots_and_firefly_table(tmp_path) -> None:
    model = random_model(TINY, sparsity=0.5, seed=4, calib_frames=4, pco=[2, 2], pci=[1, 4])
    (tmp_path / "rtl.json").write_text(json.dumps(_fake_sim(model, 333.0)))
    stat = {"modules": {
        "\\fireflys_top": {"num_cells_by_type": {"LUT3": 5, "FDRE": 2,
                                                 "layer_core$fireflys_top.u_core0": 1}},
        "\\layer_core$fireflys_top.u_core0": {"num_cells_by_type": {"LUT6": 40, "FDRE": 30,
                                                                      "RAMB18E2": 2}},
        "\\mask_scanner$fireflys_top.u_core0.g_det[0].u_scan": {
            "num_cells_by_type": {"LUT4": 10}},
        "\\layer_core$fireflys_top.u_core1": {"num_cells_by_type": {"LUT6": 20, "FDRE": 9}}}}
    (tmp_path / "stat.json").write_text(json.dumps(stat))
    (tmp_path / "pnr.json").write_text(json.dumps(
        {"fmax": {"clk": {"achieved": 111.0, "constraint": 333.0}},
         "utilization": {"TRELLIS_COMB": {"used": 90, "available": 83640}}}))
    (tmp_path / "dense.json").write_text(json.dumps(dict(_fake_sim(model, 3330.0), dense=True)))
    rep = build(model, tmp_path / "rtl.json", "tiny", synth=tmp_path / "stat.json",
                pnr=tmp_path / "pnr.json", preset="scnn5", dense=tmp_path / "dense.json")
    assert rep["dense_baseline"]["fewer_cycles_than_dense"] == pytest.approx(10.0)
    assert rep["fps"] == rep["fps_at_ecp5_fmax"] and rep["clock_mhz"] == 111.0
    assert "111.0 MHz (nextpnr-ecp5 Fmax)" in table(rep)
    assert rep["fps_at_ecp5_fmax"] == pytest.approx(111e6 / 333)
    assert [c["resources_xcup"]["lut"] for c in rep["layers"]] == [50, 20]
    assert rep["resources_xcup"]["total"]["lut"] == 75
    assert rep["firefly_s"]["theirs"] == FIREFLY_S["scnn5"]
    assert rep["layers"][0]["dense_pairs_per_frame"] == 6 * 6 * 4 * 9 * model.in_bits
    files = write(rep, tmp_path / "out")
    for k in ("cycles", "sparsity", "resources", "json", "txt"):
        assert files[k].is_file() and files[k].stat().st_size > 0
    text = files["txt"].read_text()
    assert "FireFly-S" in text and "10.0 x fewer cycles than dense" in text
    with pytest.raises(ReportError, match="not a dense-baseline report"):
        build(model, tmp_path / "rtl.json", "x", dense=tmp_path / "rtl.json")

    other = random_model("1x6x6-3c3p1-5fc", sparsity=0.5, seed=4, calib_frames=4)
    with pytest.raises(ReportError, match="simulated architecture"):
        build(other, tmp_path / "rtl.json", "x")
    (tmp_path / "stat1.json").write_text(json.dumps({"modules": {
        "\\layer_core$fireflys_top.u_core0": {"num_cells_by_type": {"LUT6": 1}}}}))
    with pytest.raises(ReportError, match="1 cores synthesized"):
        build(model, tmp_path / "rtl.json", "x", synth=tmp_path / "stat1.json")


def test_bench_hw_summary_figures() -> None:
    """summary(): frames/s from the worst seed and the streamed period; the per-core busy
    cycles from the system test; no ECP5 keys without a place and route."""
    from fireflys.report.benchhw import summary

    sim = {"frames": 3, "frame_period_cycles": 21.0, "predicted_frame_period_cycles": 21.0,
           "cores": [{"busy_cycles": 10.0, "predicted_cycles": 10.0, "prediction_error": 0.0},
                     {"busy_cycles": 20.0, "predicted_cycles": 19.0,
                      "prediction_error": -0.05}]}
    soak = {"frames": 50, "passed": True, "period_mean": 200.0, "period_p99": 230.0,
            "period_max": 240, "run_s": 2.0}
    xcup = {"resources": {"lut": 100, "lut_logic": 80, "lut_mem": 20, "ff": 90, "bram36": 0.5,
                          "dsp": 0}, "lut_levels_max": 6}
    ecp5 = {"worst_mhz": 150.0, "fmax_mhz": [160.0, 150.0, 155.0], "seeds": [1, 2, 3],
            "cells": {"TRELLIS_FF": 90}}
    s = summary("m", sim, soak, xcup, ecp5)
    assert (s["frames"], s["mismatches"], s["cycles_per_frame"]) == (50, 0, 200.0)
    assert s["ecp5_fmax_mhz"] == 150.0 and s["ecp5_seeds"] == [160.0, 150.0, 155.0]
    assert s["fps_ecp5"] == pytest.approx(150e6 / 200)
    assert s["per_core_busy_cycles"] == [10.0, 20.0] and s["verilator_frames_per_s"] == 25.0
    assert s["lut_levels_max"] == 6 and s["bram36"] == 0.5
    assert s["per_core_predicted_cycles"] == [10.0, 19.0]
    assert s["cycle_model_max_error"] == 0.05 and s["predicted_frame_period"] == 21.0
    assert "ecp5_fmax_mhz" not in summary("m", sim, soak, xcup, None)
    # a stream too short to time (run_s kept to 0.1 s) has no simulator speed
    assert summary("m", sim, dict(soak, run_s=0.0), xcup, None)["verilator_frames_per_s"] is None


def test_bench_hw_refuses_no_jobs(tmp_path, capsys) -> None:
    """--jobs below 1 is refused before any work, naming the option."""
    with pytest.raises(SystemExit) as e:
        main(["bench-hw", str(tmp_path / "model"), "--jobs", "0", "--out", str(tmp_path / "rep")])
    assert e.value.code == 2
    assert "argument --jobs: must be >= 1" in capsys.readouterr().err
    assert not (tmp_path / "rep").exists()


@pytest.mark.slow
def test_bench_hw_end_to_end_without_pnr(tmp_path) -> None:
    """`fireflys bench-hw --no-pnr` on a tiny model: the system test, a 30-frame stream, the
    flat xcup synthesis; summary.json agrees with the step results, --reuse reruns nothing."""
    model = random_model(TINY, sparsity=0.5, seed=4, calib_frames=4)
    compile_to_dir(model, tmp_path / "model")
    args = ["bench-hw", str(tmp_path / "model"), "--dataset", "random", "--frames", "30",
            "--sim-frames", "4", "--no-pnr", "--out", str(tmp_path / "rep"), "--work",
            str(tmp_path / "work")]
    assert main(args) == 0
    s = json.loads((tmp_path / "rep" / "summary.json").read_text())
    soak = json.loads((tmp_path / "work" / "soak.json").read_text())
    xcup = json.loads((tmp_path / "work" / "xcup.json").read_text())
    assert (s["frames"], s["mismatches"], s["sim_frames"]) == (30, 0, 4)
    assert s["cycles_per_frame"] == soak["period_mean"] >= 36  # 36 input beats per frame
    assert s["cycles_per_frame_p99"] <= s["cycles_per_frame_max"]
    assert s["lut"] == xcup["resources"]["lut"] > 0 and s["ff"] > 0 and s["dsp"] == 0
    assert 1 <= s["lut_levels_max"] <= 12
    assert "ecp5_fmax_mhz" not in s
    assert (tmp_path / "rep" / "report.json").is_file()
    stamp = (tmp_path / "work" / "xcup.json").stat().st_mtime_ns
    assert main([*args, "--reuse"]) == 0
    assert (tmp_path / "work" / "xcup.json").stat().st_mtime_ns == stamp
    # a cached P&R result (as the ecp5 step writes it): frames/s quoted at its worst seed
    made_from = pnr_inputs(json.loads((tmp_path / "work" / "xcup.json").read_text())["inputs"],
                           (1, 2), 155.0)  # the same design, seeds and clock target
    (tmp_path / "work" / "ecp5.json").write_text(json.dumps(
        {"top": "fireflys_pnr_top", "seeds": [1, 2], "fmax_mhz": [120.0, 125.0],
         "worst_mhz": 120.0, "cells": {"TRELLIS_FF": 10}, "target_mhz": 155.0,
         "inputs": made_from}))
    assert main([a for a in args if a != "--no-pnr"] + ["--reuse", "--seeds", "1,2"]) == 0
    rep = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert rep["clock_mhz"] == 120.0
    assert rep["fps"] == pytest.approx(120e6 / rep["cycles_per_frame"])
    summ = json.loads((tmp_path / "rep" / "summary.json").read_text())
    assert rep["cycles_per_frame"] == summ["cycles_per_frame"]  # the stream's period
    assert "MHz (nextpnr-ecp5 Fmax, worst seed)" in (tmp_path / "rep" / "report.txt").read_text()
