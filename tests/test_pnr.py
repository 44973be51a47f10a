"""ECP5 place and route of one block through its pin-light harness (fireflys.eda.pnr)."""

from __future__ import annotations

import subprocess

import pytest

from fireflys.eda import pnr as pnr_mod
from fireflys.eda.pnr import HARNESS, block_ports, harness_sv, place_route, pnr, seed_phase
from fireflys.eda.synth import SynthError
from fireflys.paths import REPO

SRC = """module wide_add #(parameter int unsigned N = 24) (
  input  logic         clk_i,
  input  logic         srst_ni,
  input  logic [N-1:0] a_i,
  input  logic [N-1:0] b_i,
  output logic [N:0]   s_o
);
  always_ff @(posedge clk_i) begin
    if (!srst_ni) s_o <= '0;
    else s_o <= {1'b0, a_i} + {1'b0, b_i};
  end
endmodule
"""


def _block(tmp: str):
    d = REPO / "build" / "pnr_test" / tmp  # read_slang cannot read under /tmp
    d.mkdir(parents=True, exist_ok=True)
    src = d / "wide_add.sv"
    src.write_text(SRC)
    return d, src


def test_harness_ports_and_lint() -> None:
    d, src = _block("lint")
    ports = block_ports([src], "wide_add", d, {"N": 8})
    assert sorted(ports) == [("a_i", "input", 8), ("b_i", "input", 8), ("clk_i", "input", 1),
                             ("s_o", "output", 9), ("srst_ni", "input", 1)]
    h = d / f"{HARNESS}.sv"
    h.write_text(harness_sv("wide_add", ports, {"N": 8}))
    text = h.read_text()
    assert ".a_i(in_q[7:0])" in text and ".b_i(in_q[15:8])" in text
    assert ".s_o(out_d[8:0])" in text
    assert ".srst_ni(rst_q)" in text  # the block's reset is registered: a timed path
    r = subprocess.run(["verilator", "--lint-only", "-Wall", "--top-module", HARNESS, str(h),
                        str(src)], capture_output=True, text=True, check=False)
    assert r.returncode == 0 and not r.stderr.strip(), r.stderr


def test_pnr_reports_every_seed_and_the_worst(monkeypatch: pytest.MonkeyPatch) -> None:
    d, src = _block("run")
    r = pnr([src], "wide_add", d, params={"N": 24}, seeds=(1, 2))
    assert r.seeds == [1, 2] and len(r.fmax_mhz) == 2
    assert all(f > 50 for f in r.fmax_mhz)  # a registered 24-bit add on an LFE5U-85F
    assert r.worst_mhz == min(r.fmax_mhz)
    assert r.cells.get("TRELLIS_FF", 0) >= 24 + 48 + 25
    # the seeds run in parallel processes give the same figures (nextpnr is deterministic
    # per seed), each seed's report in its own file
    seen: list[int] = []
    lines: list[str] = []
    p = place_route(d / "ecp5.json", "wide_add", d / "par", (2, 1), 200.0,
                    lambda s, f: seen.append(s), jobs=2, status=lines.append, every_s=0.1)
    assert lines and all(ln.startswith("seed ") for ln in lines), lines  # while they ran
    assert p.seeds == [2, 1] and p.fmax_mhz == [r.fmax_mhz[1], r.fmax_mhz[0]]
    assert sorted(seen) == [1, 2] and p.worst_mhz == r.worst_mhz
    assert (d / "par" / "pnr_seed1.json").is_file() and (d / "par" / "pnr_seed2.json").is_file()
    assert "Max frequency for clock" in (d / "par" / "pnr_seed1.log").read_text()  # its log

    # reuse: the kept runs of the same netlist are read back without nextpnr (which is made
    # unfindable here); another clock target is another run, and it needs nextpnr again
    monkeypatch.setattr(pnr_mod.shutil, "which", lambda _: None)
    k = place_route(d / "ecp5.json", "wide_add", d / "par", (1, 2), 200.0, reuse=True)
    assert k.fmax_mhz == r.fmax_mhz
    with pytest.raises(SynthError, match="not found"):
        place_route(d / "ecp5.json", "wide_add", d / "par", (1,), 150.0, reuse=True)
    with pytest.raises(SynthError, match="not found"):  # without reuse: placed again
        place_route(d / "ecp5.json", "wide_add", d / "par", (1,), 200.0)


def test_seed_phase_reads_a_running_log() -> None:
    """A running seed's phase from its log so far (nextpnr-ecp5's lines): each phase in turn;
    a timing report after the router's last iteration ends it."""
    log = ["Info: Packing IOs..",
           "Info: Running main analytical placer, max placement attempts per cell = 1000.",
           "Info:     at iteration #3, type ALL: wirelen solved = 1, spread = 2, legal = 3; "
           "time = 0.1s",
           "Info: Running simulated annealing placer for refinement.",
           "Info: Max frequency for clock 'clk': 86.83 MHz (FAIL at 155.00 MHz)",
           "Info: Running router2...",
           "Info:     iter=12 wires=1199181 overused=2222 overuse=2228 tmgfail=3324 "
           "archfail=NA",
           "Info: Max frequency for clock 'clk': 120.50 MHz (FAIL at 155.00 MHz)"]
    want = ["packing", "placing (analytical, starting)", "placing (analytical, iteration 3)",
            "placing (annealing)", "placed, routing next", "routing (starting)",
            "routing (iteration 12, 2,222 wires overused, 3,324 endpoints failing the target)",
            "routed, timing analysis"]
    assert seed_phase("") == "packing"
    for n, w in enumerate(want, start=1):
        assert seed_phase("\n".join(log[:n])) == w, (n, log[n - 1])
