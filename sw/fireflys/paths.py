"""Repository paths, and the one list of the hand-written RTL files (read from fusesoc.core)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HDL = REPO / "hdl"
SIM = REPO / "sim"
BUILD = REPO / "build" / "sim"
CORE_FILE = REPO / "fusesoc.core"


@cache
def rtl_files() -> tuple[Path, ...]:
    """The RTL fileset of ``fusesoc.core`` (``filesets: rtl: files:``), in its order: the one
    list of the hand-written modules that the generator, the simulators and the tests use."""
    import yaml

    doc = yaml.safe_load(CORE_FILE.read_text())
    files = doc["filesets"]["rtl"]["files"]
    paths = tuple(REPO / f for f in files)
    for p in paths:
        if not p.is_file():
            raise FileNotFoundError(f"{CORE_FILE}: RTL file {p} not found")
    return paths


def rtl_modules() -> tuple[str, ...]:
    """Module names of :func:`rtl_files` (one module per file, named after it)."""
    return tuple(p.stem for p in rtl_files())


def hdl_sources(*names: str) -> list[Path]:
    """Paths of hdl/<name>.sv, checked to exist."""
    paths = [HDL / f"{n}.sv" for n in names]
    for p in paths:
        if not p.is_file():
            raise FileNotFoundError(f"HDL source {p} not found")
    return paths


