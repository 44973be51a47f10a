"""Area model for the planner: LUTs of a core as a function of its PCO.

A sparsity detector holds and peels its whole window (``VecW`` = planes x KH x KW x
ceil(Ci/Pci) x Pci bits: window copy, visit vector, clear logic) and tests the ``Look``
groups of a mask word against it (Look x VecW AND/OR), so its LUTs are modelled as

    a * VecW + b * Look * VecW + c

(``c`` includes the detector's LIF neuron) and a core as PCO detectors plus the shared
window stage and output buffers, ``d * VecW + e * Co * T``. The coefficients are
least-squares fits to Yosys ``synth_xilinx -family xcup`` results of generated models
(:func:`fireflys.eda.areafit.fit`); the defaults come from the digits demo model and scnn5
(see docs/fpga.md), and ``fireflys plan --max-luts`` uses them to stay within a LUT budget.
"""

from __future__ import annotations

from dataclasses import dataclass

from fireflys.compiler.coreplan import window_bits
from fireflys.compiler.sched import look
from fireflys.core.model import CompiledModel


@dataclass(frozen=True)
class AreaModel:
    # fitted to Yosys synth_xilinx -family xcup of the digits demo model and scnn5 (random
    # 90 %, PCO 1,4,4,4,4,4): 9 cores, 33 detectors (docs/fpga.md)
    a: float = 4.29  # LUT per window bit (per detector)
    b: float = 1.44  # LUT per look-ahead bit (Look x VecW, per detector)
    c: float = 170.0  # LUT per detector (18) and its LIF neuron (152)
    d: float = 0.68  # LUT per window bit (per core: window stage, line buffer)
    e: float = 13.4  # LUT per output bit of a pixel (per core: output buffers, pooling)


DEFAULT = AreaModel()


def vec_bits(model: CompiledModel, index: int) -> int:
    """Window bits of core ``index`` (:func:`fireflys.compiler.coreplan.window_bits`)."""
    ly = model.layers[index]
    g = ly.geom
    return window_bits(model.planes(index), g.kh, g.kw, g.in_shape[0], ly.pci)


def look_for(model: CompiledModel, index: int, pco: int) -> int:
    return look(-(-model.layers[index].geom.out_ch // pco), vec_bits(model, index))


def detector_luts(model: CompiledModel, index: int, pco: int,
                  m: AreaModel = DEFAULT) -> float:
    v = vec_bits(model, index)
    return m.a * v + m.b * look_for(model, index, pco) * v + m.c


def core_luts(model: CompiledModel, index: int, pco: int, m: AreaModel = DEFAULT) -> float:
    g = model.layers[index].geom
    return (pco * detector_luts(model, index, pco, m) + m.d * vec_bits(model, index)
            + m.e * g.out_ch * model.T)


def model_luts(model: CompiledModel, pco: list[int], m: AreaModel = DEFAULT) -> float:
    return sum(core_luts(model, i, p, m) for i, p in enumerate(pco))
