"""Hardware generator: from a compiled model, the memory images and a thin SystemVerilog top.

The top (``fireflys_top``) only wires hand-written modules from ``hdl/``: one
``sparse_core`` per layer, chained through ``stream_fifo``s, then ``class_readout``.

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
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from fireflys.compiler.coreplan import core_plans
from fireflys.compiler.memimg import write_memories
from fireflys.core.model import CompiledModel
from fireflys.hwgen.render import render
from fireflys.paths import REPO, rtl_files
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


def _fifo_depth(c: CoreParams) -> int:
    return max(2, min(8, c.out_shape[2]))


def _param_list(p: dict[str, int | str], indent: str) -> str:
    items = [f".{k}({v})" for k, v in p.items()]
    lines, cur = [], ""
    for it in items:
        if len(cur) + len(it) + 2 > 90:
            lines.append(cur.rstrip())
            cur = ""
        cur += it + ", "
    lines.append(cur.rstrip().rstrip(","))
    return (",\n" + indent).join(ln.rstrip(",") for ln in lines)


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


def top_sv(model: CompiledModel, cores: list[CoreParams]) -> str:
    """The accelerator's top (templates/top.sv): cores chained through FIFOs, the readout."""
    last = model.layers[-1]
    n = len(cores)
    words = [f"core{i}_{w}" for i in range(n) for w in ("busy", "pairs", "pixels", "occ")]
    decls = "".join(render("core_decl.sv", i=i, in_msb=c.in_w - 1, out_msb=c.out_w - 1,
                           occ_msb=32 * int(c.params["Pco"]) - 1)
                    for i, c in enumerate(cores))
    insts = ""
    for i, c in enumerate(cores):
        insts += render("core.sv", i=i, params=_param_list(c.params, " " * 4))
        if i + 1 < n:
            insts += render("fifo.sv", i=i, next=i + 1, width=c.out_w, depth=_fifo_depth(c))
    _, h0, w0 = model.arch.in_shape
    return render(
        "top.sv", arch=model.arch, T=model.T, top=TOP, in_msb=cores[0].in_w - 1,
        in_w=cores[0].in_w, out_msb=output_width(model) - 1, tap_msb=n - 1,
        perf_msb=32 * perf_words(cores) - 1, frame_pixels=h0 * w0, core_decls=decls,
        cores=insts, perf_concat=", ".join(reversed(words)), classes=model.num_classes,
        score_w=last.widths["score"], from_spikes=int(last.neuron), last=n - 1)


PNR_TOP = "fireflys_pnr_top"


def pnr_top_sv(model: CompiledModel, cores: list[CoreParams]) -> str:
    """Pin-light harness for place and route on a real package: the accelerator's wide
    ports would need hundreds of pins, so the input word is shifted in one bit per cycle and
    every output (data, counters) is registered and XOR-reduced to one pin. All of the
    accelerator's logic stays observable (nothing is optimized away) and every path into and
    out of it starts and ends at a flip-flop, so nextpnr's Fmax is the accelerator's."""
    in_w = cores[0].in_w
    out_w = output_width(model)
    n = len(cores)
    obs_w = out_w + 1 + 1 + 32 + 32 + 32 + n + 32 * perf_words(cores)
    shift = f"{{in_word_q[{in_w - 2}:0], in_bit_i}}" if in_w > 1 else "in_bit_i"
    return render("pnr_top.sv", arch=model.arch, pnr_top=PNR_TOP, top=TOP, obs_w=obs_w,
                  in_msb=in_w - 1, shift_in=shift, out_msb=out_w - 1, tap_msb=n - 1,
                  perf_msb=32 * perf_words(cores) - 1)


def generate(model: CompiledModel, out_dir: str | Path, skip: bool = True,
             name: str = "model",
             phi: PhiTables | None = None,
             match_segs: dict[int, int] | None = None) -> dict[str, Path]:
    """Write ``mem/`` images, ``fireflys_top.sv``, ``hw.json`` and the FuseSoC core
    ``fireflys_model.core`` (core name ``fireflys:model:<name>``) under ``out_dir``; with
    ``phi``, its layers' cores in Phi mode (pattern and PWP images too)."""
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise ValueError(f"core name must be letters, digits and '_', got {name!r}")
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    mem = out / "mem"
    write_memories(model, mem)
    if phi is not None:
        phihw.write_images(model, phi, mem, match_segs)
    cores = core_params(model, mem, skip, phi, match_segs)
    top = out / f"{TOP}.sv"
    top.write_text(top_sv(model, cores))
    (out / f"{PNR_TOP}.sv").write_text(pnr_top_sv(model, cores))
    manifest = {
        "top": TOP, "skip": skip, "phi_layers": sorted(phi.layers) if phi else [],
        "sources": [str(p) for p in rtl_files()] + [str(top)],
        "in_width": cores[0].in_w,
        "cores": [{"name": c.name, "in_width": c.in_w, "out_width": c.out_w,
                   "out_shape": list(c.out_shape), "score": c.score,
                   "params": c.params} for c in cores],
    }
    hw = out / "hw.json"
    hw.write_text(json.dumps(manifest, indent=2) + "\n")
    for src, dst in FLOW_FILES:
        (out / dst).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, out / dst)
    core = out / "fireflys_model.core"
    core.write_text(core_file(model, out, name))
    return {"top": top, "manifest": hw, "mem": mem, "core": core}


