"""fireflys.report.benchphi on a small spiking model: both modes stream bit-exact through
the RTL, the summary holds the issue's fields, consistent with the operation counts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fireflys.compiler.compile import random_model
from fireflys.phi import tables as phi
from fireflys.report.benchhw import BenchError
from fireflys.report.benchphi import bench_model, merged_entries, write_summary
from helpers import patterned_spikes


@pytest.mark.slow  # make bench-phi's flow
def test_bench_phi_small_model(tmp_path) -> None:
    model = random_model("6x6x6-6c3p1-mp2-6c3p1-4fc", seed=5, calib_frames=16, T=4,
                         encoding="spikes", sparsity=0.3, pco=[2, 2, 2], pci=[6, 6, 6])
    rng = np.random.default_rng(2)
    cal, x = patterned_spikes(model, 8, rng), patterned_spikes(model, 3, rng)
    y = np.array([0, 1, 2])
    e = bench_model(model, "small", tmp_path / "w", x_cal=cal, x_eval=x, y_eval=y, q=8,
                    plan_frames=2, synth=False, say=lambda s: None)
    assert e["frames"] == 3 and e["mismatches"] == 0 and e["phi_layers"] == ["L0", "L1"]
    tables = phi.load(model, tmp_path / "w" / "model")
    want = phi.counts(model, tables, x)["total"]
    assert e["ops_phi"] == want["ops_phi"] and e["ops_zero_skip"] == want["ops_zero_skip"]
    assert e["cycles_bitmap"] > 0 and e["cycles_phi"] > 0
    assert e["cycles_ratio"] == e["cycles_bitmap"] / e["cycles_phi"]
    assert [r["layer"] for r in e["planner"]] == ["L0", "L1"]
    assert e["lut_bitmap"] is None and e["accuracy"] is not None
    out = tmp_path / "phi_summary.json"
    png = write_summary([e], out)
    assert json.loads(out.read_text())["models"]["small"]["ops_ratio"] == e["ops_ratio"]
    assert png.is_file()
    # reuse: the cached steps give the same entry
    again = bench_model(model, "small", tmp_path / "w", x_cal=cal, x_eval=x, y_eval=y, q=8,
                        plan_frames=2, synth=False, reuse=True, say=lambda s: None)
    assert again["cycles_phi"] == e["cycles_phi"] and again["ops_phi"] == e["ops_phi"]


def test_merge_keeps_other_models_and_refuses_other_frames(tmp_path) -> None:
    about = {"dataset": "mnist", "split": "val", "data_dir": "/a", "calib": 512}
    out = tmp_path / "phi_summary.json"
    a, b = {"model": "a", "x": 1}, {"model": "b", "x": 2}
    assert merged_entries(out, [a], about) == [a]  # nothing to merge yet
    out.write_text(json.dumps({"models": {"a": a, "b": b}, **about}))
    # a model benched now replaces its own entry; data_dir may differ (another machine)
    got = merged_entries(out, [{"model": "b", "x": 3}], dict(about, data_dir="/b"))
    assert got == [a, {"model": "b", "x": 3}]
    with pytest.raises(BenchError, match="'calib' is 512, this run's is 256"):
        merged_entries(out, [a], dict(about, calib=256))
    out.write_text("[1, 2]")
    with pytest.raises(BenchError, match="not a phi_summary.json"):
        merged_entries(out, [a], about)
