"""FINN-style hardware report of a compiled model: ops and parameters per layer, per-core work
and ideal / predicted / measured cycles (from ``fireflys simulate --json``), the dense
baseline, Yosys resources per core (``synth`` target), nextpnr-ecp5 Fmax (``pnr_ecp5``
target), frames/s, PNG plots and a side-by-side table with FireFly-S's published numbers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from fireflys.core.model import CompiledModel
from fireflys.eda.synth import SynthError, resources
from fireflys.errors import FireflysError
from fireflys.hwgen.flowcmds import ECP5_GOAL_MHZ

# FireFly-S Table IV/VI (xczu5ev, Vivado, 333 MHz); cycles/frame implied by 333 MHz / FPS
FIREFLY_S = {
    "scnn5": {"lut": 30911, "ff": 55986, "bram36": 5, "dsp": 0, "fps": 10047,
              "cycles_per_frame": 33143, "pco": [14, 25, 20, 14, 5]},
    "scnn7": {"lut": 55234, "ff": 98731, "bram36": 11, "dsp": 0, "fps": 3683,
              "cycles_per_frame": 90415, "pco": [19, 23, 32, 16, 32, 19, 1]},
    "scnn9": {"lut": 84641, "ff": 139780, "bram36": 76.5, "dsp": 0, "fps": 2327,
              "cycles_per_frame": 143103, "pco": [32, 16, 21, 13, 26, 13, 20, 10, 1]},
}


class ReportError(FireflysError, ValueError):
    """An input of the report is missing, malformed or belongs to another model."""


def _load_json(path: Path, what: str) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ReportError(f"{path}: {what} not found") from None
    except json.JSONDecodeError as e:
        raise ReportError(f"{path}: {what} is not JSON ({e})") from None


def layer_ops(model: CompiledModel) -> list[dict[str, Any]]:
    """Per layer: parameters, non-zero weights, and the dense (weight, input-bit) pairs of a
    frame, i.e. conv pixels x Co x Ci x KH x KW x planes (T, or IN_BITS for direct input)."""
    out = []
    for i, ly in enumerate(model.layers):
        g = ly.geom
        w = ly.weight
        _, ho, wo = g.conv_shape
        dense = int(ho * wo * w.size * model.planes(i))
        out.append({"name": f"L{i}", "layer": g.token(), "params": int(w.size),
                    "bias": int(ly.bias.size), "nonzero_weights": int(np.count_nonzero(w)),
                    "weight_sparsity": float(1 - np.count_nonzero(w) / w.size),
                    "dense_pairs_per_frame": dense})
    return out


def pnr_fmax(path: Path) -> dict[str, Any]:
    """Fmax and utilisation from a nextpnr ``--report`` JSON."""
    d = _load_json(path, "nextpnr report")
    try:
        fmax = {k: float(v["achieved"]) for k, v in d["fmax"].items()}
    except (KeyError, TypeError, ValueError) as e:
        raise ReportError(f"{path}: no fmax in the nextpnr report ({e})") from None
    if not fmax:
        raise ReportError(f"{path}: the nextpnr report lists no clock")
    util = {k: v for k, v in d.get("utilization", {}).items()
            if isinstance(v, dict) and v.get("used")}
    return {"fmax_mhz": min(fmax.values()), "clocks": fmax, "utilization": util}


def build(model: CompiledModel, rtl: Path, name: str, dense: Path | None = None,
          synth: Path | None = None, pnr: Path | None = None,
          preset: str | None = None) -> dict[str, Any]:
    sim = _load_json(rtl, "RTL simulation report (fireflys simulate --json)")
    if sim.get("arch") != str(model.arch):
        raise ReportError(f"{rtl}: simulated architecture {sim.get('arch')!r} is not the "
                          f"model's {str(model.arch)!r}")
    ops = layer_ops(model)
    cores = sim["cores"]
    if len(cores) != len(ops):
        raise ReportError(f"{rtl}: {len(cores)} cores, the model has {len(ops)} layers")
    for o, c in zip(ops, cores, strict=True):
        o.update({k: c[k] for k in ("pco", "pci", "work_per_frame", "ideal_cycles",
                                    "predicted_cycles", "busy_cycles", "ratio",
                                    "prediction_error")})
        o["pair_density"] = c["work_per_frame"] / o["dense_pairs_per_frame"]
    period = float(sim["frame_period_cycles"])
    rep: dict[str, Any] = {
        "model": name, "arch": str(model.arch), "T": model.T, "encoding": model.encoding,
        "frames_simulated": sim["frames"], "layers": ops,
        "params": sum(o["params"] for o in ops),
        "nonzero_weights": sum(o["nonzero_weights"] for o in ops),
        "dense_pairs_per_frame": sum(o["dense_pairs_per_frame"] for o in ops),
        "pairs_per_frame": sum(o["work_per_frame"] for o in ops),
        "cycles_per_frame": period,
        "slowest_ideal_cycles": float(sim["slowest_ideal_cycles"]),
        "max_prediction_error": max((abs(o["prediction_error"]) for o in ops
                                     if o["prediction_error"] is not None), default=None),
    }
    if dense is not None:
        d = _load_json(dense, "dense-baseline simulation report")
        if not d.get("dense") or d.get("arch") != str(model.arch):
            raise ReportError(f"{dense}: not a dense-baseline report of {model.arch} "
                              "(`fireflys simulate MODEL --dense --json ...`)")
        dp = float(d["frame_period_cycles"])
        rep["dense_baseline"] = {"cycles_per_frame": dp, "fewer_cycles_than_dense": dp / period}
    if synth is not None:
        try:
            res = resources(synth)
        except SynthError as e:
            raise ReportError(str(e)) from None
        if res["cores"] and len(res["cores"]) != len(ops):
            raise ReportError(f"{synth}: {len(res['cores'])} cores synthesized, the model "
                              f"has {len(ops)} layers (another model's statistics?)")
        rep["resources_xcup"] = res  # a flat synthesis (the synth target's) has no cores
        for o, r in zip(ops, res["cores"], strict=False):
            o["resources_xcup"] = r
    # frames/s at the design's own measured clock where there is one, else at the goal
    quote_clock(rep, ECP5_GOAL_MHZ, "the LFE5U-85F timing goal")
    if pnr is not None:
        p = pnr_fmax(pnr)
        rep["ecp5"] = p
        rep["fps_at_ecp5_fmax"] = p["fmax_mhz"] * 1e6 / period
        quote_clock(rep, p["fmax_mhz"], "nextpnr-ecp5 Fmax")
    if preset in FIREFLY_S:
        ref = FIREFLY_S[preset]
        ours = {"cycles_per_frame": period, "fps": rep["fps"]}
        if synth is not None:
            t = rep["resources_xcup"]["total"]
            ours.update({"lut": t["lut"], "ff": t["ff"], "bram36": t["bram36"],
                         "dsp": t["dsp"]})
        rep["firefly_s"] = {"preset": preset, "theirs": ref, "ours": ours}
    return rep


def quote_clock(rep: dict[str, Any], mhz: float, source: str) -> None:
    """Quote the report's frames/s at ``mhz`` (``source``: where that clock comes from)."""
    rep["clock_mhz"], rep["clock_source"] = mhz, source
    rep["fps"] = mhz * 1e6 / rep["cycles_per_frame"]


