"""The open FPGA flow's commands, in one place: the Yosys synthesis commands and the
nextpnr-ecp5 options that both ``fireflys build`` (:mod:`fireflys.eda.levels`,
:mod:`fireflys.eda.pnr`) and the generated FuseSoC core's ``synth`` and ``pnr_ecp5`` targets
(their Yosys templates, rendered from these lines by :mod:`fireflys.hwgen.corefile`) run, so
that the two paths cannot disagree."""

from __future__ import annotations

# after reading the sources with yosys-slang: formal-only code out, then the mapping
XCUP_SYNTH = ("chformal -remove", "synth_xilinx -family xcup -noiopad -flatten -top {top}")
ECP5_SYNTH = ("chformal -remove", "synth_ecp5 -top {top}")

# nextpnr-ecp5 on the LFE5U-85F (speed 8). --placer-heap-timingweight 40 (default 10): the
# placer pulls timing-critical nets 4x harder (whole scnn5, the same netlist and seed: 123.0
# vs 117.1 MHz; one core: 135.8 vs 111.2). --tmg-ripup: the router rips up and reroutes nets
# on failing paths (the same whole-design netlist, seeds 1 and 3: 148.8 / 143.3 vs 134.5 /
# 135.6 MHz)
ECP5_NEXTPNR = ("--85k", "--package", "CABGA756", "--speed", "8", "--router", "router2",
                "--placer-heap-timingweight", "40", "--tmg-ripup", "--lpf-allow-unconstrained",
                "--timing-allow-fail")
ECP5_GOAL_MHZ = 150.0  # the timing goal on the LFE5U-85F (frames/s are quoted at it by default)
# nextpnr's target clock for a whole accelerator: above the 150 MHz aim, so that the placer
# and router work on the paths that miss it (docs/fpga.md); Fmax is the routed design's timing
# analysis either way
ECP5_TARGET_MHZ = 155.0


def commands(lines: tuple[str, ...], top: str) -> list[str]:
    """``lines`` with the top module's name filled in."""
    return [ln.format(top=top) for ln in lines]
