"""cocotb system testbench for a generated ``fireflys_top``.

Reads the stimulus written by ``fireflys.rtlsim.simulate`` (FIREFLYS_STIM): input beats per
frame, every core's expected output words, the expected final outputs. Streams the frames
with random input gaps and output back-pressure (optionally a reset in the middle of a
frame, after which all frames are sent again), checks every core's output stream word by
word and the final scores/prediction, and writes measurements to FIREFLYS_RESULT.
"""

from __future__ import annotations

import json
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge


def _locate(core: int, frame: int, pixel: int, got: int, want: int, stim: dict) -> str:
    c, h, w = stim["core_shapes"][core]
    if stim["score_core"][core]:
        return (f"core L{core} frame {frame}: scores word {got:#x}, golden {want:#x}")
    diff = got ^ want
    bit = (diff & -diff).bit_length() - 1
    t, ch = divmod(bit, c)
    y, x = divmod(pixel, w)
    return (f"first mismatch: layer L{core}, frame {frame}, t={t}, pixel (y={y}, x={x}), "
            f"channel {ch}: RTL spike {(got >> bit) & 1}, golden {(want >> bit) & 1} "
            f"(pixel words: RTL {got:#x}, golden {want:#x})")


@cocotb.test()
async def stream_frames(dut) -> None:
    stim = json.loads(open(os.environ["FIREFLYS_STIM"]).read())
    result_path = os.environ["FIREFLYS_RESULT"]
    rng = random.Random(stim["seed"])
    frames = [[int(v, 16) for v in f] for f in stim["frames"]]
    taps = [[[int(v, 16) for v in f] for f in core] for core in stim["taps"]]
    outputs = [int(v, 16) for v in stim["outputs"]]
    n_frames, n_cores = len(frames), len(taps)
    per_frame = [len(core[0]) for core in taps]
    beats = [(f, p) for f in range(n_frames) for p in range(len(frames[f]))]
    in_gap, out_stall = stim["in_gap"], stim["out_stall"]
    reset_after = stim["reset_after"]

    cocotb.start_soon(Clock(dut.clk_i, 10, unit="ns").start())
    dut.rst_ni.value = 0
    dut.s_axis_tvalid.value = 0
    dut.s_axis_tdata.value = 0
    dut.s_axis_tlast.value = 0
    dut.m_axis_tready.value = 0
    for _ in range(3):
        await RisingEdge(dut.clk_i)
    dut.rst_ni.value = 1

    result: dict = {"mismatch": None}

    def fail(msg: str) -> None:
        result["mismatch"] = msg
        with open(result_path, "w") as f:
            json.dump(result, f)
        raise AssertionError(msg)

    core_data = [getattr(dut, f"core{i}_data") for i in range(n_cores)]
    tap_pos = [0] * n_cores
    bi = 0  # next input beat
    out_n = 0
    out_cycles: list[int] = []
    cycle = 0
    sent = 0
    did_reset = reset_after is None
    limit = 200_000 + 400_000 * n_frames
    while out_n < n_frames:
        await RisingEdge(dut.clk_i)
        cycle += 1
        if cycle > limit:
            fail(f"timeout after {cycle} cycles: {out_n}/{n_frames} frames out, "
                 f"core stream positions {tap_pos}")
        if not did_reset and sent >= reset_after:
            # reset in the middle of a frame, then send every frame again from the start
            dut.rst_ni.value = 0
            dut.s_axis_tvalid.value = 0
            for _ in range(2):
                await RisingEdge(dut.clk_i)
            dut.rst_ni.value = 1
            did_reset = True
            bi, out_n, tap_pos, out_cycles = 0, 0, [0] * n_cores, []
            continue
        drive = bi < len(beats) and rng.random() >= in_gap
        dut.s_axis_tvalid.value = int(drive)
        if drive:
            f, p = beats[bi]
            dut.s_axis_tdata.value = frames[f][p]
            dut.s_axis_tlast.value = int(p == len(frames[f]) - 1)
        dut.m_axis_tready.value = int(rng.random() >= out_stall)
        await ReadOnly()
        if drive and dut.s_axis_tready.value:
            bi += 1
            sent += 1
        fire = int(dut.tap_fire_o.value)
        if fire:
            for i in range(n_cores):
                if fire >> i & 1:
                    k = tap_pos[i]
                    fr, px = divmod(k, per_frame[i])
                    if fr >= n_frames:
                        fail(f"core L{i} emitted more words than expected (extra word {k})")
                    got = int(core_data[i].value)
                    want = taps[i][fr][px]
                    if got != want:
                        fail(_locate(i, fr, px, got, want, stim))
                    tap_pos[i] += 1
        if dut.m_axis_tvalid.value and dut.m_axis_tready.value:
            got = int(dut.m_axis_tdata.value)
            if got != outputs[out_n]:
                fail(f"output frame {out_n}: RTL {got:#x}, golden {outputs[out_n]:#x}")
            out_cycles.append(cycle)
            out_n += 1

    await RisingEdge(dut.clk_i)
    await ReadOnly()
    steady = out_cycles[len(out_cycles) // 2 :]
    period = (steady[-1] - steady[0]) / (len(steady) - 1) if len(steady) > 1 else float(cycle)
    result.update({
        "cycles": cycle,
        "frame_period": period,
        "out_cycles": out_cycles,
        "busy": [int(getattr(dut, f"core{i}_busy").value) for i in range(n_cores)],
        "pairs": [int(getattr(dut, f"core{i}_pairs").value) for i in range(n_cores)],
        "pixels": [int(getattr(dut, f"core{i}_pixels").value) for i in range(n_cores)],
        "frame_count": int(dut.frame_count_o.value),
        "frame_error": bool(dut.frame_error_o.value),
    })
    with open(result_path, "w") as f:
        json.dump(result, f)
    assert result["frame_count"] == n_frames, f"frame counter {result['frame_count']}"
