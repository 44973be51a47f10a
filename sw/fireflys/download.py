"""Dataset files fetched over HTTP(S): MNIST's four IDX files from a list of mirrors.

Each file is streamed to a temporary name beside its destination, its sha256 checked against
the published value, then renamed into place (atomic): a file under its final name is always
whole and verified, and an interrupted or refused download leaves nothing behind. A file
already present with the right sha256 is kept (idempotent). Mirrors are tried in order; the
error of the last one is reported when none serves a verified file.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from fireflys.errors import FireflysError
from fireflys.progress import Progress

# The gzip files as distributed (sizes in bytes, sha256 of the .gz bytes)
MNIST_FILES: dict[str, tuple[int, str]] = {
    "train-images-idx3-ubyte.gz":
        (9912422, "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
    "train-labels-idx1-ubyte.gz":
        (28881, "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
    "t10k-images-idx3-ubyte.gz":
        (1648877, "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
    "t10k-labels-idx1-ubyte.gz":
        (4542, "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
}
# tried in order; FIREFLYS_MNIST_MIRRORS (space-separated base URLs) or --mirror replaces them
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
CHUNK = 1 << 16


class DownloadError(FireflysError, OSError):
    """A file that no mirror served whole and verified (the message names it and the cause)."""


@dataclass(frozen=True)
class Fetched:
    path: Path
    url: str | None  # None: already present and verified
    size: int


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(CHUNK), b""):
            h.update(b)
    return h.hexdigest()


def mirrors_from_env(default: Sequence[str] = MNIST_MIRRORS) -> list[str]:
    env = os.environ.get("FIREFLYS_MNIST_MIRRORS", "").split()
    return list(env or default)


def _fetch_one(url: str, dest: Path, size: int, sha: str, timeout: float,
               bar: Callable[[int, str], AbstractContextManager[Progress]] | None) -> None:
    """``url`` -> ``dest`` via a temporary file in its directory, verified, renamed (a bar is
    shown once the mirror answers)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        got = 0
        h = hashlib.sha256()
        with (os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as r,
              bar(size, dest.name) if bar is not None else nullcontext() as progress):
            for b in iter(lambda: r.read(CHUNK), b""):
                out.write(b)
                h.update(b)
                got += len(b)
                if progress is not None:
                    progress(got, size)
        if got != size:
            raise DownloadError(f"{url}: {got} bytes received, the file has {size}")
        if h.hexdigest() != sha:
            raise DownloadError(f"{url}: sha256 {h.hexdigest()} is not the published {sha}")
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def fetch(files: dict[str, tuple[int, str]], mirrors: Sequence[str], out_dir: str | Path, *,
          what: str = "the files", timeout: float = 30.0,
          say: Callable[[str], None] = lambda _: None,
          bar: Callable[[int, str], AbstractContextManager[Progress]] | None = None
          ) -> list[Fetched]:
    """Every file of ``files`` (name -> (size, sha256)) into ``out_dir`` from the first
    ``mirrors`` base URL that serves it whole and verified; files already there and verified
    are kept. ``bar(total_bytes, name)`` makes a progress context (None: no bar)."""
    if not mirrors:
        raise DownloadError("no mirror to download from (give --mirror URL)")
    d = Path(out_dir)
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DownloadError(f"{d}: cannot create the directory ({e})") from None
    done: list[Fetched] = []
    for name, (size, sha) in files.items():
        dest = d / name
        if dest.is_file() and dest.stat().st_size == size and sha256_of(dest) == sha:
            say(f"{dest}: present, sha256 verified")
            done.append(Fetched(dest, None, size))
            continue
        errors: list[str] = []
        for base in mirrors:
            url = base.rstrip("/") + "/" + name
            try:
                _fetch_one(url, dest, size, sha, timeout, bar)
            except DownloadError as e:
                errors.append(str(e))
                continue
            except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as e:
                # connection refused or dropped, HTTP errors, timeouts, a truncated body
                why = getattr(e, "reason", None) or e
                errors.append(f"{url}: {why}")
                continue
            say(f"{dest}: {size} bytes from {url}, sha256 verified")
            done.append(Fetched(dest, url, size))
            break
        else:
            raise DownloadError(f"{name}: no mirror served it ({errors[-1]}); put {what} in "
                                f"{d} by hand ({name}: sha256 {sha})")
    return done
