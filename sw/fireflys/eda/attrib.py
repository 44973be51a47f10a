"""LUTs of a flat mapped Xilinx netlist charged to the design's hierarchy.

``synth_xilinx -flatten`` keeps the hierarchical names of the nets that carry a name in the
source (``u_core4.g_det[1].u_peel.b_ev``), but not of the LUTs, which ABC renames. Each LUT
(and LUT-RAM, carry, flip-flop) is charged to the scope of the first named net it drives,
looking forward through unnamed logic and flip-flops (depth first, the consumers in netlist
order; of a net's names the deepest in the hierarchy); a cell that reaches no named net is
charged to ``?``. Shared logic goes to one of its users, so the figures of a scope are an
attribution, not a partition by construction: good for comparing two builds of one design
part by part (``fireflys.compiler.area`` was fitted this way), and for where the cost goes
(:func:`core_breakdown`, in bench-hw's reports).
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from typing import Any

from fireflys.eda.levels import CARRY, LUT, LUTRAM, _top_module
from fireflys.eda.synth import BRAM36
from fireflys.eda.synth import LUTRAM as LUTRAM_LUTS

_INDEX = re.compile(r"\[\d+\]")
_CORE = re.compile(r"^u_(core|fifo)(\d+)$")
_CORE_NET = re.compile(r"^core(\d+)_")  # the generated top's wires of core i (its output)
# the units of a core (layer_core's instance and generate names, the last scope part)
UNITS = {"u_win": "window", "u_scan": "scanners", "u_peel": "peelers", "u_neuron": "neurons",
         "u_pool": "pool"}
FIELDS = ("lut", "lut_mem", "ff", "bram36")


def lut_by_scope(netlist: dict[str, Any], top: str | None = None, depth: int | None = None,
                 keep_index: tuple[str, ...] = (),
                 top_names: bool = False) -> dict[str, dict[str, float]]:
    """Per scope (``depth`` levels, generate indices as ``[*]`` except in the first levels
    named by ``keep_index`` prefixes, e.g. ``u_core``; with ``top_names`` a top-level net's
    own name, else ``(top)``): ``lut_logic`` (LUT1..6, INV),
    ``inv`` (the INVs among them: Yosys' statistics leave them out of its LUT count),
    ``lut_mem`` (LUT-RAM cells as the LUTs they occupy), ``carry`` and ``ff``."""
    _, mod = _top_module(netlist, top)
    cells = mod["cells"]
    named: dict[int, str] = {}
    for n, nn in mod["netnames"].items():
        if nn.get("hide_name") or n.startswith("$"):
            continue
        for b in nn["bits"]:
            # a net with several names (a core's port and the top's wire) takes the deepest
            if isinstance(b, int) and (b not in named or n.count(".") > named[b].count(".")):
                named[b] = n
    consumers: dict[int, list[str]] = defaultdict(list)
    for cn, c in cells.items():
        for port, bits in c["connections"].items():
            if c.get("port_directions", {}).get(port) == "input":
                for b in bits:
                    if isinstance(b, int):
                        consumers[b].append(cn)

    def outputs(cn: str) -> list[int]:
        c = cells[cn]
        return [b for p, bits in c["connections"].items()
                if c.get("port_directions", {}).get(p) == "output" for b in bits
                if isinstance(b, int)]

    memo: dict[str, str | None] = {}
    busy: set[str] = set()

    def resolve(cn: str) -> str | None:
        if cn in memo:
            return memo[cn]
        if cn in busy:  # a loop through flip-flops without a named net
            return None
        busy.add(cn)
        outs = outputs(cn)
        found = next((named[b] for b in outs if b in named), None)
        if found is None:  # the first consumer, depth first, that reaches a name
            found = next((r for b in outs for nxt in consumers.get(b, ())
                          if (r := resolve(nxt)) is not None), None)
        busy.discard(cn)
        memo[cn] = found
        return found

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 200_000))
    try:
        out: dict[str, dict[str, float]] = defaultdict(
            lambda: {"lut_logic": 0.0, "inv": 0.0, "lut_mem": 0.0, "carry": 0.0, "ff": 0.0})
        for cn, c in cells.items():
            t = c["type"]
            if LUT.match(t):
                key = "lut_logic"
            elif LUTRAM.match(t):
                key = "lut_mem"
            elif CARRY.match(t):
                key = "carry"
            elif t.startswith("FD"):
                key = "ff"
            else:  # wide muxes, block RAM, I/O: not counted
                continue
            name = resolve(cn)
            scope = "?" if name is None else _scope(name, depth, keep_index, top_names)
            out[scope][key] += LUTRAM_LUTS.get(t, 1) if key == "lut_mem" else 1
            out[scope]["inv"] += t == "INV"
    finally:
        sys.setrecursionlimit(limit)
    return dict(out)


def _scope(name: str, depth: int | None, keep_index: tuple[str, ...],
           top_names: bool = False) -> str:
    if top_names and "." not in name:
        return _INDEX.sub("", name)
    parts = name.split(".")[:-1]
    parts = [p if keep_index and p.startswith(keep_index) else _INDEX.sub("[*]", p)
             for p in parts]
    return ".".join(parts[:depth] if depth else parts) or "(top)"


def bram_by_scope(netlist: dict[str, Any], top: str | None = None, depth: int | None = None,
                  keep_index: tuple[str, ...] = ()) -> dict[str, float]:
    """Block RAM36 per scope (as :func:`lut_by_scope`; a block RAM cell keeps its memory's
    hierarchical name): RAMB36 1, RAMB18 0.5."""
    _, mod = _top_module(netlist, top)
    out: dict[str, float] = defaultdict(float)
    for cn, c in mod["cells"].items():
        if c["type"] in BRAM36:
            out[_scope(cn, depth, keep_index)] += BRAM36[c["type"]]
    return dict(out)


def core_breakdown(netlist: dict[str, Any], top: str | None = None) -> dict[str, Any]:
    """Where a flat netlist of the accelerator spends its LUTs, flip-flops and block RAM, by
    core and unit: ``cores[i]`` maps window, scanners (with their ring copies, scan lists and
    queues), peelers (with the weight ROMs), neurons, pool, output (the output buffers and
    the rest of the core, with its output port: the generated top's ``core<i>_*`` wires) and
    fifo (the FIFO after the core) to ``lut`` (logic and memory),
    ``lut_mem``, ``ff`` and ``bram36``; ``top`` is the rest (the streams between the cores,
    the frame guard, the readout). LUTs are counted as Yosys' statistics count them (LUT1..6
    and LUT-RAM, no INV cells), so the parts add up to its total. An attribution
    (:func:`lut_by_scope`)."""
    keep = ("u_core", "u_fifo")
    luts = lut_by_scope(netlist, top, depth=3, keep_index=keep, top_names=True)
    brams = bram_by_scope(netlist, top, depth=3, keep_index=keep)
    cores: dict[int, dict[str, dict[str, float]]] = defaultdict(dict)
    rest: dict[str, float] = dict.fromkeys(FIELDS, 0.0)

    def add(scope: str, fig: dict[str, float]) -> None:
        parts = scope.split(".")
        m = _CORE.match(parts[0])
        net = _CORE_NET.match(scope)
        if net is not None:  # a core's output port (the top's wire keeps the name)
            dst = cores[int(net.group(1))].setdefault("output", dict.fromkeys(FIELDS, 0.0))
        elif m is None:
            dst = rest
        else:
            unit = "fifo" if m.group(1) == "fifo" else UNITS.get(parts[-1], "output")
            dst = cores[int(m.group(2))].setdefault(unit, dict.fromkeys(FIELDS, 0.0))
        for k, v in fig.items():
            dst[k] += v

    for scope, r in luts.items():
        add(scope, {"lut": r["lut_logic"] - r["inv"] + r["lut_mem"], "lut_mem": r["lut_mem"],
                    "ff": r["ff"]})
    for scope, b in brams.items():
        add(scope, {"bram36": b})
    per_core = []
    for i in range(max(cores, default=-1) + 1):
        units = cores.get(i, {})
        per_core.append({"units": units,
                         **{k: sum(u[k] for u in units.values()) for k in FIELDS}})
    return {"cores": per_core, "top": rest}
