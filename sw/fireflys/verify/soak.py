"""Soak: many frames through a model's RTL in the standalone Verilator testbench.

Frames (dataset frames or random ones) go through the golden model for the expected outputs;
a plan sprinkles resets between frames and malformed frames (tlast early or late) over the
run; the generated testbench (:func:`fireflys.verify.harness.sim_tb_sv`) streams everything with
random input gaps and output back-pressure and checks every well-formed frame's output, one output
per frame sent, the frame counter and the malformed-frame counter. Everything per cycle runs
inside the compiled simulator, so 10,000 frames are a matter of minutes.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from fireflys.core import golden
from fireflys.core.model import CompiledModel
from fireflys.hwgen.generate import generate
from fireflys.hwgen.params import output_width
from fireflys.phi.tables import PhiTables
from fireflys.progress import Progress
from fireflys.verify.harness import SIM_TB, sim_tb_sv, write_plan
from fireflys.verify.hdlsim import SimulationError, ensure_verilator
from fireflys.verify.vectors import write_vectors

RESET, SHORT, LONG = 1, 2, 4
LONG_RUN = 500  # frames from which the soak binary is compiled for speed


@dataclass
class SoakResult:
    model: str
    mode: str  # "bitmap" or "phi"
    frames: int
    resets: int
    malformed: int
    cycles: int
    in_gap: float
    out_stall: float
    seed: int
    build_s: float
    run_s: float
    passed: bool
    message: str  # the testbench's verdict line
    # cycles between consecutive outputs (the frame period each frame took; meaningful as
    # the accelerator's throughput when nothing else stalls it: no gaps, stalls or resets)
    period_mean: float | None = None
    period_p50: float | None = None
    period_p99: float | None = None
    period_max: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def make_plan(frames: int, reset_rate: float, bad_rate: float,
              rng: np.random.Generator) -> np.ndarray:
    """Per frame: RESET before it with ``reset_rate``, SHORT or LONG with ``bad_rate``; at
    least one reset (from the second frame on) and one malformed frame when their rate is
    above 0, so that a short soak exercises them too (1,000 frames at 0.2 % draw no reset
    with seed 1)."""
    plan = np.zeros(frames, dtype=np.int64)
    plan[1:] |= np.where(rng.random(frames - 1) < reset_rate, RESET, 0)
    bad = rng.random(frames) < bad_rate
    kind = np.where(rng.random(frames) < 0.5, SHORT, LONG)
    plan |= np.where(bad, kind, 0)
    if reset_rate > 0 and frames > 1 and not (plan & RESET).any():
        plan[rng.integers(1, frames)] |= RESET
    if bad_rate > 0 and frames > 0 and not bad.any():
        i = rng.integers(0, frames)
        plan[i] |= kind[i]
    return plan


def build(model: CompiledModel, work: Path, vec: Path, frames: int,
          phi: PhiTables | None = None, threads: int = 1,
          bram36_budget: float | None = None) -> tuple[Path, int]:
    """Generate the hardware (``phi``: its layers' cores in Phi mode; ``bram36_budget``: see
    :func:`fireflys.hwgen.generate.generate`) and compile the standalone testbench (reading
    its vectors from ``vec``; ``threads``: Verilator's evaluation threads); returns the
    binary and the input beat width."""
    hw = work / "hw"
    generate(model, hw, name="soak", phi=phi, bram36_budget=bram36_budget)
    manifest = json.loads((hw / "hw.json").read_text())
    _, h, w = model.arch.in_shape
    tb = work / f"{SIM_TB}.sv"
    tb.write_text(sim_tb_sv(manifest["in_width"], output_width(model), h * w, frames, vec,
                            len(model.layers)))
    obj = work / "obj"
    # long runs: OPT_FAST -O2 (Verilator's default -Os; -O2 runs ~1.5x faster) and Verilator's
    # -O3; short ones (tests) compile faster without; the code run once is never optimized
    long_run = frames >= LONG_RUN
    cmd = [ensure_verilator(), "--binary", "-Wall", *(["-O3"] if long_run else []),
           *(["--threads", str(threads)] if threads > 1 else []),
           "--x-assign", "fast", "--x-initial", "fast", "-j", "2", "-MAKEFLAGS",
           "OPT_SLOW=-O0" + (" OPT_FAST=-O2" if long_run else ""),
           "--top-module", SIM_TB, "-Mdir", str(obj),
           "-o", "soak_tb", *manifest["sources"], str(tb)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        tail = "\n".join((p.stdout + p.stderr).splitlines()[-20:])
        raise SimulationError(f"verilator build of the soak testbench failed:\n{tail}")
    return obj / "soak_tb", int(manifest["in_width"])


def soak(model: CompiledModel, x: np.ndarray, work: str | Path, *,
         in_gap: float = 0.2, out_stall: float = 0.2, reset_rate: float = 0.002,
         bad_rate: float = 0.002, seed: int = 1, timeout: float = 7200,
         plan: np.ndarray | None = None, phi: PhiTables | None = None,
         threads: int = 1, progress: Progress | None = None,
         bram36_budget: float | None = None) -> SoakResult:
    """Stream frames ``x`` through the RTL of ``model`` (see the module docstring); a plan
    can be given (codes RESET | SHORT | LONG per frame) instead of the random one. ``phi``:
    the tables' layers run in Phi mode (Phi is lossless: the same outputs are expected).
    ``threads``: the testbench's Verilator threads (the same results; faster only on
    otherwise idle cores). ``bram36_budget``: the block RAM the hardware is generated for
    (the synthesized design's).
    ``progress(frames_out, frames)`` follows the testbench's progress lines."""
    work = Path(work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    vec = work / "vec"
    vec.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    exe, in_w = build(model, work, vec, len(x), phi, threads, bram36_budget)
    build_s = time.time() - t0
    write_vectors(model, x, golden.run(model, x), in_w, vec)
    if plan is None:
        plan = make_plan(len(x), reset_rate, bad_rate, np.random.default_rng(seed))
    write_plan(vec / "plan.hex", plan)
    t1 = time.time()
    cmd = [str(exe), f"+gap={round(in_gap * 100)}", f"+stall={round(out_stall * 100)}",
           f"+seed={seed}", "+times"]
    lines: list[str] = []
    out_at: list[int] = []
    if progress is not None:
        progress(0, len(x))  # built: the run starts
    with subprocess.Popen(cmd, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True) as p:
        timer = threading.Timer(timeout, p.kill)  # the progress lines may be far apart
        timer.start()
        assert p.stdout is not None
        for ln in p.stdout:
            if ln.startswith("progress: "):
                if progress is not None:
                    progress(int(ln.split()[1]), len(x))
            elif ln.startswith("out: "):
                out_at.append(int(ln.split()[1]))
            else:
                lines.append(ln)
        timer.cancel()
    if p.returncode != 0 and time.time() - t1 >= timeout:
        lines.append(f"FAIL: the simulation ran past {timeout:.0f} s")
    out = "".join(lines)
    verdict = next((ln.strip() for ln in out.splitlines() if "PASS:" in ln or "FAIL" in ln),
                   out.strip().splitlines()[-1] if out.strip() else "no output")
    m = re.search(r"PASS: (\d+) frames.*?(\d+) malformed frames flagged, (\d+) resets, "
                  r"(\d+) cycles", verdict)
    per = np.diff(np.asarray(out_at, dtype=np.int64))
    stats = {} if per.size == 0 else {
        "period_mean": round(float(per.mean()), 1),
        "period_p50": float(np.percentile(per, 50)),
        "period_p99": float(np.percentile(per, 99)), "period_max": int(per.max())}
    return SoakResult(
        **stats, model=str(model.arch), mode="phi" if phi is not None else "bitmap", frames=len(x),
        resets=int(m.group(3)) if m else -1,
        malformed=int(m.group(2)) if m else -1, cycles=int(m.group(4)) if m else -1,
        in_gap=in_gap, out_stall=out_stall, seed=seed, build_s=round(build_s, 1),
        run_s=round(time.time() - t1, 1), passed=m is not None, message=verdict)
