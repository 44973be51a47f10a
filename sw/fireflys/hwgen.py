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

from . import phihw
from .bitmap import pack_layer
from .hdlsim import REPO, hdl_sources
from .memimg import write_memories, wt_depth
from .model import CompiledModel
from .phi import PhiTables
from .sched import core_look, planes, slot_of

SLOT_W = 16  # bits per entry of a core's SlotOf parameter

RTL_MODULES = (
    "sync_rom", "lsb_encoder", "popcount", "sparse_detector", "lif_neuron", "line_buffer",
    "spike_pool", "sparse_core", "stream_fifo", "argmax_tree", "class_readout", "frame_guard",
    "adder_tree", "phi_matcher",
)
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
    n = len(model.layers)
    for i, ly in enumerate(model.layers):
        g = ly.geom
        ci, h, w = g.in_shape
        direct = i == 0 and model.encoding == "direct"
        nplanes = planes(model, i)
        score = not ly.neuron
        wd = ly.widths
        packed = pack_layer(ly)
        slots = slot_of(packed.slots)
        slot_word = sum(int(v) << (SLOT_W * c) for c, v in enumerate(slots))
        p = {
            "L": nplanes, "T": model.T, "Ci": ci, "H": h, "W": w, "KH": g.kh, "KW": g.kw,
            "Pad": g.pad, "Co": g.out_ch, "Pco": ly.pco, "Pci": ly.pci,
            "WtDepth": wt_depth(packed), "AccW": wd["acc"], "BiasW": wd["bias"],
            "ThetaW": wd.get("theta", 2), "VW": wd.get("v", 2),
            "ScoreW": wd["score"] if i == n - 1 and score else 2, "K": ly.k,
            "ResetSub": int(ly.reset == "subtract"), "Direct": int(direct), "Score": int(score),
            "Skip": int(skip), "Pool": g.pool, "Hold": w if g.kind == "conv" else 1,
            "Look": core_look(model, i), "SlotW": SLOT_W,
            "SlotOf": f"{SLOT_W * g.out_ch}'h{slot_word:x}",
            "MemPrefix": f'"{(mem_dir / f"L{i}").resolve()}"',
            **phihw.core_params(model, phi, i, (match_segs or {}).get(i)),
        }
        out_w = g.out_ch * wd["score"] if score else model.T * g.out_ch
        cores.append(CoreParams(f"L{i}", p, nplanes * ci, out_w, g.out_shape, score))
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
    last = model.layers[-1]
    score_w = last.widths["score"]
    ncls = model.num_classes
    in_w = cores[0].in_w
    out_w = output_width(model)
    _, h0, w0 = model.arch.in_shape
    pix = h0 * w0
    n = len(cores)
    s = [
        f"// Generated by fireflys.hwgen from model '{model.arch}' (T={model.T}). Do not edit.",
        "// Thin wiring only: cores from hdl/ chained through FIFOs, then the class readout.",
        f"module {TOP} (",
        "  input  logic clk_i,",
        "  input  logic rst_ni,",
        "  input  logic s_axis_tvalid,",
        "  output logic s_axis_tready,",
        f"  input  logic [{in_w - 1}:0] s_axis_tdata,",
        "  input  logic s_axis_tlast,",
        "  output logic m_axis_tvalid,",
        "  input  logic m_axis_tready,",
        f"  output logic [{out_w - 1}:0] m_axis_tdata,",
        "  output logic m_axis_tlast,",
        "  output logic frame_error_o,   // a malformed input frame was seen since reset",
        "  output logic [31:0] frame_errors_o,  // malformed input frames since reset",
        "  output logic [31:0] cycle_count_o,",
        "  output logic [31:0] frame_count_o,",
        f"  output logic [{n - 1}:0] tap_fire_o,",
        f"  output logic [{32 * perf_words(cores) - 1}:0] perf_counters_o  // see perf_layout()",
        ");",
        "",
        f"  localparam int unsigned FramePixels = {pix};",
        "",
    ]
    for i, c in enumerate(cores):
        s += [
            f"  logic core{i}_in_valid, core{i}_in_ready, core{i}_valid, core{i}_ready;",
            f"  logic [{c.in_w - 1}:0] core{i}_in_data;",
            f"  logic [{c.out_w - 1}:0] core{i}_data;",
            f"  logic [31:0] core{i}_busy, core{i}_pairs, core{i}_pixels;",
            f"  logic [{32 * c.params['Pco'] - 1}:0] core{i}_occ;",
        ]
    s += ["",
          "  // frames of exactly FramePixels beats reach the cores whatever tlast says: a short",
          "  // frame is zero-padded, a long one cut at FramePixels (its output is meaningless,",
          "  // frame_errors_o counts it), and the next frame is aligned",
          "  logic in_err;",
          f"  frame_guard #(.Width({in_w}), .Pixels(FramePixels)) u_guard (",
          "    .clk_i      (clk_i),",
          "    .rst_ni     (rst_ni),",
          "    .in_valid_i (s_axis_tvalid),",
          "    .in_ready_o (s_axis_tready),",
          "    .in_data_i  (s_axis_tdata),",
          "    .in_last_i  (s_axis_tlast),",
          "    .out_valid_o(core0_in_valid),",
          "    .out_ready_i(core0_in_ready),",
          "    .out_data_o (core0_in_data),",
          "    .err_o      (in_err)",
          "  );", ""]
    for i, c in enumerate(cores):
        ind = " " * 4
        s += [
            "  sparse_core #(",
            f"    {_param_list(c.params, ind)}",
            f"  ) u_core{i} (",
            "    .clk_i       (clk_i),",
            "    .rst_ni      (rst_ni),",
            f"    .in_valid_i  (core{i}_in_valid),",
            f"    .in_ready_o  (core{i}_in_ready),",
            f"    .in_data_i   (core{i}_in_data),",
            f"    .out_valid_o (core{i}_valid),",
            f"    .out_ready_i (core{i}_ready),",
            f"    .out_data_o  (core{i}_data),",
            f"    .cnt_busy_o  (core{i}_busy),",
            f"    .cnt_pairs_o (core{i}_pairs),",
            f"    .cnt_pixels_o(core{i}_pixels),",
            f"    .cnt_occ_o   (core{i}_occ)",
            "  );",
            f"  assign tap_fire_o[{i}] = core{i}_valid && core{i}_ready;",
            "",
        ]
        if i + 1 < n:
            s += [
                f"  stream_fifo #(.Width({c.out_w}), .Depth({_fifo_depth(c)})) u_fifo{i} (",
                "    .clk_i      (clk_i),",
                "    .rst_ni     (rst_ni),",
                f"    .in_valid_i (core{i}_valid),",
                f"    .in_ready_o (core{i}_ready),",
                f"    .in_data_i  (core{i}_data),",
                f"    .out_valid_o(core{i + 1}_in_valid),",
                f"    .out_ready_i(core{i + 1}_in_ready),",
                f"    .out_data_o (core{i + 1}_in_data)",
                "  );",
                "",
            ]
    words = []
    for i in range(n):
        words += [f"core{i}_busy", f"core{i}_pairs", f"core{i}_pixels", f"core{i}_occ"]
    s += [f"  assign perf_counters_o = {{{', '.join(reversed(words))}}};", ""]
    li = n - 1
    s += [
        f"  class_readout #(.Co({ncls}), .T({model.T}), .ScoreW({score_w}), "
        f".FromSpikes({int(last.neuron)})) u_readout (",
        "    .clk_i      (clk_i),",
        "    .rst_ni     (rst_ni),",
        f"    .in_valid_i (core{li}_valid),",
        f"    .in_ready_o (core{li}_ready),",
        f"    .in_data_i  (core{li}_data),",
        "    .out_valid_o(m_axis_tvalid),",
        "    .out_ready_i(m_axis_tready),",
        "    .out_data_o (m_axis_tdata)",
        "  );",
        "  assign m_axis_tlast = 1'b1;",
        "",
        "  // counters",
        "  always_ff @(posedge clk_i) begin",
        "    if (!rst_ni) begin",
        "      cycle_count_o  <= '0;",
        "      frame_count_o  <= '0;",
        "      frame_errors_o <= '0;",
        "    end else begin",
        "      cycle_count_o <= cycle_count_o + 32'd1;",
        "      if (m_axis_tvalid && m_axis_tready) frame_count_o <= frame_count_o + 32'd1;",
        "      if (in_err) frame_errors_o <= frame_errors_o + 32'd1;",
        "    end",
        "  end",
        "  assign frame_error_o = (frame_errors_o != '0);",
        "",
        "endmodule",
        "",
    ]
    return "\n".join(s)


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
    return "\n".join([
        f"// Generated by fireflys.hwgen from model '{model.arch}'. Do not edit.",
        "// Place-and-route harness: serial input word, registered XOR-reduced outputs.",
        f"module {PNR_TOP} (",
        "  input  logic clk_i,",
        "  input  logic rst_ni,",
        "  input  logic in_bit_i,    // shifted into the input word, one bit per cycle",
        "  input  logic in_valid_i,",
        "  input  logic in_last_i,",
        "  output logic in_ready_o,",
        "  input  logic out_ready_i,",
        "  output logic out_valid_o,",
        "  output logic obs_o        // XOR of every output bit of the accelerator",
        ");",
        "",
        f"  localparam int unsigned ObsW = {obs_w};",
        "",
        f"  logic [{in_w - 1}:0] in_word_q;",
        "  logic in_valid_q, in_last_q, out_ready_q;",
        "  always_ff @(posedge clk_i) begin",
        "    if (!rst_ni) begin",
        "      in_word_q   <= '0;",
        "      in_valid_q  <= 1'b0;",
        "      in_last_q   <= 1'b0;",
        "      out_ready_q <= 1'b0;",
        "    end else begin",
        (f"      in_word_q   <= {{in_word_q[{in_w - 2}:0], in_bit_i}};" if in_w > 1
           else "      in_word_q   <= in_bit_i;"),
        "      in_valid_q  <= in_valid_i;",
        "      in_last_q   <= in_last_i;",
        "      out_ready_q <= out_ready_i;",
        "    end",
        "  end",
        "",
        "  logic s_ready, m_valid, m_last, frame_error;",
        f"  logic [{out_w - 1}:0] m_data;",
        "  logic [31:0] cycles, frames, frame_errors;",
        f"  logic [{n - 1}:0] tap_fire;",
        f"  logic [{32 * perf_words(cores) - 1}:0] perf;",
        f"  {TOP} u_top (",
        "    .clk_i          (clk_i),",
        "    .rst_ni         (rst_ni),",
        "    .s_axis_tvalid  (in_valid_q),",
        "    .s_axis_tready  (s_ready),",
        "    .s_axis_tdata   (in_word_q),",
        "    .s_axis_tlast   (in_last_q),",
        "    .m_axis_tvalid  (m_valid),",
        "    .m_axis_tready  (out_ready_q),",
        "    .m_axis_tdata   (m_data),",
        "    .m_axis_tlast   (m_last),",
        "    .frame_error_o  (frame_error),",
        "    .frame_errors_o (frame_errors),",
        "    .cycle_count_o  (cycles),",
        "    .frame_count_o  (frames),",
        "    .tap_fire_o     (tap_fire),",
        "    .perf_counters_o(perf)",
        "  );",
        "",
        "  // registered, then reduced in a registered second stage (log-depth XOR per stage)",
        "  logic [ObsW-1:0] obs_q;",
        "  always_ff @(posedge clk_i) begin",
        "    if (!rst_ni) begin",
        "      obs_q       <= '0;",
        "      in_ready_o  <= 1'b0;",
        "      out_valid_o <= 1'b0;",
        "      obs_o       <= 1'b0;",
        "    end else begin",
        "      obs_q       <= {m_data, m_last, frame_error, frame_errors, cycles, frames,",
        "                      tap_fire, perf};",
        "      in_ready_o  <= s_ready;",
        "      out_valid_o <= m_valid;",
        "      obs_o       <= ^obs_q;",
        "    end",
        "  end",
        "",
        "endmodule",
        "",
    ])


