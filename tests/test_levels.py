"""The LUT-level counter of mapped Xilinx netlists (fireflys.eda.levels)."""

from __future__ import annotations

import pytest

from fireflys.eda.levels import levels, read_netlist, xcup_netlist
from fireflys.eda.synth import SynthError
from fireflys.paths import REPO
from helpers import netlist_cell


def _netlist(cells: dict, ports: dict | None = None) -> dict:
    return {"modules": {"t": {"attributes": {"top": 1}, "ports": ports or {},
                              "cells": cells}}}


def test_counts_luts_between_registers_and_carries_on_the_path() -> None:
    # ff0 -> lut_a -> lut_b -> carry -> carry -> ff1 ; ff0 -> lut_c -> ff1 (shorter)
    cells = {
        "ff0": netlist_cell("FDRE", {"C": [1], "D": [2], "CE": ["1"], "R": ["0"]}, {"Q": [3]}),
        "lut_a": netlist_cell("LUT2", {"I0": [3], "I1": [3]}, {"O": [4]}),
        "lut_b": netlist_cell("LUT3", {"I0": [4], "I1": [3], "I2": [3]}, {"O": [5]}),
        "c0": netlist_cell("CARRY4", {"CI": ["0"], "S": [5, 5, 5, 5], "DI": [3, 3, 3, 3]},
                    {"O": [6, 7, 8, 9], "CO": [10, 11, 12, 13]}),
        "c1": netlist_cell("CARRY4", {"CI": [13], "S": [3, 3, 3, 3], "DI": [3, 3, 3, 3]},
                    {"O": [14, 15, 16, 17], "CO": [18, 19, 20, 21]}),
        "lut_c": netlist_cell("LUT1", {"I0": [3]}, {"O": [22]}),
        "ff1": netlist_cell("FDRE", {"C": [1], "D": [17], "CE": [22], "R": ["0"]}, {"Q": [23]}),
    }
    r = levels(_netlist(cells, {"clk": {"direction": "input", "bits": [1]}}))
    assert r.lut_levels_max == 2
    assert r.carry_on_path == 2 and r.carry_chains_on_path == 1
    assert r.endpoint == "ff1.D"
    assert [p.split()[0] for p in r.path] == ["lut_a", "lut_b", "c0", "c1"]


def test_lutram_read_is_a_level_and_its_write_port_an_endpoint() -> None:
    cells = {
        "ff0": netlist_cell("FDRE", {"C": [1], "D": [2], "CE": ["1"], "R": ["0"]}, {"Q": [3]}),
        "lut": netlist_cell("LUT1", {"I0": [3]}, {"O": [4]}),
        # read address from a LUT; write data from the register
        "ram": netlist_cell("RAM32X1D", {"A0": [4], "DPRA0": [4], "D": [3], "WE": [4],
                                  "WCLK": [1]}, {"SPO": [5], "DPO": [6]}),
        "out": netlist_cell("LUT1", {"I0": [6]}, {"O": [7]}),
    }
    r = levels(_netlist(cells, {"y": {"direction": "output", "bits": [7]}}))
    assert r.lut_levels_max == 3 and r.endpoint == "y"  # lut -> RAM read -> out


def test_multi_port_lutram_write_data_is_an_endpoint() -> None:
    """RAM32M16's write data (DIA..DIH) is clocked in: a LUT chain into it ends there and does
    not continue through the read outputs (the read address does)."""
    chain = {f"l{i}": netlist_cell("LUT1", {"I0": [10 + i]}, {"O": [11 + i]}) for i in range(5)}
    cells = {
        "ff0": netlist_cell("FDRE", {"C": [1], "D": [2], "CE": ["1"], "R": ["0"]}, {"Q": [10]}),
        **chain,  # five LUTs: ff0 -> ... -> bit 15
        "ram": netlist_cell("RAM32M16", {"ADDRA": [10], "DIA": [15, 15], "WE": [10], "WCLK": [1]},
                     {"DOA": [20, 21]}),
        "out": netlist_cell("LUT1", {"I0": [20]}, {"O": [22]}),
        "ff1": netlist_cell("FDRE", {"C": [1], "D": [22], "CE": ["1"], "R": ["0"]}, {"Q": [23]}),
    }
    r = levels(_netlist(cells, {"clk": {"direction": "input", "bits": [1]}}))
    assert r.lut_levels_max == 5 and r.endpoint == "ram.DIA"  # not 5 + read + out