def _num(v: float | None, fmt: str) -> str:
    """``v`` formatted, or a right-aligned "-" where there is no value (no cycle model)."""
    if v is not None:
        return format(v, fmt)
    return "-".rjust(int(fmt.split(".")[0]))


def table(rep: dict[str, Any]) -> str:
    """Text tables: per core, then totals against FireFly-S."""
    lines = [f"{'core':6s} {'layer':12s} {'PCO':>4s} {'pairs/frame':>12s} {'ideal':>9s} "
             f"{'predicted':>10s} {'measured':>9s} {'pred.err':>8s} {'LUT':>7s} {'FF':>7s} "
             f"{'BRAM36':>6s}"]
    for o in rep["layers"]:
        r = o.get("resources_xcup", {})
        lines.append(
            f"{o['name']:6s} {o['layer']:12s} {o['pco']:4d} {o['work_per_frame']:12.0f} "
            f"{o['ideal_cycles']:9.0f} {_num(o['predicted_cycles'], '10.0f')} "
            f"{o['busy_cycles']:9.0f} {_num(o['prediction_error'], '8.1%')} "
            f"{_num(r.get('lut'), '7.0f')} {_num(r.get('ff'), '7.0f')} "
            f"{_num(r.get('bram36'), '6.1f')}")
    lines.append(f"frame period {rep['cycles_per_frame']:.0f} cycles: {rep['fps']:.0f} "
                 f"frames/s at {rep['clock_mhz']:.1f} MHz ({rep['clock_source']})")
    if "dense_baseline" in rep:
        d = rep["dense_baseline"]
        lines.append(f"dense baseline (the same datapath, nothing skipped): "
                     f"{d['cycles_per_frame']:.0f} cycles/frame: "
                     f"{d['fewer_cycles_than_dense']:.1f} x fewer cycles than dense")
    if "ecp5" in rep:
        lines.append(f"ECP5 (nextpnr, LFE5U-85F): Fmax {rep['ecp5']['fmax_mhz']:.1f} MHz, "
                     f"{rep['fps_at_ecp5_fmax']:.0f} frames/s")
    if "breakdown_xcup" in rep:
        lines += ["", *breakdown_table(rep["breakdown_xcup"], [o["name"] for o in rep["layers"]])]
    if "firefly_s" in rep:
        f = rep["firefly_s"]
        lines.append("")
        lines.append(f"{'':18s} {'this flow':>12s} {'FireFly-S':>12s}")
        for k in ("lut", "ff", "bram36", "dsp", "cycles_per_frame", "fps"):
            if k in f["ours"]:
                fmt = "12.1f" if k == "bram36" else "12.0f"
                lines.append(f"{k:18s} {f['ours'][k]:{fmt}} {f['theirs'][k]:{fmt}}")
    return "\n".join(lines)


