"""Run a compiled model's RTL (Verilator) against the golden model.

:func:`simulate` generates the hardware, encodes the frames as stream beats, derives every
core's expected output stream from the golden model's per-layer spikes, builds the stream
harness around the generated top (:func:`fireflys.verify.harness.tb_sv`, a standalone
Verilator binary), runs it and returns what it measured. The harness stops at the first
difference; :func:`simulate` names it (core, frame, pixel, time step, channel).
:func:`simulate_core` runs one core alone under cocotb (``sim/tb_core.py``).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fireflys.compiler import perf
from fireflys.compiler.coreplan import core_plan, dense_baseline
from fireflys.compiler.memimg import write_hex, write_memories
from fireflys.compiler.work import pairs_work, union_work
from fireflys.core import golden
from fireflys.core.golden import pair_counts
from fireflys.core.model import CompiledModel
from fireflys.eda.synth import gate_netlist
from fireflys.hwgen.generate import design_model, generate, sources
from fireflys.hwgen.params import CORE, TOP, core_params, perf_layout
from fireflys.hwgen.top import reset_latency
from fireflys.paths import WORK, rtl_files
from fireflys.phi import perf as phiperf
from fireflys.phi.tables import PhiTables
from fireflys.progress import Progress
from fireflys.verify.harness import TB_TOP, tb_sv
from fireflys.verify.hdlsim import SimulationError, build_binary, run_cocotb
from fireflys.verify.vectors import expected_streams, layer_inputs, write_vectors


class MismatchError(AssertionError):
    """The RTL disagreed with the golden model; the message locates the first difference."""


@dataclass
class SimResult:
    frames: int
    cycles: int
    frame_period: float  # cycles between output frames in steady state
    busy: list[int]
    pairs: list[int]
    pixels: list[int]
    ideal: list[float]  # per frame: union work / PCO
    work: list[int]  # total over all frames (golden): (non-zero weight, spike) pairs per step
    # (every weight in the dense baseline: fireflys.compiler.work.pairs_work)
    union_work: list[int]  # total over all frames: the pairs with the steps' spikes ORed
    predicted: list[int]  # busy cycles over all frames, cycle model (fireflys.compiler.perf)
    occ: list[list[int]]  # per core and detector: cycles working on pixels (RTL)
    predicted_occ: list[list[int]]  # the same from the cycle model (exact)
    pred: list[int]
    frame_error: bool
    predicted_period: float
    raw: dict[str, Any] = field(default_factory=dict)

    def per_frame(self, values: list[int]) -> list[float]:
        return [v / self.frames for v in values]

    @property
    def latency(self) -> int:
        """Cycles from the first input beat to the first class output: the first frame
        through the empty pipeline."""
        return self.raw["first_out"] - self.raw["first_in"]


# everything the generated hardware, its images and the expected streams are computed by:
# these parts of the package (templates included), and the RTL files
KEY_PARTS = ("core", "compiler", "phi", "hwgen", "verify/harness.py", "verify/vectors.py")


def _source_files() -> list[Path]:
    pkg = Path(__file__).resolve().parents[1]
    out: list[Path] = []
    for part in KEY_PARTS:
        p = pkg / part
        out += sorted(f for f in p.rglob("*") if f.is_file() and f.suffix != ".pyc") \
            if p.is_dir() else [p]
    return out + list(rtl_files())


def _model_key(model_dir: Path, phi: PhiTables | None = None, dense: bool = False,
               bram36_budget: float | None = None) -> str:
    """Build-cache key: the model files, the Phi tables, the block-RAM budget and every source
    the hardware and the expected streams depend on (:func:`_source_files`)."""
    h = hashlib.sha256()
    for f in ("model.json", "weights.npz"):
        h.update((model_dir / f).read_bytes())
    for src in _source_files():
        h.update(src.read_bytes())
    h.update(b"dense" if dense else b"sparse")
    if bram36_budget is not None:
        h.update(f"bram36 {bram36_budget:g}".encode())
    if phi is not None:
        h.update(f"phi {phi.q}".encode())
        for li in sorted(phi.layers):
            for p in phi.layers[li].patterns:
                h.update(f"L{li}:".encode() + np.ascontiguousarray(p, dtype=np.uint64).tobytes())
    return h.hexdigest()[:16]


def _run(exe: Path, plusargs: list[str], frames: int, progress: Progress | None,
         cwd: Path) -> dict[str, str]:
    """Run the stream harness; report its progress lines, return its ``result:`` fields."""
    fields: dict[str, str] = {}
    tail: list[str] = []
    if progress is not None:
        progress(0, frames)  # built: the run starts
    with subprocess.Popen([str(exe), *plusargs], cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True) as p:
        assert p.stdout is not None
        for ln in p.stdout:
            if ln.startswith("progress: "):
                if progress is not None:
                    progress(int(ln.split()[1]), frames)
            elif ln.startswith("result: "):
                words = ln.split()[1:]
                if words[0] == "mismatch":
                    fields["mismatch"] = " ".join(words[1:])
                else:
                    fields.update(zip(words[::2], words[1::2], strict=True))
            else:
                tail = (tail + [ln.rstrip()])[-20:]
    if p.returncode != 0 or "perf" not in fields:
        raise SimulationError(f"{exe}: the stream harness failed (exit {p.returncode}):\n"
                              + "\n".join(tail))
    return fields


def _locate(shapes: list[list[int]], scores: list[bool], i: int, index: int, got: int,
            want: int) -> str:
    """The first difference of stage ``i`` (a core's stream, or the outputs when ``i`` is the
    number of cores), located: layer, frame, time step, pixel, channel."""
    if i == len(shapes):
        return f"output stage, frame {index}: RTL {got:#x}, golden {want:#x}"
    c, h, w = shapes[i]
    if scores[i]:
        return f"layer L{i} (scores), frame {index}: RTL {got:#x}, golden {want:#x}"
    frame, pixel = divmod(index, h * w)
    diff = got ^ want
    bit = (diff & -diff).bit_length() - 1
    t, ch = divmod(bit, c)
    y, x = divmod(pixel, w)
    return (f"first mismatch: layer L{i}, frame {frame}, t={t}, pixel (y={y}, x={x}), "
            f"channel {ch}: RTL spike {(got >> bit) & 1}, golden {(want >> bit) & 1}")


def simulate(
    model: CompiledModel,
    model_dir: str | Path,
    x: np.ndarray,
    *,
    in_gap: float = 0.0,
    out_stall: float = 0.0,
    reset_at: int | None = None,
    seed: int = 1,
    work_dir: str | Path | None = None,
    waves: bool = False,
    gate_level: bool = False,
    phi: PhiTables | None = None,
    progress: Progress | None = None,
    dense: bool = False,
    bram36_budget: float | None = None,
) -> SimResult:
    """Stream frames ``x`` through the model's RTL (random input gaps and output stalls with
    the given probabilities, optionally a reset ``reset_at`` cycles in, after which every
    frame is sent again) and check every core's output stream and the final outputs against
    the golden model; raise :class:`MismatchError` naming the first difference.

    ``gate_level``: simulate Yosys' generic gate netlist of the generated top instead of the
    RTL (same testbench and checks; catches frontend miscompiles).

    ``phi``: the tables' layers run in Phi mode (``pairs`` then counts PWP adds + pairs).
    ``dense``: the dense baseline (the same datapath, nothing skipped: ``pairs`` then counts
    every (weight, spike) pair, zero weights too).
    ``bram36_budget``: the block RAM the hardware is generated for (see
    :func:`fireflys.hwgen.generate.generate`): the synthesized design's.
    ``progress(frames_out, frames)`` is called every few seconds while the simulation runs."""
    mdir = Path(model_dir)
    model = design_model(model, phi, dense)
    wdir = ((Path(work_dir) if work_dir else WORK / "rtl")
            / _model_key(mdir, phi, dense, bram36_budget))
    hw = wdir / "hw"
    if not (hw / "hw.json").is_file():
        generate(model, hw, phi=phi, dense=dense, bram36_budget=bram36_budget)
    cores = core_params(model, hw / "mem", phi=phi, bram36_budget=bram36_budget)
    res = golden.run(model, x)
    frames = len(x)
    run_dir = (wdir / f"run-{frames}{'-gl' if gate_level else ''}").resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    out_w = write_vectors(model, x, res, cores[0].in_w, run_dir)
    for i, (c, stream) in enumerate(zip(cores, expected_streams(model, res), strict=True)):
        write_hex(run_dir / f"tap{i}.hex", [int(v, 16) for f in stream for v in f], c.out_w,
                  signed=False)
    _, h0, w0 = model.arch.in_shape
    conv_pixels = [frames * ly.geom.conv_shape[1] * ly.geom.conv_shape[2]
                   for ly in model.layers]
    tb = run_dir / f"{TB_TOP}.sv"
    tb.write_text(tb_sv(cores, out_w, h0 * w0, frames, conv_pixels))
    design = sources(hw)
    if gate_level:
        design = [gate_netlist(design, TOP, wdir / "gl")]
    exe = build_binary(TB_TOP, [*design, tb], wdir / ("bin_gl" if gate_level else "bin"),
                       parameters={"Dir": f'"{run_dir}"'},
                       opt_fast="-O0" if gate_level else None,  # a netlist's C++ is huge
                       args=["--trace", "-DWAVES"] if waves else [])
    max_cycles = 100_000 + 50 * frames * (sum(res.work) // max(frames, 1) + 1000)
    f = _run(exe, [f"+gap={round(in_gap * 100)}", f"+stall={round(out_stall * 100)}",
                   f"+seed={seed}", f"+hold={reset_latency(len(cores))}",
                   f"+reset_at={reset_at or 0}", f"+max={max_cycles}"], frames, progress,
             run_dir)
    n = len(cores)
    stages = [int(v, 16) for v in f["mismatch"].split()]
    for i in range(n + 1):
        valid, index, got, want = stages[4 * i: 4 * i + 4]
        if valid:
            raise MismatchError(_locate([list(ly.geom.out_shape) for ly in model.layers],
                                        [ly.theta is None for ly in model.layers],
                                        i, index, got, want))
    layout = perf_layout(cores)
    words = dict(zip(layout, split_counters(int(f["perf"], 16), len(layout)), strict=True))
    r = {k: int(f[k]) for k in ("cycles", "frames_out", "beats_in", "first_in", "first_out",
                                "mid_out", "last_out", "frame_count")}
    r["frame_error"] = bool(int(f["frame_error"]))
    for key in ("busy", "pairs", "pixels"):
        r[key] = [words[f"{c.name}.{key}"] for c in cores]
    occ = [[words[f"{c.name}.det{d}_cycles"] for d in range(int(c.params["Pco"]))]
           for c in cores]
    if r["frames_out"] != frames or r["frame_count"] != frames:
        raise SimulationError(f"{exe}: {r['frames_out']} of {frames} frames out (frame counter "
                              f"{r['frame_count']}) after {r['cycles']} cycles")
    pco = [ly.pco for ly in model.layers]
    # replayed by fireflys.compiler.perf (exact without gaps/stalls)
    traces = (phiperf.predict(model, phi, x, res) if phi is not None
              else perf.predict(model, x, res))
    union = (phiperf.union_work(model, phi, x, res) if phi is not None
             else union_work(model, x, res))
    period = perf.mid_to_last_period(r["mid_out"], r["last_out"], frames)
    return SimResult(
        frames=frames, cycles=r["cycles"], frame_period=period, busy=r["busy"],
        pairs=r["pairs"], pixels=r["pixels"],
        ideal=[u / frames / p for u, p in zip(union, pco, strict=True)],
        work=pairs_work(model, x, res), union_work=union, predicted=[t.busy for t in traces],
        occ=occ,
        predicted_occ=[t.occ for t in traces], pred=res.pred.tolist(),
        frame_error=r["frame_error"], predicted_period=perf.frame_period(traces[-1], frames),
        raw=r,
    )


def perf_report(model: CompiledModel, r: SimResult, labels: np.ndarray | None = None,
                clock_mhz: float | None = None) -> dict[str, Any]:
    """Per core: work (pairs per step), union work (the pairs that cost a cycle: a non-zero
    weight and an input position with a spike in any step), ideal cycles (union work / PCO),
    measured busy cycles, their ratio; the cycle model's prediction
    (:mod:`fireflys.compiler.perf`: exact when the input has no gaps and the output no
    stalls). ``clock_mhz``: frames/s at that clock too."""
    cores = []
    for i, ly in enumerate(model.layers):
        ideal = r.ideal[i]
        busy = r.busy[i] / r.frames
        cores.append({
            "name": f"L{i}", "core": ly.geom.token(), "pco": ly.pco, "pci": ly.pci,
            "work_per_frame": r.work[i] / r.frames,
            "union_work_per_frame": r.union_work[i] / r.frames, "ideal_cycles": ideal,
            "busy_cycles": busy, "ratio": busy / ideal if ideal else float("inf"),
            "predicted_cycles": r.predicted[i] / r.frames,
            "prediction_error": (r.predicted[i] - r.busy[i]) / r.busy[i] if r.busy[i] else 0.0,
            "detector_cycles": [v / r.frames for v in r.occ[i]],
            "detector_cycles_match_model": r.occ[i] == r.predicted_occ[i],
            "pairs_match_work": r.pairs[i] == r.work[i],
        })
    slowest = max(c["ideal_cycles"] for c in cores)
    acc = None if labels is None else float((np.array(r.pred) == labels).mean())
    rep = {
        "arch": str(model.arch), "T": model.T, "frames": r.frames, "accuracy": acc,
        "frame_period_cycles": r.frame_period, "slowest_ideal_cycles": slowest,
        "period_vs_ideal": r.frame_period / slowest if slowest else None,
        "predicted_frame_period_cycles": r.predicted_period,
        "frame_period_prediction_error": (
            (r.predicted_period - r.frame_period) / r.frame_period if r.frame_period else 0.0),
        "total_cycles": r.cycles, "cores": cores,
        # the first frame through the empty pipeline: its first input beat to its class output
        "latency_cycles": r.latency,
    }
    if clock_mhz is not None:
        rep["clock_mhz"] = clock_mhz
        rep["frames_per_s"] = clock_mhz * 1e6 / r.frame_period if r.frame_period else None
        rep["latency_us"] = rep["latency_cycles"] / clock_mhz
    return rep


def detector_results(model: CompiledModel, x: np.ndarray, index: int,
                     res: golden.GoldenResult) -> list[list]:
    """Per detector, in order: [group, sums] for every output pixel and group with a pair
    (every real group in the dense baseline), where sums are the accumulated currents without
    bias (one per step, or one for direct input)."""
    ly = model.layers[index]
    g = ly.geom
    xx = golden.layer_input(model, x, res, index)
    direct = model.direct(index)
    if direct:
        acc = golden.current(xx, ly) - ly.bias  # [B, Ho, Wo, CO]
        acc = acc[:, None]
    else:
        flat = xx.reshape(-1, *xx.shape[2:])
        cur = golden.current(flat, ly)
        acc = (cur - ly.bias).reshape(len(x), model.T, *cur.shape[1:])  # B, T, Ho, Wo, CO
    _, ho, wo = g.conv_shape
    cp = core_plan(model, index)
    slots, groups = cp.slots, cp.groups
    k = pair_counts(model, x, res)[index]  # B, pixels, CO
    out: list[list] = [[] for _ in range(ly.pco)]
    for b in range(len(x)):
        for p in range(ho * wo):
            y, xq = divmod(p, wo)
            for d in range(ly.pco):
                for gi in range(groups):
                    co = int(slots[gi * ly.pco + d])
                    if co < 0 or (k[b, p, co] == 0 and not ly.dense):
                        continue  # no pair: skipped, the core presets its output
                    out[d].append([gi, [int(v) for v in acc[b, :, y, xq, co]]])
    return out


def simulate_core(
    model: CompiledModel, index: int, x: np.ndarray, *, work_dir: str | Path,
    in_gap: float = 0.0, out_stall: float = 0.0, seed: int = 1,
    spw: int | None = None, model_pci: bool = False, list_block: bool = False,
    phi: PhiTables | None = None, match_rate: int | None = None, dense: bool = False,
) -> dict[str, Any]:
    """Run core ``index`` alone (cocotb ``sim/tb_core.py``): every peeler result and every
    output word against the golden model. Returns the core's counters. ``spw``: segments per
    scanner word (default automatic); lanes of whole pixels unless ``model_pci`` (the model's
    PCI); ``list_block``: every scan list's masks and other fields in block RAM, however
    short; ``phi``: the
    core in Phi mode if the tables hold its layer, on :func:`fireflys.phi.perf.phi_lanes`'
    lanes, ``match_rate`` patterns compared per cycle; ``dense``: the dense baseline."""
    if phi is not None or not model_pci:
        model = design_model(model, phi)
    if dense:
        model = dense_baseline(model)
    wdir = Path(work_dir)
    mem = wdir / "mem"
    write_memories(model, mem, bitmap=False)
    cp = core_params(model, mem, {index: spw} if spw else None,
                     **({"lut_list_depth": 0, "lut_field_depth": 0, "bram36_budget": 1e9}
                        if list_block else {}),
                     phi=phi, match_rate={index: match_rate} if match_rate else None)[index]
    res = golden.run(model, x)
    beats = [w for f in layer_inputs(model, x, res, index) for w in f]
    outs = [w for f in expected_streams(model, res)[index] for w in f]
    ly = model.layers[index]
    results = detector_results(model, x, index, res)
    num_acc = 1 if model.direct(index) else model.T
    stim = {"beats": beats, "outputs": outs, "results": results, "acc_w": ly.widths["acc"],
            "num_acc": num_acc, "in_gap": in_gap, "out_stall": out_stall,
            "conv_pixels": len(x) * ly.geom.conv_shape[1] * ly.geom.conv_shape[2],
            "seed": seed, "T": model.T,
            "sum_steps": not model.direct(index) and not ly.neuron}
    stim_path, result_path = wdir / "stim.json", wdir / "result.json"
    stim_path.write_text(json.dumps(stim))
    run_cocotb(CORE, [*rtl_files()], "tb_core", parameters=cp.params, seed=seed,
               build_root=wdir / "sim_build",
               extra_env={"FIREFLYS_STIM": str(stim_path), "FIREFLYS_RESULT": str(result_path)})
    r = json.loads(result_path.read_text())
    r["occ"] = split_counters(int(r.pop("occ_word")), ly.pco)
    return r


def split_counters(word: int, n: int) -> list[int]:
    """The n 32-bit counters of a packed counter vector, counter 0 in the low bits."""
    return [(word >> (32 * d)) & 0xFFFF_FFFF for d in range(n)]


__all__ = ["MismatchError", "SimResult", "simulate"]
