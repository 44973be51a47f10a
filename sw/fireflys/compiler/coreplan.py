"""The per-core hardware plan: every fact about a core's hardware, computed once from the
compiled model (:func:`core_plans`) and read by the image writer, the generator, the cycle
and area models, the reports, the simulators and Phi; none of them recomputes these.

Glossary (docs/index.md): *planes* are the window's bit-planes (T time steps, or IN_BITS for
the direct-input first layer); a *segment* is PCI input channels of one kernel position; a
*slot* ``s = g * PCO + d`` is group ``g`` of detector ``d``; *Look* groups share a mask word.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from fireflys.compiler.bitmap import PackedLayer, addr_width, pack_layer, wt_depth
from fireflys.compiler.sched import look, slot_of
from fireflys.compiler.shape import fifo_depth_of
from fireflys.core.model import CompiledModel


def window_bits(planes: int, kh: int, kw: int, ci: int, pci: int) -> int:
    """Bits of a detector window: planes x KH x KW x CI rounded up to whole segments."""
    return planes * kh * kw * -(-ci // pci) * pci


@dataclass(frozen=True, eq=False)
class CorePlan:
    index: int
    name: str  # "L<i>"
    kind: str  # "conv" | "fc"
    direct: bool  # takes the pixel values (direct-input first layer)
    planes: int  # window bit-planes: IN_BITS (direct) or T
    ci: int
    h: int
    w: int
    kh: int
    kw: int
    pad: int
    pool: int
    co: int
    pco: int
    pci: int
    groups: int  # ceil(CO / PCO): channel groups per detector
    segs_per_pos: int  # ceil(CI / PCI)
    nseg: int  # segments per window: KH x KW x segs_per_pos
    window_bits: int  # VecW: planes x nseg x PCI
    look: int  # groups per mask word
    slots: np.ndarray  # slot -> channel (-1: phantom)
    slot_of: np.ndarray  # channel -> slot
    packed: PackedLayer  # masks, packed non-zero weights, bases (balanced slots)
    wt_depth: int  # every detector's weight ROM depth: largest non-zero count + 1
    ptr_width: int  # bits of a segment pointer (addresses wt_depth words)
    widths: dict[str, int]  # acc, bias, theta, v, score (those the layer has)
    score: bool  # non-spiking readout core (emits scores, not spikes)
    in_width: int  # bits of an input beat: planes x CI
    out_width: int  # bits of an output beat: T x CO spikes, or CO x score width
    out_shape: tuple[int, int, int]  # after pooling
    scan_bits: int  # widest scanner word (CompiledModel layer field)
    bufs: int  # output pixel buffers (layer_core NumBuf; CompiledModel layer field)
    ring: str  # "lut" | "block": the scanners' ring copies (layer_core RingBlock; layer field)
    fifo: int  # depth of the FIFO after the core (layer field, or shape.fifo_depth_of)
    dense: bool  # the dense baseline: every weight stored and visited (:func:`dense_baseline`)


def core_plan(model: CompiledModel, index: int) -> CorePlan:
    ly = model.layers[index]
    g = ly.geom
    ci, h, w = g.in_shape
    planes = model.planes(index)
    packed = pack_layer(ly)
    spp = -(-ci // ly.pci)
    vec = window_bits(planes, g.kh, g.kw, ci, ly.pci)
    depth = wt_depth(packed)
    score = not ly.neuron
    return CorePlan(
        index=index, name=f"L{index}", kind=g.kind, direct=model.direct(index), planes=planes,
        ci=ci, h=h, w=w, kh=g.kh, kw=g.kw, pad=g.pad, pool=g.pool, co=g.out_ch, pco=ly.pco,
        pci=ly.pci, groups=packed.groups, segs_per_pos=spp, nseg=g.kh * g.kw * spp,
        window_bits=vec, look=look(packed.groups, vec), slots=packed.slots,
        slot_of=slot_of(packed.slots), packed=packed, wt_depth=depth,
        ptr_width=addr_width(depth), widths=dict(ly.widths), score=score,
        in_width=planes * ci,
        out_width=g.out_ch * ly.widths["score"] if score else model.T * g.out_ch,
        out_shape=g.out_shape, scan_bits=ly.scan_bits, bufs=ly.bufs, ring=ly.ring,
        fifo=fifo_depth_of(g.out_shape) if ly.fifo is None else ly.fifo, dense=ly.dense)


def dense_baseline(model: CompiledModel) -> CompiledModel:
    """The dense baseline of ``model``'s hardware: the same datapath with every weight, zero or
    not, in the masks and weight ROMs, and every position of every word visited whether its
    input spikes or not (the scanners' ``Dense`` mode): nothing skipped, the same outputs."""
    m = copy.copy(model)
    m.layers = [copy.copy(ly) for ly in model.layers]
    for ly in m.layers:
        ly.dense = True
    return m


def core_plans(model: CompiledModel) -> list[CorePlan]:
    """Every core's plan, in layer order."""
    return [core_plan(model, i) for i in range(len(model.layers))]
