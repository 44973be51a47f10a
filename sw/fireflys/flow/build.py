"""``fireflys build CONFIG``: the whole flow as named steps, each with a verdict.

Steps, in order (a config lists the ones to run; ``--from``/``--to`` take a slice):

============  ==================================================================  ==================
step          what it does                                                        figure
============  ==================================================================  ==================
``export``    a training run's checkpoint -> ``BUILD/model`` (needs ``run``)      exported arch
``plan``      PCO and scanner words per core (``plan``: target_fps,               frame period
              max_detectors or max_luts) -> ``BUILD/model_planned``
``generate``  memory images, SystemVerilog top, FuseSoC core -> ``BUILD/hw``     source files
``simulate``  system test, every core's output stream vs the golden model        mismatches
              (``sim_frames``)
``soak``      standalone Verilator stream of ``frames`` frames back to back      cycles per frame
``synth``     Yosys synth_xilinx xcup of the whole accelerator (an estimate)     LUT, FF, BRAM36
``pnr``       Yosys + nextpnr-ecp5 (LFE5U-85F), one run per seed                 worst Fmax
``report``    ``BUILD/report``: summary.json, report.json/.txt, plots            summary path
============  ==================================================================  ==================

Each step returns a verdict (PASS, FAIL or SKIP) with the figure that decided it; optional
``goals`` (cycles_per_frame, lut, ff, bram36, fmax_mhz) turn a figure past its goal into a FAIL.
``BUILD/steps.json`` records every step run (verdict, figure, message, seconds, artefacts);
a FAIL stops the flow with the step's message. Steps read what earlier steps wrote in
``BUILD`` (their JSON is kept: ``--from soak`` reuses the simulation of an earlier run).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fireflys.compiler.compile import RANDOM_DENSITY
from fireflys.core.model import CompiledModel, load_model
from fireflys.errors import ConfigError, FireflysError
from fireflys.hwgen.flowcmds import ECP5_GOAL_MHZ, ECP5_TARGET_MHZ

STEPS = ("export", "plan", "generate", "simulate", "soak", "synth", "pnr", "report")
DEFAULT_STEPS = ("export", "plan", "generate", "simulate", "report")
GOALS = ("cycles_per_frame", "lut", "ff", "bram36", "fmax_mhz")
DATASETS = ("random", "digits", "mnist", "nmnist-synth")


@dataclass
class BuildConfig:
    """A flow's configuration (YAML or JSON; every field but ``model``/``run`` defaulted)."""

    build_dir: str
    model: str | None = None  # a compiled model directory, or
    run: str | None = None  # a training run (`fireflys train --out`): the export step
    name: str | None = None  # the report's name (default: the model directory's)
    steps: list[str] = field(default_factory=lambda: list(DEFAULT_STEPS))
    dataset: str = "random"  # frames: random | digits | mnist
    split: str = "val"  # val: the run's held-out frames; test: the dataset's test split
    data_dir: str | None = None
    random_density: float = RANDOM_DENSITY
    sim_frames: int = 8
    frames: int = 100
    seed: int = 1
    # {target_fps, clock_mhz}, {max_detectors}, {max_luts}, {device, margin}; frames: replayed
    # by the planner (default sim_frames)
    plan: dict[str, float] | None = None
    bram36: float | None = None  # block-RAM budget of the generated hardware
    seeds: list[int] = field(default_factory=lambda: [1, 2, 3])
    freq_mhz: float = ECP5_TARGET_MHZ
    jobs: int = 1
    preset: str | None = None  # FireFly-S comparison table (scnn5, scnn7, scnn9)
    goals: dict[str, float] = field(default_factory=dict)
    report_dir: str | None = None  # the report step's output (default BUILD_DIR/report)
    reuse: bool = False  # keep the steps' results in BUILD_DIR/work (same RTL, generator, model)


