"""``fireflys nir export | import``: NIR files (Neuromorphic Intermediate Representation)."""

from __future__ import annotations

import argparse

from fireflys.cli.options import add_model_dir


def cmd_export(args: argparse.Namespace) -> int:
    from fireflys.interop.nir import export_model

    p = export_model(args.model_dir, args.out)
    print(f"wrote {p} (NIR graph; integer weights, leak shift, reset and T in the "
          "'fireflys' metadata)")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from fireflys.core.model import load_model
    from fireflys.interop.nir import import_model

    js = import_model(args.file, args.out)
    m = load_model(js.parent)
    print(f"imported {m.arch} (T = {m.T}, {m.encoding} input, {m.readout} readout, "
          f"{m.sparsity * 100:.1f} % zero weights) to {js.parent}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    n = sub.add_parser("nir", help="NIR (Neuromorphic Intermediate Representation) export and "
                       "import of compiled models")
    ns = n.add_subparsers(dest="nir_cmd", required=True, metavar="STEP")
    ex = ns.add_parser("export", help="write a compiled model as a NIR file (Conv2d/Affine, "
                       "LIF/IF, SumPool2d + IF for the OR-pool, I readout; the integer "
                       "semantics in the 'fireflys' metadata)")
    add_model_dir(ex)
    ex.add_argument("out", help="the NIR file to write (e.g. model.nir)")
    ex.set_defaults(func=cmd_export)
    im = ns.add_parser("import", help="read a NIR file written by `fireflys nir export` back "
                       "into a compiled model directory (graphs from other tools: not yet)")
    im.add_argument("file", help="a .nir file")
    im.add_argument("--out", required=True, help="compiled model directory to write")
    im.set_defaults(func=cmd_import)
