"""`fireflys build CONFIG` (fireflys.flow.build): named steps with verdicts in steps.json, a
FAIL stops the flow, --from/--to slices, config errors name the file and field."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from fireflys.cli.main import main
from fireflys.compiler.compile import compile_to_dir, random_model
from fireflys.core.model import load_model
from fireflys.errors import ConfigError
from fireflys.flow.build import load_config, parse_overrides


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("flow") / "m"
    compile_to_dir(random_model("1x6x6-3c3p1-mp2-5fc", sparsity=0.5, seed=4, calib_frames=4), d)
    return d


def _config(path: Path, **fields) -> Path:
    path.write_text(json.dumps(fields))
    return path


def _steps(build: Path) -> dict[str, dict]:
    return {s["step"]: s for s in json.loads((build / "steps.json").read_text())["steps"]}


def test_flow_runs_and_records_each_verdict(tiny: Path, tmp_path: Path, capsys) -> None:
    b = tmp_path / "b"
    c = _config(tmp_path / "c.json", model=str(tiny), build_dir=str(b), sim_frames=2, frames=6,
                steps=["export", "plan", "generate", "simulate", "soak", "report"],
                plan={"max_detectors": 3})
    assert main(["build", str(c)]) == 0
    s = _steps(b)
    assert [s[k]["verdict"] for k in s] == ["SKIP", "PASS", "PASS", "PASS", "PASS", "PASS"]
    assert s["plan"]["figure"]["pco"] and (b / "model_planned" / "model.json").is_file()
    assert s["simulate"]["figure"]["mismatches"] == 0
    assert s["soak"]["figure"]["frames"] == 6 and s["soak"]["figure"]["cycles_per_frame"] > 0
    assert (b / "report" / "report.json").is_file()
    assert "steps.json" in capsys.readouterr().out
    # a slice: only the report, from the kept simulation results
    assert main(["build", str(c), "--from", "report"]) == 0
    assert list(_steps(b)) == ["report"]
    # fields replaced on the command line (values read as YAML); the report where asked;
    # reuse keeps a step's results (the soak is not run again)
    capsys.readouterr()
    r = tmp_path / "rep"
    assert main(["build", str(c), "--from", "soak", "--set", f"report_dir={r}",
                 "--set", "reuse=true"]) == 0
    assert (r / "report.json").is_file()
    assert f"reusing {b / 'work' / 'soak.json'}" in capsys.readouterr().out
    assert json.loads((b / "steps.json").read_text())["config"]["report_dir"] == str(r)


def test_set_overrides_are_checked_like_the_file(tmp_path: Path, capsys) -> None:
    c = _config(tmp_path / "c.json", model="m", build_dir=str(tmp_path / "b"))
    assert main(["build", str(c), "--set", "frames=0"]) == 2
    assert "frames: must be a positive integer" in capsys.readouterr().err
    assert main(["build", str(c), "--set", "frame=3"]) == 2
    assert "unknown field(s) frame" in capsys.readouterr().err
    assert main(["build", str(c), "--set", "frames"]) == 2
    assert "--set 'frames': expected KEY=VALUE" in capsys.readouterr().err
    cfg = load_config(c, {"run": "runs/x", "steps": ["export", "generate"]})
    assert cfg.run == "runs/x" and cfg.model is None and cfg.steps == ["export", "generate"]


def test_a_missed_goal_fails_and_stops_the_flow(tiny: Path, tmp_path: Path) -> None:
    b = tmp_path / "b"
    c = _config(tmp_path / "c.json", model=str(tiny), build_dir=str(b), sim_frames=1, frames=3,
                steps=["generate", "soak", "report"], goals={"cycles_per_frame": 1})
    assert main(["build", str(c)]) == 1
    s = _steps(b)
    assert s["soak"]["verdict"] == "FAIL" and "report" not in s
    assert "cycles_per_frame" in s["soak"]["message"] and "misses the goal 1" in \
        s["soak"]["message"]


def test_to_stops_early_and_missing_inputs_are_named(tiny: Path, tmp_path: Path,
                                                     capsys) -> None:
    b = tmp_path / "b"
    c = _config(tmp_path / "c.yaml", model=str(tiny), build_dir=str(b))
    assert main(["build", str(c), "--to", "generate"]) == 0
    assert list(_steps(b)) == ["export", "plan", "generate"]
    # the report step alone needs the simulation's results: FAIL naming the file
    assert main(["build", str(c), "--from", "report"]) == 1
    assert "sim.json not found: run the simulate step first" in \
        _steps(b)["report"]["message"]


def test_plan_step_for_a_device(tiny: Path, tmp_path: Path) -> None:
    """plan: {device, margin}: the planned model (PCO, words, buffers) is the front's fastest
    point within the device's LUT and ECP5 distributed-RAM budgets, written for the next
    steps; an unknown device is refused when the config is read, naming the presets."""
    from fireflys.compiler.device import budget
    from fireflys.errors import ConfigError

    b = tmp_path / "b"
    c = _config(tmp_path / "c.json", model=str(tiny), build_dir=str(b), sim_frames=2,
                steps=["plan"], plan={"device": "lfe5u-25f", "margin": 0.5})
    assert main(["build", str(c)]) == 0
    fig = _steps(b)["plan"]["figure"]
    planned = load_model(b / "model_planned")
    assert [ly.bufs for ly in planned.layers] == fig["bufs"]
    assert [ly.pco for ly in planned.layers] == fig["pco"]
    assert [ly.ring for ly in planned.layers] == fig["rings"]
    assert fig["luts_estimate"] <= budget(None, "lfe5u-25f", 0.5).luts
    bad = _config(tmp_path / "bad.json", model=str(tiny), plan={"device": "ice40"})
    with pytest.raises(ConfigError, match="unknown device 'ice40'"):
        load_config(bad)


@pytest.mark.parametrize("fields, msg", [
    ({"model": "m", "colour": 1}, "unknown field(s) colour"),
    ({"model": "m", "run": "r"}, "give exactly one of 'model'"),
    ({}, "give exactly one of 'model'"),
    ({"model": "m", "steps": ["simulate", "route"]}, "unknown step(s) 'route'"),
    ({"model": "m", "steps": ["simulate", "generate"]}, "in the flow's order"),
    ({"model": "m", "goals": {"luts": 5}}, "unknown goal(s) luts"),
    ({"model": "m", "frames": 0}, "frames: must be a positive integer"),
    ({"model": "m", "plan": {"fps": 3}}, "plan: give target_fps"),
    ({"model": "m", "dataset": "cifar"}, "dataset: 'cifar' is not one of"),
    ({"model": "m", "reuse": "yes"}, "reuse: must be true or false"),
    ({"model": "m", "freq_mhz": 0}, "freq_mhz: must be a positive number"),
    ({"model": "m", "seeds": [1, "two"]}, "seeds: must be a non-empty list of integers"),
], ids=["unknown", "both", "neither", "step", "order", "goal", "frames", "plan", "dataset",
        "reuse", "freq", "seeds"])
def test_config_errors_name_the_field(tmp_path: Path, fields: dict, msg: str) -> None:
    from fireflys.errors import ConfigError

    c = _config(tmp_path / "c.json", **fields)
    with pytest.raises(ConfigError, match=r"c\.json: .*" + re.escape(msg)):
        load_config(c)


def test_yaml_config_and_export_from_a_training_run(tmp_path: Path) -> None:
    from fireflys.train.config import TrainConfig
    from fireflys.train.trainer import train

    run = tmp_path / "run"
    train(TrainConfig(arch="1x8x8-4c3p1-mp2-10fc", dataset="digits", out=str(run), epochs=1,
                      batch=16, max_steps=2, seed=3), quiet=True)
    c = tmp_path / "c.yaml"
    c.write_text(f"run: {run}\nbuild_dir: {tmp_path / 'b'}\nsteps: [export, generate]\n")
    assert main(["build", str(c)]) == 0
    s = _steps(tmp_path / "b")
    assert s["export"]["verdict"] == "PASS" and s["export"]["figure"]["arch"].startswith("1x8x8")
    assert (tmp_path / "b" / "model" / "model.json").is_file()
    # held-out frames follow the run's seed (its metrics.json sits beside its own model)
    import numpy as np

    from fireflys.core.model import load_model
    from fireflys.flow.build import _Flow
    from fireflys.verify.frames import eval_frames

    cfg = load_config(c)
    cfg.dataset, cfg.frames, cfg.sim_frames = "digits", 20, 20
    model = load_model(tmp_path / "b" / "model")
    x, _ = _Flow(cfg, print).frames(model)
    np.testing.assert_array_equal(x, eval_frames(model, run / "model", "digits", 20, 1)[0])
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(Exception, match=r"bad\.yaml: not valid yaml"):
        load_config(bad)


@pytest.mark.parametrize("steps", [["generate", "synth"], ["generate", "pnr"]],
                         ids=["synth", "pnr"])
def test_make_synth_and_pnr_config_loads(steps: list[str]) -> None:
    # `make synth/pnr MODEL=...` run configs/fpga.yaml with these overrides
    root = Path(__file__).resolve().parents[1]
    cfg = load_config(root / "configs" / "fpga.yaml",
                      parse_overrides(["model=build/demo/run/model", "build_dir=build/fpga/x",
                                       f"steps=[{', '.join(steps)}]", "jobs=2"]))
    assert cfg.steps == steps and cfg.model == "build/demo/run/model" and cfg.jobs == 2
    assert cfg.freq_mhz >= 150 and len(cfg.seeds) >= 3
    make = (root / "Makefile").read_text()
    assert f"--set 'steps=[{', '.join(steps)}]'" in make


def test_shipped_configs_load(tmp_path: Path) -> None:
    """The shipped models' configs read (configs/fpga.yaml takes its model from make: above);
    the fast one plans for the LFE5U-85F on 50 frames and runs every step; a plan's frames must
    be a positive integer."""
    root = Path(__file__).resolve().parents[1]
    cfgs = {p.stem: load_config(p) for p in sorted((root / "configs").glob("scnn5_*.yaml"))}
    assert set(cfgs) == {"scnn5_mnist", "scnn5_fast"}
    fast = cfgs["scnn5_fast"]
    assert fast.plan == {"device": "lfe5u-85f", "margin": 0.85, "frames": 50}
    assert fast.steps == ["plan", "generate", "simulate", "soak", "synth", "pnr", "report"]
    for bad in (0, "50", True):
        c = _config(tmp_path / "bad.json", model="m", plan={"device": "lfe5u-85f",
                                                            "frames": bad})
        with pytest.raises(ConfigError, match="plan: frames: must be a positive integer"):
            load_config(c)


def test_reuse_only_results_of_the_same_inputs(tiny: Path, tmp_path: Path) -> None:
    """A kept step result is reused only when it was made from the same RTL, generator and
    model (inputs_digest); a changed model (or RTL) runs the step again."""
    from fireflys.report.benchhw import cached, inputs_digest

    runs: list[int] = []
    said: list[str] = []

    def run() -> dict:
        runs.append(1)
        return {"figure": len(runs)}

    key = inputs_digest(tiny)
    assert key == inputs_digest(tiny) and len(key) == 16
    p = tmp_path / "step.json"
    assert cached(p, True, said.append, "step", run, key)["figure"] == 1
    assert cached(p, True, said.append, "step", run, key)["figure"] == 1  # reused
    assert said[-1] == f"step: reusing {p}"
    other = tmp_path / "m2"
    shutil.copytree(tiny, other)
    assert inputs_digest(other) == key  # where the model lives does not matter
    (other / "model.json").write_text((tiny / "model.json").read_text() + " ")
    assert inputs_digest(other) != key
    assert cached(p, True, said.append, "step", run, inputs_digest(other))["figure"] == 2
    assert "made from other RTL, generator or model: running again" in said[-3]
    assert cached(p, False, said.append, "step", run, key)["figure"] == 3  # no reuse: runs


def test_report_breaks_the_resources_down_by_core_and_unit(tiny: Path, tmp_path: Path) -> None:
    """An xcup result with the netlist's per-core breakdown: summary.json keeps it, the
    report's per-core LUT/FF/BRAM36 columns and its unit tables show it."""
    import numpy as np

    from fireflys.compiler.compile import random_input
    from fireflys.report.benchhw import write_reports

    b = tmp_path / "b"
    c = _config(tmp_path / "c.json", model=str(tiny), build_dir=str(b), sim_frames=2, frames=4,
                steps=["generate", "simulate", "soak"])
    assert main(["build", str(c)]) == 0
    work = b / "work"
    sim, soak = (json.loads((work / f"{n}.json").read_text()) for n in ("sim", "soak"))
    model = load_model(tiny)
    units = [{"window": {"lut": 7.0, "lut_mem": 0.0, "ff": 3.0, "bram36": 0.0},
              "scanners": {"lut": 20.0 + i, "lut_mem": 8.0, "ff": 9.0, "bram36": 0.5}}
             for i in range(len(model.layers))]
    cores = [{"units": u, "lut": 27.0 + i, "lut_mem": 8.0, "ff": 12.0, "bram36": 0.5}
             for i, u in enumerate(units)]
    bd = {"cores": cores, "top": {"lut": 4.0, "lut_mem": 0.0, "ff": 2.0, "bram36": 0.0}}
    xcup = {"resources": {"lut": 59.0, "lut_logic": 43.0, "lut_mem": 16.0, "ff": 26.0,
                          "bram36": 1.0, "dsp": 0}, "lut_levels_max": 4, "breakdown": bd}
    x = random_input(model, 4, np.random.default_rng(1))
    s = write_reports(model, "tiny", tmp_path / "rep", work, sim, soak, xcup, None, x)
    assert s["per_core_resources"] == bd
    rep = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert [o["resources_xcup"]["lut"] for o in rep["layers"]] == [27.0, 28.0]
    txt = (tmp_path / "rep" / "report.txt").read_text()
    assert re.search(r"LUT by unit +window +scanners", txt)
    assert re.search(r"\nL1 +7 +21 .* 28\n", txt)
