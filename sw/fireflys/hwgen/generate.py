"""Hardware generator: from a compiled model, the memory images and a thin SystemVerilog top.

The top (``fireflys_top``) only wires hand-written modules from ``hdl/``: one
``layer_core`` per layer, chained through ``stream_fifo``s, then ``class_readout``.

Streams (valid/ready, AXI4-Stream naming on the top):
- input: one pixel per beat, raster order; bit ``l * C + c`` = plane l of channel c, where the
  planes are the time steps (spike input) or the IN_BITS bits of each pixel (direct input,
  bit b of channel c's value); ``tlast`` marks the frame's last pixel. ``frame_guard`` makes
  every frame exactly H*W beats for the cores: a short frame (tlast early) is zero-padded, a
  long one (tlast late) cut, ``frame_errors_o`` counts them (``frame_error_o``: any since
  reset), and the next frame is correct.
- between cores: one output pixel per beat, bit ``t * C + c``.
- output: one beat per frame, ``{pred, score[N-1], ..., score[0]}``, ``tlast`` = 1.

FIFO depths: the chain is linear (no forks or joins) and every module only waits on its own
neighbours, so any depth >= 1 is deadlock-free; depth sets throughput only. Each FIFO holds
one row of the producer's output (capped at 8), so a core that finishes a burst of pixels is
not stalled while the consumer gathers the window it is working on.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from fireflys.compiler.coreplan import dense_baseline
from fireflys.compiler.memimg import write_memories
from fireflys.compiler.scanlist import whole_pixel_lanes
from fireflys.core.model import CompiledModel
from fireflys.hwgen.corefile import core_file, write_flow_files
from fireflys.hwgen.params import TOP, core_params
from fireflys.hwgen.top import PNR_TOP, pnr_top_sv, top_sv
from fireflys.paths import rtl_files
from fireflys.phi.patterns import PhiError
from fireflys.phi.perf import phi_lanes
from fireflys.phi.tables import PhiTables


def design_model(model: CompiledModel, phi: PhiTables | None = None,
                 dense: bool = False) -> CompiledModel:
    """``model`` with the lanes the hardware is built for: whole pixels
    (:func:`fireflys.compiler.scanlist.whole_pixel_lanes`), or with ``phi`` those of
    :func:`fireflys.phi.perf.phi_lanes`; ``dense``: its dense baseline
    (:func:`fireflys.compiler.coreplan.dense_baseline`)."""
    if dense and phi is not None:
        raise PhiError("the dense baseline has no Phi mode")
    m = phi_lanes(model, phi) if phi is not None else whole_pixel_lanes(model)
    return dense_baseline(m) if dense else m


def generate(model: CompiledModel, out_dir: str | Path, name: str = "model",
             phi: PhiTables | None = None,
             match_rate: dict[int, int] | None = None,
             bram36_budget: float | None = None, dense: bool = False) -> dict[str, Path]:
    """Write ``mem/`` images, ``fireflys_top.sv``, ``hw.json`` and the FuseSoC core
    ``fireflys_model.core`` (core name ``fireflys:model:<name>``) under ``out_dir``, for
    ``model`` on the lanes of :func:`design_model`; with ``phi``, its layers' cores in Phi mode
    (pattern and PWP images too; ``match_rate``: patterns compared per cycle per layer);
    ``dense``: the dense baseline. Long scan lists go to block RAM within ``bram36_budget``
    (default :data:`fireflys.compiler.shape.BRAM36_BUDGET`)."""
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise ValueError(f"core name must be letters, digits and '_', got {name!r}")
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    mem = out / "mem"
    model = design_model(model, phi, dense)
    write_memories(model, mem, bitmap=False)  # + the scan lists (core_params)
    cores = core_params(model, mem, bram36_budget=bram36_budget, phi=phi,
                        match_rate=match_rate)
    top = out / f"{TOP}.sv"
    top.write_text(top_sv(model, cores))
    (out / f"{PNR_TOP}.sv").write_text(pnr_top_sv(model, cores))
    manifest = {
        "top": TOP,
        "phi_layers": sorted(phi.layers) if phi else [], "dense": dense,
        "sources": [str(p) for p in rtl_files()] + [str(top)],
        "in_width": cores[0].in_w,
        "cores": [{"name": c.name, "in_width": c.in_w, "out_width": c.out_w,
                   "out_shape": list(c.out_shape), "score": c.score,
                   "params": c.params} for c in cores],
    }
    hw = out / "hw.json"
    hw.write_text(json.dumps(manifest, indent=2) + "\n")
    write_flow_files(out)
    core = out / "fireflys_model.core"
    core.write_text(core_file(model, out, name))
    if not any(out.parent.glob("*.core")):  # never hide a hand-written core
        # FuseSoC's search of a cores root above skips the generated cores' folder (the core
        # is found through its own --cores-root), and so any stale copy next to it
        (out.parent / "FUSESOC_IGNORE").touch()
    return {"top": top, "manifest": hw, "mem": mem, "core": core}


def sources(out_dir: str | Path) -> list[Path]:
    return [Path(p) for p in json.loads((Path(out_dir) / "hw.json").read_text())["sources"]]
