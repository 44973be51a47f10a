"""The Python code is ruff-clean (same check as `make lint`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_clean() -> None:
    ruff = shutil.which("ruff")
    assert ruff, "ruff not installed (make setup)"
    r = subprocess.run([ruff, "check", "sw", "tests", "sim"], cwd=ROOT, capture_output=True,
                       text=True, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
