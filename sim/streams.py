"""The one valid/ready stream driver and monitor of the testbenches (cocotb-bus).

:class:`StreamSource` sends beats in order: before each beat it idles for the cycles its
``gaps`` decide, then raises valid with the data and holds both until the beat is accepted
(AXI4-Stream rule: valid never drops before the handshake). :class:`StreamSink` drives
ready (low with probability ``stall`` each cycle) and hands every accepted beat to its
callback and its queue. Signals are named per port: ``<prefix>_valid_i``, ``<prefix>_ready_o``,
``<prefix>_data_i`` on the DUT's input side by default.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from cocotb.triggers import ReadOnly, RisingEdge
from cocotb_bus.drivers import BusDriver
from cocotb_bus.monitors import BusMonitor


def bernoulli_gaps(rng: random.Random, p: float) -> Callable[[], int]:
    """Idle cycles before a beat: each cycle idles with probability ``p`` (geometric)."""
    def gaps() -> int:
        n = 0
        while rng.random() < p:
            n += 1
        return n
    return gaps


class StreamSource(BusDriver):
    """Drives ``valid``/``data`` of a valid/ready input port; ``ready`` is the DUT's. ``data``
    may name several signals: a beat is then a tuple with one value per signal."""

    _signals: dict[str, str] = {}

    def __init__(self, dut, clock, *, valid: str, ready: str, data: str | list[str],
                 gaps: Callable[[], int] = lambda: 0,
                 idle_data: Callable[[], int] | None = None) -> None:
        fields = [data] if isinstance(data, str) else list(data)
        self._signals = {"valid": valid, "ready": ready,
                         **{f"data{i}": f for i, f in enumerate(fields)}}
        self.fields = len(fields)
        super().__init__(dut, None, clock)
        self.gaps, self.idle_data = gaps, idle_data
        self.accepted = 0
        self.bus.valid.value = 0

    @classmethod
    def port(cls, dut, prefix: str, **kw) -> StreamSource:
        """The input port ``<prefix>_valid_i / _ready_o / _data_i`` of ``dut``."""
        return cls(dut, dut.clk_i, valid=f"{prefix}_valid_i", ready=f"{prefix}_ready_o",
                   data=f"{prefix}_data_i", **kw)

    async def _driver_send(self, transaction: int, sync: bool = True) -> None:
        edge = RisingEdge(self.clock)
        for _ in range(self.gaps()):
            await edge
        values = (transaction,) if self.fields == 1 else transaction
        for i, v in enumerate(values):
            getattr(self.bus, f"data{i}").value = v
        self.bus.valid.value = 1
        while True:
            await ReadOnly()
            took = bool(self.bus.ready.value)
            await edge
            if took:
                break
        self.accepted += 1
        self.bus.valid.value = 0
        if self.idle_data is not None:  # a stale beat must not be taken again
            self.bus.data0.value = self.idle_data()


class StreamSink(BusMonitor):
    """Drives ``ready`` of a valid/ready output port and collects the accepted beats."""

    _signals: dict[str, str] = {}

    def __init__(self, dut, clock, *, valid: str, ready: str, data: str, stall: float = 0.0,
                 rng: random.Random | None = None,
                 callback: Callable[[int], None] | None = None) -> None:
        self._signals = {"valid": valid, "ready": ready, "data": data}
        self.stall, self.rng = stall, rng or random.Random(0)
        self.received = 0
        super().__init__(dut, None, clock, callback=callback)

    @classmethod
    def port(cls, dut, prefix: str, **kw) -> StreamSink:
        """The output port ``<prefix>_valid_o / _ready_i / _data_o`` of ``dut``."""
        return cls(dut, dut.clk_i, valid=f"{prefix}_valid_o", ready=f"{prefix}_ready_i",
                   data=f"{prefix}_data_o", **kw)

    async def _monitor_recv(self) -> None:
        edge = RisingEdge(self.clock)
        while True:
            self.bus.ready.value = int(self.rng.random() >= self.stall)
            await ReadOnly()
            if self.bus.valid.value and self.bus.ready.value:
                self.received += 1
                self._recv(int(self.bus.data.value))
            await edge
