"""``--split {val,test}`` and ``--data-dir`` on the commands that evaluate a model on a
dataset, and the training run's test report: small MNIST IDX files written by the test."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from fireflys.cli.main import main
from fireflys.cli.options import calib_frames, eval_frames
from fireflys.core import golden
from fireflys.core.model import load_model
from fireflys.data import heldout, load_mnist
from fireflys.paths import REPO

SHIPPED = REPO / "models" / "scnn5_mnist"


def _write_split(d: Path, split: str, n: int, seed: int) -> None:
    """``n`` random 28x28 frames with digit-ish blobs and labels, as IDX files."""
    rng = np.random.default_rng(seed)
    img = (rng.random((n, 28, 28)) < 0.15) * rng.integers(64, 256, (n, 28, 28))
    lab = rng.integers(0, 10, n)
    for kind, arr in (("images-idx3-ubyte", img), ("labels-idx1-ubyte", lab)):
        raw = struct.pack(">BBBB", 0, 0, 0x08, arr.ndim) + b"".join(
            struct.pack(">I", s) for s in arr.shape) + arr.astype(np.uint8).tobytes()
        (d / f"{split}-{kind}").write_bytes(raw)


@pytest.fixture
def mnist_dir(tmp_path: Path) -> Path:
    d = tmp_path / "mnist"
    d.mkdir()
    _write_split(d, "train", 40, 1)
    _write_split(d, "t10k", 12, 2)
    return d


def test_golden_on_the_test_split(mnist_dir: Path, tmp_path: Path, capsys) -> None:
    """`fireflys golden --split test --data-dir DIR` evaluates on DIR's t10k files: the
    accuracy it prints and records is golden.run's on them; the report names the split."""
    out = tmp_path / "g.json"
    assert main(["golden", str(SHIPPED), "--dataset", "mnist", "--split", "test",
                 "--data-dir", str(mnist_dir), "--frames", "12", "--json", str(out)]) == 0
    x, y = load_mnist(mnist_dir, "test")
    acc = float((golden.run(load_model(SHIPPED), x).pred == y).mean())
    assert f"accuracy: {acc * 100:.2f} %" in capsys.readouterr().out
    rep = json.loads(out.read_text())
    assert rep["split"] == "test" and rep["data_dir"] == str(mnist_dir)
    assert rep["frames"] == 12 and rep["accuracy"] == pytest.approx(acc)


def test_val_split_reads_the_held_out_frames_of_data_dir(mnist_dir: Path) -> None:
    """--split val takes the run's held-out frames of DIR's training file (the one rule),
    calibration its other frames: the two never overlap."""
    model = load_model(SHIPPED)
    x, y = eval_frames(model, SHIPPED, "mnist", 100, 0, split="val", data_dir=mnist_dir)
    xa, ya = load_mnist(mnist_dir, "train")
    tr, va = heldout("mnist", len(xa), 0, 0.2)
    assert len(va) == 8 and len(tr) == 32  # a small file: 20 % held out
    np.testing.assert_array_equal(x, xa[va])
    np.testing.assert_array_equal(y, ya[va])
    cal = calib_frames(model, SHIPPED, "mnist", 100, 0, data_dir=mnist_dir)
    np.testing.assert_array_equal(cal, xa[tr])
    xt, _ = eval_frames(model, SHIPPED, "mnist", 5, 0, split="test", data_dir=mnist_dir)
    np.testing.assert_array_equal(xt, load_mnist(mnist_dir, "test")[0][:5])


def test_missing_test_files_are_named(tmp_path: Path, capsys) -> None:
    d = tmp_path / "only_train"
    d.mkdir()
    _write_split(d, "train", 10, 1)
    assert main(["golden", str(SHIPPED), "--dataset", "mnist", "--split", "test",
                 "--data-dir", str(d), "--frames", "4"]) == 2
    err = capsys.readouterr().err
    assert "t10k-images-idx3-ubyte" in err and str(d) in err and "--data-dir" in err


@pytest.mark.parametrize("dataset, msg", [("digits", "digits frames have no test split"),
                                          ("random", "random frames have no split")])
def test_datasets_without_a_test_split_are_refused(dataset: str, msg: str, capsys) -> None:
    assert main(["golden", str(SHIPPED), "--dataset", dataset, "--split", "test",
                 "--frames", "2"]) == 2
    assert msg in capsys.readouterr().err


@pytest.mark.parametrize("cmd", [
    ["golden"], ["simulate"], ["soak"], ["plan"], ["bench-hw", "--out", "O"], ["phi", "report"],
    ["phi", "rtl"]], ids=["golden", "simulate", "soak", "plan", "bench-hw", "phi-report",
                       "phi-rtl"])
def test_every_dataset_command_takes_split_and_data_dir(cmd: list[str]) -> None:
    from fireflys.cli.main import build_parser

    a = build_parser().parse_args([*cmd, "M", "--dataset", "mnist", "--split", "test",
                                   "--data-dir", "D"])
    assert (a.split, a.data_dir) == ("test", "D")


def test_compare_takes_split_and_data_dir() -> None:
    from fireflys.cli.main import build_parser

    a = build_parser().parse_args(["compare", "RUN", "--split", "test", "--data-dir", "D"])
    assert (a.split, a.data_dir) == ("test", "D")


def test_training_validates_on_held_out_frames_and_reports_the_test_split(
        mnist_dir: Path, tmp_path: Path) -> None:
    """With t10k files present, validation is still the held-out frames (nothing is chosen on
    the test split); the test accuracy is reported (PyTorch eval and golden) and recorded."""
    from fireflys.train.config import TrainConfig
    from fireflys.train.dataset import load_dataset, load_test
    from fireflys.train.trainer import train

    cfg = TrainConfig(arch="1x28x28-2c3p1-mp2-10fc", dataset="mnist", data_dir=str(mnist_dir),
                      out=str(tmp_path / "run"), epochs=1, batch=8, max_steps=2)
    xtr, _, xva, _, note = load_dataset(cfg)
    assert (len(xtr), len(xva)) == (32, 8) and "held-out 8 frames" in note
    xt, yt, tnote = load_test(cfg)
    assert len(xt) == 12 and "t10k" in tnote
    r = train(cfg, quiet=True)
    t = r.check["test"]
    model = load_model(tmp_path / "run" / "model")
    assert t["frames"] == 12
    assert t["golden_acc"] == pytest.approx(float((golden.run(model, xt).pred == yt).mean()))
    assert t["torch_acc"] == pytest.approx(t["golden_acc"])  # bit-exact: same predictions
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["test"]["split"] == tnote and "held-out" in metrics["validation"]
