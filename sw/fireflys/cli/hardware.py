"""Hardware generation: the memory images, SystemVerilog top and FuseSoC core of a model."""

from __future__ import annotations

import argparse
from pathlib import Path

from fireflys.cli.options import (
    NON_NEGATIVE,
    add_model_dir,
    add_phi,
    phi_tables,
)
from fireflys.core.model import load_model
from fireflys.errors import ConfigError


def cmd_generate(args: argparse.Namespace) -> int:
    from fireflys.hwgen.generate import generate

    model = load_model(args.model_dir)
    name = args.name or "".join(c if c.isalnum() else "_" for c in Path(args.model_dir).name)
    out = Path(args.out)
    tables = phi_tables(args, model)
    try:
        files = generate(model, out, name=name, phi=tables, bram36_budget=args.bram36)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    from fireflys.verify.harness import write_sim

    files["sim"] = write_sim(model, out)  # vectors + testbench of the FuseSoC `sim` target
    for k in ("top", "mem", "manifest", "core"):
        print(f"wrote {k}: {files[k]}")
    print(f"FuseSoC core fireflys:model:{name} (targets lint, sim, synth, pnr_ecp5, kv260), "
          f"e.g. (verilator on PATH):\n  fusesoc --cores-root $(fireflys --cores-root) "
          f"--cores-root {out} run --target=sim fireflys:model:{name}")
    return 0



def register(sub: argparse._SubParsersAction) -> None:
    ge = sub.add_parser("generate", help="write the hardware of a compiled model: memory "
                        "images, the SystemVerilog top and a FuseSoC core")
    add_model_dir(ge)
    ge.add_argument("--out", required=True, help="output directory")
    ge.add_argument("--name", help="FuseSoC core name fireflys:model:NAME (default: the "
                    "model directory's name)")
    add_phi(ge)
    ge.add_argument("--bram36", type=NON_NEGATIVE, metavar="N",
                    help="block RAM36 budget; scan lists longer than 64 entries "
                    "read their masks from block RAM while it lasts (default 5)")
    ge.set_defaults(func=cmd_generate)
