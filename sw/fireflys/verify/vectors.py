"""Stream vectors: frames as input beats and the golden model's outputs as the words each core
and the accelerator must emit (bit layouts in docs/format.md). Shared by every RTL runner: the
system tests' stream harness, the FuseSoC ``sim`` target's testbench and the soak."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fireflys.compiler.memimg import pack_fields, write_hex
from fireflys.core import golden
from fireflys.core.model import CompiledModel
from fireflys.hwgen.params import output_width


def pack_rows(bits: np.ndarray) -> list[str]:
    """bits [N, nbits] (bit i of row n) -> hex strings, one per row."""
    n, nbits = bits.shape
    padded = np.zeros((n, -(-nbits // 8) * 8), dtype=np.uint8)
    padded[:, :nbits] = bits
    packed = np.packbits(padded, axis=1, bitorder="little")
    return [int.from_bytes(row.tobytes(), "little").to_bytes(len(row), "big").hex() or "0"
            for row in packed]


def encode_frames(model: CompiledModel, x: np.ndarray) -> list[list[str]]:
    """Input beats per frame (raster order), bit ``l * C + c`` of each pixel word."""
    x = golden.check_input(model, x)
    c, h, w = model.arch.in_shape
    if model.encoding == "direct":
        planes = ((x[:, None] >> np.arange(model.in_bits)[None, :, None, None, None]) & 1)
    else:
        planes = x  # [B, T, C, H, W]
    # -> [B, H*W, L*C] with bit index l*C + c
    bits = planes.transpose(0, 3, 4, 1, 2).reshape(len(x), h * w, -1).astype(np.uint8)
    return [pack_rows(f) for f in bits]


def spike_words(s: np.ndarray) -> list[list[str]]:
    """Golden spikes [B, T, C, H, W] -> per frame, per pixel: word with bit t * C + c."""
    b, t, c, h, w = s.shape
    bits = s.transpose(0, 3, 4, 1, 2).reshape(b, h * w, t * c).astype(np.uint8)
    return [pack_rows(f) for f in bits]


def score_words(scores: np.ndarray, width: int) -> list[list[str]]:
    return [[format(pack_fields(row, width), "x")] for row in scores]


def expected_streams(model: CompiledModel, res: golden.GoldenResult) -> list[list[list[str]]]:
    """Per core, per frame, the hex words the core must emit."""
    streams = []
    for ly, s in zip(model.layers, res.spikes, strict=True):
        if s is None:
            streams.append(score_words(res.scores, ly.widths["score"]))
        else:
            streams.append(spike_words(s))
    return streams


def expected_outputs(model: CompiledModel, res: golden.GoldenResult) -> list[str]:
    width = model.layers[-1].widths["score"]
    shift = model.num_classes * width
    return [format(int(pred) << shift | pack_fields(row, width), "x")
            for pred, row in zip(res.pred, res.scores, strict=True)]


def write_vectors(model: CompiledModel, x: np.ndarray, res: golden.GoldenResult, in_w: int,
                  out_dir: Path) -> int:
    """``in.hex`` (the frames' input beats) and ``out.hex`` (the golden model's output
    beats) under ``out_dir``; returns the output beat width."""
    write_hex(out_dir / "in.hex", [int(v, 16) for f in encode_frames(model, x) for v in f],
              in_w, signed=False)
    out_w = output_width(model)
    write_hex(out_dir / "out.hex", [int(v, 16) for v in expected_outputs(model, res)], out_w,
              signed=False)
    return out_w


def layer_inputs(model: CompiledModel, x: np.ndarray, res: golden.GoldenResult,
                 index: int) -> list[list[str]]:
    """Input beats per frame of core ``index``: the frames, or the previous core's spikes."""
    if index == 0:
        return encode_frames(model, x)
    prev = res.spikes[index - 1]
    assert prev is not None
    return spike_words(prev)


