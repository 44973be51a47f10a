"""FPGA devices the planner can budget for: their logic, flip-flops and block RAM, and how
many of their LUTs one LUT of :mod:`fireflys.compiler.area`'s estimate (Yosys xcup LUT6)
takes.

The ECP5 ratio is measured on the shipped scnn5 (``reports/scnn5_mnist``): 39,557
TRELLIS_COMB cells after nextpnr-ecp5 for 18,612 xcup LUTs after Yosys (2.13 LUT4 per LUT6:
the LUT-RAM, the carry chains and the 4-input LUTs); it is an estimate for other designs.
Block RAM is counted in 36 kbit units (an ECP5 DP16KD is half of one). On ECP5 distributed RAM
fits only some slices: nextpnr counts "RAM LUTs" (4 per TRELLIS_DPR16X4 cell) against an eighth
of the LUTs (10,455 on the LFE5U-85F), the tighter limit for this design; the planner counts
the cells with :func:`fireflys.compiler.area.ecp5_ram_cells`. A plan may move scanners' ring
copies to the block RAM the weights and long scan lists leave (their
:data:`fireflys.compiler.shape.BRAM36_BUDGET` set aside).
"""

from __future__ import annotations

from dataclasses import dataclass

from fireflys.compiler.shape import BRAM36_BUDGET
from fireflys.errors import ConfigError

ECP5_LUT4_PER_EST = 39_557 / 18_612
DEFAULT_MARGIN = 0.85  # the share of a device's LUTs a plan may fill


@dataclass(frozen=True)
class Device:
    name: str
    family: str  # "ecp5" | "xcup"
    luts: int  # the vendor's logic LUTs (LUT4 on ECP5, LUT6 on UltraScale+)
    ffs: int
    bram36: float
    lut_per_est: float  # device LUTs per LUT of the area estimate

    @property
    def ram_cells(self) -> int | None:
        """ECP5: the TRELLIS_DPR16X4 cells its RAM slices hold (None: not a limit)."""
        return self.luts // 8 // 4 if self.family == "ecp5" else None

    def lut_budget(self, margin: float = DEFAULT_MARGIN) -> float:
        """LUTs of the area estimate that fill ``margin`` of the device's LUTs."""
        return self.luts * margin / self.lut_per_est

    def ram_budget(self, margin: float = DEFAULT_MARGIN) -> float | None:
        """Distributed-RAM cells that fill ``margin`` of the device's (None: no limit)."""
        return None if self.ram_cells is None else self.ram_cells * margin

    def ring_bram_budget(self, margin: float = DEFAULT_MARGIN) -> float:
        """BRAM36 for ring copies: ``margin`` of the device's, less BRAM36_BUDGET."""
        return max(0.0, self.bram36 * margin - BRAM36_BUDGET)


DEVICES = {
    "lfe5u-25f": Device("LFE5U-25F", "ecp5", 24_288, 24_288, 28.0, ECP5_LUT4_PER_EST),
    "lfe5u-45f": Device("LFE5U-45F", "ecp5", 43_848, 43_848, 54.0, ECP5_LUT4_PER_EST),
    "lfe5u-85f": Device("LFE5U-85F", "ecp5", 83_640, 83_640, 104.0, ECP5_LUT4_PER_EST),
    "xczu3eg": Device("XCZU3EG", "xcup", 70_560, 141_120, 216.0, 1.0),
    "xczu5ev": Device("XCZU5EV", "xcup", 117_120, 234_240, 144.0, 1.0),
}


@dataclass(frozen=True)
class Budget:
    """What a plan may use: LUTs of the area estimate, ECP5 distributed-RAM cells (None: no
    limit), block RAM36 for ring copies (None: rings stay in LUT-RAM), and the device they come
    from (None: ``max_luts`` alone)."""

    luts: float | None
    ram: float | None
    device: Device | None
    bram: float | None = None


def budget(max_luts: float | None, name: str | None,
           margin: float = DEFAULT_MARGIN) -> Budget:
    """``max_luts`` and the preset ``name`` x ``margin`` together: the smaller LUT budget, the
    device's distributed-RAM and ring block-RAM budgets."""
    dev = device(name) if name else None
    luts = max_luts
    if dev is not None:
        b = dev.lut_budget(margin)
        luts = b if luts is None else min(float(luts), b)
    return Budget(luts, dev.ram_budget(margin) if dev else None, dev,
                  dev.ring_bram_budget(margin) if dev else None)


def device(name: str) -> Device:
    """The preset ``name`` (case-insensitive)."""
    key = name.lower()
    if key not in DEVICES:
        raise ConfigError(f"unknown device {name!r}: one of {', '.join(DEVICES)}")
    return DEVICES[key]
