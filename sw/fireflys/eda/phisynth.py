"""Yosys resource estimate of Phi mode (issue 6): per Phi core, the pattern matcher and the
PWP memories, and optionally one detector with and without Phi (the residual logic).

Each part is synthesized on its own with the core's parameters and memory images
(``synth_xilinx -family xcup``, the KV260's xczu5ev, flattened, no I/O buffers) and counted
with :func:`fireflys.eda.synth.cell_summary`. The matcher includes its pattern ROM; the PWP
memories are every detector's ROM; the detector delta (Phi minus bitmap) includes detector
0's PWP ROM, so ``detector_delta - pwp[0]`` is the per-detector logic Phi adds.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fireflys.compiler.memimg import write_memories
from fireflys.core.model import CompiledModel
from fireflys.eda.synth import SynthError, cell_summary, run_yosys
from fireflys.hwgen.params import core_params
from fireflys.paths import REPO, hdl_sources
from fireflys.phi import hw as phihw
from fireflys.phi.tables import PhiTables

SYNTH = "synth_xilinx -family xcup -noiopad -noclkbuf -flatten"


def _cells(stat_txt: str) -> dict[str, int]:
    """Cell counts by type from Yosys' text ``stat`` of one flattened module."""
    cells: dict[str, int] = {}
    for m in re.finditer(r"^\s+(\d+)\s+([A-Za-z0-9_]+)\s*$", stat_txt, flags=re.M):
        cells[m.group(2)] = cells.get(m.group(2), 0) + int(m.group(1))
    return cells


def _synth(top: str, modules: tuple[str, ...], params: dict[str, Any], work: Path,
           tag: str, inputs: list[Path]) -> dict[str, float]:
    work.mkdir(parents=True, exist_ok=True)
    srcs = " ".join(str(p.resolve()) for p in hdl_sources(*modules))
    gs = " ".join(f'-G {k}={v}' for k, v in params.items())
    stat = (work / f"{tag}.stat.txt").resolve()
    run_yosys([f"read_slang -j 1 {srcs} --top {top} {gs}",
               f"{SYNTH} -top {top}",
               f"tee -q -o {stat} stat"],
              work / f"{tag}.log", work, [*hdl_sources(*modules), *inputs])
    text = stat.read_text()
    if "Number of cells" not in text and "cells" not in text:
        raise SynthError(f"{stat}: no cell statistics")
    return cell_summary(_cells(text.split("===", 2)[-1]))


DET_KEYS = ("L", "Nseg", "Pci", "Groups", "Look", "WtDepth", "AccW", "BiasW", "ThetaW",
            "Direct", "Skip", "HasTheta", "Phi", "Q", "PwpW")


def estimate(model: CompiledModel, tables: PhiTables, work: str | Path, *,
             detectors: bool = False, match_segs: dict[int, int] | None = None,
             progress: Callable[[str], None] = print) -> dict[str, Any]:
    """Resources of every Phi core's matcher and PWP memories (and with ``detectors`` the
    Phi-minus-bitmap delta of detector 0)."""
    w = Path(work).resolve()
    try:
        w.relative_to(REPO)
    except ValueError:
        raise SynthError(f"{w}: the work directory must be inside the repository "
                         "(YoWASP's sandbox)") from None
    mem = w / "mem"
    write_memories(model, mem)
    phihw.write_images(model, tables, mem, match_segs)
    cores = core_params(model, mem, True, tables, match_segs)
    out: dict[str, Any] = {"part": "xczu5ev (synth_xilinx -family xcup)", "cores": []}
    for li in sorted(tables.layers):
        c = cores[li]
        p = c.params
        name = c.name
        t0 = time.time()
        nseg = phihw.nseg_of(model, li)
        pat = mem / f"{name}_pat.hex"
        row: dict[str, Any] = {"layer": name, "Q": p["Q"], "MatchSegs": p["MatchSegs"],
                               "nseg": nseg, "pco": p["Pco"]}
        row["matcher"] = _synth(
            "phi_matcher", ("sync_rom", "adder_tree", "argmax_tree", "phi_matcher"),
            {"L": p["L"], "Nseg": nseg, "Pci": p["Pci"], "Q": p["Q"],
             "MatchSegs": p["MatchSegs"], "ColwW": p["ColwW"], "PatFile": f'"{pat}"'},
            w / name, "matcher", [pat])
        pwp = []
        groups = -(-int(p["Co"]) // int(p["Pco"]))
        for d in range(int(p["Pco"])):
            f = mem / f"{name}_d{d}_pwp.hex"
            depth = groups * nseg * int(p["Q"])
            pwp.append(_synth("sync_rom", ("sync_rom",),
                              {"Width": p["PwpW"], "Depth": depth, "InitFile": f'"{f}"',
                               "AddrWidth": max(1, (depth - 1).bit_length())},
                              w / name, f"pwp_d{d}", [f]))
        row["pwp"] = {k: sum(r[k] for r in pwp) for k in pwp[0]}
        row["pwp_bits"] = sum(groups * nseg * int(p["Q"]) * int(p["PwpW"]) for _ in pwp)
        if detectors:
            det = {}
            for mode in (1, 0):
                prm = {k: p.get(k, 0) for k in DET_KEYS}
                prm.update({"Nseg": nseg, "Groups": groups, "HasTheta": int(not p["Score"]),
                            "Phi": mode, "Q": p["Q"] if mode else 1})
                pre = mem / f"{name}_d0_"
                files = {"MaskFile": "mask", "PtrFile": "ptr", "WtFile": "wt",
                         "BiasFile": "bias"}
                if not p["Score"]:
                    files["ThetaFile"] = "theta"
                if mode:
                    files["PwpFile"] = "pwp"
                for k, v in files.items():
                    prm[k] = f'"{pre}{v}.hex"'
                det[mode] = _synth("sparse_detector",
                                   ("sync_rom", "lsb_encoder", "popcount", "sparse_detector"),
                                   prm, w / name, f"detector_phi{mode}",
                                   [Path(f"{pre}{v}.hex") for v in files.values()])
            row["detector_bitmap"] = det[0]
            row["detector_phi"] = det[1]
            row["detector_delta"] = {k: det[1][k] - det[0][k] for k in det[0]}
        row["seconds"] = round(time.time() - t0, 1)
        progress(f"{name}: matcher {row['matcher']['lut']:.0f} LUT "
                 f"{row['matcher']['ff']:.0f} FF {row['matcher']['bram36']:.1f} BRAM36; "
                 f"PWP memories {row['pwp']['lut']:.0f} LUT {row['pwp']['bram36']:.1f} BRAM36"
                 + (f"; detector Phi - bitmap {row['detector_delta']['lut']:+.0f} LUT"
                    if detectors else "") + f" ({row['seconds']} s)")
        out["cores"].append(row)
    keys = ("lut", "ff", "bram36")
    out["total"] = {
        "matcher": {k: sum(r["matcher"][k] for r in out["cores"]) for k in keys},
        "pwp": {k: sum(r["pwp"][k] for r in out["cores"]) for k in keys},
        "pwp_bits": sum(r["pwp_bits"] for r in out["cores"]),
    }
    if detectors:
        out["total"]["detectors_delta_all"] = {
            k: sum(r["detector_delta"][k] * r["pco"] for r in out["cores"]) for k in keys}
    return out

