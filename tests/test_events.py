"""Event-camera input (fireflys.events): N-MNIST and AEDAT 3.1 files written byte by byte here
and read back, the binning into T spike frames, and the offline N-MNIST-style set."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from fireflys.data import DatasetError
from fireflys.events import (
    events_to_frames,
    load_dvs_gesture,
    load_nmnist,
    read_aedat31,
    read_nmnist_bin,
    synth_nmnist,
)


def _nmnist_bytes(ev: list[tuple[int, int, int, int]]) -> bytes:
    """N-MNIST's 40-bit events: x, y, then polarity (bit 39... its byte's top bit) and a
    23-bit timestamp, big-endian."""
    out = bytearray()
    for x, y, p, t in ev:
        out += bytes([x, y, (p << 7) | ((t >> 16) & 0x7F), (t >> 8) & 0xFF, t & 0xFF])
    return bytes(out)


def test_nmnist_reader_and_binning(tmp_path: Path) -> None:
    ev = [(0, 0, 1, 0), (33, 33, 0, 0x7FFFFF), (10, 20, 1, 70000), (10, 20, 0, 250000)]
    f = tmp_path / "NMNIST" / "Train" / "7" / "00001.bin"
    f.parent.mkdir(parents=True)
    f.write_bytes(_nmnist_bytes(ev))
    got = read_nmnist_bin(f)
    assert got.tolist() == [list(e) for e in ev]
    (tmp_path / "NMNIST" / "Train" / "2").mkdir()
    (tmp_path / "NMNIST" / "Train" / "2" / "00002.bin").write_bytes(b"")
    x, y = load_nmnist(tmp_path, "train", T=4)
    assert x.shape == (2, 4, 2, 34, 34) and y.tolist() == [2, 7]
    assert x[0].sum() == 0
    fr = x[1]  # bins of (0x7FFFFF + 1) / 4 microseconds
    assert fr[0, 1, 0, 0] == 1 and fr[3, 0, 33, 33] == 1
    assert fr[0, 1, 20, 10] == 1 and fr[0, 0, 20, 10] == 1 and fr.sum() == 4
    f.write_bytes(_nmnist_bytes(ev)[:-1])
    with pytest.raises(DatasetError, match="not whole 5-byte N-MNIST events"):
        load_nmnist(tmp_path, "train")
    f.write_bytes(_nmnist_bytes([(34, 0, 0, 1)]))
    with pytest.raises(DatasetError, match="outside the 34x34 sensor"):
        read_nmnist_bin(f)
    with pytest.raises(DatasetError, match="N-MNIST test split: no <digit>/<id>.bin"):
        load_nmnist(tmp_path, "test")


def _aedat(packets: list[tuple[int, list[tuple[int, int]], int]]) -> bytes:
    """An AEDAT 3.1 file: header lines, then per packet (type, [(data, ts)], overflow)."""
    out = bytearray(b"#!AER-DAT3.1\r\n#Format: RAW\r\n#Source 1: DVS128\r\n#!END-HEADER\r\n")
    for etype, events, overflow in packets:
        size = 8 if etype == 1 else 12
        out += struct.pack("<hhiiiiii", etype, 1, size, 4, overflow, len(events), len(events),
                           len(events))
        for data, ts in events:
            out += struct.pack("<II", data, ts) + (b"\0" * 4 if size == 12 else b"")
    return bytes(out)


def _pol(x: int, y: int, p: int, valid: int = 1) -> int:
    return (x << 17) | (y << 2) | (p << 1) | valid


def test_aedat31_reader(tmp_path: Path) -> None:
    f = tmp_path / "a.aedat"
    f.write_bytes(_aedat([(1, [(_pol(127, 0, 1), 10), (_pol(5, 6, 0, valid=0), 11)], 0),
                          (2, [(123, 12)], 0),  # another event type: skipped
                          (1, [(_pol(0, 127, 0), 13)], 1)]))  # timestamp overflow 1
    assert read_aedat31(f).tolist() == [[127, 0, 1, 10], [0, 127, 0, 13 | (1 << 31)]]
    f.write_bytes(_aedat([(1, [(_pol(1, 1, 1), 1)], 0)])[:-3])
    with pytest.raises(DatasetError, match="past the end of the file"):
        read_aedat31(f)
    f.write_bytes(b"#!AER-DAT2.0\r\n")
    with pytest.raises(DatasetError, match="not an AEDAT 3.x file"):
        read_aedat31(f)


def test_dvs_gesture_as_distributed(tmp_path: Path) -> None:
    d = tmp_path / "DvsGesture"
    d.mkdir()
    # two gestures in one trial: class 3 (0..999 us), class 11 (1000..2999 us)
    ev = [(_pol(64, 64, 1), 100), (_pol(0, 0, 0), 900), (_pol(127, 127, 1), 1000),
          (_pol(32, 96, 0), 2999), (_pol(1, 1, 1), 5000)]
    (d / "user01_fluorescent.aedat").write_bytes(_aedat([(1, ev, 0)]))
    (d / "user01_fluorescent_labels.csv").write_text(
        "class,startTime_usec,endTime_usec\n3,0,1000\n11,1000,3000\n")
    (d / "trials_to_train.txt").write_text("user01_fluorescent.aedat\n")
    (d / "trials_to_test.txt").write_text("\n")
    x, y = load_dvs_gesture(tmp_path, "train", T=2, size=32)
    assert x.shape == (2, 2, 2, 32, 32) and y.tolist() == [2, 10]
    assert x[0, 0, 1, 16, 16] == 1 and x[0, 1, 0, 0, 0] == 1 and x[0].sum() == 2
    assert x[1, 0, 1, 31, 31] == 1 and x[1, 1, 0, 24, 8] == 1 and x[1].sum() == 2
    with pytest.raises(DatasetError, match="no labelled gesture"):
        load_dvs_gesture(tmp_path, "test")
    (d / "user01_fluorescent_labels.csv").write_text("class,start,end\n12,0,10\n")
    with pytest.raises(DatasetError, match=r"line 2: class 12 outside 1..11"):
        load_dvs_gesture(tmp_path, "train")


def test_binning_over_a_given_range() -> None:
    ev = np.array([[0, 0, 1, 10], [1, 0, 0, 19]])
    f = events_to_frames(ev, 2, 2, sensor=2, t_range=(0, 19))
    assert f[1, 1, 0, 0] == 1 and f[1, 0, 0, 1] == 1 and f.sum() == 2


def test_synthetic_nmnist_is_deterministic_and_follows_edges() -> None:
    img = np.zeros((2, 28, 28), np.uint8)
    img[1, 10:18, 10:18] = 255  # a bright square
    a = synth_nmnist(img, T=3)
    b = synth_nmnist(img, T=3)
    assert a.shape == (2, 3, 2, 34, 34) and a.dtype == np.uint8 and np.array_equal(a, b)
    assert a[0].sum() == 0  # nothing moves: no events
    sq = a[1]
    assert sq[:, 1].sum() > 0 and sq[:, 0].sum() > 0  # both polarities
    # first saccade moves the image right and down: ON events on the square's leading
    # (bottom-right) edge, OFF on its trailing (top-left) edge, in the first bin
    on, off = sq[0, 1], sq[0, 0]
    ys, xs = np.nonzero(on)
    yo, xo = np.nonzero(off)
    assert xs.mean() > xo.mean() and ys.mean() > yo.mean()
    with pytest.raises(DatasetError, match=r"needs \[N, 28, 28\]"):
        synth_nmnist(np.zeros((2, 8, 8)))


def _tiny_mnist(d: Path, n_train: int, n_test: int) -> None:
    import gzip

    rng = np.random.default_rng(0)
    d.mkdir(parents=True)
    for pre, n in (("train", n_train), ("t10k", n_test)):
        img = np.zeros((n, 28, 28), np.uint8)
        lab = rng.integers(0, 10, n).astype(np.uint8)
        for i, c in enumerate(lab):  # a bar whose place depends on the class
            img[i, 6:22, 4 + 2 * int(c): 6 + 2 * int(c)] = 255
        for kind, arr in (("images-idx3-ubyte", img), ("labels-idx1-ubyte", lab)):
            head = bytes([0, 0, 8, arr.ndim]) + b"".join(int(s).to_bytes(4, "big")
                                                         for s in arr.shape)
            (d / f"{pre}-{kind}.gz").write_bytes(gzip.compress(head + arr.tobytes()))


def test_nmnist_synth_trains_and_runs_bit_exact_through_the_rtl(tmp_path: Path,
                                                                capsys) -> None:
    """The offline event flow end to end, small: train on nmnist-synth, then PyTorch ==
    golden == RTL on held-out event frames (fireflys compare)."""
    from fireflys.cli.main import main

    _tiny_mnist(tmp_path / "mnist", 60, 12)
    run = tmp_path / "run"
    assert main(["train", "--arch", "2x34x34-4c3p1-mp2-10fc", "--dataset", "nmnist-synth",
                 "--data-dir", str(tmp_path / "mnist"), "--epochs", "1", "--batch", "16",
                 "--max-steps", "2", "--sparsity", "0.5", "--check-frames", "12",
                 "--out", str(run)]) == 0
    out = capsys.readouterr().out
    assert "N-MNIST-style events made from MNIST" in out
    assert main(["compare", str(run), "--frames", "12", "--rtl-frames", "3"]) == 0
    out = capsys.readouterr().out
    assert "identical (spikes, scores, predictions): yes" in out
    # the model commands take the same held-out frames by name
    assert main(["golden", str(run / "model"), "--dataset", "nmnist-synth", "--data-dir",
                 str(tmp_path / "mnist"), "--frames", "12"]) == 0
    assert "nmnist-synth val" in capsys.readouterr().out
