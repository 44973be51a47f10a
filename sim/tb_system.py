"""cocotb system test of a generated ``fireflys_top`` inside the generated stream harness
(``fireflys_tb``, see fireflys.verify.harness): reset, optional reset in the middle of a frame, run
until every frame is out or a stream differs from the golden model, then report.

FIREFLYS_STIM (JSON): frames, shapes of every core's output, gap/stall percentages, seed,
reset_at (cycle of the mid-run reset or null), reset_cycles (how long srst_ni is held low: the
top's reset latency), max_cycles. FIREFLYS_RESULT receives the
measurements or the first mismatch (layer, frame, pixel, time step, channel). When
FIREFLYS_PROGRESS is set, "<frames out> <cycles>" is rewritten there every 200 k cycles.
"""

from __future__ import annotations

import json
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge, Timer


def locate(stim: dict, i: int, index: int, got: int, want: int) -> str:
    if i == len(stim["core_shapes"]):
        return f"output stage, frame {index}: RTL {got:#x}, golden {want:#x}"
    c, h, w = stim["core_shapes"][i]
    if stim["score_core"][i]:
        return f"layer L{i} (scores), frame {index}: RTL {got:#x}, golden {want:#x}"
    frame, pixel = divmod(index, h * w)
    diff = got ^ want
    bit = (diff & -diff).bit_length() - 1
    t, ch = divmod(bit, c)
    y, x = divmod(pixel, w)
    return (f"first mismatch: layer L{i}, frame {frame}, t={t}, pixel (y={y}, x={x}), "
            f"channel {ch}: RTL spike {(got >> bit) & 1}, golden {(want >> bit) & 1}")


@cocotb.test()
async def stream_frames(dut) -> None:
    stim = json.loads(open(os.environ["FIREFLYS_STIM"]).read())
    out_path = os.environ["FIREFLYS_RESULT"]
    n_cores = len(stim["core_shapes"])
    cocotb.start_soon(Clock(dut.clk_i, 10, unit="ns").start())
    dut.gap_pct_i.value = stim["in_gap_pct"]
    dut.stall_pct_i.value = stim["out_stall_pct"]
    dut.seed_i.value = stim["seed"]
    hold = stim["reset_cycles"]  # the top's reset latency: every block reset before release
    dut.srst_ni.value = 0
    await ClockCycles(dut.clk_i, hold)
    dut.srst_ni.value = 1
    if stim["reset_at"] is not None:
        await ClockCycles(dut.clk_i, stim["reset_at"])
        dut.srst_ni.value = 0  # mid-frame: everything restarts, frames are sent again
        await ClockCycles(dut.clk_i, hold)
        dut.srst_ni.value = 1
    cycles, step = 0, 2000
    result: dict = {"mismatch": None}
    progress = os.environ.get("FIREFLYS_PROGRESS")
    while True:
        await Timer(step * 10, unit="ns")  # one wake-up per `step` cycles, not per edge
        await ReadOnly()
        cycles += step
        if progress and cycles % (100 * step) == 0:
            with open(progress, "w") as f:
                f.write(f"{int(dut.out_count_o.value)} {cycles}\n")
        if dut.mismatch_o.value:
            stages = [(i, getattr(dut, f"mm{i}_valid")) for i in range(n_cores)]
            first = next((i for i, v in stages if v.value), n_cores)
            pre = f"mm{first}" if first < n_cores else "mmo"
            index = int(getattr(dut, f"{pre}_index").value)
            got = int(getattr(dut, f"{pre}_got").value)
            want = int(getattr(dut, f"{pre}_want").value)
            result["mismatch"] = locate(stim, first, index, got, want)
            break
        if dut.done_o.value or cycles >= stim["max_cycles"]:
            break
        await RisingEdge(dut.clk_i)
    top = dut.u_dut
    # pixels dropped by an odd-sized pool are still computed after the last frame is out
    for _ in range(stim["max_cycles"] // 1000 + 1):
        if result["mismatch"] or all(
                int(getattr(top, f"core{i}_pixels").value) >= stim["conv_pixels"][i]
                for i in range(n_cores)):
            break
        await Timer(1000 * 10, unit="ns")
        await ReadOnly()
    result.update({
        "cycles": int(top.cycle_count_o.value),
        "frames_out": int(dut.out_count_o.value),
        "beats_in": int(dut.in_count_o.value),
        "first_out": int(dut.first_out_o.value),
        "mid_out": int(dut.mid_out_o.value),
        "last_out": int(dut.last_out_o.value),
        "busy": [int(getattr(top, f"core{i}_busy").value) for i in range(n_cores)],
        "pairs": [int(getattr(top, f"core{i}_pairs").value) for i in range(n_cores)],
        "pixels": [int(getattr(top, f"core{i}_pixels").value) for i in range(n_cores)],
        "occ_words": [str(int(getattr(top, f"core{i}_occ").value)) for i in range(n_cores)],
        "frame_count": int(top.frame_count_o.value),
        "frame_error": bool(top.frame_error_o.value),
    })
    with open(out_path, "w") as f:
        json.dump(result, f)
    assert result["mismatch"] is None, result["mismatch"]
    assert result["frames_out"] == stim["frames"], (
        f"timeout: {result['frames_out']} of {stim['frames']} frames after {cycles} cycles")
    assert result["frame_count"] == stim["frames"], "frame counter disagrees"