def parse_overrides(items: list[str], where: str = "--set") -> dict[str, Any]:
    """``KEY=VALUE`` strings -> fields; each VALUE is read as YAML (``jobs=3``,
    ``steps=[generate,synth]``, ``model=models/x``)."""
    import yaml

    out: dict[str, Any] = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise ConfigError(f"{where} {item!r}: expected KEY=VALUE")
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError as e:
            raise ConfigError(f"{where} {item!r}: the value is not valid YAML ({e})") from None
    return out


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> BuildConfig:
    """Read and check a config file (``overrides``: fields that replace the file's);
    errors name the file and the field."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise ConfigError(f"{p}: cannot read ({e.strerror})") from None
    try:
        if p.suffix in (".yaml", ".yml"):
            import yaml

            doc = yaml.safe_load(text)
        else:
            doc = json.loads(text)
    except Exception as e:  # noqa: BLE001  (yaml and json raise their own kinds)
        raise ConfigError(f"{p}: not valid {p.suffix.lstrip('.') or 'JSON'} ({e})") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{p}: expected a mapping of fields")
    if overrides:
        doc = {**doc, **overrides}
        if "model" in overrides and "run" not in overrides:
            doc.pop("run", None)
        if "run" in overrides and "model" not in overrides:
            doc.pop("model", None)
    if "build_dir" not in doc:
        doc = dict(doc, build_dir=str(Path("build") / "flow" / p.stem))
    known = set(BuildConfig.__dataclass_fields__)
    extra = sorted(set(doc) - known)
    if extra:
        raise ConfigError(f"{p}: unknown field(s) {', '.join(extra)} (fields: "
                          f"{', '.join(sorted(known))})")
    cfg = BuildConfig(**doc)
    check_config(cfg, str(p))
    return cfg


def check_config(cfg: BuildConfig, where: str = "config") -> None:
    if (cfg.model is None) == (cfg.run is None):
        raise ConfigError(f"{where}: give exactly one of 'model' (a compiled model directory) "
                          "and 'run' (a training run)")
    bad = [s for s in cfg.steps if s not in STEPS]
    if bad:
        raise ConfigError(f"{where}: steps: unknown step(s) {', '.join(map(repr, bad))} "
                          f"(steps: {', '.join(STEPS)})")
    order = [STEPS.index(s) for s in cfg.steps]
    if order != sorted(order) or len(set(order)) != len(order):
        raise ConfigError(f"{where}: steps: list each step once, in the flow's order "
                          f"({', '.join(STEPS)})")
    if cfg.dataset not in DATASETS:
        raise ConfigError(f"{where}: dataset: {cfg.dataset!r} is not one of "
                          f"{', '.join(DATASETS)}")
    if cfg.split not in ("val", "test"):
        raise ConfigError(f"{where}: split: {cfg.split!r} is not val or test")
    for k in ("sim_frames", "frames", "jobs"):
        if not isinstance(getattr(cfg, k), int) or getattr(cfg, k) < 1:
            raise ConfigError(f"{where}: {k}: must be a positive integer, got "
                              f"{getattr(cfg, k)!r}")
    if not isinstance(cfg.reuse, bool):
        raise ConfigError(f"{where}: reuse: must be true or false, got {cfg.reuse!r}")
    if (isinstance(cfg.freq_mhz, bool) or not isinstance(cfg.freq_mhz, (int, float))
            or cfg.freq_mhz <= 0):
        raise ConfigError(f"{where}: freq_mhz: must be a positive number, got "
                          f"{cfg.freq_mhz!r}")
    if (not isinstance(cfg.seeds, list) or not cfg.seeds
            or not all(isinstance(s, int) and not isinstance(s, bool) for s in cfg.seeds)):
        raise ConfigError(f"{where}: seeds: must be a non-empty list of integers, got "
                          f"{cfg.seeds!r}")
    bad = sorted(set(cfg.goals) - set(GOALS))
    if bad:
        raise ConfigError(f"{where}: goals: unknown goal(s) {', '.join(bad)} (goals: "
                          f"{', '.join(GOALS)})")
    if cfg.plan is not None:
        keys = {"target_fps", "max_detectors", "max_luts", "device"}
        if not isinstance(cfg.plan, dict) or not (keys & set(cfg.plan)):
            raise ConfigError(f"{where}: plan: give target_fps (and clock_mhz), max_detectors, "
                              "max_luts or device (and margin)")
        bad = sorted(set(cfg.plan) - keys - {"clock_mhz", "margin", "frames"})
        if bad:
            raise ConfigError(f"{where}: plan: unknown field(s) {', '.join(bad)}")
        n = cfg.plan.get("frames", 1)
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ConfigError(f"{where}: plan: frames: must be a positive integer, got {n!r}")
        if "device" in cfg.plan:
            from fireflys.compiler.device import device

            device(str(cfg.plan["device"]))  # an unknown name fails here, naming the presets
            if "max_detectors" in cfg.plan:
                raise ConfigError(f"{where}: plan: device budgets LUTs, not with max_detectors")


@dataclass
class StepResult:
    step: str
    verdict: str  # PASS | FAIL | SKIP
    figure: dict[str, Any]
    message: str
    seconds: float = 0.0
    artefacts: list[str] = field(default_factory=list)


class _Flow:
    """The state the steps share: the build directory, the model and its frames."""

    def __init__(self, cfg: BuildConfig, say: Callable[[str], None]) -> None:
        self.cfg = cfg
        self.say = say
        self.dir = Path(cfg.build_dir).resolve()
        self.work = self.dir / "work"
        self._frames: tuple[Any, Any] | None = None

    # the model the next step uses: planned > exported > given
    def model_dir(self) -> Path:
        for d in (self.dir / "model_planned", self.dir / "model"):
            if (d / "model.json").is_file():
                return d
        if self.cfg.model is None:
            raise ConfigError(f"no model yet in {self.dir}: run the export step first")
        return Path(self.cfg.model)

    def model(self) -> CompiledModel:
        return load_model(self.model_dir())

    def frames(self, model: CompiledModel):
        """The frames of every step: held-out frames follow the run that trained the model
        (a training run's seed and held-out fraction sit beside its own model directory)."""
        if self._frames is None:
            from fireflys.verify.frames import eval_frames

            n = max(self.cfg.frames, self.cfg.sim_frames)
            run_model = Path(self.cfg.run) / "model" if self.cfg.run else Path(self.cfg.model)
            self._frames = eval_frames(model, run_model, self.cfg.dataset, n,
                                       self.cfg.seed, self.cfg.random_density,
                                       split=self.cfg.split, data_dir=self.cfg.data_dir)
        return self._frames

    def keep(self, name: str, what: str, run: Callable[[], dict[str, Any]],
             inputs: Callable[[str], str] = lambda key: key) -> dict[str, Any]:
        """Run a bench-hw step and keep its JSON in the work directory (later steps and
        ``--from`` runs read it); ``inputs`` adds the step's own settings to the design's
        digest."""
        from fireflys.report.benchhw import cached, inputs_digest

        return cached(self.work / f"{name}.json", bool(self.cfg.reuse), self.say, what, run,
                      inputs(inputs_digest(self.model_dir(), self.cfg.bram36)))

    def design(self):
        """The hardware of the current model, generated into the work directory."""
        from fireflys.report.benchhw import generate_design

        return generate_design(self.model(), self.work, self.cfg.bram36)

    def read(self, name: str, step: str) -> dict[str, Any]:
        p = self.work / f"{name}.json"
        if not p.is_file():
            raise ConfigError(f"{p} not found: run the {step} step first")
        return json.loads(p.read_text())

    def goal(self, key: str, value: float, larger_is_better: bool = False) -> str | None:
        g = self.cfg.goals.get(key)
        if g is None:
            return None
        ok = value >= g if larger_is_better else value <= g
        return None if ok else f"{key} {value:g} misses the goal {g:g}"


def _step_export(f: _Flow) -> StepResult:
    if f.cfg.run is None:
        return StepResult("export", "SKIP", {}, "no training run ('model' given)")
    from fireflys.core.model import save_model
    from fireflys.train.checkpoint import load_run
    from fireflys.train.export import export

    net, _ = load_run(f.cfg.run)
    ex = export(net)
    js = save_model(ex.model, f.dir / "model")
    return StepResult("export", "PASS", {"arch": str(ex.model.arch)},
                      f"exported {ex.model.arch}", artefacts=[str(js.parent)])


def _step_plan(f: _Flow) -> StepResult:
    if not f.cfg.plan:
        return StepResult("plan", "SKIP", {}, "no 'plan' in the config: the model's PCO kept")
    from fireflys.compiler.compile import compile_to_dir
    from fireflys.compiler.device import DEFAULT_MARGIN, budget
    from fireflys.compiler.front import plan_front
    from fireflys.compiler.plan import plan

    src = f.dir / "model" if (f.dir / "model" / "model.json").is_file() else Path(f.cfg.model)
    model = load_model(src)
    x, _ = f.frames(model)
    x = x[: int(f.cfg.plan.get("frames", f.cfg.sim_frames))]  # the frames the planner replays
    clock = float(f.cfg.plan.get("clock_mhz", ECP5_GOAL_MHZ))
    fps = f.cfg.plan.get("target_fps")
    target = clock * 1e6 / float(fps) if fps else None
    name = f.cfg.plan.get("device")
    b = budget(f.cfg.plan.get("max_luts"), None if name is None else str(name),
               float(f.cfg.plan.get("margin", DEFAULT_MARGIN)))
    if b.luts is not None and f.cfg.plan.get("max_detectors") is None:
        try:
            p, _, _ = plan_front(model, x, target_cycles=target,
                                 max_luts=float(b.luts), max_ram=b.ram, max_bram=b.bram)
        except ValueError as e:
            return StepResult("plan", "FAIL", {}, str(e))
    else:
        p = plan(model, x, target_cycles=target,
                 max_detectors=f.cfg.plan.get("max_detectors"), max_luts=b.luts)
    out = f.dir / "model_planned"
    compile_to_dir(p.apply(model), out)
    fig = {"pco": p.pco, "scan_bits": p.scan_bits, "bufs": p.bufs, "rings": p.rings,
           "fifos": p.fifos,
           "period_cycles": p.period, "luts_estimate": p.luts}
    if target is not None and p.period > target:
        return StepResult("plan", "FAIL", fig, f"frame period {p.period:.0f} cycles: the "
                          f"target {target:.0f} is not reached within the limits",
                          artefacts=[str(out)])
    return StepResult("plan", "PASS", fig, f"PCO {','.join(map(str, p.pco))}, "
                      f"{p.period:.0f} cycles predicted", artefacts=[str(out)])


def _step_generate(f: _Flow) -> StepResult:
    hw, srcs, _ = f.design()
    return StepResult("generate", "PASS", {"sources": len(srcs)},
                      f"{len(srcs)} SystemVerilog files in {hw}", artefacts=[str(hw)])


def _step_simulate(f: _Flow) -> StepResult:
    from fireflys.report.benchhw import step_sim
    from fireflys.verify.rtlsim import MismatchError

    model = f.model()
    x, y = f.frames(model)
    n = f.cfg.sim_frames
    try:
        r = f.keep("sim", f"system test, {n} frames", lambda: step_sim(
            model, f.model_dir(), x[:n], None if y is None else y[:n], f.work, None,
            f.cfg.bram36))
    except MismatchError as e:
        return StepResult("simulate", "FAIL", {"mismatches": None}, f"RTL != golden: {e}")
    fig = {"frames": n, "mismatches": 0, "frame_period_cycles": r["frame_period_cycles"],
           "accuracy": r.get("accuracy")}
    return StepResult("simulate", "PASS", fig, f"{n} frames, every core's stream equals the "
                      f"golden model; frame period {r['frame_period_cycles']:.0f} cycles",
                      artefacts=[str(f.work / "sim.json")])


def _step_soak(f: _Flow) -> StepResult:
    from fireflys.report.benchhw import BenchError, step_soak

    model = f.model()
    x, _ = f.frames(model)
    try:
        r = f.keep("soak", "Verilator stream", lambda: step_soak(model, x[: f.cfg.frames],
                                                                 f.work, None, f.cfg.bram36))
    except BenchError as e:
        return StepResult("soak", "FAIL", {"mismatches": None}, str(e))
    cyc = float(r["period_mean"])
    fig = {"frames": r["frames"], "mismatches": 0, "cycles_per_frame": cyc,
           "cycles_per_frame_p99": r["period_p99"]}
    miss = f.goal("cycles_per_frame", cyc)
    return StepResult("soak", "FAIL" if miss else "PASS", fig,
                      miss or f"{r['frames']} frames, 0 mismatches, {cyc:.0f} cycles/frame",
                      artefacts=[str(f.work / "soak.json")])


def _step_synth(f: _Flow) -> StepResult:
    from fireflys.report.benchhw import step_xcup

    r = f.keep("xcup", "Yosys synth_xilinx xcup", lambda: step_xcup(f.design, f.work))
    res = r["resources"]
    fig = {k: res[k] for k in ("lut", "ff", "bram36", "dsp")}
    fig["lut_levels_max"] = r["lut_levels_max"]
    misses = [m for m in (f.goal(k, res[k]) for k in ("lut", "ff", "bram36")) if m]
    msg = (f"Yosys xcup (an estimate): {res['lut']:.0f} LUT, {res['ff']:.0f} FF, "
           f"{res['bram36']:g} BRAM36, {r['lut_levels_max']} LUT levels")
    return StepResult("synth", "FAIL" if misses else "PASS", fig,
                      "; ".join(misses) if misses else msg,
                      artefacts=[str(f.work / "xcup.json")])


def _step_pnr(f: _Flow) -> StepResult:
    from fireflys.report.benchhw import pnr_inputs, step_ecp5

    seeds = tuple(f.cfg.seeds)
    r = f.keep("ecp5", "nextpnr-ecp5", lambda: step_ecp5(
        f.design, f.work, seeds, f.cfg.freq_mhz, f.say, f.cfg.jobs, bool(f.cfg.reuse)),
        lambda key: pnr_inputs(key, seeds, f.cfg.freq_mhz))
    fig = {"fmax_mhz": r["worst_mhz"], "seeds": r["seeds"], "per_seed_mhz": r["fmax_mhz"]}
    miss = f.goal("fmax_mhz", r["worst_mhz"], larger_is_better=True)
    return StepResult("pnr", "FAIL" if miss else "PASS", fig, miss or
                      f"nextpnr-ecp5: worst {r['worst_mhz']:.1f} MHz over seeds "
                      f"{', '.join(map(str, r['seeds']))}",
                      artefacts=[str(f.work / "ecp5.json")])


def _step_report(f: _Flow) -> StepResult:
    from fireflys.report.benchhw import write_reports

    model = f.model()
    x, _ = f.frames(model)
    sim = f.read("sim", "simulate")
    soak, xcup, ecp5 = (f.read(name, step) if (f.work / f"{name}.json").is_file() else None
                        for name, step in (("soak", "soak"), ("xcup", "synth"), ("ecp5", "pnr")))
    out = Path(f.cfg.report_dir).resolve() if f.cfg.report_dir else f.dir / "report"
    if soak is None or xcup is None:
        from fireflys.report.report import build, write

        rep = build(model, f.work / "sim.json", f.cfg.name or f.model_dir().resolve().name,
                    preset=f.cfg.preset)
        files = write(rep, out)
        return StepResult("report", "PASS", {"report": str(out / "report.json")},
                          "per-core report from the simulation (summary.json needs the soak and "
                          "synth steps' results)",
                          artefacts=[str(p) for p in files.values()])
    from fireflys.verify.frames import frames_about

    about = frames_about(f.cfg.dataset, f.cfg.split, f.cfg.data_dir)
    s = write_reports(model, f.cfg.name or f.model_dir().resolve().name, out, f.work, sim,
                      soak, xcup, ecp5, x[: f.cfg.frames], about=about, preset=f.cfg.preset,
                      bram36_budget=f.cfg.bram36)
    return StepResult("report", "PASS", {"summary": str(out / "summary.json"),
                                         "cycles_per_frame": s["cycles_per_frame"],
                                         "lut": s["lut"]},
                      f"wrote {out / 'summary.json'} and the report",
                      artefacts=[str(out / "summary.json"), str(out / "report.json")])


RUNNERS: dict[str, Callable[[_Flow], StepResult]] = {
    "export": _step_export, "plan": _step_plan, "generate": _step_generate,
    "simulate": _step_simulate, "soak": _step_soak, "synth": _step_synth, "pnr": _step_pnr,
    "report": _step_report,
}


def run_build(cfg: BuildConfig, first: str | None = None, last: str | None = None,
              say: Callable[[str], None] = print) -> list[StepResult]:
    """Run the config's steps from ``first`` to ``last`` (names; None: all), write
    ``BUILD/steps.json`` after each step and stop at the first FAIL."""
    check_config(cfg)
    steps = list(cfg.steps)
    for which, name in (("--from", first), ("--to", last)):
        if name is not None and name not in steps:
            raise ConfigError(f"{which} {name}: not a step of this config "
                              f"({', '.join(steps)})")
    lo = steps.index(first) if first else 0
    hi = steps.index(last) + 1 if last else len(steps)
    flow = _Flow(cfg, say)
    flow.dir.mkdir(parents=True, exist_ok=True)
    out = flow.dir / "steps.json"
    done: list[StepResult] = []
    for name in steps[lo:hi]:
        say(f"[{name}] ...")
        t = time.time()
        try:
            r = RUNNERS[name](flow)
        except FireflysError as e:
            r = StepResult(name, "FAIL", {}, str(e))
        r.seconds = round(time.time() - t, 1)
        done.append(r)
        say(f"[{name}] {r.verdict}: {r.message} ({r.seconds:.0f} s)")
        out.write_text(json.dumps({"config": asdict(cfg), "steps": [asdict(d) for d in done]},
                                  indent=2) + "\n")
        if r.verdict == "FAIL":
            break
    return done