TEMPLATE = Path(__file__).resolve().parent / "templates" / "yosys_synth.tcl"
# copied next to the generated core (FuseSoC wants a core's files inside its directory)
FLOW_FILES = [(TEMPLATE, "flow/yosys_synth.tcl"),
              (REPO / "constraints" / "kv260.xdc", "flow/kv260.xdc"),
              (REPO / "constraints" / "kv260_ooc.tcl", "flow/kv260_ooc.tcl")]
KV260_PART = "xczu5ev-sfvc784-2-i"
# --freq: a target the current single-cycle peel loop can meet on ECP5 (see docs/fpga.md);
# Fmax is measured either way. router2: far faster than router1 on these designs.
ECP5_OPTIONS = ["--85k", "--package", "CABGA756", "--speed", "8", "--freq", "50",
                "--router", "router2", "--lpf-allow-unconstrained", "--timing-allow-fail",
                "--report", "pnr_report.json"]


def core_file(model: CompiledModel, out: Path, name: str) -> str:
    """A FuseSoC CAPI2 core for the generated top and its memory images; it depends on the
    hand-written RTL core ``fireflys:accel:core`` (the repository's ``fusesoc.core``).

    Targets: ``lint`` (Verilator -Wall), ``synth`` (Yosys with yosys-slang,
    ``synth_xilinx -family xcup`` for the KV260's xczu5ev; stats JSON per module),
    ``pnr_ecp5`` (Yosys ``synth_ecp5`` + nextpnr-ecp5 on an LFE5U-85F of the pin-light
    harness ``fireflys_pnr_top``, for a real Fmax on an open flow) and ``kv260`` (a Vivado
    project for the KV260 at 333 MHz; only ``run --setup`` works without Vivado)."""
    mems = sorted(p.relative_to(out).as_posix() for p in (out / "mem").glob("*.hex"))
    default = {"filesets": ["rtl", "top", "mem"], "toplevel": TOP}

    def target(description: str, flow: str, options: dict, append: list[str] | None = None,
               toplevel: str = TOP) -> dict:
        return {"filesets": default["filesets"] + (append or []), "toplevel": toplevel,
                "description": description, "flow": flow, "flow_options": options}

    doc = {
        "name": f"fireflys:model:{name}:0.1.0",
        "description": f"generated by fireflys.hwgen from model '{model.arch}' (T={model.T})",
        "filesets": {
            "rtl": {"depend": ["fireflys:accel:core"]},
            "top": {"files": [f"{TOP}.sv"], "file_type": "systemVerilogSource"},
            "pnr_top": {"files": [f"{PNR_TOP}.sv"], "file_type": "systemVerilogSource"},
            "mem": {"files": mems, "file_type": "mem"},
            "yosys_tcl": {"files": [{FLOW_FILES[0][1]: {"copyto": "fireflys_yosys.tcl"}}],
                          "file_type": "user"},
            "sim_tb": {"files": ["sim/fireflys_sim_tb.sv"],
                       "file_type": "systemVerilogSource"},
            "kv260": {"files": [{FLOW_FILES[1][1]: {"file_type": "xdc"}},
                                {FLOW_FILES[2][1]: {"file_type": "tclSource"}}]},
        },
        "targets": {
            "default": dict(default, filesets=list(default["filesets"])),
            "lint": target("Verilator lint of the generated top and every core, all warnings "
                           "on", "lint", {"tool": "verilator", "verilator_options": ["-Wall"]}),
            "sim": target("standalone self-checking testbench (Verilator --binary), random "
                          "frames against the golden model's outputs", "sim",
                          {"tool": "verilator", "mode": "binary",
                           "verilator_options": ["-Wall"]}, ["sim_tb"], "fireflys_sim_tb"),
            "synth": target("Yosys (yosys-slang) synth_xilinx for the KV260's xczu5ev; "
                            "<name>.stat.json per module", "generic",
                            {"tool": "yosys", "arch": "xilinx", "output_format": "json",
                             "yosys_template": "fireflys_yosys.tcl",
                             "yosys_synth_options": ["-family", "xcup"]}, ["yosys_tcl"]),
            "pnr_ecp5": target("Yosys synth_ecp5 + nextpnr-ecp5 (LFE5U-85F) of the pin-light "
                               "harness, Fmax in pnr_report.json", "generic",
                               {"frontends": ["yosys"], "tool": "nextpnr", "arch": "ecp5",
                                "output_format": "json",
                                "yosys_template": "fireflys_yosys.tcl",
                                "nextpnr_options": ECP5_OPTIONS},
                               ["pnr_top", "yosys_tcl"], PNR_TOP),
            "kv260": target(f"Vivado project for the KV260 ({KV260_PART}) at 333 MHz, out of "
                            "context", "vivado", {"part": KV260_PART}, ["kv260"]),
        },
    }
    return "CAPI=2:\n" + yaml.safe_dump(doc, sort_keys=False, width=100)


def sources(out_dir: str | Path) -> list[Path]:
    return [Path(p) for p in json.loads((Path(out_dir) / "hw.json").read_text())["sources"]]
