"""``fireflys data mnist``: a dataset's files downloaded, verified and kept where the other
commands look for them by default."""

from __future__ import annotations

import argparse
import functools

from fireflys.cli.options import positive


def cmd_mnist(args: argparse.Namespace) -> int:
    from fireflys.data import default_mnist_dir
    from fireflys.download import MNIST_FILES, fetch, mirrors_from_env
    from fireflys.progress import bar, say

    out = args.dir or default_mnist_dir()
    mirrors = args.mirror or mirrors_from_env()
    got = fetch(MNIST_FILES, mirrors, out, what="MNIST's IDX files", timeout=args.timeout, say=say,
                bar=None if args.quiet else functools.partial(bar, unit="B"))
    new = sum(1 for f in got if f.url is not None)
    print(f"MNIST in {out}: {len(got)} files, sha256 verified ({new} downloaded, "
          f"{len(got) - new} already there)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser("data", help="download a dataset (verified) into the directory the "
                       "other commands read by default")
    ds = d.add_subparsers(dest="dataset_cmd", required=True, metavar="DATASET")
    m = ds.add_parser("mnist", help="MNIST's four IDX files (train and t10k), each checked "
                      "against its published sha256; files already there and verified are "
                      "kept")
    m.add_argument("--dir", metavar="DIR", help="where to put them (default $FIREFLYS_DATA/"
                   "mnist, else ~/.cache/fireflys/mnist: what --data-dir defaults to)")
    m.add_argument("--mirror", metavar="URL", action="append",
                   help="base URL holding the four .gz files; repeat to try several in order "
                   "(default: $FIREFLYS_MNIST_MIRRORS, space-separated, else the built-in "
                   "list)")
    m.add_argument("--timeout", type=positive(), default=30.0,
                   help="seconds without data before a mirror is given up (default 30)")
    m.add_argument("--quiet", action="store_true", help="no progress bars")
    m.set_defaults(func=cmd_mnist)
