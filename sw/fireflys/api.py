"""The flow from Python: the functions behind the commands, in one place (docs/api.md).

``from fireflys import api``, then:

- models: :func:`load_model`, :func:`save_model`, :func:`random_model`, :func:`compile_to_dir`;
- frames: :func:`frames` (random, the held-out frames of the model's run, or a test split);
- the golden model (the integer contract): :func:`golden`;
- hardware: :func:`generate` (memory images, SystemVerilog top, FuseSoC core),
  :func:`simulate` (Verilator, every core's stream checked) and :func:`perf_report`
  (cycles per core against the cycle model);
- the whole flow with verdicts: :func:`load_config`, :func:`run_build` (``fireflys build``);
- NIR: :func:`nir_export`, :func:`nir_import`.
"""

from __future__ import annotations

from fireflys.compiler.compile import compile_to_dir, random_model
from fireflys.core.golden import run as golden
from fireflys.core.model import CompiledModel, load_model, save_model
from fireflys.flow.build import BuildConfig, load_config, run_build
from fireflys.hwgen.generate import generate
from fireflys.interop.nir import export_model as nir_export
from fireflys.interop.nir import import_model as nir_import
from fireflys.verify.frames import eval_frames as frames
from fireflys.verify.rtlsim import perf_report, simulate

__all__ = [
    "BuildConfig", "CompiledModel", "compile_to_dir", "frames", "generate", "golden",
    "load_config", "load_model", "nir_export", "nir_import", "perf_report", "random_model",
    "run_build", "save_model", "simulate",
]
