"""cocotb: every word Verilator's $readmemh loads equals what fireflys.compiler.memimg wrote."""

from __future__ import annotations

import json
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge


@cocotb.test()
async def read_every_word(dut) -> None:
    expected = json.loads(os.environ["ROM_EXPECTED"])
    cocotb.start_soon(Clock(dut.clk_i, 10, unit="ns").start())
    dut.en_i.value = 1
    for addr, want in enumerate(expected):
        dut.addr_i.value = addr
        await RisingEdge(dut.clk_i)
        await RisingEdge(dut.clk_i)
        got = int(dut.data_o.value)
        assert got == want, f"address {addr}: ROM holds {got:#x}, image says {want:#x}"
    # en_i = 0 holds the output
    held = int(dut.data_o.value)
    dut.en_i.value = 0
    dut.addr_i.value = 0
    await RisingEdge(dut.clk_i)
    await RisingEdge(dut.clk_i)
    assert int(dut.data_o.value) == held