def generate(model: CompiledModel, out_dir: str | Path, skip: bool = True,
             name: str = "model", sim_frames: int = 8,
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
        "sources": [str(p) for p in hdl_sources(*RTL_MODULES)] + [str(top)],
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
    from .tbgen import write_sim

    write_sim(model, out, sim_frames)
    core = out / "fireflys_model.core"
    core.write_text(core_file(model, out, name))
    return {"top": top, "manifest": hw, "mem": mem, "core": core}


TEMPLATE = Path(__file__).resolve().parent / "tcl" / "yosys_synth.tcl"
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

    lines = [
        "CAPI=2:",
        f"name: fireflys:model:{name}:0.1.0",
        f"description: generated by fireflys.hwgen from model '{model.arch}' (T={model.T})",
        "",
        "filesets:",
        "  rtl:",
        "    depend: [\"fireflys:accel:core\"]",
        "  top:",
        "    files: [fireflys_top.sv]",
        "    file_type: systemVerilogSource",
        "  pnr_top:",
        f"    files: [{PNR_TOP}.sv]",
        "    file_type: systemVerilogSource",
        "  mem:",
        "    files:",
        *[f"      - {m}" for m in mems],
        "    file_type: mem",
        "  yosys_tcl:",
        "    files:",
        f"      - {FLOW_FILES[0][1]}: {{copyto: fireflys_yosys.tcl}}",
        "    file_type: user",
        "  sim_tb:",
        "    files: [sim/fireflys_sim_tb.sv]",
        "    file_type: systemVerilogSource",
        "  kv260:",
        "    files:",
        f"      - {FLOW_FILES[1][1]}: {{file_type: xdc}}",
        f"      - {FLOW_FILES[2][1]}: {{file_type: tclSource}}",
        "",
        "targets:",
        "  default: &default",
        "    filesets: [rtl, top, mem]",
        f"    toplevel: {TOP}",
        "  lint:",
        "    <<: *default",
        "    description: Verilator lint of the generated top and every core, all warnings on",
        "    flow: lint",
        "    flow_options:",
        "      tool: verilator",
        "      verilator_options: [-Wall]",
        "  sim:",
        "    <<: *default",
        "    description: standalone self-checking testbench (Verilator --binary), random "
        "frames against the golden model's outputs",
        "    filesets_append: [sim_tb]",
        "    toplevel: fireflys_sim_tb",
        "    flow: sim",
        "    flow_options:",
        "      tool: verilator",
        "      mode: binary",
        "      verilator_options: [-Wall]",
        "  synth:",
        "    <<: *default",
        "    description: Yosys (yosys-slang) synth_xilinx for the KV260's xczu5ev; "
        "<name>.stat.json per module",
        "    filesets_append: [yosys_tcl]",
        "    flow: generic",
        "    flow_options:",
        "      tool: yosys",
        "      arch: xilinx",
        "      output_format: json",
        "      yosys_template: fireflys_yosys.tcl",
        "      yosys_synth_options: [-family, xcup]",
        "  pnr_ecp5:",
        "    <<: *default",
        "    description: Yosys synth_ecp5 + nextpnr-ecp5 (LFE5U-85F) of the pin-light "
        "harness, Fmax in pnr_report.json",
        "    filesets_append: [pnr_top, yosys_tcl]",
        f"    toplevel: {PNR_TOP}",
        "    flow: generic",
        "    flow_options:",
        "      frontends: [yosys]",
        "      tool: nextpnr",
        "      arch: ecp5",
        "      output_format: json",
        "      yosys_template: fireflys_yosys.tcl",
        f"      nextpnr_options: [{', '.join(ECP5_OPTIONS)}]",
        "  kv260:",
        "    <<: *default",
        f"    description: Vivado project for the KV260 ({KV260_PART}) at 333 MHz, "
        "out of context",
        "    filesets_append: [kv260]",
        "    flow: vivado",
        "    flow_options:",
        f"      part: {KV260_PART}",
        "",
    ]
    return "\n".join(lines)


def sources(out_dir: str | Path) -> list[Path]:
    return [Path(p) for p in json.loads((Path(out_dir) / "hw.json").read_text())["sources"]]
