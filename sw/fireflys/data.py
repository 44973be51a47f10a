"""Datasets as integer frames for the compiled model.

- ``digits``: the embedded default (scikit-learn's 1797 8x8 handwritten digits, shipped with
  the package, no download): pixels 0..16 rescaled to IN_BITS unsigned integers.
- ``mnist``: IDX files (``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``,
  optionally the ``t10k-*`` test split) in a directory: ``--data-dir``, else
  :func:`default_mnist_dir` (where ``fireflys data mnist`` downloads them). Pixels 0..255
  rescaled to IN_BITS.

Every loader returns ``([N, C, H, W] int64 pixels, [N] int64 labels)``; problems raise
:class:`DatasetError` naming the file and what is wrong.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from fireflys.errors import FireflysError

IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class DatasetError(FireflysError, ValueError):
    """A dataset that is missing or unreadable; the message names the file or directory."""


def quantize_pixels(x: np.ndarray, in_bits: int, full_scale: float) -> np.ndarray:
    """Map pixels in [0, full_scale] to integers in [0, 2**in_bits - 1] (round half up)."""
    if not 1 <= in_bits <= 16:
        raise ValueError(f"in_bits must be in 1..16, got {in_bits}")
    top = (1 << in_bits) - 1
    q = np.floor(np.asarray(x, dtype=np.float64) / full_scale * top + 0.5)
    return np.clip(q, 0, top).astype(np.int64)


def load_digits(in_bits: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn digits as ([N, 1, 8, 8] int64 pixels, [N] labels)."""
    from sklearn.datasets import load_digits as _load

    d = _load()
    x = quantize_pixels(d.images, in_bits, 16.0)[:, None]
    return x, d.target.astype(np.int64)


