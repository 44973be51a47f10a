"""Run a compiled model's RTL (Verilator + cocotb) against the golden model.

:func:`simulate` generates the hardware, encodes the frames as stream beats, derives every
core's expected output stream from the golden model's per-layer spikes, runs the cocotb
system testbench (``sim/tb_system.py``) and returns what it measured. The testbench stops
at the first difference and names it (core, frame, pixel, time step, channel).
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fireflys.compiler import perf_v2
from fireflys.compiler.coreplan import core_plan
from fireflys.compiler.memimg import write_hex, write_memories
from fireflys.compiler.perf import busy, occupancy, pair_counts, pixel_costs
from fireflys.compiler.scanlist import whole_pixel_lanes
from fireflys.core import golden
from fireflys.core.model import CompiledModel
from fireflys.eda.synth import gate_netlist
from fireflys.hwgen.generate import generate, sources
from fireflys.hwgen.params import TOP, core_params, core_params_v2
from fireflys.paths import REPO, rtl_files
from fireflys.phi import hw as phihw
from fireflys.phi import tp_perf
from fireflys.phi.tables import PhiTables
from fireflys.phi.tp import TpPhiTables
from fireflys.phi.tp_perf import phi_lanes
from fireflys.progress import Progress
from fireflys.verify.harness import TB_TOP, tb_sv
from fireflys.verify.hdlsim import SimulationError, run_cocotb
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
    ideal: list[float]  # per frame: work / PCO
    work: list[int]  # total over all frames (golden)
    predicted: list[int]  # busy cycles over all frames, cycle model (fireflys.compiler.perf)
    occ: list[list[int]]  # per core and detector: cycles working on pixels (RTL)
    predicted_occ: list[list[int]]  # the same from the cycle model (exact)
    pred: list[int]
    frame_error: bool
    raw: dict[str, Any] = field(default_factory=dict)
    predicted_period: float | None = None  # core v2: frame period from the cycle model

    def per_frame(self, values: list[int]) -> list[float]:
        return [v / self.frames for v in values]


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


def _model_key(model_dir: Path, skip: bool,
               phi: PhiTables | TpPhiTables | None = None) -> str:
    """Build-cache key: the model files, the Phi tables and every source the hardware and the
    expected streams depend on (:func:`_source_files`)."""
    h = hashlib.sha256()
    for f in ("model.json", "weights.npz"):
        h.update((model_dir / f).read_bytes())
    for src in _source_files():
        h.update(src.read_bytes())
    h.update(b"skip" if skip else b"dense")
    if phi is not None:
        h.update(f"phi {phi.q} {getattr(phi, 'method', 'tp')}".encode())
        for li in sorted(phi.layers):
            for p in phi.layers[li].patterns:
                h.update(f"L{li}:".encode() + np.ascontiguousarray(p, dtype=np.uint64).tobytes())
    return h.hexdigest()[:16]


def _watch(path: Path, frames: int, progress: Progress | None,
           stop: threading.Event) -> None:
    """Report the testbench's progress file (frames out) until ``stop``."""
    last = -1
    while not stop.wait(5.0):
        try:
            done = int(path.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
        if done != last and progress is not None:
            progress(done, frames)
            last = done


def simulate(
    model: CompiledModel,
    model_dir: str | Path,
    x: np.ndarray,
    *,
    skip: bool = True,
    in_gap: float = 0.0,
    out_stall: float = 0.0,
    reset_at: int | None = None,
    seed: int = 1,
    work_dir: str | Path | None = None,
    waves: bool = False,
    gate_level: bool = False,
    phi: PhiTables | TpPhiTables | None = None,
    progress: Progress | None = None,
    core_version: int = 1,
) -> SimResult:
    """Stream frames ``x`` through the model's RTL (random input gaps and output stalls with
    the given probabilities, optionally a reset ``reset_at`` cycles in, after which every
    frame is sent again) and check every core's output stream and the final outputs against
    the golden model; raise :class:`MismatchError` naming the first difference.

    ``gate_level``: simulate Yosys' generic gate netlist of the generated top instead of the
    RTL (same testbench and checks; catches frontend miscompiles).

    ``phi``: the tables' layers run in Phi mode (``pairs`` then counts PWP adds + pairs).
    ``progress(frames_out, frames)`` is called every few seconds while the simulation runs.
    ``core_version`` 2: the accelerator built from sparse core v2 (``tp_core``; ``phi`` then
    core-v2 tables, :class:`TpPhiTables`)."""
    mdir = Path(model_dir)
    if core_version == 2:
        model = phi_lanes(model, phi) if phi is not None else whole_pixel_lanes(model)
    key = _model_key(mdir, skip, phi) + ("-v2" if core_version == 2 else "")
    wdir = (Path(work_dir) if work_dir else REPO / "build" / "rtl") / key
    hw = wdir / "hw"
    if not (hw / "hw.json").is_file():
        generate(model, hw, skip=skip, phi=phi, core_version=core_version)
    cores = (core_params_v2(model, hw / "mem", phi=phi) if core_version == 2
             else core_params(model, hw / "mem", skip, phi))
    res = golden.run(model, x)
    frames = len(x)
    run_dir = (wdir / f"run-{frames}{'-gl' if gate_level else ''}").resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    out_w = write_vectors(model, x, res, cores[0].in_w, run_dir)
    for i, (c, stream) in enumerate(zip(cores, expected_streams(model, res), strict=True)):
        write_hex(run_dir / f"tap{i}.hex", [int(v, 16) for f in stream for v in f], c.out_w,
                  signed=False)
    _, h0, w0 = model.arch.in_shape
    tb = run_dir / f"{TB_TOP}.sv"
    tb.write_text(tb_sv(cores, out_w, h0 * w0, frames))
    stim = {
        "frames": frames,
        "core_shapes": [list(ly.geom.out_shape) for ly in model.layers],
        "score_core": [ly.theta is None for ly in model.layers],
        "conv_pixels": [frames * ly.geom.conv_shape[1] * ly.geom.conv_shape[2]
                        for ly in model.layers],
        "in_gap_pct": round(in_gap * 100), "out_stall_pct": round(out_stall * 100),
        "seed": seed, "reset_at": reset_at,
        "max_cycles": 100_000 + 50 * frames * (sum(res.work) // max(frames, 1) + 1000),
    }
    stim_path, result_path = run_dir / "stim.json", run_dir / "result.json"
    stim_path.write_text(json.dumps(stim))
    result_path.unlink(missing_ok=True)
    design = sources(hw)
    if gate_level:
        design = [gate_netlist(design, TOP, wdir / "gl")]
    prog_path = run_dir / "progress.txt"
    prog_path.unlink(missing_ok=True)
    env = {"FIREFLYS_STIM": str(stim_path), "FIREFLYS_RESULT": str(result_path),
           "FIREFLYS_PROGRESS": str(prog_path)}
    stop = threading.Event()
    watcher = threading.Thread(target=_watch, args=(prog_path, frames, progress, stop),
                               daemon=True)
    if progress is not None:
        watcher.start()
    try:
        run_cocotb(TB_TOP, [*design, tb], "tb_system", seed=seed, waves=waves,
                   parameters={"Dir": f'"{run_dir}"'},
                   build_root=wdir / ("sim_build_gl" if gate_level else "sim_build"),
                   extra_env=env)
    except SimulationError:
        if result_path.is_file():
            r = json.loads(result_path.read_text())
            if r.get("mismatch"):
                raise MismatchError(r["mismatch"]) from None
        raise
    finally:
        stop.set()
    r = json.loads(result_path.read_text())
    pco = [ly.pco for ly in model.layers]
    if core_version == 2:  # replayed by fireflys.compiler.perf_v2 (exact without gaps/stalls)
        traces = (tp_perf.predict(model, phi, x, res) if phi is not None
                  else perf_v2.predict(model, x, res))
        predicted, predicted_occ = [t.busy for t in traces], [t.occ for t in traces]
        predicted_period: float | None = perf_v2.frame_period(traces[-1], frames)
    else:
        costs = pixel_costs(model, x, res, skip)
        predicted, predicted_occ, predicted_period = busy(costs), occupancy(costs), None
    period = perf_v2.mid_to_last_period(r["mid_out"], r["last_out"], frames)
    return SimResult(
        frames=frames, cycles=r["cycles"], frame_period=period, busy=r["busy"],
        pairs=r["pairs"], pixels=r["pixels"],
        ideal=[w / frames / p for w, p in zip(res.work, pco, strict=True)],
        work=list(res.work), predicted=predicted,
        occ=[split_counters(int(w), p) for w, p in zip(r["occ_words"], pco, strict=True)],
        predicted_occ=predicted_occ, pred=res.pred.tolist(),
        frame_error=r["frame_error"], raw=r, predicted_period=predicted_period,
    )


CLOCK_HZ = 333e6  # KV260 target clock (FireFly-S)


def perf_report(model: CompiledModel, r: SimResult, labels: np.ndarray | None = None,
                core_version: int = 1) -> dict[str, Any]:
    """Per core: work, ideal cycles (work / PCO), measured busy cycles, their ratio; the
    cycle model's prediction (fireflys.compiler.perf for core v1, fireflys.compiler.perf_v2
    for core v2: exact when the input has no gaps and the output no stalls)."""
    cores = []
    for i, ly in enumerate(model.layers):
        ideal = r.ideal[i]
        busy = r.busy[i] / r.frames
        cores.append({
            "name": f"L{i}", "core": ly.geom.token(), "pco": ly.pco, "pci": ly.pci,
            "work_per_frame": r.work[i] / r.frames, "ideal_cycles": ideal,
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
        "frames_per_s_at_333mhz": CLOCK_HZ / r.frame_period if r.frame_period else None,
        "total_cycles": r.cycles, "cores": cores,
    }
    if core_version != 1:
        rep["core_version"] = core_version
    if r.predicted_period is not None:
        rep["predicted_frame_period_cycles"] = r.predicted_period
        rep["frame_period_prediction_error"] = (
            (r.predicted_period - r.frame_period) / r.frame_period if r.frame_period else 0.0)
    return rep


def detector_results(model: CompiledModel, x: np.ndarray, index: int,
                     res: golden.GoldenResult, skip: bool = True) -> list[list]:
    """Per detector, in order: [group, sums] for every output pixel and loaded group (with
    ``skip``, only groups with a pair), where sums are the accumulated currents without bias
    (one per step, or one for direct input)."""
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
                    if skip and (co < 0 or k[b, p, co] == 0):
                        continue  # no pair: skipped, the core presets its output
                    sums = ([int(v) for v in acc[b, :, y, xq, co]] if co >= 0
                            else [0] * acc.shape[1])
                    out[d].append([gi, sums])
    return out


def simulate_core(
    model: CompiledModel, index: int, x: np.ndarray, *, work_dir: str | Path,
    skip: bool = True, in_gap: float = 0.0, out_stall: float = 0.0, seed: int = 1,
    phi: PhiTables | None = None, match_segs: int | None = None, version: int = 1,
    spw: int | None = None, model_pci: bool = False, list_block: bool = False,
    tp_phi: TpPhiTables | None = None, match_rate: int | None = None,
) -> dict[str, Any]:
    """Run core ``index`` alone (cocotb ``sim/tb_core.py``): every detector result and every
    output word against the golden model. Returns the core's counters. ``phi``: in Phi mode
    (``match_segs`` segment indices matched per cycle, default automatic). ``version`` 2:
    sparse core v2 (``tp_core``, ``spw`` segments per scanner word, default automatic; lanes of
    whole pixels unless ``model_pci``: the model's PCI; ``list_block``: every scan list's
    masks in block RAM, however short; ``tp_phi``: core-v2 Phi tables, the core in Phi mode
    if they hold its layer, on :func:`fireflys.phi.tp_perf.phi_lanes`' lanes, ``match_rate``
    patterns compared per cycle)."""
    if version == 2 and tp_phi is not None:
        model = phi_lanes(model, tp_phi)
    elif version == 2 and not model_pci:
        model = whole_pixel_lanes(model)
    wdir = Path(work_dir)
    mem = wdir / "mem"
    write_memories(model, mem)
    ms = {index: match_segs} if match_segs else None
    if phi is not None:
        phihw.write_images(model, phi, mem, ms)
    if version == 2:
        cp = core_params_v2(model, mem, {index: spw} if spw else None,
                            **({"lut_list_depth": 0, "bram36_budget": 1e9} if list_block
                               else {}),
                            phi=tp_phi,
                            match_rate={index: match_rate} if match_rate else None)[index]
    else:
        cp = core_params(model, mem, skip, phi, ms)[index]
    res = golden.run(model, x)
    beats = [w for f in layer_inputs(model, x, res, index) for w in f]
    outs = [w for f in expected_streams(model, res)[index] for w in f]
    ly = model.layers[index]
    results = detector_results(model, x, index, res, skip)
    num_acc = 1 if model.direct(index) else model.T
    stim = {"beats": beats, "outputs": outs, "results": results, "acc_w": ly.widths["acc"],
            "num_acc": num_acc, "in_gap": in_gap, "out_stall": out_stall,
            "conv_pixels": len(x) * ly.geom.conv_shape[1] * ly.geom.conv_shape[2],
            "seed": seed, "version": version, "T": model.T,
            "sum_steps": version == 2 and not model.direct(index) and not ly.neuron}
    stim_path, result_path = wdir / "stim.json", wdir / "result.json"
    stim_path.write_text(json.dumps(stim))
    run_cocotb("tp_core" if version == 2 else "sparse_core", [*rtl_files()], "tb_core",
               parameters=cp.params,
               seed=seed, build_root=wdir / "sim_build",
               extra_env={"FIREFLYS_STIM": str(stim_path), "FIREFLYS_RESULT": str(result_path)})
    r = json.loads(result_path.read_text())
    r["occ"] = split_counters(int(r.pop("occ_word")), ly.pco)
    return r


def split_counters(word: int, n: int) -> list[int]:
    """The n 32-bit counters of a packed counter vector, counter 0 in the low bits."""
    return [(word >> (32 * d)) & 0xFFFF_FFFF for d in range(n)]


__all__ = ["MismatchError", "SimResult", "core_params", "simulate"]
