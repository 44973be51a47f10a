"""Dataset download (fireflys.download, ``fireflys data mnist``) against a loopback HTTP server
started here: verified files kept, corrupt or cut files refused with nothing left behind."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from fireflys import download
from fireflys.cli.main import main
from fireflys.data import DatasetError, load_mnist
from fireflys.download import DownloadError, fetch


def _idx(arr: np.ndarray, code: int) -> bytes:
    head = bytes([0, 0, code, arr.ndim]) + b"".join(int(n).to_bytes(4, "big")
                                                     for n in arr.shape)
    return gzip.compress(head + arr.astype(np.uint8).tobytes(), mtime=0)


def _small_mnist() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    out = {}
    for pre, n in (("train", 12), ("t10k", 5)):
        out[f"{pre}-images-idx3-ubyte.gz"] = _idx(rng.integers(0, 256, (n, 28, 28)), 0x08)
        out[f"{pre}-labels-idx1-ubyte.gz"] = _idx(rng.integers(0, 10, n), 0x08)
    return out


def _table(blobs: dict[str, bytes]) -> dict[str, tuple[int, str]]:
    return {k: (len(v), hashlib.sha256(v).hexdigest()) for k, v in blobs.items()}


class _Server:
    """A loopback HTTP server: ``routes[path]`` is (bytes, how) with how 'ok', or 'drop'
    (announces the whole length, sends half, closes the connection); other paths 404."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[bytes, str]] = {}
        self.hits: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.hits.append(self.path)
                if self.path not in server.routes:
                    self.send_error(404)
                    return
                body, how = server.routes[self.path]
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if how == "drop":
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                else:
                    self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def serve(self, prefix: str, blobs: dict[str, bytes], how: str = "ok") -> str:
        for k, v in blobs.items():
            self.routes[f"/{prefix}/{k}"] = (v, how)
        return f"{self.url}/{prefix}/"


@pytest.fixture
def server() -> Iterator[_Server]:
    s = _Server()
    s.thread.start()
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()


def _closed_port() -> str:
    with socket.socket() as s:  # bound then closed: nothing listens there
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/"


def _left(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir()) if d.is_dir() else []


def test_fetch_verifies_and_is_idempotent(server: _Server, tmp_path: Path) -> None:
    blobs = _small_mnist()
    good = server.serve("good", blobs)
    got = fetch(_table(blobs), [good], tmp_path / "m")
    assert [f.url for f in got] == [good + k for k in blobs]
    assert {p: (tmp_path / "m" / p).read_bytes() for p in blobs} == blobs
    x, y = load_mnist(tmp_path / "m", "train")
    assert x.shape == (12, 1, 28, 28) and y.shape == (12,)
    n = len(server.hits)
    again = fetch(_table(blobs), [good], tmp_path / "m")  # all present and verified
    assert all(f.url is None for f in again) and len(server.hits) == n


def test_mirrors_in_order(server: _Server, tmp_path: Path) -> None:
    blobs = _small_mnist()
    good = server.serve("good", blobs)
    got = fetch(_table(blobs), [f"{server.url}/missing/", _closed_port(), good],
                tmp_path / "m")
    assert all(f.url == good + f.path.name for f in got)
    assert f"/missing/{next(iter(blobs))}" in server.hits


def test_corrupt_file_refused_nothing_left(server: _Server, tmp_path: Path) -> None:
    blobs = _small_mnist()
    bad = dict(blobs)
    name = "train-labels-idx1-ubyte.gz"
    bad[name] = bytes([blobs[name][0] ^ 1]) + blobs[name][1:]  # same length, another sha
    url = server.serve("bad", bad)
    with pytest.raises(DownloadError, match=f"{name}: no mirror served it .*sha256") as e:
        fetch(_table(blobs), [url], tmp_path / "m")
    assert "\n" not in str(e.value) and str(tmp_path / "m") in str(e.value)
    # the images before it were verified and kept; nothing of the bad file, no temporary file
    assert _left(tmp_path / "m") == ["train-images-idx3-ubyte.gz"]


def test_dropped_connection_refused_nothing_left(server: _Server, tmp_path: Path) -> None:
    blobs = _small_mnist()
    url = server.serve("drop", blobs, how="drop")
    with pytest.raises(DownloadError, match="no mirror served it"):
        fetch(_table(blobs), [url], tmp_path / "m")
    assert _left(tmp_path / "m") == []
    # a kept file that was damaged later is fetched again, not trusted
    good = server.serve("good", blobs)
    fetch(_table(blobs), [good], tmp_path / "m")
    (tmp_path / "m" / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b damaged")
    got = fetch(_table(blobs), [good], tmp_path / "m")
    assert [f.url is not None for f in got] == [False, False, False, True]
    assert (tmp_path / "m" / "t10k-labels-idx1-ubyte.gz").read_bytes() == \
        blobs["t10k-labels-idx1-ubyte.gz"]


def test_cli_success_and_offline(server: _Server, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    blobs = _small_mnist()
    monkeypatch.setattr(download, "MNIST_FILES", _table(blobs))
    good = server.serve("good", blobs)
    monkeypatch.setenv("FIREFLYS_DATA", str(tmp_path / "data"))
    assert main(["data", "mnist", "--mirror", good, "--quiet"]) == 0
    out = capsys.readouterr().out
    assert f"MNIST in {tmp_path / 'data' / 'mnist'}: 4 files" in out and "4 downloaded" in out
    x, _ = load_mnist(None, "test")  # the default directory is where it downloaded
    assert x.shape == (5, 1, 28, 28)
    # offline (nothing listens): one line naming the directory to fill by hand, exit 2
    monkeypatch.setenv("FIREFLYS_MNIST_MIRRORS", _closed_port())
    assert main(["data", "mnist", "--dir", str(tmp_path / "off"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"in {tmp_path / 'off'} by hand" in err
    assert _left(tmp_path / "off") == []


def test_missing_mnist_names_the_download_command(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="fireflys data mnist"):
        load_mnist(tmp_path, "train")