def read_idx(path: str | Path) -> np.ndarray:
    """One IDX file (raw or gzip): magic 0x00 0x00 <type> <ndim>, big-endian int32 sizes,
    then the data."""
    p = Path(path)
    try:
        raw = p.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise DatasetError(f"{p}: cannot read ({e})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_TYPES:
        raise DatasetError(f"{p}: not an IDX file (bad magic {raw[:4].hex() or 'empty'})")
    ndim = raw[3]
    head = 4 + 4 * ndim
    if ndim == 0 or len(raw) < head:
        raise DatasetError(f"{p}: truncated IDX header")
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    dt = np.dtype(IDX_TYPES[raw[2]])
    want = int(np.prod(dims)) * dt.itemsize
    if len(raw) - head != want:
        raise DatasetError(f"{p}: IDX data has {len(raw) - head} bytes, dimensions {dims} "
                           f"need {want}")
    return np.frombuffer(raw, dtype=dt, offset=head).reshape(dims)


def _idx_file(d: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (d / name).is_file():
            return d / name
    return None


def data_root() -> Path:
    """Where datasets live by default: ``$FIREFLYS_DATA``, else ``$XDG_CACHE_HOME/fireflys``,
    else ``~/.cache/fireflys``."""
    env = os.environ.get("FIREFLYS_DATA")
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser() / "fireflys"


def default_mnist_dir() -> Path:
    """MNIST's default directory (``fireflys data mnist`` downloads into it)."""
    return data_root() / "mnist"


def _mnist_dir(data_dir: str | Path | None) -> Path:
    return Path(data_dir) if data_dir is not None else default_mnist_dir()


def mnist_split_available(data_dir: str | Path | None, split: str) -> bool:
    """Whether ``split``'s IDX files are in ``data_dir`` (None: the default directory)."""
    d = _mnist_dir(data_dir)
    pre = "train" if split == "train" else "t10k"
    return all(_idx_file(d, f"{pre}-{k}") for k in ("images-idx3-ubyte", "labels-idx1-ubyte"))


def load_mnist(data_dir: str | Path | None = None, split: str = "train",
               in_bits: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """MNIST ``split`` ('train' or 'test') as ([N, 1, 28, 28] int64 pixels, [N] labels)."""
    d = _mnist_dir(data_dir)
    pre = {"train": "train", "test": "t10k"}.get(split)
    if pre is None:
        raise DatasetError(f"MNIST split must be 'train' or 'test', got {split!r}")
    files = {}
    for kind in ("images-idx3-ubyte", "labels-idx1-ubyte"):
        f = _idx_file(d, f"{pre}-{kind}")
        if f is None:
            raise DatasetError(
                f"MNIST {split} split not found in {d}: expected {pre}-{kind} or "
                f"{pre}-{kind}.gz; run `fireflys data mnist --dir {d}` to download them, or "
                f"put the IDX files there by hand, or pass --data-dir")
        files[kind] = f
    img = read_idx(files["images-idx3-ubyte"])
    lab = read_idx(files["labels-idx1-ubyte"])
    if img.ndim != 3 or img.dtype != np.uint8:
        raise DatasetError(f"{files['images-idx3-ubyte']}: expected uint8 images [N, H, W], "
                           f"got {img.dtype} {list(img.shape)}")
    if lab.ndim != 1 or lab.dtype != np.uint8:
        raise DatasetError(f"{files['labels-idx1-ubyte']}: expected uint8 labels [N], got "
                           f"{lab.dtype} {list(lab.shape)}")
    if len(img) != len(lab):
        raise DatasetError(f"{files['labels-idx1-ubyte']}: {len(lab)} labels for {len(img)} "
                           f"images in {files['images-idx3-ubyte'].name}")
    if lab.size and lab.max() > 9:
        raise DatasetError(f"{files['labels-idx1-ubyte']}: label {int(lab.max())} is not a "
                           "digit 0..9")
    return quantize_pixels(img, in_bits, 255.0)[:, None], lab.astype(np.int64)


def holdout_split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, held-out): a seeded random ``fraction`` of ``n`` held out."""
    idx = np.random.default_rng(seed).permutation(n)
    k = int(round(n * fraction))
    return np.sort(idx[k:]), np.sort(idx[:k])


MNIST_HELDOUT = 10_000  # frames of the MNIST training split held out (validation)
DEFAULT_HOLDOUT = 0.2  # held-out fraction of the other datasets' training splits


def heldout(dataset: str, n: int, seed: int,
            fraction: float = DEFAULT_HOLDOUT) -> tuple[np.ndarray, np.ndarray]:
    """The one held-out rule: indices (train, held-out) of a dataset's training split of ``n``
    frames for a run with ``seed`` (``fireflys train`` validates on the held-out frames when
    the dataset has no test split, and every command evaluating a model on ``--dataset``
    takes the same frames): MNIST holds out 10,000 frames (``fraction`` of a training file
    too small for that), the others ``fraction``."""
    if dataset == "mnist" and n * fraction > MNIST_HELDOUT:
        fraction = MNIST_HELDOUT / n
    return holdout_split(n, fraction, seed)


def keep_run_split(model_dir: str | Path, out_dir: str | Path) -> bool:
    """Copy the training run's metrics that :func:`run_split` reads for ``model_dir`` to
    ``out_dir/training_metrics.json`` (a planned copy of a model keeps its run's held-out
    frames); False when the model has no run."""
    import shutil

    d = Path(model_dir)
    for f in (d / "training_metrics.json", d.parent / "metrics.json"):
        if f.is_file():
            shutil.copy(f, Path(out_dir) / "training_metrics.json")
            return True
    return False


def run_split(model_dir: str | Path) -> tuple[int, float]:
    """(seed, held-out fraction) of the training run that produced the model in
    ``model_dir``, from the run's metrics beside it (``MODEL/training_metrics.json``, as
    shipped in models/) or above it (``RUN/metrics.json`` of ``fireflys train --out RUN``);
    (0, 0.2) for a model with no run (``fireflys compile``)."""
    import json

    d = Path(model_dir)
    for f in (d / "training_metrics.json", d.parent / "metrics.json"):
        if f.is_file():
            try:
                cfg = json.loads(f.read_text())["config"]
                return int(cfg["seed"]), float(cfg.get("holdout", DEFAULT_HOLDOUT))
            except (ValueError, KeyError, TypeError) as e:
                raise DatasetError(f"{f}: cannot read the run's seed ({e})") from None
    return 0, DEFAULT_HOLDOUT


# ------------------------------------------------------------------ CIFAR-10
CIFAR_DIR = "cifar-10-batches-py"


def _unpickle(path: Path) -> dict:
    import pickle

    try:
        with open(path, "rb") as f:
            d = pickle.load(f, encoding="bytes")
    except (OSError, EOFError, pickle.UnpicklingError, ValueError) as e:
        raise DatasetError(f"{path}: cannot read CIFAR-10 batch ({e})") from None
    if not isinstance(d, dict) or b"data" not in d or b"labels" not in d:
        raise DatasetError(f"{path}: not a CIFAR-10 python batch (needs b'data' and "
                           "b'labels')")
    return d


def load_cifar10(data_dir: str | Path, split: str = "train",
                 in_bits: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 python pickle batches (``data_batch_1..5``, ``test_batch``, directly in
    ``data_dir`` or in its ``cifar-10-batches-py``) as ([N, 3, 32, 32] pixels, [N] labels)."""
    d = Path(data_dir)
    if (d / CIFAR_DIR).is_dir():
        d = d / CIFAR_DIR
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    xs, ys = [], []
    for n in names:
        f = d / n
        if not f.is_file():
            raise DatasetError(f"CIFAR-10 {split} split: {f} not found (expected the python "
                               f"batches {', '.join(names)} in {d}); pass --data-dir")
        b = _unpickle(f)
        x = np.asarray(b[b"data"])
        y = np.asarray(b[b"labels"])
        if x.dtype != np.uint8 or x.ndim != 2 or x.shape[1] != 3072:
            raise DatasetError(f"{f}: b'data' must be uint8 [N, 3072], got {x.dtype} "
                               f"{list(x.shape)}")
        if len(y) != len(x):
            raise DatasetError(f"{f}: {len(y)} labels for {len(x)} images")
        if len(y) and (y.min() < 0 or y.max() > 9):
            raise DatasetError(f"{f}: labels must be 0..9")
        xs.append(x.reshape(-1, 3, 32, 32))
        ys.append(y.astype(np.int64))
    return quantize_pixels(np.concatenate(xs), in_bits, 255.0), np.concatenate(ys)
