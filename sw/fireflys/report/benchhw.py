"""End-to-end hardware benchmark of a model (``make bench-hw``).

Four measurements, each from a tool, each cached as JSON in the work directory (``reuse``
skips a step whose JSON is there and was made from the same RTL, generator and model:
:func:`inputs_digest`):

1. ``sim``: the system test (stream harness: every core's output stream against the golden model) on
   ``sim_frames`` frames -> per-core busy cycles (the per-core table of ``report.json``);
2. ``soak``: ``frames`` frames back to back through the standalone Verilator testbench, no
   gaps, stalls or resets -> 0 mismatches, cycles between outputs (mean, p99), frames/s
   of the simulator;
3. ``xcup``: Yosys ``synth_xilinx -family xcup -flatten`` of the whole accelerator -> LUT, FF,
   BRAM36, DSP (an estimate: the KV260 sign-off is Vivado) and the LUT levels between
   registers (:mod:`fireflys.eda.levels`);
4. ``ecp5``: Yosys ``synth_ecp5`` + nextpnr-ecp5 (LFE5U-85F, speed 8) of the register-wrapped
   accelerator ``fireflys_pnr_top``, one run per seed -> Fmax per seed, the worst quoted.

``summary.json`` collects the headline figures; ``report.json``/``.txt``/PNGs are the
:mod:`fireflys.report.report` of the same run.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from fireflys.core.model import CompiledModel
from fireflys.errors import FireflysError
from fireflys.hwgen.flowcmds import ECP5_TARGET_MHZ
from fireflys.paths import HDL
from fireflys.phi.tables import PhiTables
from fireflys.progress import Progress

Say = Callable[[str], None]


def inputs_digest(model_dir: Path, bram36_budget: float | None = None) -> str:
    """Digest of what a step's results are made from: the RTL (hdl/), the generator
    (fireflys.hwgen: code and templates), the compiler it calls (fireflys.compiler: the scan
    lists, what goes to block RAM), the model directory's files and the block-RAM budget the
    hardware is generated for (None: the default)."""
    gen = Path(__file__).resolve().parents[1] / "hwgen"
    comp = Path(__file__).resolve().parents[1] / "compiler"
    files = [*sorted(HDL.glob("*.sv")), *sorted(gen.rglob("*.py")), *sorted(comp.glob("*.py")),
             *sorted((gen / "templates").glob("*")),
             *sorted(p for p in Path(model_dir).rglob("*") if p.is_file())]
    h = hashlib.sha256()
    for p in files:
        h.update(p.name.encode() + b"\0" + p.read_bytes())
    if bram36_budget is not None:
        h.update(f"bram36 {bram36_budget:g}".encode())
    return h.hexdigest()[:16]


def pnr_inputs(key: str, seeds: tuple[int, ...], freq_mhz: float) -> str:
    """The inputs of a place-and-route result: the design's digest, its seeds and clock
    target (a kept result with other seeds is made again; each seed's own run is reused)."""
    return f"{key}/seeds={','.join(map(str, seeds))}/{freq_mhz:g}MHz"


def cached(path: Path, reuse: bool, say: Say, what: str,
           run: Callable[[], dict[str, Any]], inputs: str | None = None) -> dict[str, Any]:
    """``run()``'s results, kept as JSON at ``path``; with ``reuse``, the kept results where
    they were made from the same ``inputs`` (:func:`inputs_digest`; None: any)."""
    if reuse and path.is_file():
        d = json.loads(path.read_text())
        if inputs is None or d.get("inputs") == inputs:
            say(f"{what}: reusing {path}")
            return d
        say(f"{what}: {path} was made from other RTL, generator or model: running again")
    t = time.time()
    say(f"{what}...")
    d = run()
    d["seconds"] = round(time.time() - t, 1)
    if inputs is not None:
        d["inputs"] = inputs
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(d, indent=2) + "\n")
    say(f"{what}: done in {d['seconds']:.0f} s")
    return d


def with_bar(bar: Callable[[int, str], Any] | None, n: int, desc: str,
             f: Callable[[Progress | None], dict[str, Any]]) -> dict[str, Any]:
    """``f(progress)`` under a progress bar of ``n`` steps (``bar`` None: no bar)."""
    if bar is None:
        return f(None)
    with bar(n, desc) as p:
        return f(p)


def step_sim(model: CompiledModel, model_dir: Path, x: np.ndarray, y: np.ndarray | None,
             work: Path, progress: Progress | None,
             bram36_budget: float | None = None) -> dict[str, Any]:
    from fireflys.verify.rtlsim import perf_report, simulate

    # raises MismatchError on any stream mismatch
    r = simulate(model, model_dir, x, work_dir=work / "sim", progress=progress,
                 bram36_budget=bram36_budget)
    return perf_report(model, r, labels=y)


