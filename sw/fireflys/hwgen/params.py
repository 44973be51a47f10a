"""Every core's SystemVerilog parameters and the stream widths of the generated top, from the
cores' plans (:mod:`fireflys.compiler.coreplan`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fireflys.compiler.coreplan import core_plans
from fireflys.core.model import CompiledModel
from fireflys.phi import hw as phihw
from fireflys.phi.tables import PhiTables

SLOT_W = 16  # bits per entry of a core's SlotOf parameter

TOP = "fireflys_top"


@dataclass(frozen=True)
class CoreParams:
    name: str
    params: dict[str, int | str]
    in_w: int
    out_w: int
    out_shape: tuple[int, int, int]  # after pooling
    score: bool


def core_params(model: CompiledModel, mem_dir: Path, skip: bool = True,
                phi: PhiTables | None = None,
                match_segs: dict[int, int] | None = None) -> list[CoreParams]:
    """Every core's parameters; with ``phi``, the cores of its layers in Phi mode
    (``match_segs``: segment indices matched per cycle per layer, default automatic)."""
    if phi is not None and not skip:
        raise ValueError("Phi mode needs zero skipping (skip=True)")
    cores = []
    for cp, ly in zip(core_plans(model), model.layers, strict=True):
        i, wd = cp.index, cp.widths
        slot_word = sum(int(v) << (SLOT_W * c) for c, v in enumerate(cp.slot_of))
        p = {
            "L": cp.planes, "T": model.T, "Ci": cp.ci, "H": cp.h, "W": cp.w, "KH": cp.kh,
            "KW": cp.kw, "Pad": cp.pad, "Co": cp.co, "Pco": cp.pco, "Pci": cp.pci,
            "WtDepth": cp.wt_depth, "AccW": wd["acc"], "BiasW": wd["bias"],
            "ThetaW": wd.get("theta", 2), "VW": wd.get("v", 2),
            "ScoreW": wd["score"] if cp.score else 2, "K": ly.k,
            "ResetSub": int(ly.reset == "subtract"), "Direct": int(cp.direct),
            "Score": int(cp.score), "Skip": int(skip), "Pool": cp.pool,
            "Hold": cp.w if cp.kind == "conv" else 1, "Look": cp.look, "SlotW": SLOT_W,
            "SlotOf": f"{SLOT_W * cp.co}'h{slot_word:x}",
            "MemPrefix": f'"{(mem_dir / cp.name).resolve()}"',
            **phihw.core_params(model, phi, i, (match_segs or {}).get(i)),
        }
        cores.append(CoreParams(cp.name, p, cp.in_width, cp.out_width, cp.out_shape,
                                cp.score))
    return cores


def fifo_depth(c: CoreParams) -> int:
    return max(2, min(8, c.out_shape[2]))


def perf_words(cores: list[CoreParams]) -> int:
    """32-bit words of the top's ``perf_counters_o``."""
    return sum(3 + int(c.params["Pco"]) for c in cores)


def perf_layout(cores: list[CoreParams]) -> list[str]:
    """Names of the 32-bit words of ``perf_counters_o``, word 0 in the low bits: per core,
    busy cycles, pairs, output pixels, then each detector's working cycles."""
    out = []
    for c in cores:
        out += [f"{c.name}.busy", f"{c.name}.pairs", f"{c.name}.pixels"]
        out += [f"{c.name}.det{d}_cycles" for d in range(int(c.params["Pco"]))]
    return out


def output_width(model: CompiledModel) -> int:
    """Bits of an output beat: the predicted class above num_classes scores."""
    ncls = model.num_classes
    return max(1, (ncls - 1).bit_length()) + ncls * model.layers[-1].widths["score"]
