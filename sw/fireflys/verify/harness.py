"""Generated SystemVerilog testbenches around ``fireflys_top``: the stream harness of the
system test (:func:`tb_sv`, :mod:`fireflys.verify.rtlsim`) and the self-checking testbench of
the soak and the FuseSoC ``sim`` target (:func:`sim_tb_sv`). Both are standalone Verilator
binaries: all per-cycle work (driving AXI4-Stream beats with random gaps, random output
back-pressure, checking every core's output stream and the final outputs) runs inside the
simulator. Expected streams come from ``$readmemh`` images written per run.

Randomness: a 32-bit xorshift per side; a gap (stall) happens when ``lfsr % 100 < GapPct``
(``StallPct``). ``tvalid`` never drops before its beat is accepted (AXI4-Stream rule).
Mismatch reporting: per stream (core i, or the output stage) the first differing index and
the words, held until reset.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fireflys.core.model import CompiledModel
from fireflys.hwgen.params import TOP, CoreParams, perf_layout, perf_words
from fireflys.hwgen.render import render
from fireflys.hwgen.top import reset_latency

TB_TOP = "fireflys_tb"


def tb_sv(cores: list[CoreParams], out_w: int, frame_pixels: int, frames: int,
          conv_pixels: list[int]) -> str:
    """The stream harness (templates/stream_tb.sv, a standalone Verilator binary) with one
    checker per core's stream; ``conv_pixels``: per core, the output pixels (before pooling)
    of all the frames, the run's end."""
    per = [c.out_shape[1] * c.out_shape[2] if not c.score else 1 for c in cores]
    taps = "".join(render("stream_tb_tap.sv", i=i, out_msb=c.out_w - 1, depth=frames * per[i])
                   for i, c in enumerate(cores))
    n = len(cores)
    stages = [f"mm{i}" for i in range(n)] + ["mmo"]
    mismatch = " || ".join(f"{st}_valid" for st in stages)
    layout = perf_layout(cores)
    pixels = [layout.index(f"{c.name}.pixels") for c in cores]

    def words(vals: list[int]) -> str:
        return f"{32 * n}'h" + "".join(f"{v:08x}" for v in reversed(vals))

    return render("stream_tb.sv", tb_top=TB_TOP, frames=frames,
                  in_beats=frames * frame_pixels, frame_pixels=frame_pixels,
                  in_msb=cores[0].in_w - 1, out_msb=out_w - 1, tap_msb=n - 1,
                  perf_msb=32 * perf_words(cores) - 1, taps=taps, mismatch=mismatch,
                  n_cores=n, conv_pixels=words(conv_pixels), pixels_word=words(pixels),
                  mismatch_fmt=" ".join("%0d %0d %0h %0h" for _ in stages),
                  mismatch_args=", ".join(f"{st}_valid, {st}_index, {st}_got, {st}_want"
                                          for st in stages))


SIM_TB = "fireflys_sim_tb"


def sim_tb_sv(in_w: int, out_w: int, frame_pixels: int, frames: int, vec_dir: Path,
              cores: int) -> str:
    """Self-checking standalone testbench (Verilator ``--binary``) for the FuseSoC ``sim``
    target and the soak (:mod:`fireflys.verify.soak`). Streams ``frames`` frames from ``in.hex``;
    ``plan.hex`` has a code per frame: bit 0 = reset the accelerator before it (once every
    earlier frame is out), bit 1 = send it short (tlast early, half the beats), bit 2 = long
    (three extra beats, tlast late). Plusargs ``+gap=PCT +stall=PCT +seed=N``: random input
    gaps and output back-pressure. Checks: every well-formed frame's output equals ``out.hex``
    (the golden model's), exactly one output per frame sent (none lost, none duplicated), the
    frame counter equals the outputs seen since the last reset and ``frame_errors_o`` the
    malformed frames sent since it. Resets hold ``srst_ni`` low for the top's reset latency
    (:func:`fireflys.hwgen.top.reset_latency` of its ``cores``). Ends with one ``PASS:``
    line, or ``$fatal`` naming the frame."""
    return render("sim_tb.sv", sim_tb=SIM_TB, top=TOP, frames=frames, frame_pixels=frame_pixels,
                  reset_cycles=reset_latency(cores),
                  in_msb=in_w - 1, in_w=in_w, out_msb=out_w - 1,
                  in_beats=frames * frame_pixels, timeout=1000 + 200 * frame_pixels * 64,
                  in_hex=vec_dir / "in.hex", out_hex=vec_dir / "out.hex",
                  plan_hex=vec_dir / "plan.hex")


def write_plan(path: Path, codes: np.ndarray) -> None:
    """``plan.hex`` of :func:`sim_tb_sv`: one hex digit per frame."""
    path.write_text("".join(f"{int(c):x}\n" for c in codes))


def write_sim(model: CompiledModel, out: Path, frames: int = 8, seed: int = 0) -> Path:
    """Vectors (random frames, the golden model's outputs) and the standalone testbench of
    the ``sim`` target under ``out/sim/``; returns the testbench."""
    from fireflys.compiler.compile import random_input
    from fireflys.core import golden
    from fireflys.verify.vectors import write_vectors

    d = (out / "sim").resolve()
    d.mkdir(parents=True, exist_ok=True)
    x = random_input(model, frames, np.random.default_rng(seed), density=0.3)
    in_w = model.planes(0) * model.arch.in_shape[0]  # a pixel's planes x channels
    out_w = write_vectors(model, x, golden.run(model, x), in_w, d)
    _, h, w = model.arch.in_shape
    write_plan(d / "plan.hex", np.zeros(frames, dtype=int))
    tb = d / f"{SIM_TB}.sv"
    tb.write_text(sim_tb_sv(in_w, out_w, h * w, frames, d, len(model.layers)))
    return tb
