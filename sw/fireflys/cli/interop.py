"""``fireflys nir export | import``: NIR files (Neuromorphic Intermediate Representation)."""

from __future__ import annotations

import argparse
import json

from fireflys.cli.options import (
    SEED,
    add_model_dir,
    count,
    positive,
)


def cmd_export(args: argparse.Namespace) -> int:
    from fireflys.interop.nir import export_model

    p = export_model(args.model_dir, args.out)
    print(f"wrote {p} (NIR graph; integer weights, leak shift, reset and T in the "
          "'fireflys' metadata)")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from fireflys.core.model import load_model
    from fireflys.interop.nir import IMPORT_REPORT, import_model

    calib = None
    if args.calib_dataset not in (None, "random"):
        from fireflys.data import load_digits, load_mnist

        x, _ = (load_mnist(args.data_dir, "train", args.in_bits)
                if args.calib_dataset == "mnist" else load_digits(args.in_bits))
        calib = x[: args.calib_frames]
    js = import_model(args.file, args.out, dt=args.dt, T=args.T, encoding=args.encoding,
                      in_bits=args.in_bits, calib=calib, calib_frames=args.calib_frames,
                      seed=args.seed)
    m = load_model(js.parent)
    print(f"imported {m.arch} (T = {m.T}, {m.encoding} input, {m.readout} readout, "
          f"{m.sparsity * 100:.1f} % zero weights) to {js.parent}")
    prov = json.loads(js.read_text())["provenance"]
    if prov["fidelity"] == "bit-exact":
        print("fidelity: bit-exact (a fireflys file: the integer model from its own metadata)")
    else:
        print(f"fidelity: approximate (another tool's float graph quantized to 4 bits per "
              f"channel; predictions equal on {prov['prediction_agreement'] * 100:.2f} % of "
              f"the calibration frames)")
    rep = js.parent / IMPORT_REPORT
    if prov["fidelity"] == "approximate":
        r = json.loads(rep.read_text())
        print(f"quantized from a float graph (dt {r['dt']:g}) on {r['frames']} calibration "
              "frames; agreement with the float graph (not bit-exact):")
        print(f"{'layer':<6}{'nodes':<28}{'k':>3}{'beta':>9}{'beta_hw':>9}{'spikes':>9}")
        for ly in r["layers"]:
            agree = ly.get("spike_agreement")
            print(f"{ly['layer']:<6}{','.join(ly['nodes'])[:27]:<28}{ly['k']:>3}"
                  f"{ly['beta']:>9.4f}{ly['beta_hw']:>9.4f}"
                  f"{'-' if agree is None else f'{agree * 100:.2f} %':>9}")
        print(f"predictions equal on {r['prediction_agreement'] * 100:.2f} % of the frames; "
              f"report {rep}")
    return 0


def cmd_matrix(args: argparse.Namespace) -> int:
    from fireflys.interop.nir_matrix import markdown, support_matrix, write_into

    table = markdown(support_matrix())
    if args.write:
        changed = write_into(args.write, table)
        print(f"{args.write}: {'updated' if changed else 'already up to date'}")
    else:
        print(table)
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
    im = ns.add_parser("import", help="read a NIR file into a compiled model directory: a file "
                       "from `fireflys nir export` gives the identical model; a graph from "
                       "another tool (e.g. snntorch's export_to_nir) is mapped by strict rules "
                       "and quantized to 4 bits per channel on calibration frames, with its "
                       "agreement with the float graph reported per layer (nir_import.json)")
    im.add_argument("file", help="a .nir file")
    im.add_argument("--out", required=True, help="compiled model directory to write")
    im.add_argument("--dt", type=positive(), help="time step of a foreign graph (NIR has none; "
                    "snntorch's export_to_nir uses 1e-4)")
    im.add_argument("--T", type=count(1), default=4, help="time steps of the model (default 4)")
    im.add_argument("--encoding", choices=("direct", "spikes"), default="direct",
                    help="input: pixel values (direct, the float graph sees x / (2**in_bits "
                    "- 1)) or spikes (default direct)")
    im.add_argument("--in-bits", type=count(1, 16), default=8, help="bits per input pixel (direct; "
                    "default 8)")
    im.add_argument("--calib-dataset", choices=("random", "digits", "mnist"), default="random",
                    help="calibration frames (training split; default random)")
    im.add_argument("--calib-frames", type=count(1), default=64, help="default 64")
    im.add_argument("--data-dir", help="MNIST IDX directory (default $FIREFLYS_DATA/mnist, "
                    "else ~/.cache/fireflys/mnist: `fireflys data mnist` fills it)")
    im.add_argument("--seed", type=SEED, default=0, help="random calibration frames")
    im.set_defaults(func=cmd_import)
    mx = ns.add_parser("matrix", help="measure what of NIR comes through: every node type of "
                       "the nir package against export and import (exact / approximate with "
                       "the probe's agreement / refused with the reason), as a Markdown table")
    mx.add_argument("--write", metavar="FILE", help="put the table between its markers in FILE "
                    "(docs/nir.md), appended when it has none")
    mx.set_defaults(func=cmd_matrix)