def step_soak(model: CompiledModel, x: np.ndarray, work: Path,
              progress: Progress | None, bram36_budget: float | None = None) -> dict[str, Any]:
    from fireflys.verify.soak import soak

    r = soak(model, x, work / "soak", in_gap=0.0, out_stall=0.0, reset_rate=0.0,
             bad_rate=0.0, progress=progress, bram36_budget=bram36_budget)
    if not r.passed:
        raise BenchError(f"soak of {len(x)} frames failed: {r.message}")
    return r.as_dict()


Design = tuple[Path, list[Path], list[Path]]  # hardware directory, sources, memory images


def generate_design(model: CompiledModel, work: Path, bram36_budget: float | None = None,
                    phi: PhiTables | None = None) -> Design:
    """Generate the hardware into ``work/hw`` (``bram36_budget``, ``phi``: see
    :func:`fireflys.hwgen.generate.generate`): its directory, its sources and the memory
    images they read."""
    from fireflys.hwgen.generate import generate, sources

    hw = work / "hw"
    generate(model, hw, bram36_budget=bram36_budget, phi=phi)
    return hw, sources(hw), [*sorted((hw / "mem").glob("*")), hw / "mem"]


def synth_xcup(design: Design, work: Path) -> tuple[Path, dict[str, Any]]:
    """Yosys ``synth_xilinx -family xcup`` of the whole design into ``work/xcup``: the
    netlist and the top's resources."""
    from fireflys.eda.levels import xcup_netlist
    from fireflys.eda.synth import load_stat, module_summary
    from fireflys.hwgen.params import TOP

    _, srcs, data = design
    syn = work / "xcup"
    net = xcup_netlist(srcs, TOP, syn, data=data, stat=True)
    return net, module_summary(load_stat(syn / f"{TOP}_stat.json")["\\" + TOP])


def step_xcup(design: Callable[[], Design], work: Path) -> dict[str, Any]:
    from fireflys.eda.attrib import core_breakdown
    from fireflys.eda.levels import levels, read_netlist
    from fireflys.hwgen.params import TOP

    net, total = synth_xcup(design(), work)
    doc = read_netlist(net)
    lv = levels(doc, TOP)
    return {"resources": total, "lut_levels_max": lv.lut_levels_max,
            "carry_on_path": lv.carry_on_path, "muxf_on_path": lv.muxf_on_path,
            "deepest_endpoints": lv.per_endpoint_top, "deepest_path": lv.path,
            "breakdown": core_breakdown(doc, TOP)}


def add_breakdown(xcup: dict[str, Any], work: Path) -> dict[str, Any]:
    """A kept xcup result from before the per-core breakdown: add it from its netlist (kept
    in ``work``/xcup) where that is still there."""
    from fireflys.eda.attrib import core_breakdown
    from fireflys.eda.levels import read_netlist
    from fireflys.hwgen.params import TOP

    net = work / "xcup" / f"{TOP}_xcup.json"
    if "breakdown" not in xcup and net.is_file():
        xcup["breakdown"] = core_breakdown(read_netlist(net), TOP)
        (work / "xcup.json").write_text(json.dumps(xcup, indent=2) + "\n")
    return xcup


def step_ecp5(design: Callable[[], Design], work: Path, seeds: tuple[int, ...],
              freq_mhz: float, say: Say, jobs: int = 1, reuse: bool = False) -> dict[str, Any]:
    from fireflys.eda.pnr import place_route, synth_ecp5
    from fireflys.hwgen.top import PNR_TOP

    hw, srcs, data = design()
    say("ECP5: Yosys synth_ecp5 of the whole accelerator...")
    net = synth_ecp5([*srcs, hw / f"{PNR_TOP}.sv"], PNR_TOP, work / "ecp5", data)
    r = place_route(net, PNR_TOP, work / "ecp5", seeds, freq_mhz,
                    lambda s, f: say(f"ECP5: seed {s}: {f:.1f} MHz"), jobs=jobs, reuse=reuse,
                    status=lambda line: say(f"ECP5: {line}"))
    return r.as_dict()


def spike_densities(model: CompiledModel, x: np.ndarray) -> list[float | None]:
    """Fraction of (neuron, time step) pairs that spike, per layer (before pooling; None for
    a non-spiking readout), over frames ``x`` (golden model)."""
    from fireflys.core import golden

    res = golden.run(model, x)
    return [None if s is None else round(float(s.mean()), 4) for s in res.pre_pool]


class BenchError(FireflysError, RuntimeError):
    """A benchmark step failed (the message names it)."""