UNIT_COLUMNS = ("window", "scanners", "peelers", "neurons", "pool", "output", "fifo")


def breakdown_table(b: dict[str, Any], names: list[str]) -> list[str]:
    """Where the LUTs and flip-flops go, per core and unit
    (:func:`fireflys.eda.attrib.core_breakdown`)."""
    lines = []
    for what, key in (("LUT", "lut"), ("FF", "ff"), ("BRAM36", "bram36")):
        fmt = "9.1f" if key == "bram36" else "9.0f"
        lines.append(f"{what + ' by unit':14s} " + " ".join(f"{u:>9s}" for u in UNIT_COLUMNS)
                     + f" {'total':>9s}")
        for n, c in zip(names, b["cores"], strict=True):
            lines.append(f"{n:14s} " + " ".join(
                format(c["units"][u][key], fmt) if u in c["units"] else "-".rjust(9)
                for u in UNIT_COLUMNS) + f" {c[key]:{fmt}}")
        lines.append(f"{'guard, readout':14s} {'':{10 * len(UNIT_COLUMNS) - 1}s} "
                     f"{b['top'][key]:{fmt}}")
        lines.append("")
    lines.append("(an attribution of the flat xcup netlist: each cell goes to the first named "
                 "net it drives; scanners include their ring copies, scan lists and queues, "
                 "peelers their weight ROMs, output the output buffers and the rest of the "
                 "core, fifo the FIFO after the core)")
    return lines


def bars(path: Path, names: list[str], series: list[tuple[str, list[float]]], ylabel: str,
          title: str, period: float | None = None, ylim: tuple[float, float] | None = None) -> Path:
    """One grouped bar chart per core (one bar per series), saved as ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = np.arange(len(names))
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(8, 4))
    for k, (label, values) in enumerate(series):
        ax.bar(x + (k - (len(series) - 1) / 2) * width, values, width, label=label)
    if period is not None:
        ax.axhline(period, ls="--", c="gray", label="frame period")
    ax.set(xticks=x, xticklabels=names, ylabel=ylabel, title=title)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plots(rep: dict[str, Any], out: Path) -> dict[str, Path]:
    ly = rep["layers"]
    names = [f"{o['name']}\n{o['layer']}" for o in ly]
    files = {
        "cycles": bars(out / "cycles.png", names, [
            ("ideal", [o["ideal_cycles"] for o in ly]),
            ("predicted", [o["predicted_cycles"] or 0 for o in ly]),
            ("measured (RTL)", [o["busy_cycles"] for o in ly])],
            "cycles / frame", f"{rep['model']}: cycles per core", rep["cycles_per_frame"]),
        "sparsity": bars(out / "sparsity.png", names, [
            ("weights", [o["weight_sparsity"] for o in ly]),
            ("(weight, input) pairs skipped", [1 - o["pair_density"] for o in ly])],
            "sparsity", f"{rep['model']}: sparsity per layer", ylim=(0, 1)),
    }
    if "resources_xcup" in rep and rep["resources_xcup"]["cores"]:
        res = [o["resources_xcup"] for o in ly]
        files["resources"] = bars(
            out / "resources.png", names,
            [("LUT", [r["lut"] for r in res]), ("FF", [r["ff"] for r in res])], "count",
            f"{rep['model']}: resources per core (Yosys synth_xilinx xcup)")
    return files


def write(rep: dict[str, Any], out: Path) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    files = plots(rep, out)
    files["json"] = out / "report.json"
    files["json"].write_text(json.dumps(rep, indent=2) + "\n")
    files["txt"] = out / "report.txt"
    files["txt"].write_text(table(rep) + "\n")
    return files
