"""Benchmarks (speed and memory live here, never in tests); results go to reports/*.json."""

from __future__ import annotations

import json
import platform
import resource
import time
from pathlib import Path
from typing import Any

import numpy as np

from fireflys.compiler.compile import random_input, random_model
from fireflys.core import golden


def bench_golden(
    arch: str = "scnn5", sparsity: float = 0.9, batch: int = 256, repeats: int = 3,
    seed: int = 0,
) -> dict[str, Any]:
    """Golden-model throughput on random sparse weights (best of ``repeats`` runs)."""
    model = random_model(arch, sparsity=sparsity, seed=seed)
    x = random_input(model, batch, np.random.default_rng(seed + 1))
    golden.run(model, x[: min(batch, 8)])  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = golden.run(model, x)
        times.append(time.perf_counter() - t0)
    best = min(times)
    return {
        "benchmark": "golden_throughput",
        "arch": str(model.arch),
        "weight_sparsity": [round(ly.sparsity, 4) for ly in model.layers],
        "T": model.T,
        "batch": batch,
        "seconds_best": round(best, 4),
        "seconds_all": [round(t, 4) for t in times],
        "frames_per_s": round(batch / best, 1),
        "spike_density": [None if s is None else round(float(s.mean()), 4) for s in res.spikes],
        "work_per_frame": [w / res.frames for w in res.work],
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "machine": {"python": platform.python_version(), "cpu": platform.processor() or
                    platform.machine(), "numpy": np.__version__},
    }


def write_report(result: dict[str, Any], out: str | Path) -> Path:
    p = Path(out)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(result, indent=2) + "\n")
    return p
