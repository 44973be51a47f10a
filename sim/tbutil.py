"""Shared cocotb helpers for the testbenches in sim/."""

from __future__ import annotations

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge


async def start(dut, *idle_inputs: str, cycles: int = 3) -> None:
    """Start a 100 MHz clock on clk_i, drive the named inputs to 0, hold srst_ni low for
    ``cycles`` cycles, then release it."""
    cocotb.start_soon(Clock(dut.clk_i, 10, unit="ns").start())
    dut.srst_ni.value = 0
    for name in idle_inputs:
        getattr(dut, name).value = 0
    for _ in range(cycles):
        await RisingEdge(dut.clk_i)
    dut.srst_ni.value = 1