def summary(name: str, sim: dict[str, Any], soak: dict[str, Any], xcup: dict[str, Any],
            ecp5: dict[str, Any] | None) -> dict[str, Any]:
    """The headline figures of one benchmark run."""
    res = xcup["resources"]
    period = float(soak["period_mean"])
    s: dict[str, Any] = {
        "model": name,
        "frames": soak["frames"], "mismatches": 0 if soak["passed"] else None,
        "cycles_per_frame": period, "cycles_per_frame_p99": soak["period_p99"],
        "cycles_per_frame_max": soak["period_max"],
        "lut": res["lut"], "lut_logic": res["lut_logic"], "lut_mem": res["lut_mem"],
        "ff": res["ff"], "bram36": res["bram36"], "dsp": res["dsp"],
        "lut_levels_max": xcup["lut_levels_max"],
        # None: a run too short to time (run_s is kept to 0.1 s)
        "verilator_frames_per_s": (round(soak["frames"] / soak["run_s"], 1) if soak["run_s"]
                                   else None),
        "sim_frames": sim["frames"],
        "per_core_busy_cycles": [c["busy_cycles"] for c in sim["cores"]],
        # fireflys.compiler.perf on the system run's frames (no gaps, no stalls: exact)
        "per_core_predicted_cycles": [c["predicted_cycles"] for c in sim["cores"]],
        "cycle_model_max_error": max((abs(c["prediction_error"]) for c in sim["cores"]),
                                     default=None),
        "predicted_frame_period": sim.get("predicted_frame_period_cycles"),
        "sim_frame_period": sim.get("frame_period_cycles"),
        # the system test's first frame through the empty pipeline: first input beat to class
        # output (None: a simulation from before it was measured)
        "latency_cycles": sim.get("latency_cycles"),
        "estimates": "LUT/FF/BRAM/DSP and LUT levels: Yosys synth_xilinx -family xcup "
                     "(KV260 sign-off needs Vivado); Fmax: nextpnr-ecp5 after place and route",
    }
    if ecp5 is not None:
        s.update({"ecp5_fmax_mhz": ecp5["worst_mhz"], "ecp5_seeds": ecp5["fmax_mhz"],
                  "ecp5_seed_ids": ecp5["seeds"], "ecp5_cells": ecp5["cells"],
                  # the clock constraint given to nextpnr (Fmax is the routed design's timing
                  # analysis, whatever the target; older results did not record it)
                  "ecp5_target_mhz": ecp5.get("target_mhz"),
                  "fps_ecp5": ecp5["worst_mhz"] * 1e6 / period,
                  "lfe5u_85f_utilization": lfe5u_85f_use(ecp5["cells"])})
        if s["latency_cycles"] is not None:
            s["latency_us"] = s["latency_cycles"] / ecp5["worst_mhz"]
    return s


