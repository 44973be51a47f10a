"""Dataset loaders: MNIST IDX (gz and raw), clear errors for missing and corrupt files."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from fireflys.data import (
    DatasetError,
    holdout_split,
    load_cifar10,
    load_mnist,
    mnist_split_available,
    read_idx,
)
from fireflys.events import load_dvs_gesture


def _idx(arr: np.ndarray, code: int = 0x08) -> bytes:
    return struct.pack(">BBBB", 0, 0, code, arr.ndim) + b"".join(
        struct.pack(">I", d) for d in arr.shape) + arr.astype(np.uint8).tobytes()


def _write(d, split: str, img: np.ndarray, lab: np.ndarray, gz: bool) -> None:
    for kind, arr in (("images-idx3-ubyte", img), ("labels-idx1-ubyte", lab)):
        raw = _idx(arr)
        name = f"{split}-{kind}" + (".gz" if gz else "")
        (d / name).write_bytes(gzip.compress(raw) if gz else raw)


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_round_trip(tmp_path, gz: bool) -> None:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (5, 28, 28)).astype(np.uint8)
    lab = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    _write(tmp_path, "train", img, lab, gz)
    x, y = load_mnist(tmp_path, "train")
    assert x.shape == (5, 1, 28, 28) and x.dtype == np.int64
    np.testing.assert_array_equal(x[:, 0], img)  # 8 bits: pixels unchanged
    np.testing.assert_array_equal(y, lab)
    x4, _ = load_mnist(tmp_path, "train", in_bits=4)
    assert x4.max() <= 15
    assert mnist_split_available(tmp_path, "train") and not mnist_split_available(tmp_path,
                                                                                  "test")


def test_missing_files_name_the_directory_and_files(tmp_path) -> None:
    with pytest.raises(DatasetError, match=r"train-images-idx3-ubyte or "
                       r"train-images-idx3-ubyte\.gz.*--data-dir"):
        load_mnist(tmp_path, "train")


@pytest.mark.parametrize("corrupt", ["magic", "truncated", "count", "label", "gzip"])
def test_corrupt_files(tmp_path, corrupt: str) -> None:
    img = np.zeros((3, 28, 28), dtype=np.uint8)
    lab = np.array([1, 2, 3], dtype=np.uint8)
    _write(tmp_path, "train", img, lab, gz=False)
    f_img, f_lab = tmp_path / "train-images-idx3-ubyte", tmp_path / "train-labels-idx1-ubyte"
    if corrupt == "magic":
        f_img.write_bytes(b"\x01\x02" + f_img.read_bytes()[2:])
        msg = "train-images-idx3-ubyte: not an IDX file"
    elif corrupt == "truncated":
        f_img.write_bytes(f_img.read_bytes()[:-7])
        msg = "IDX data has .* bytes, dimensions \\[3, 28, 28\\]"
    elif corrupt == "count":
        f_lab.write_bytes(_idx(np.array([1, 2], dtype=np.uint8)))
        msg = "2 labels for 3 images"
    elif corrupt == "label":
        f_lab.write_bytes(_idx(np.array([1, 2, 12], dtype=np.uint8)))
        msg = "label 12 is not a digit"
    else:
        (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b garbage")
        f_img.unlink()
        msg = "cannot read"
    with pytest.raises(DatasetError, match=msg):
        load_mnist(tmp_path, "train")


def test_read_idx_rejects_empty(tmp_path) -> None:
    (tmp_path / "e").write_bytes(b"")
    with pytest.raises(DatasetError, match="not an IDX file"):
        read_idx(tmp_path / "e")


def test_holdout_split_is_a_seeded_partition() -> None:
    tr, va = holdout_split(100, 0.2, 3)
    assert len(va) == 20 and len(tr) == 80
    assert sorted(np.concatenate([tr, va]).tolist()) == list(range(100))
    np.testing.assert_array_equal(holdout_split(100, 0.2, 3)[1], va)


def test_cifar10_pickles(tmp_path) -> None:
    import pickle

    d = tmp_path / "cifar-10-batches-py"
    d.mkdir()
    rng = np.random.default_rng(1)
    for n in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        x = rng.integers(0, 256, (2, 3072)).astype(np.uint8)
        with open(d / n, "wb") as f:
            pickle.dump({b"data": x, b"labels": [3, 7]}, f)
    x, y = load_cifar10(tmp_path, "train")
    assert x.shape == (10, 3, 32, 32) and y.tolist() == [3, 7] * 5
    xt, _ = load_cifar10(tmp_path, "test")
    with open(d / "test_batch", "rb") as f:
        raw = pickle.load(f)[b"data"]
    np.testing.assert_array_equal(xt.reshape(2, -1), raw)  # channel-major, as stored
    (d / "data_batch_3").write_bytes(b"not a pickle")
    with pytest.raises(DatasetError, match="data_batch_3: cannot read CIFAR-10 batch"):
        load_cifar10(tmp_path, "train")
    with pytest.raises(DatasetError, match="CIFAR-10 train split: .*not found"):
        load_cifar10(tmp_path / "nope", "train")


def test_dvs_gesture_tonic_layout(tmp_path) -> None:
    u = tmp_path / "DVSGesture" / "ibmGestureTrain" / "user01_fluorescent"
    u.mkdir(parents=True)
    # class 4: events at pixel (x=127, y=0) polarity 1 early, (x=0, y=64) polarity 0 late
    ev = np.array([[127, 0, 1, 1000], [0, 64, 0, 9000], [5, 5, 1, 5000]])
    np.save(u / "4.npy", ev)
    np.save(u / "0.npy", np.zeros((0, 4), dtype=np.int64))
    x, y = load_dvs_gesture(tmp_path, "train", T=2, size=48)
    assert x.shape == (2, 2, 2, 48, 48) and y.tolist() == [0, 4]
    f = x[1]
    assert f[0, 1, 0, 47] == 1 and f[1, 0, 24, 0] == 1 and f.sum() == 3
    assert x[0].sum() == 0
    np.save(u / "12.npy", ev)
    with pytest.raises(DatasetError, match="class 12 outside 0..10"):
        load_dvs_gesture(tmp_path, "train")
    (u / "12.npy").unlink()
    np.save(u / "3.npy", ev[:, :3])
    with pytest.raises(DatasetError, match=r"3.npy: events must be \[N, 4\]"):
        load_dvs_gesture(tmp_path, "train")
    with pytest.raises(DatasetError, match="no <user>/<class>.npy files"):
        load_dvs_gesture(tmp_path, "test")


def test_cli_frames_are_the_runs_held_out_frames(tmp_path: Path) -> None:
    """`fireflys golden/simulate/soak/plan/phi --dataset digits` on a run's model evaluate on
    exactly the frames `fireflys train` validated on (the run's seed, not seed 0), and Phi's
    calibration frames are training frames of that run."""
    import json

    from fireflys.cli.options import calib_frames, eval_frames
    from fireflys.compiler.compile import random_model
    from fireflys.core.model import save_model
    from fireflys.data import run_split
    from fireflys.train.config import TrainConfig
    from fireflys.train.dataset import load_dataset

    arch = "1x8x8-4c3p1-mp2-10fc"
    cfg = TrainConfig(arch=arch, dataset="digits", seed=3)
    run = tmp_path / "run"
    save_model(random_model(arch, sparsity=0.5, seed=1, calib_frames=2), run / "model")
    (run / "metrics.json").write_text(json.dumps({"config": {"seed": 3, "holdout": 0.2}}))
    assert run_split(run / "model") == (3, 0.2)
    from fireflys.core.model import load_model

    model = load_model(run / "model")
    xtr, _, xva, yva, _ = load_dataset(cfg)
    x, y = eval_frames(model, run / "model", "digits", 50, seed=0)
    np.testing.assert_array_equal(x, xva[:50])
    np.testing.assert_array_equal(y, yva[:50])
    # seed 0 (what the CLI used before) gives other frames: the check can fail
    other = load_dataset(TrainConfig(arch=arch, dataset="digits", seed=0))[2]
    assert not np.array_equal(other[:50], xva[:50])
    cal = calib_frames(model, run / "model", "digits", 40, seed=0)
    np.testing.assert_array_equal(cal, xtr[:40])
    # a planned copy elsewhere keeps the run's split (its held-out frames stay held out)
    from fireflys.data import keep_run_split

    (tmp_path / "planned").mkdir()
    assert keep_run_split(run / "model", tmp_path / "planned")
    assert run_split(tmp_path / "planned") == (3, 0.2)
    assert not keep_run_split(tmp_path / "planned" / "nothing", tmp_path)


def test_run_split_of_the_shipped_model() -> None:
    from fireflys.data import run_split
    from fireflys.paths import REPO

    assert run_split(REPO / "models" / "scnn5_mnist") == (0, 0.2)
    assert run_split(REPO / "build" / "no_such_model") == (0, 0.2)
