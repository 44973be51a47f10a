"""LUTs of a flat mapped Xilinx netlist charged to the design's hierarchy.

``synth_xilinx -flatten`` keeps the hierarchical names of the nets that carry a name in the
source (``u_core4.g_det[1].u_peel.b_ev``), but not of the LUTs, which ABC renames. Each LUT
(and LUT-RAM, carry, flip-flop) is charged to the scope of the first named net it drives, looking
forward through unnamed logic and flip-flops (depth first, the consumers in netlist order); a
cell that reaches no named net is charged to ``?``. Shared logic goes to one of its users, so
the figures of a scope are an attribution, not a partition by construction: good for
comparing two builds of one design part by part (``fireflys.compiler.area`` was fitted
this way).
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from typing import Any

from fireflys.eda.levels import CARRY, LUT, LUTRAM, _top_module
from fireflys.eda.synth import LUTRAM as LUTRAM_LUTS

_INDEX = re.compile(r"\[\d+\]")


def lut_by_scope(netlist: dict[str, Any], top: str | None = None, depth: int | None = None,
                 keep_index: tuple[str, ...] = ()) -> dict[str, dict[str, float]]:
    """Per scope (``depth`` levels, generate indices as ``[*]`` except in the first levels
    named by ``keep_index`` prefixes, e.g. ``u_core``): ``lut_logic`` (LUT1..6, INV),
    ``lut_mem`` (LUT-RAM cells as the LUTs they occupy), ``carry`` and ``ff``."""
    _, mod = _top_module(netlist, top)
    cells = mod["cells"]
    named: dict[int, str] = {}
    for n, nn in mod["netnames"].items():
        if nn.get("hide_name") or n.startswith("$"):
            continue
        for b in nn["bits"]:
            if isinstance(b, int):
                named.setdefault(b, n)
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
            lambda: {"lut_logic": 0.0, "lut_mem": 0.0, "carry": 0.0, "ff": 0.0})
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
            scope = "?" if name is None else _scope(name, depth, keep_index)
            out[scope][key] += LUTRAM_LUTS.get(t, 1) if key == "lut_mem" else 1
    finally:
        sys.setrecursionlimit(limit)
    return dict(out)


def _scope(name: str, depth: int | None, keep_index: tuple[str, ...]) -> str:
    parts = name.split(".")[:-1]
    parts = [p if keep_index and p.startswith(keep_index) else _INDEX.sub("[*]", p)
             for p in parts]
    return ".".join(parts[:depth] if depth else parts) or "(top)"
