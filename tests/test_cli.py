"""The fireflys command line: help, compile, info, golden, and clear errors (exit code 2)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from fireflys.cli.main import main
from fireflys.core.model import load_model


def test_help_lists_commands() -> None:
    out = subprocess.run([sys.executable, "-m", "fireflys.cli", "--help"], capture_output=True,
                         text=True, check=True).stdout
    for cmd in ("arch", "compile", "info", "golden", "simulate", "train", "compare", "bench"):
        assert cmd in out


def _leaf_commands() -> list[list[str]]:
    import argparse

    from fireflys.cli.main import build_parser

    def walk(p: argparse.ArgumentParser, prefix: list[str]) -> list[list[str]]:
        subs = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            return [prefix]
        return [c for name, sp in subs[0].choices.items() for c in walk(sp, [*prefix, name])]

    return walk(build_parser(), [])


LEAVES = _leaf_commands()


def test_every_stage_has_commands() -> None:
    names = {" ".join(c) for c in LEAVES}
    assert {"train", "generate", "simulate", "soak", "phi select", "phi rtl", "phi finetune",
            "report", "plan", "formal", "reliability"} <= names


@pytest.mark.parametrize("cmd", LEAVES, ids=lambda c: "-".join(c))
def test_every_command_has_help(cmd: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as e:
        main([*cmd, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: fireflys " + " ".join(cmd))


def test_compile_info_golden(tmp_path, capsys) -> None:
    d = tmp_path / "m"
    assert main(["compile", "--arch", "1x8x8-8c3p1-16c3p1-mp2-10fc", "--random-sparsity", "0.8",
                 "--out", str(d), "--pco", "2,4,3", "--pci", "1,8,16", "-T", "3"]) == 0
    m = load_model(d)
    assert [ly.pco for ly in m.layers] == [2, 4, 3] and m.T == 3
    assert (d / "mem" / "memories.json").is_file() and (d / "mem" / "L1_d3_mask.hex").is_file()
    assert main(["info", str(d)]) == 0
    rep = tmp_path / "g.json"
    assert main(["golden", str(d), "--dataset", "digits", "--frames", "50", "--json",
                 str(rep)]) == 0
    out = capsys.readouterr().out
    assert "accuracy:" in out and "L2" in out
    r = json.loads(rep.read_text())
    assert r["frames"] == 50 and 0.0 <= r["accuracy"] <= 1.0


@pytest.mark.parametrize(("argv", "msg"), [
    (["arch", "1x28x28-8c3s2-10fc"], "arch token 1 '8c3s2': strided"),
    (["compile", "--arch", "scnn5", "--random-sparsity", "0.9", "--out", "{tmp}/x",
      "--pco", "1,2"], "--pco needs 6 values"),
    (["compile", "--arch", "scnn5", "--random-sparsity", "0.9", "--out", "{tmp}/x",
      "--pci", "1,8,8,8,8,65"], "--pci value 65 for layer 5"),
    (["info", "{tmp}/nowhere"], "model.json: file not found"),
])
def test_user_errors_exit_2(tmp_path, capsys, argv, msg) -> None:
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert msg in err and "Traceback" not in err


def test_golden_digits_needs_matching_model(tmp_path, capsys) -> None:
    d = tmp_path / "m"
    assert main(["compile", "--arch", "1x6x6-4c3-5fc", "--random-sparsity", "0.5",
                 "--out", str(d)]) == 0
    assert main(["golden", str(d), "--dataset", "digits"]) == 2
    assert "dataset 'digits' gives 1x8x8" in capsys.readouterr().err


def test_bad_fraction_is_argparse_error(tmp_path) -> None:
    with pytest.raises(SystemExit) as e:
        main(["compile", "--arch", "scnn5", "--random-sparsity", "1.5", "--out", str(tmp_path)])
    assert e.value.code == 2


def test_train_smoke_and_compare_errors(tmp_path, capsys) -> None:
    run = tmp_path / "run"
    assert main(["train", "--arch", "1x8x8-4c3p1-mp2-10fc", "--dataset", "digits", "--epochs",
                 "1", "--max-steps", "3", "--batch", "32", "--out", str(run)]) == 0
    out = capsys.readouterr().out
    assert "bit-exact check on 256 validation frames: 0 mismatches" in out
    assert load_model(run / "model").arch.in_shape == (1, 8, 8)
    # the demo's last command: accuracy and the hardware line (cycles from the RTL counters)
    assert main(["compare", str(run), "--frames", "12", "--rtl-frames", "3", "--in-gap", "0",
                 "--out-stall", "0", "--clock-mhz", "100"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"accuracy \d+\.\d\d % on 12 frames: PyTorch == golden on every frame, "
                     r"RTL == golden on the first 3, 0 disagreements", out), out
    hw = re.search(r"hardware: (\d+) cycles/frame \(RTL counters, 3 frames back to back; "
                   r"cycle model (\d+)\) -> ([\d,]+) frames/s at 100\.0 MHz \(--clock-mhz\)", out)
    assert hw, out
    assert hw[1] == hw[2] and int(hw[3].replace(",", "")) == round(100e6 / int(hw[1]))
    assert main(["train", "--arch", "scnn5", "--dataset", "mnist", "--data-dir",
                 str(tmp_path / "nowhere"), "--out", str(tmp_path / "r2")]) == 2
    assert "MNIST train split not found in" in capsys.readouterr().err
    assert main(["compare", str(tmp_path / "empty")]) == 2
    assert "no checkpoint" in capsys.readouterr().err


def test_plan_balances_and_applies(tmp_path, capsys) -> None:
    d = tmp_path / "m"
    assert main(["compile", "--arch", "1x8x8-8c3p1-16c3p1-mp2-10fc", "--random-sparsity", "0.5",
                 "--out", str(d)]) == 0
    js = tmp_path / "plan.json"
    assert main(["plan", str(d), "--max-detectors", "9", "--frames", "4", "--json", str(js),
                 "--apply", str(tmp_path / "planned")]) == 0
    rep = json.loads(js.read_text())
    assert sum(rep["pco"]) <= 9
    # the period is the replay of the whole chain with the chosen PCOs, on the same frames
    from fireflys.compiler.plan import chain_period, with_pco
    from fireflys.verify.frames import eval_frames

    model = load_model(d)
    x, _ = eval_frames(model, d, "random", 4, 1)
    assert rep["period_cycles"] == pytest.approx(
        chain_period(with_pco(model, rep["pco"], rep["scan_bits"]), x))
    assert rep["period_cycles"] < chain_period(model, x)  # better than PCO 4,4,4
    assert [ly.pco for ly in load_model(tmp_path / "planned").layers] == rep["pco"]
    assert main(["plan", str(d)]) == 2
    assert "give --target-fps, --max-detectors, --max-luts, --device" in capsys.readouterr().err


def test_plan_stays_within_a_lut_budget(tmp_path, capsys) -> None:
    """--max-luts: the fastest point of the speed/area front within the budget; the plan's
    LUTs (fireflys.compiler.area's estimate of the planned design) stay within it, a larger
    budget buys a shorter period, and a budget below one detector per core is refused with
    the floor it needs."""
    from fireflys.compiler import area, perf
    from fireflys.compiler.coreplan import core_plans
    from fireflys.compiler.plan import chain_period, design_luts, with_pco
    from fireflys.compiler.scanlist import whole_pixel_lanes
    from fireflys.verify.frames import eval_frames

    d = tmp_path / "m"
    assert main(["compile", "--arch", "1x8x8-8c3p1-16c3p1-mp2-10fc", "--random-sparsity", "0.5",
                 "--out", str(d)]) == 0
    model = load_model(d)
    x, _ = eval_frames(model, d, "random", 4, 1)
    floor = design_luts(model, [1, 1, 1])
    plans = []
    for budget in (floor * 1.05, floor * 2):
        js = tmp_path / f"plan{budget:.0f}.json"
        assert main(["plan", str(d), "--max-luts", str(budget), "--frames", "4",
                     "--json", str(js), "--apply", str(tmp_path / f"p{budget:.0f}")]) == 0
        rep = json.loads(js.read_text())
        assert rep["luts_predicted"] <= budget
        planned = load_model(tmp_path / f"p{budget:.0f}")
        assert [ly.bufs for ly in planned.layers] == rep["bufs"]
        assert rep["rings"] == ["lut"] * 3  # no device: no block-RAM budget for rings
        assert rep["luts_predicted"] == pytest.approx(sum(
            area.core_luts(cp, perf.core_spw(cp))
            for cp in core_plans(whole_pixel_lanes(planned))))
        assert [ly.fifo for ly in planned.layers] == rep["fifos"]
        assert rep["period_cycles"] == pytest.approx(chain_period(
            with_pco(model, rep["pco"], rep["scan_bits"], rep["bufs"], rep["rings"],
                     rep["fifos"]), x))
        # the picked point is the fastest of the front within the budget
        fits = [q for q in rep["front"] if q["luts_predicted"] <= budget]
        (picked,) = [q for q in rep["front"] if q["picked"]]
        assert picked["period_cycles"] == min(q["period_cycles"] for q in fits)
        plans.append(rep)
    assert plans[1]["period_cycles"] < plans[0]["period_cycles"]
    capsys.readouterr()
    assert main(["plan", str(d), "--max-luts", "10"]) == 2
    assert "below the" in capsys.readouterr().err


def test_plan_front_for_a_device(tmp_path, capsys) -> None:
    """--device with --front and --plot: the front printed (LUTs growing, the period
    falling, the device's share), plotted, in the JSON; the pick fits the device's LUTs x
    the margin; a device too small for the model is a one-line error."""
    from fireflys.compiler.device import DEVICES

    d = tmp_path / "m"
    assert main(["compile", "--arch", "2x10x10-8c3p1-mp2-12c3p1-10fc", "--random-sparsity",
                 "0.6", "--encoding", "spikes", "--out", str(d)]) == 0
    capsys.readouterr()
    js, png = tmp_path / "front.json", tmp_path / "front.png"
    assert main(["plan", str(d), "--device", "lfe5u-25f", "--margin", "0.5", "--front",
                 "--plot", str(png), "--frames", "3", "--json", str(js)]) == 0
    out = capsys.readouterr().out
    assert "speed/area front" in out and "LFE5U-25F LUT" in out and "<" in out
    assert png.stat().st_size > 1000
    rep = json.loads(js.read_text())
    dev = DEVICES["lfe5u-25f"]
    assert rep["lut_budget"] == pytest.approx(dev.luts * 0.5 / dev.lut_per_est)
    assert rep["luts_predicted"] <= rep["lut_budget"]
    # ECP5: the distributed-RAM cells within the margin of the RAM slices' too
    assert rep["ram_budget"] == pytest.approx(dev.ram_cells * 0.5)
    assert 0 < rep["ecp5_ram_cells"] <= rep["ram_budget"]
    fits = [q for q in rep["front"] if q["luts_predicted"] <= rep["lut_budget"]
            and q["ecp5_ram_cells"] <= rep["ram_budget"]]
    (picked,) = [q for q in rep["front"] if q["picked"]]
    assert picked["period_cycles"] == min(q["period_cycles"] for q in fits)
    luts = [q["luts_predicted"] for q in rep["front"]]
    periods = [q["period_cycles"] for q in rep["front"]]
    assert luts == sorted(luts) and len(luts) >= 3
    assert all(b < a for a, b in zip(periods, periods[1:], strict=False))
    assert main(["plan", str(d), "--device", "lfe5u-25f", "--margin", "0.01",
                 "--frames", "2"]) == 2
    assert "no design fits" in capsys.readouterr().err


def test_reliability_without_hypothesis_is_a_clear_error(monkeypatch, capsys) -> None:
    """`hypothesis` is a dev extra: without it `fireflys reliability` says what to install
    (one line, exit 2) instead of a traceback."""
    import sys

    monkeypatch.setitem(sys.modules, "hypothesis", None)  # import hypothesis -> ImportError
    assert main(["reliability", "--examples", "1"]) == 2
    err = capsys.readouterr().err
    assert "needs hypothesis" in err and "pip install -e '.[dev]'" in err
    assert "Traceback" not in err


def test_generate(tmp_path, capsys) -> None:
    """`fireflys generate` builds the accelerator from layer_core (with the scan lists); `--phi`
    takes MODEL/phi.npz (one line naming the command when it is missing) and puts its layers'
    cores in Phi mode."""
    d = tmp_path / "m"
    assert main(["compile", "--arch", "1x8x8-4c3p1-8c3p1-10fc", "--random-sparsity", "0.5",
                 "--out", str(d), "--pco", "2,3,3", "--pci", "1,4,8"]) == 0
    out = tmp_path / "hw"
    assert main(["generate", str(d), "--out", str(out)]) == 0
    top = (out / "fireflys_top.sv").read_text()
    assert top.count("layer_core #(") == 3 and ".Phi(" not in top
    assert (out / "mem" / "L1_d2_list.hex").is_file()
    assert main(["generate", str(d), "--out", str(out), "--phi"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "no Phi tables (run `fireflys phi select" in err[-1] and len(err) == 1
    assert main(["phi", "select", str(d), "--q", "4", "--frames", "8"]) == 0
    capsys.readouterr()
    assert main(["generate", str(d), "--out", str(out), "--phi"]) == 0
    cores = json.loads((out / "hw.json").read_text())["cores"]
    assert [c["params"].get("Phi", 0) for c in cores] == [0, 1, 0]  # L1 only: spikes in, neurons
    assert cores[1]["params"]["Pci"] == 4 and (out / "mem" / "L1_pat.hex").is_file()
    assert (out / "mem" / "L1_d2_pwp.hex").is_file()


def _numeric_options() -> list[tuple[list[str], str, object]]:
    """(command, option, its range type) for every numeric option of every command."""
    import argparse

    from fireflys.cli.main import build_parser
    from fireflys.cli.options import Number

    out = []
    for cmd in LEAVES:
        p = build_parser()
        for name in cmd:
            sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
            p = sub.choices[name]
        for a in p._actions:
            if a.option_strings and isinstance(a.type, Number):
                out.append((cmd, a.option_strings[-1], a.type))
    return out


NUMERIC = _numeric_options()


def test_every_numeric_option_has_a_range() -> None:
    """No command takes a bare int or float: each numeric option is a checked range."""
    import argparse

    from fireflys.cli.main import build_parser

    def walk(p: argparse.ArgumentParser) -> list[argparse.Action]:
        subs = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
        if subs:
            return [a for sp in subs[0].choices.values() for a in walk(sp)]
        return [a for a in p._actions if a.type in (int, float)]

    assert walk(build_parser()) == []
    assert len(NUMERIC) > 60


@pytest.mark.parametrize(("cmd", "opt", "typ"), NUMERIC,
                         ids=[f"{'-'.join(c)}{o}" for c, o, _ in NUMERIC])
def test_numeric_options_refuse_values_out_of_range(cmd, opt, typ, capsys) -> None:
    """Negative values, zero where the range excludes it, and values above a bounded range
    exit with status 2 and one line naming the option, before any work."""
    bad = [v for v in (-1, 0, -0.5) if not typ.inside(v)]
    if typ.hi is not None:
        bad.append(typ.hi + 1)
    assert bad
    for v in bad:
        with pytest.raises(SystemExit) as e:
            main([*cmd, f"{opt}={v}"])
        assert e.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "argument " in err[0] and opt in err[0], err


def test_random_density_sets_the_frames_a_command_uses(tmp_path) -> None:
    """--random-density: the share of non-zero pixels of random frames, recorded in the JSON;
    dense frames cost the planner's replay more cycles than sparse ones."""
    d = tmp_path / "m"
    assert main(["compile", "--arch", "1x8x8-6c3p1-10fc", "--random-sparsity", "0.5",
                 "--out", str(d)]) == 0
    reps = {}
    for dens in ("0.05", "1"):
        js = tmp_path / f"plan{dens}.json"
        assert main(["plan", str(d), "--max-detectors", "2", "--frames", "2",
                     "--random-density", dens, "--json", str(js)]) == 0
        reps[dens] = json.loads(js.read_text())
        assert reps[dens]["random_density"] == float(dens)
    assert reps["1"]["period_cycles"] > reps["0.05"]["period_cycles"]
    # Phi's calibration frames (phi select, bench-phi) follow the same option
    from fireflys.verify.frames import calib_frames

    model = load_model(d)
    sparse, dense = (calib_frames(model, d, "random", 4, 0, density=v) for v in (0.05, 1.0))
    assert int((sparse != 0).sum()) < int((dense != 0).sum())
    with pytest.raises(SystemExit):
        main(["plan", str(d), "--max-detectors", "2", "--random-density", "1.5"])
