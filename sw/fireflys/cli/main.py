"""``fireflys`` command line (``fireflys --help`` lists the commands).

One module per stage registers its commands (``register``); each leaf command has its own
parser and handler. Every error a user can cause derives from
:class:`fireflys.errors.FireflysError` and is printed as one line (exit status 2).
"""

from __future__ import annotations

import argparse
import sys

from fireflys.cli import data, flow, hardware, interop, model, phi, report, train, verify
from fireflys.errors import FireflysError

STAGES = (data, model, train, hardware, verify, phi, report, interop, flow)


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit status 2): ``fireflys CMD: error: argument --x: ...``
    (subcommands' parsers are of this class too)."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("fireflys")
    except PackageNotFoundError:  # sources on sys.path, not installed
        return "unknown (not installed)"


class _CoresRoot(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None) -> None:  # noqa: ANN001
        from fireflys.paths import CORE_FILE

        print(CORE_FILE.parent)
        parser.exit(0)


def build_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="fireflys",
        description="FireFly-S flow: sparse SNN -> integer model -> verified FPGA accelerator.",
    )
    p.add_argument("--version", action="version", version=f"fireflys {_version()}")
    p.add_argument("--cores-root", action=_CoresRoot, nargs=0,
                   help="print the directory of the hand-written RTL's FuseSoC core (give it "
                   "to fusesoc --cores-root beside a generated model's directory) and exit")
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
    except OSError as e:  # a path the user named cannot be read or written
        what = e.filename if e.filename is not None else ""
        print(f"fireflys {args.cmd}: error: {what}: {e.strerror or e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
