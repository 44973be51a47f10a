"""Logic depth of a mapped Xilinx netlist: LUT levels between sequential cells.

Yosys' ``sta`` has no timing arcs for the xcup cells (FDRE, CARRY, MUXF, LUTRAM), so the
depth is counted on the netlist itself (``synth_xilinx -family xcup -flatten``, then
``write_json``): sources are flip-flop and block-RAM outputs, shift-register outputs, module
input ports and constants; sinks are every input of those cells and the output ports. A LUT
(LUT1..LUT6, INV) is one level, and so is a LUT-RAM read (a read port's address to its data
out; the write data, enable and write address are endpoints: on RAM32M/RAM64M/RAM32M16/RAM64M8
the last port's address, on RAM*X1S/X1D the address A, is also the write address); MUXF7/8/9 and
CARRY4/8 cells add no LUT level but are counted along the path (a carry chain is one or more
CARRY cells in a row). :func:`levels` returns the worst path with its cells.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fireflys.eda.synth import SynthError, run_yosys
from fireflys.hwgen.flowcmds import XCUP_SYNTH, commands

LUT = re.compile(r"(LUT[1-6]|INV)$")  # INV: a LUT1
MUXF = re.compile(r"MUXF[789]$")
CARRY = re.compile(r"CARRY(4|8)$")
# LUT-RAMs: a read port's address to its data out is combinational; writes are clocked
LUTRAM = re.compile(r"RAM(32|64|128|256)(X1[SD]|M|M16|M8)$")
LUTRAM_WRITE = re.compile(r"^(D[A-H]?|DI[A-H]?|D\d*|DI\d*|WE|WCLK|WADR\d*|CLK)$")
# ... and the address of the port that is also the write port (clocked in as well)
LUTRAM_WADDR = {"RAM32M": "ADDRD", "RAM64M": "ADDRD", "RAM32M16": "ADDRH", "RAM64M8": "ADDRH"}


def _lutram_read_address(t: str, out_port: str, in_port: str) -> bool:
    """Whether ``in_port`` is the read address of the LUT-RAM output ``out_port``: DOx reads at
    ADDRx (RAM32M/64M/32M16/64M8), SPO and O at A (the write address), DPO at DPRA; an output
    not listed here depends on every address input."""
    kind = LUTRAM.match(t)
    assert kind is not None
    if kind.group(2).startswith("M") and out_port.startswith("DO"):
        return in_port == "ADDR" + out_port[2:]
    if out_port in ("SPO", "O"):
        return re.fullmatch(r"A\d*", in_port) is not None
    if out_port == "DPO":
        return in_port.startswith("DPRA")
    return not LUTRAM_WRITE.match(in_port)


def _is_lutram_write(t: str, port: str) -> bool:
    """Inputs of a LUT-RAM clocked in by its write: data, enable, clock, write address."""
    kind = LUTRAM.match(t)
    if kind is None:
        return False
    if LUTRAM_WRITE.match(port) or port == LUTRAM_WADDR.get(t):
        return True
    return kind.group(2).startswith("X1") and re.fullmatch(r"A\d*", port) is not None
# everything else that is not combinational: flip-flops, block RAM, shift registers, DSP...
SEQUENTIAL = re.compile(r"^(FD[CPRS]E?|RAMB\w+|URAM\w+|SRL\w+|DSP\w+)$")


@dataclass
class Depth:
    luts: int = 0
    muxf: int = 0
    carry: int = 0
    path: list[str] = field(default_factory=list)  # cells from the source, worst first


@dataclass
class LevelReport:
    lut_levels_max: int
    muxf_on_path: int
    carry_on_path: int
    carry_chains_on_path: int
    path: list[str]  # "cell (type)" from the launching register to the endpoint
    endpoint: str
    cells: int
    per_endpoint_top: list[tuple[str, int]]  # the 10 deepest endpoints

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("lut_levels_max", "muxf_on_path",
                                              "carry_on_path", "carry_chains_on_path",
                                              "path", "endpoint", "cells",
                                              "per_endpoint_top")}


def _top_module(doc: dict[str, Any], top: str | None) -> tuple[str, dict[str, Any]]:
    mods = doc.get("modules", {})
    if top is not None:
        if top not in mods:
            raise SynthError(f"netlist has no module {top!r} (has {sorted(mods)[:5]}...)")
        return top, mods[top]
    tops = [n for n, m in mods.items() if m.get("attributes", {}).get("top")]
    if len(tops) != 1:
        raise SynthError(f"netlist: cannot tell the top module among {sorted(mods)[:5]}")
    return tops[0], mods[tops[0]]


FORMAL_CELLS = ("$check", "$assert", "$assume", "$cover", "$live", "$fair", "$print")


def levels(netlist: dict[str, Any], top: str | None = None) -> LevelReport:
    """The deepest LUT path of a flattened, Xilinx-mapped Yosys JSON netlist."""
    _, mod = _top_module(netlist, top)
    cells = mod.get("cells", {})
    driver: dict[int, tuple[str, str]] = {}  # bit -> (cell, output port)
    comb: dict[str, dict[str, Any]] = {}
    for name, c in cells.items():
        t = c["type"]
        if t in FORMAL_CELLS:
            continue  # a simulation/formal check: no output, not a path end that costs time
        if t.startswith("$"):
            raise SynthError(f"cell {name} is an unmapped {t}: map the netlist first")
        dirs = c.get("port_directions", {})
        for port, bits in c["connections"].items():
            if dirs.get(port) == "output":
                for b in bits:
                    if isinstance(b, int):
                        driver[b] = (name, port)
        if LUT.match(t) or MUXF.match(t) or CARRY.match(t) or LUTRAM.match(t):
            comb[name] = c
        elif not SEQUENTIAL.match(t) and t not in ("GND", "VCC", "IBUF", "OBUF", "BUFG"):
            raise SynthError(f"cell {name}: unknown cell type {t} (add it to fireflys.eda.levels)")
    # a node is a combinational cell, or one read port (output) of a LUT-RAM
    Node = tuple[str, str]
    memo: dict[Node, Depth] = {}
    state: dict[Node, int] = {}  # 1: on the stack, 2: done

    def node_of(b: int) -> Node | None:
        d = driver.get(b)
        if d is None or d[0] not in comb:
            return None
        return (d[0], d[1]) if LUTRAM.match(comb[d[0]]["type"]) else (d[0], "")

    def inputs_of(node: Node) -> list[int]:
        name, out_port = node
        c = comb[name]
        dirs = c.get("port_directions", {})
        ram = LUTRAM.match(c["type"]) is not None
        out = []
        for port, bits in c["connections"].items():
            if dirs.get(port) != "input":
                continue
            if ram and not _lutram_read_address(c["type"], out_port, port):
                continue  # another port's address, or the write side (clocked)
            out += [b for b in bits if isinstance(b, int)]
        return out

    def bit_depth(b: int) -> Depth:
        n = node_of(b)
        return Depth() if n is None else node_depth(n)

    def node_depth(node: Node) -> Depth:
        if state.get(node) == 2:
            return memo[node]
        # iterative DFS: deep LUT chains would overflow Python's recursion limit
        stack = [node]
        while stack:
            n = stack[-1]
            if state.get(n) == 2:
                stack.pop()
                continue
            if state.get(n) != 1:
                state[n] = 1
                for b in inputs_of(n):
                    m = node_of(b)
                    if m is not None and state.get(m) != 2:
                        if state.get(m) == 1:
                            raise SynthError(f"combinational loop through {m[0]} and {n[0]}")
                        stack.append(m)
                continue
            best = Depth()
            for b in inputs_of(n):
                d = bit_depth(b)
                if (d.luts, d.carry, d.muxf) > (best.luts, best.carry, best.muxf):
                    best = d
            t = comb[n[0]]["type"]
            memo[n] = Depth(best.luts + int(bool(LUT.match(t) or LUTRAM.match(t))),
                            best.muxf + int(bool(MUXF.match(t))),
                            best.carry + int(bool(CARRY.match(t))),
                            [*best.path, f"{n[0]} ({t})"])
            state[n] = 2
            stack.pop()
        return memo[node]

    # endpoints: inputs of sequential cells, LUT-RAM write ports, output ports
    ends: list[tuple[str, int]] = []
    for name, c in cells.items():
        t = c["type"]
        dirs = c.get("port_directions", {})
        seq = SEQUENTIAL.match(t) is not None
        for port, bits in c["connections"].items():
            if dirs.get(port) != "input":
                continue
            if seq or _is_lutram_write(t, port):
                ends += [(f"{name}.{port}", b) for b in bits if isinstance(b, int)]
    for pname, p in mod.get("ports", {}).items():
        if p.get("direction") == "output":
            ends += [(pname, b) for b in p["bits"] if isinstance(b, int)]
    worst, where = Depth(), ""
    per_end: dict[str, int] = {}
    for ep, b in ends:
        d = bit_depth(b)
        per_end[ep] = max(per_end.get(ep, 0), d.luts)
        if (d.luts, d.carry, d.muxf) > (worst.luts, worst.carry, worst.muxf):
            worst, where = d, ep
    chains = sum(1 for i, cell in enumerate(worst.path) if "(CARRY" in cell
                 and (i == 0 or "(CARRY" not in worst.path[i - 1]))
    top10 = sorted(per_end.items(), key=lambda kv: -kv[1])[:10]
    return LevelReport(worst.luts, worst.muxf, worst.carry, chains, worst.path, where,
                       len(cells), top10)


def read_netlist(path: Path) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise SynthError(f"{path}: no netlist (run the synthesis first)") from None
    except json.JSONDecodeError as e:
        raise SynthError(f"{path}: not a Yosys JSON netlist ({e})") from None


def xcup_netlist(sources: list[Path], top: str, work: Path,
                 params: dict[str, object] | None = None, data: list[Path] = (),
                 stat: bool = False) -> Path:
    """``synth_xilinx -family xcup -noiopad -flatten`` of ``top`` as a JSON netlist (read by
    :func:`levels`); ``params`` override the top's parameters (strings quoted), ``data``:
    memory images they name; ``stat``: also ``stat -json`` into ``work/<top>_stat.json``."""
    work.mkdir(parents=True, exist_ok=True)
    net = (work / f"{top}_xcup.json").resolve()
    files = " ".join(str(p.resolve()) for p in sources)
    gs = " ".join(f"-G{k}={v}" for k, v in (params or {}).items())
    run_yosys([f"read_slang -j 1 {gs} --top {top} {files}", *commands(XCUP_SYNTH, top),
               *([f"tee -q -o {net.parent / f'{top}_stat.json'} stat -json"] if stat else []),
               f"write_json {net}"], work / "levels_yosys.log", work, [*sources, *data])
    return net
