"""Where the package's hardware files are, and the one list of the hand-written RTL files
(read from fusesoc.core).

In a checkout (or an editable install) they are the repository's ``hdl/``, ``sim/``,
``constraints/`` and ``fusesoc.core``; an installed wheel carries its own copy of them in
``fireflys/_share`` (setup.py puts it there), so the package works with no checkout on disk.
Default work directories are the checkout's ``build/``, else ``./build`` of the directory the
command runs in.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

PKG = Path(__file__).resolve().parent
SHARE = PKG / "_share"  # a wheel's copy of the hardware files
REPO = PKG.parents[1]  # the checkout (meaningful only where INSTALLED is False)
INSTALLED = (SHARE / "fusesoc.core").is_file()
ROOT = SHARE if INSTALLED else REPO
HDL = ROOT / "hdl"
SIM = ROOT / "sim"
CONSTRAINTS = ROOT / "constraints"
CORE_FILE = ROOT / "fusesoc.core"
WORK = (Path.cwd() if INSTALLED else REPO) / "build"
BUILD = WORK / "sim"


@cache
def rtl_files() -> tuple[Path, ...]:
    """The RTL fileset of ``fusesoc.core`` (``filesets: rtl: files:``), in its order: the one
    list of the hand-written modules that the generator, the simulators and the tests use."""
    import yaml

    doc = yaml.safe_load(CORE_FILE.read_text())
    files = doc["filesets"]["rtl"]["files"]
    paths = tuple(ROOT / f for f in files)
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


