"""The wheel works with no checkout: built from the tracked files, installed (--no-deps) into a
fresh venv that sees the project's dependencies, then run from a directory outside the
checkout: --version, compile -> generate -> simulate (RTL == golden) -> FuseSoC lint."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from fireflys.paths import REPO

pytestmark = pytest.mark.slow


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert r.returncode == 0, f"{' '.join(cmd)}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r.stdout


def test_wheel_outside_the_checkout(tmp_path: Path) -> None:
    # the tracked files only, copied: what a clone holds, no build leftovers
    src = tmp_path / "src"
    files = _run(["git", "ls-files", "-z"], REPO).split("\0")
    for f in filter(None, files):
        if (REPO / f).is_file():
            (src / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / f, src / f)
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
          "-w", str(dist), str(src)], tmp_path)
    wheel = next(dist.glob("fireflys-*.whl"))

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path)
    py = venv / "bin" / "python"
    site = _run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                tmp_path).strip()
    # the project's dependencies (this venv's site-packages; its own fireflys is an editable
    # install whose .pth is not read from a path added this way)
    Path(site, "project_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q",
          str(wheel)], tmp_path)

    work = tmp_path / "user"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "FIREFLYS_DATA")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    fireflys = str(venv / "bin" / "fireflys")

    assert _run([fireflys, "--version"], work).strip() == "fireflys 0.1.0"
    where = _run([str(py), "-c", "import fireflys.paths as p; print(p.INSTALLED, p.ROOT)"],
                 work).split()
    assert where[0] == "True" and Path(where[1]).is_relative_to(venv), where
    root = _run([fireflys, "--cores-root"], work).strip()
    assert Path(root).is_relative_to(venv) and (Path(root) / "fusesoc.core").is_file()

    _run([fireflys, "compile", "--arch", "1x8x8-4c3p1-mp2-10fc", "--random-sparsity", "0.8",
          "--seed", "0", "--out", "tiny"], work, env)
    _run([fireflys, "generate", "tiny", "--out", "hw", "--name", "tiny"], work, env)
    out = _run([fireflys, "simulate", "tiny", "--frames", "3"], work, env)
    assert "+0.00% off the RTL" in out, out
    assert (work / "build" / "rtl").is_dir()  # outputs under the user's directory
    _run(["fusesoc", "--cores-root", root, "--cores-root", "hw", "run", "--target=lint",
          "fireflys:model:tiny"], work, env)
    assert not (REPO / "build" / "rtl" / "tiny").exists()
