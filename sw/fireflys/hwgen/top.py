"""The generated SystemVerilog: the accelerator's top and the place-and-route harness, rendered
from ``templates/``."""

from __future__ import annotations

from fireflys.core.model import CompiledModel
from fireflys.hwgen.params import (
    CORE,
    TOP,
    CoreParams,
    fifo_depth,
    output_width,
    perf_words,
)
from fireflys.hwgen.render import render


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


def reset_latency(cores: int) -> int:
    """Cycles from ``srst_ni`` at the top's port to the framing guard's reset (templates/top.sv):
    the port's register, then one register per block from the readout up to the first core,
    one more (a core's blocks register their reset once more), then the guard's."""
    return cores + 4


def top_sv(model: CompiledModel, cores: list[CoreParams]) -> str:
    """The accelerator's top (templates/top.sv): the cores chained through FIFOs, the
    readout."""
    last = model.layers[-1]
    n = len(cores)
    words = [f"core{i}_{w}" for i in range(n) for w in ("busy", "pairs", "pixels", "occ")]
    decls = "".join(render("core_decl.sv", i=i, in_msb=c.in_w - 1, out_msb=c.out_w - 1,
                           occ_msb=32 * int(c.params["Pco"]) - 1)
                    for i, c in enumerate(cores))
    insts = ""
    for i, c in enumerate(cores):
        insts += render("core.sv", i=i, module=CORE, rst=n - i,
                        params=_param_list(c.params, " " * 4))
        if i + 1 < n:
            insts += render("fifo.sv", i=i, next=i + 1, width=c.out_w, depth=fifo_depth(c),
                            rst=n - i)
    _, h0, w0 = model.arch.in_shape
    return render(
        "top.sv", arch=model.arch, T=model.T, top=TOP, in_msb=cores[0].in_w - 1,
        in_w=cores[0].in_w, out_msb=output_width(model) - 1, tap_msb=n - 1,
        perf_msb=32 * perf_words(cores) - 1, frame_pixels=h0 * w0, core_decls=decls,
        cores=insts, perf_concat=", ".join(reversed(words)), classes=model.num_classes,
        score_w=last.widths["score"], from_spikes=int(last.neuron), last=n - 1, n_rst=n + 3,
        reset_latency=reset_latency(n))


PNR_TOP = "fireflys_pnr_top"


def xor_tree(width: int, src: str = "obs_q", fan: int = 16) -> dict[str, str]:
    """SystemVerilog of a tree of registered stages reducing ``src`` (``width`` bits) to one
    bit by XOR, ``fan`` bits into each node: declarations, per-cycle statements (no reset)
    and the last stage's one-bit register (``obs_last``)."""
    decl: list[str] = []
    reduce: list[str] = []
    w, k = width, 0
    while True:
        k += 1
        out = -(-w // fan)
        decl += [f"  logic [{out * fan - 1}:0] obs{k}_in;",
                 f"  logic [{out - 1}:0] obs{k}_q;",
                 f"  assign obs{k}_in = {out * fan}'({src});"]
        reduce.append(f"    for (int unsigned i = 0; i < {out}; i++) "
                      f"obs{k}_q[i] <= ^obs{k}_in[i*{fan} +: {fan}];")
        if out == 1:
            return {"obs_decl": "\n".join(decl), "obs_reduce": "\n".join(reduce),
                    "obs_last": f"obs{k}_q"}
        src, w = f"obs{k}_q", out


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
                  **xor_tree(obs_w),
                  in_msb=in_w - 1, shift_in=shift, out_msb=out_w - 1, tap_msb=n - 1,
                  perf_msb=32 * perf_words(cores) - 1)