def test_lutram_outputs_depend_on_their_own_read_address_only() -> None:
    """DOA of a RAM32M16 reads at ADDRA: a deep chain into ADDRH (port H's read and the write
    address) ends there and does not reach DOA's reader; on a RAM32X1D, SPO reads at the write
    address A (an arc and an endpoint), DPO at DPRA."""
    chain = {f"l{i}": netlist_cell("LUT1", {"I0": [10 + i]}, {"O": [11 + i]}) for i in range(5)}
    cells = {
        "ff0": netlist_cell("FDRE", {"C": [1], "D": [2], "CE": ["1"], "R": ["0"]}, {"Q": [10]}),
        **chain,  # five LUTs: ff0 -> ... -> bit 15
        "ram": netlist_cell("RAM32M16", {"ADDRA": [10], "ADDRH": [15], "DIA": [10, 10], "WE": [10],
                                  "WCLK": [1]}, {"DOA": [20, 21], "DOH": [24, 25]}),
        "out": netlist_cell("LUT1", {"I0": [20]}, {"O": [22]}),
        "ff1": netlist_cell("FDRE", {"C": [1], "D": [22], "CE": ["1"], "R": ["0"]}, {"Q": [23]}),
    }
    r = levels(_netlist(cells, {"clk": {"direction": "input", "bits": [1]}}))
    assert r.lut_levels_max == 5 and r.endpoint == "ram.ADDRH"
    assert dict(r.per_endpoint_top)["ff1.D"] == 2  # ADDRA read + out
    # port H's own read does continue from ADDRH
    cells["out"] = netlist_cell("LUT1", {"I0": [24]}, {"O": [22]})
    r = levels(_netlist(cells, {"clk": {"direction": "input", "bits": [1]}}))
    assert r.lut_levels_max == 7 and r.endpoint == "ff1.D"
    d = {
        "ff0": netlist_cell("FDRE", {"C": [1], "D": [2], "CE": ["1"], "R": ["0"]}, {"Q": [10]}),
        **chain,
        "ram": netlist_cell("RAM32X1D", {"A0": [15], "DPRA0": [10], "D": [10], "WE": [10],
                                  "WCLK": [1]}, {"SPO": [20], "DPO": [21]}),
        "ff1": netlist_cell("FDRE", {"C": [1], "D": [21], "CE": ["1"], "R": ["0"]}, {"Q": [23]}),
        "ff2": netlist_cell("FDRE", {"C": [1], "D": [20], "CE": ["1"], "R": ["0"]}, {"Q": [24]}),
    }
    r = levels(_netlist(d, {"clk": {"direction": "input", "bits": [1]}}))
    ends = dict(r.per_endpoint_top)
    assert ends["ram.A0"] == 5 and ends["ff2.D"] == 6 and ends["ff1.D"] == 1


def test_a_combinational_loop_and_unmapped_cells_are_errors() -> None:
    loop = {"a": netlist_cell("LUT1", {"I0": [2]}, {"O": [1]}),
            "b": netlist_cell("LUT1", {"I0": [1]}, {"O": [2]}),
            "ff": netlist_cell("FDRE", {"C": [9], "D": [2], "CE": ["1"], "R": ["0"]}, {"Q": [3]})}
    with pytest.raises(SynthError, match="combinational loop"):
        levels(_netlist(loop))
    with pytest.raises(SynthError, match="unmapped"):
        levels(_netlist({"x": netlist_cell("$and", {"A": [1], "B": [2]}, {"Y": [3]})}))


def test_yosys_xcup_netlist_of_a_registered_xor() -> None:
    """An 8-input XOR between registers maps to two LUT levels (LUT6 + LUT3); 6 inputs to
    one (the counter reads what synth_xilinx really produced)."""
    src = REPO / "build" / "levels_test" / "xor_reg.sv"
    src.parent.mkdir(parents=True, exist_ok=True)  # read_slang cannot read under /tmp
    src.write_text(
        "module xor_reg #(parameter int unsigned N = 8) (input logic clk_i,\n"
        "  input logic [N-1:0] a_i, output logic y_o);\n"
        "  logic [N-1:0] a_q;\n"
        "  always_ff @(posedge clk_i) begin a_q <= a_i; y_o <= ^a_q; end\n"
        "endmodule\n")
    for n, want in ((8, 2), (6, 1)):
        net = xcup_netlist([src], "xor_reg", src.parent / f"n{n}", {"N": n})
        assert levels(read_netlist(net), "xor_reg").lut_levels_max == want