# the LFE5U-85F's resources as nextpnr-ecp5 counts them (RAM LUTs: 4 per TRELLIS_DPR16X4
# cell, in an eighth of the slices)
LFE5U_85F = {"TRELLIS_COMB": 83_640, "TRELLIS_FF": 83_640, "DP16KD": 208,
             "TRELLIS_RAMW": 83_640 // 8 // 4}


def lfe5u_85f_use(cells: dict[str, int]) -> dict[str, float]:
    """Share of the LFE5U-85F each kind of placed cell takes (LUT4 logic and LUT-RAM
    (TRELLIS_COMB), flip-flops, DP16KD block RAMs, distributed-RAM write ports)."""
    return {k: round(cells.get(k, 0) / n, 4) for k, n in LFE5U_85F.items()}


def bench_hw(model: CompiledModel, model_dir: Path, name: str, out: Path, work: Path, *,
             x_sim: np.ndarray, y_sim: np.ndarray | None, x_soak: np.ndarray,
             seeds: tuple[int, ...] = (1, 2, 3), freq_mhz: float = ECP5_TARGET_MHZ,
             pnr: bool = True, reuse: bool = False, preset: str | None = None,
             bram36_budget: float | None = None, about: dict[str, Any] | None = None,
             jobs: int = 1, say: Say = print,
             bar: Callable[[int, str], Any] | None = None) -> dict[str, Any]:
    """Run the four steps (see the module docstring) and write ``out``/summary.json and the
    report; returns the summary. ``about``: what the frames are (dataset, density...), copied
    into the summary next to the plan (PCO per core) and the spike density of every layer on
    the streamed frames (golden model). ``jobs``: nextpnr seeds run at a time."""
    work = work.resolve()  # the simulators run in directories of their own
    work.mkdir(parents=True, exist_ok=True)
    key = inputs_digest(model_dir, bram36_budget)

    sim = cached(work / "sim.json", reuse, say,
                  f"system test, {len(x_sim)} frames",
                  lambda: with_bar(bar, len(x_sim), "RTL", lambda p: step_sim(
                      model, model_dir, x_sim, y_sim, work, p, bram36_budget)), key)
    soak = cached(work / "soak.json", reuse, say,
                   f"Verilator stream, {len(x_soak)} frames back to back",
                   lambda: with_bar(bar, len(x_soak), "soak", lambda p: step_soak(
                       model, x_soak, work, p, bram36_budget)), key)
    made: list[Design] = []

    def design() -> Design:  # generated once per run, by the first step that needs it
        if not made:
            made.append(generate_design(model, work, bram36_budget))
        return made[0]

    xcup = add_breakdown(cached(work / "xcup.json", reuse, say,
                                "Yosys synth_xilinx xcup (whole design)",
                                lambda: step_xcup(design, work), key), work)
    ecp5 = None
    if pnr:
        ecp5 = cached(work / "ecp5.json", reuse, say,
                       f"nextpnr-ecp5, seeds {', '.join(map(str, seeds))}",
                       lambda: step_ecp5(design, work, seeds, freq_mhz, say, jobs, reuse),
                       pnr_inputs(key, seeds, freq_mhz))
    return write_reports(model, name, out, work, sim, soak, xcup, ecp5, x_soak, about=about,
                         preset=preset, bram36_budget=bram36_budget)


def write_reports(model: CompiledModel, name: str, out: Path, work: Path, sim: dict[str, Any],
                  soak: dict[str, Any], xcup: dict[str, Any], ecp5: dict[str, Any] | None,
                  x_soak: np.ndarray, *, about: dict[str, Any] | None = None,
                  preset: str | None = None,
                  bram36_budget: float | None = None) -> dict[str, Any]:
    """``out``/summary.json and the report (``report.json``/``.txt``/PNGs) of the four steps'
    results (``work``/sim.json is the per-core table's source); returns the summary."""
    from fireflys.hwgen import params
    from fireflys.report.report import build, quote_clock, write

    s = summary(name, sim, soak, xcup, ecp5)
    s.update(about or {})
    s["bram36_budget"] = params.BRAM36_BUDGET if bram36_budget is None else bram36_budget
    s["pco"] = [ly.pco for ly in model.layers]
    s["scan_bits"] = [ly.scan_bits for ly in model.layers]
    s["bufs"] = [ly.bufs for ly in model.layers]
    s["rings"] = [ly.ring for ly in model.layers]
    s["spike_density"] = spike_densities(model, x_soak)
    out.mkdir(parents=True, exist_ok=True)
    rep = build(model, work / "sim.json", name, preset=preset)
    # the frame period quoted is the stream's (frames back to back); the system test's over a
    # few frames (with 2, mostly the first frame's latency) is kept beside it
    rep["cycles_per_frame_system_test"] = rep["cycles_per_frame"]
    rep["cycles_per_frame"] = rep["cycles_per_frame_stream"] = s["cycles_per_frame"]
    quote_clock(rep, rep["clock_mhz"], rep["clock_source"])
    # whole design, flat; per core and unit an attribution of that netlist (a hierarchical
    # run would split it by construction, but is far slower)
    rep["resources_xcup_flat"] = dict(xcup["resources"], lut_levels_max=xcup["lut_levels_max"])
    b = xcup.get("breakdown")
    if b is not None and len(b["cores"]) == len(rep["layers"]):
        rep["breakdown_xcup"] = s["per_core_resources"] = b
        for o, c in zip(rep["layers"], b["cores"], strict=True):
            o["resources_xcup"] = {k: c[k] for k in ("lut", "lut_mem", "ff", "bram36")}
    if ecp5 is not None:
        rep["ecp5"] = {"fmax_mhz": ecp5["worst_mhz"], "seeds": ecp5["fmax_mhz"],
                       "utilization": ecp5["cells"]}
        rep["fps_at_ecp5_fmax"] = s["fps_ecp5"]
        quote_clock(rep, ecp5["worst_mhz"], "nextpnr-ecp5 Fmax, worst seed")
    if "firefly_s" in rep:
        ours = rep["firefly_s"]["ours"]
        ours.update({k: s[k] for k in ("cycles_per_frame", "lut", "ff", "bram36", "dsp")})
        ours["fps"] = rep["fps"]  # at the worst ECP5 Fmax where there is one, else the goal
        if ecp5 is not None:
            rep["firefly_s"]["note"] = ("fps: ours at the worst ECP5 Fmax (nextpnr), "
                                        "FireFly-S at 333 MHz on the xczu5ev (Vivado)")
    write(rep, out)
    (out / "summary.json").write_text(json.dumps(s, indent=2) + "\n")
    return s
