"""bench-front: the points it picks from the front, and a short run of its builds (no synthesis
or place and route: those are make bench-front's)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fireflys.compiler.compile import compile_to_dir, random_input, random_model
from fireflys.compiler.front import FrontPoint, Option
from fireflys.flow.benchfront import select


def _point(cycles: float, luts: float) -> FrontPoint:
    return FrontPoint([Option(1, 72, 4, cycles, luts)])


def test_select_spans_the_front() -> None:
    """The smallest and the largest point, the others nearest to evenly spaced LUT levels,
    no point twice; all of them when there are few."""
    pts = [_point(1000 - 10 * i, 100 + 10 * i ** 2) for i in range(10)]  # 100 .. 910 LUT
    got = select(pts, 4)
    assert [q.luts for q in got] == [100, 350, 590, 910]  # levels 100, 370, 640, 910
    assert select(pts[:3], 4) == sorted(pts[:3], key=lambda q: q.luts)
    crowded = [_point(100 - i, 100 + i) for i in range(3)] + [_point(10, 1000)]
    assert len({id(q) for q in select(crowded, 4)}) == 4


@pytest.mark.slow  # two Verilator builds and a planner run: make test-all
def test_bench_front_builds_the_points(tmp_path) -> None:
    """A tiny model on the LFE5U-25F: two points built (generate, simulate, soak), each with
    its plan, 0 mismatches and the latency of its first frame; summary.json and the plot
    written, the published figures listed."""
    from fireflys.flow.benchfront import bench_front

    model = random_model("2x8x8-4c3p1-mp2-6c3p1-10fc", sparsity=0.6, seed=5, calib_frames=8,
                         encoding="spikes", T=4, pco=[1, 1, 1])
    compile_to_dir(model, tmp_path / "m")
    x = random_input(model, 4, np.random.default_rng(2), density=0.3)
    out = tmp_path / "out"
    s = bench_front(model, tmp_path / "m", x, out=out, work=tmp_path / "w", device="lfe5u-25f",
                    points=2, dataset="random", sim_frames=3, frames=6,
                    steps=["generate", "simulate", "soak"], say=lambda _: None)
    assert json.loads((out / "summary.json").read_text()) == s
    assert (out / "front.png").stat().st_size > 0
    assert len(s["points"]) == 2
    a, b = s["points"]
    assert a["luts_estimate"] < b["luts_estimate"] and a["predicted_cycles"] > b["predicted_cycles"]
    for e in s["points"]:
        assert e["steps"] == {"generate": "PASS", "simulate": "PASS", "soak": "PASS"}
        assert e["mismatches"] == 0 and e["frames"] == 6
        assert e["latency_cycles"] > 64  # at least the first frame's 64 input beats
        assert e["fits_lfe5u_85f"] is False  # not placed and routed: not claimed
    assert {p["name"] for p in s["published"]} == {"FireFly-S", "DeepFire", "Skydiver", "SyncNN"}
    with pytest.raises(ValueError, match="no design fits"):
        bench_front(model, tmp_path / "m", x, out=out, work=tmp_path / "w", device="lfe5u-25f",
                    margin=0.001, points=2, dataset="random", say=lambda _: None)
