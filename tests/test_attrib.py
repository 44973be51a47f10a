"""LUTs of a flat netlist charged to the hierarchy (fireflys.eda.attrib)."""

from __future__ import annotations

from fireflys.eda.attrib import core_breakdown, lut_by_scope
from fireflys.eda.levels import read_netlist, xcup_netlist
from fireflys.paths import REPO
from helpers import netlist_cell


def _netlist(cells: dict, names: dict[str, list[int]]) -> dict:
    nets = {n: {"hide_name": 1 if n.startswith("$") else 0, "bits": b}
            for n, b in names.items()}
    return {"modules": {"t": {"attributes": {"top": 1}, "ports": {}, "cells": cells,
                              "netnames": nets}}}


def test_charges_logic_to_the_first_named_net_downstream() -> None:
    # lut_a -> lut_b -> ff_a (u_core1.g_det[0].u_peel.q); lut_c -> ff_b (u_core1.g_det[1]...)
    # lut_d -> ff_c (unnamed) -> ff_d (unnamed) -> ff_c: a loop that reaches no name
    cells = {
        "lut_a": netlist_cell("LUT2", {"I0": [1], "I1": [2]}, {"O": [3]}),
        "lut_b": netlist_cell("LUT6", {"I0": [3]}, {"O": [4]}),
        "ff_a": netlist_cell("FDRE", {"D": [4]}, {"Q": [5]}),
        "lut_c": netlist_cell("INV", {"I": [5]}, {"O": [6]}),
        "ff_b": netlist_cell("FDRE", {"D": [6]}, {"Q": [7]}),
        "ram": netlist_cell("RAM32M16", {"ADDRA": [7]}, {"DOA": [8]}),
        "lut_d": netlist_cell("LUT1", {"I0": [8]}, {"O": [9]}),
        "ff_c": netlist_cell("FDRE", {"D": [9, 11]}, {"Q": [10]}),
        "ff_d": netlist_cell("FDRE", {"D": [10]}, {"Q": [11]}),
    }
    names = {"u_core1.g_det[0].u_peel.q": [5], "u_core1.g_det[1].u_peel.q": [7],
             "u_core1.g_mem[3].rd": [8], "$abc$1": [3, 4]}
    got = lut_by_scope(_netlist(cells, names), depth=3, keep_index=("u_core",))
    assert got["u_core1.g_det[*].u_peel"] == {"lut_logic": 3.0, "inv": 1.0, "lut_mem": 0.0,
                                             "carry": 0.0, "ff": 2.0}
    assert got["u_core1.g_mem[*]"]["lut_mem"] == 8.0  # a RAM32M16 is 8 LUTs
    assert got["?"] == {"lut_logic": 1.0, "inv": 0.0, "lut_mem": 0.0, "carry": 0.0, "ff": 2.0}
    assert set(lut_by_scope(_netlist(cells, names), depth=1)) == {"u_core1", "?"}


def test_yosys_netlist_of_two_instances() -> None:
    """A wide XOR instance gets more LUTs than a narrow one of the same module, and the
    scopes add up to every LUT of the netlist."""
    src = REPO / "build" / "attrib_test" / "two_xor.sv"
    src.parent.mkdir(parents=True, exist_ok=True)  # read_slang cannot read under /tmp
    src.write_text(
        "module xr #(parameter int unsigned N = 8) (input logic clk_i,\n"
        "  input logic [N-1:0] a_i, output logic y_o);\n"
        "  logic [N-1:0] a_q;\n"
        "  always_ff @(posedge clk_i) begin a_q <= a_i; y_o <= ^a_q; end\n"
        "endmodule\n"
        "module two_xor (input logic clk_i, input logic [47:0] a_i, output logic [1:0] y_o);\n"
        "  xr #(.N(40)) u_wide (.clk_i(clk_i), .a_i(a_i[39:0]), .y_o(y_o[0]));\n"
        "  xr #(.N(8)) u_narrow (.clk_i(clk_i), .a_i(a_i[47:40]), .y_o(y_o[1]));\n"
        "endmodule\n")
    net = read_netlist(xcup_netlist([src], "two_xor", src.parent / "n"))
    got = lut_by_scope(net, "two_xor", depth=1)
    assert got["u_wide"]["lut_logic"] > got["u_narrow"]["lut_logic"] > 0
    cells = next(m for m in net["modules"].values() if m.get("attributes", {}).get("top"))
    luts = sum(c["type"].startswith("LUT") or c["type"] == "INV"
               for c in cells["cells"].values())
    assert sum(v["lut_logic"] for v in got.values()) == luts


def test_core_breakdown_by_unit() -> None:
    """Cells go to their core's unit (a FIFO to the core before it, block RAM by its cell's
    name, the rest to top); INV cells are left out of the LUTs as Yosys' statistics do."""
    cells = {
        "l1": netlist_cell("LUT4", {"I0": [1]}, {"O": [2]}),
        "f1": netlist_cell("FDRE", {"D": [2]}, {"Q": [3]}),       # u_core0.u_win.base_q
        "l2": netlist_cell("LUT6", {"I0": [3]}, {"O": [4]}),      # u_core0.g_det[1].u_scan.e_q
        "i2": netlist_cell("INV", {"I": [3]}, {"O": [5]}),
        "f2": netlist_cell("FDRE", {"D": [5]}, {"Q": [6]}),       # u_core0.g_det[1].u_scan.e_q
        "r1": netlist_cell("RAM64M8", {"ADDRA": [6]}, {"DOA": [7]}),  # u_core0.g_wr[2].buf
        "l3": netlist_cell("LUT2", {"I0": [7]}, {"O": [8]}),      # u_fifo0.g_grp[0].mem
        "l4": netlist_cell("LUT3", {"I0": [8]}, {"O": [9]}),      # valid (top)
        "l5": netlist_cell("LUT5", {"I0": [9]}, {"O": [12]}),     # core1_data (core 1's port)
        "b1": netlist_cell("RAMB36E2", {"ADDRARDADDR": [9]}, {"DOUTADOUT": [10]}),
        "b2": netlist_cell("RAMB18E2", {"ADDRARDADDR": [9]}, {"DOUTADOUT": [11]}),
    }
    cells["u_core1.g_det[0].u_scan.g_mask_block.u_mask.mem.0.0"] = cells.pop("b1")
    cells["u_core1.g_det[0].u_peel.g_bram.u_wt.mem.0.0"] = cells.pop("b2")
    names = {"u_core0.u_win.base_q": [3], "u_core0.g_det[1].u_scan.e_q": [4, 6],
             "u_core0.g_wr[2].buf": [7], "u_fifo0.g_grp[0].mem": [8], "valid": [9],
             "core1_data": [12]}
    b = core_breakdown(_netlist(cells, names))
    c0, c1 = b["cores"]
    assert c0["units"]["window"] == {"lut": 1.0, "lut_mem": 0.0, "ff": 1.0, "bram36": 0.0}
    assert c0["units"]["scanners"] == {"lut": 1.0, "lut_mem": 0.0, "ff": 1.0, "bram36": 0.0}
    assert c0["units"]["output"]["lut_mem"] == 8.0  # a RAM64M8 is 8 LUTs
    assert c0["units"]["fifo"]["lut"] == 1.0
    assert (c0["lut"], c0["ff"]) == (11.0, 2.0)
    assert c1["units"]["scanners"]["bram36"] == 1.0
    assert c1["units"]["peelers"]["bram36"] == 0.5 and c1["bram36"] == 1.5
    assert c1["units"]["output"]["lut"] == 1.0
    assert b["top"]["lut"] == 1.0
