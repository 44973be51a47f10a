"""Structural choices of the sparse core that the generator (:mod:`fireflys.hwgen.params`) and
the cycle model (:mod:`fireflys.compiler.perf`) share: the ring's slack, the depths of the
scanner queues and of the FIFOs between cores, the windows in flight, which weight ROMs are
block RAM and the block RAM the weights and long scan lists may take (a core's output pixel
buffers and ring memories are layer fields, ``bufs`` and ``ring``, that the planner sets)."""

from __future__ import annotations

NUM_WIN = 2            # windows in flight per core (window_unit NumWin)
QUEUE_DEPTH = 16       # scanner queue words, i.e. credits (mask_scanner FifoDepth)
WT_BLOCK_DEPTH = 1024  # weight ROMs deeper than this go to block RAM
# block RAM36 of an accelerator's weights and long scan lists (the KV260 plan's target; ring
# copies in block RAM come on top)
BRAM36_BUDGET = 5.0


def weights_in_block_ram(wt_depth: int) -> bool:
    return wt_depth > WT_BLOCK_DEPTH


def ring_hold(span: int, w: int, least: int = 4) -> int:
    """Ring slack (pixels beyond a window's span) of a conv core: a row (``w``), or less
    when that keeps the ring within the power of two below (LUT-RAM comes in 32- and 64-deep
    primitives: scnn5's 28-wide layers go from 87 to 64 pixels, half the LUT-RAM of every
    read-port copy) and leaves at least ``least`` pixels (measured on the shipped scnn5: the
    frame period is within 0.2 %)."""
    lower = (1 << (span + w - 1).bit_length()) // 2
    return lower - span if lower - span >= least else w


def ring_slack(kind: str, kh: int, kw: int, w: int) -> int:
    """window_unit's Hold for a core: :func:`ring_hold` for a conv core, 1 for an FC core (its
    one window spans the frame)."""
    return ring_hold((kh - 1) * w + kw, w) if kind == "conv" else 1


def ring_pixels(kind: str, kh: int, kw: int, h: int, w: int) -> int:
    """window_unit's Depth: the window's span plus the slack, at most a frame."""
    return min((kh - 1) * w + kw + ring_slack(kind, kh, kw, w), h * w)


def fifo_depth_of(out_shape: tuple[int, int, int]) -> int:
    """Depth of the FIFO after a core whose output (after pooling) is ``out_shape``: a row of
    its output pixels, 2 to 8."""
    return max(2, min(8, out_shape[2]))
