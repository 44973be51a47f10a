"""``fireflys`` command line (``fireflys --help`` lists the commands).

One module per stage registers its commands (``register``); each leaf command has its own
parser and handler. Every error a user can cause derives from
:class:`fireflys.errors.FireflysError` and is printed as one line (exit status 2).
"""

from __future__ import annotations

import argparse
import sys

from fireflys.cli import flow, hardware, interop, model, phi, report, train, verify
from fireflys.errors import FireflysError

STAGES = (model, train, hardware, verify, phi, report, interop, flow)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="fireflys",
        description="FireFly-S flow: sparse SNN -> integer model -> verified FPGA accelerator.",
    )
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    for stage in STAGES:
        stage.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except FireflysError as e:
        print(f"fireflys {args.cmd}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
