"""Event-camera (DVS) input: events binned into the model's T time steps as 2-polarity spike
frames, readers of the formats a user has, and an offline N-MNIST-style set made from MNIST.

Encoding: events (x, y, polarity, t) -> [T, 2, H, W] binary frames; the recording is cut into
T equal time bins and a pixel spikes in a bin where it saw at least one event of that polarity
(channel 0: OFF, 1: ON). The frames are the cores' spike input (encoding ``spikes``).

Readers:

- N-MNIST as distributed (``Train/<digit>/<id>.bin``, ``Test/...``; also under ``NMNIST/``
  as tonic unpacks it): 5 bytes per event, x (8 bits), y (8 bits), polarity (1 bit) and a
  23-bit timestamp in microseconds; the 34x34 sensor.
- DVS-Gesture as distributed (``DvsGesture/userNN_<lighting>.aedat``, AEDAT 3.1, with
  ``userNN_<lighting>_labels.csv`` of class, start and end time in microseconds, and
  ``trials_to_train.txt`` / ``trials_to_test.txt``: one sample per labelled gesture) or as
  tonic saves it (``ibmGestureTrain/<user_lighting>/<class>.npy``, [N, 4] events); the
  128x128 sensor scaled down to the model's input size. Classes 0..10.

``nmnist-synth`` (:func:`synth_nmnist`): each MNIST digit, centred on a 34x34 canvas, is seen
by a sensor that makes three saccades (right-down, left-down... the N-MNIST triangle: the image
moves by (+2, +2), then (-4, 0), then (+2, -2) pixels, each saccade in ``steps`` equal
sub-pixel moves, bilinear interpolation). A pixel keeps the log intensity at which it last
fired; when the present log intensity differs from it by at least ``threshold`` it emits an
event (ON for a rise, OFF for a fall) and takes the new level. The recording's sub-steps are
cut into T equal bins. Deterministic: no noise, no random numbers.
"""

from __future__ import annotations

import csv
import struct
from pathlib import Path

import numpy as np

from fireflys.data import DatasetError, load_mnist

NMNIST_SENSOR = 34
DVS_SENSOR = 128
DVS_CLASSES = 11


def events_to_frames(ev: np.ndarray, T: int, size: int, sensor: int = DVS_SENSOR,
                     t_range: tuple[int, int] | None = None) -> np.ndarray:
    """Events [N, 4] = (x, y, polarity, t) -> binary frames [T, 2, size, size]: T equal time
    bins over ``t_range`` (default: the first to the last event), the ``sensor`` x ``sensor``
    array scaled to ``size`` x ``size``, 1 where a pixel saw at least one event of that
    polarity in that bin."""
    out = np.zeros((T, 2, size, size), dtype=np.int64)
    if not len(ev):
        return out
    x, y, p, t = (ev[:, i].astype(np.int64) for i in range(4))
    t0, t1 = t_range if t_range is not None else (int(t.min()), int(t.max()))
    b = np.clip((t - t0) * T // max(1, t1 - t0 + 1), 0, T - 1)
    out[b, (p > 0).astype(np.int64), y * size // sensor, x * size // sensor] = 1
    return out


# ------------------------------------------------------------------ N-MNIST


def read_nmnist_bin(path: str | Path) -> np.ndarray:
    """One N-MNIST file -> events [N, 4] (x, y, polarity, t in microseconds)."""
    p = Path(path)
    try:
        raw = np.frombuffer(p.read_bytes(), dtype=np.uint8)
    except OSError as e:
        raise DatasetError(f"{p}: cannot read ({e.strerror or e})") from None
    if len(raw) % 5:
        raise DatasetError(f"{p}: {len(raw)} bytes: not whole 5-byte N-MNIST events")
    r = raw.reshape(-1, 5).astype(np.int64)
    x, y = r[:, 0], r[:, 1]
    pol = r[:, 2] >> 7
    t = ((r[:, 2] & 0x7F) << 16) | (r[:, 3] << 8) | r[:, 4]
    if len(r) and (x.max() >= NMNIST_SENSOR or y.max() >= NMNIST_SENSOR):
        raise DatasetError(f"{p}: x/y outside the {NMNIST_SENSOR}x{NMNIST_SENSOR} sensor")
    return np.stack([x, y, pol, t], axis=1)


def load_nmnist(data_dir: str | Path, split: str = "train",
                T: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """N-MNIST ``split`` -> ([N, T, 2, 34, 34] binary frames, [N] labels)."""
    d = Path(data_dir)
    if (d / "NMNIST").is_dir():
        d = d / "NMNIST"
    sub = d / ("Train" if split == "train" else "Test")
    files = sorted(sub.glob("[0-9]/*.bin"))
    if not files:
        raise DatasetError(f"N-MNIST {split} split: no <digit>/<id>.bin files under {sub} "
                           "(the Train/ and Test/ folders of the N-MNIST distribution); "
                           "pass --data-dir")
    xs = [events_to_frames(read_nmnist_bin(f), T, NMNIST_SENSOR, NMNIST_SENSOR)
          for f in files]
    return np.stack(xs), np.array([int(f.parent.name) for f in files], dtype=np.int64)


# ------------------------------------------------------------------ DVS-Gesture

AEDAT_PACKET = struct.Struct("<hhiiiiii")  # type, source, size, ts offset, overflow, cap, n, valid
POLARITY_EVENT = 1


def read_aedat31(path: str | Path) -> np.ndarray:
    """The polarity events of an AEDAT 3.1 file -> [N, 4] (x, y, polarity, t in
    microseconds); other event types are skipped, invalid events dropped."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise DatasetError(f"{p}: cannot read ({e.strerror or e})") from None
    end = raw.find(b"#!END-HEADER\r\n")
    if not raw.startswith(b"#!AER-DAT3") or end < 0:
        raise DatasetError(f"{p}: not an AEDAT 3.x file (no '#!AER-DAT3' ... "
                           "'#!END-HEADER' header)")
    pos = end + len(b"#!END-HEADER\r\n")
    chunks: list[np.ndarray] = []
    while pos < len(raw):
        if pos + AEDAT_PACKET.size > len(raw):
            raise DatasetError(f"{p}: truncated packet header at byte {pos}")
        etype, _, esize, _, overflow, _, number, _ = AEDAT_PACKET.unpack_from(raw, pos)
        pos += AEDAT_PACKET.size
        n_bytes = esize * number
        if esize <= 0 or pos + n_bytes > len(raw):
            raise DatasetError(f"{p}: packet at byte {pos - AEDAT_PACKET.size} announces "
                               f"{number} events of {esize} bytes: past the end of the file")
        if etype == POLARITY_EVENT:
            if esize != 8:
                raise DatasetError(f"{p}: polarity events of {esize} bytes (8 expected)")
            ev = np.frombuffer(raw, dtype="<u4", count=2 * number, offset=pos).reshape(-1, 2)
            data = ev[:, 0].astype(np.int64)
            t = ev[:, 1].astype(np.int64) | (int(overflow) << 31)
            keep = (data & 1) == 1
            chunks.append(np.stack([(data >> 17) & 0x7FFF, (data >> 2) & 0x7FFF,
                                    (data >> 1) & 1, t], axis=1)[keep])
        pos += n_bytes
    return np.concatenate(chunks) if chunks else np.zeros((0, 4), np.int64)


def _gesture_samples(d: Path, split: str, T: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The distributed layout: one sample per labelled gesture of each listed trial."""
    lst = d / ("trials_to_train.txt" if split == "train" else "trials_to_test.txt")
    if not lst.is_file():
        raise DatasetError(f"DVS-Gesture {split} split: {lst} not found")
    xs, ys = [], []
    for name in (s.strip() for s in lst.read_text().splitlines()):
        if not name:
            continue
        f = d / name
        labels = f.with_name(f.stem + "_labels.csv")
        if not labels.is_file():
            raise DatasetError(f"{labels}: not found (the labels of {f.name})")
        ev = read_aedat31(f)
        with open(labels, newline="") as fh:
            rows = list(csv.reader(fh))
        for i, row in enumerate(rows[1:], 2):
            try:
                c, t0, t1 = (int(v) for v in row[:3])
            except ValueError:
                raise DatasetError(f"{labels}: line {i}: expected class,startTime_usec,"
                                   f"endTime_usec, got {row}") from None
            if not 1 <= c <= DVS_CLASSES or t1 <= t0:
                raise DatasetError(f"{labels}: line {i}: class {c} outside 1..{DVS_CLASSES} "
                                   f"or an empty time range")
            seg = ev[(ev[:, 3] >= t0) & (ev[:, 3] < t1)]
            xs.append(events_to_frames(seg, T, size, DVS_SENSOR, (t0, t1 - 1)))
            ys.append(c - 1)
    if not xs:
        raise DatasetError(f"DVS-Gesture {split} split: no labelled gesture in {lst}")
    return np.stack(xs), np.array(ys, dtype=np.int64)


def _gesture_npy(sub: Path, split: str, T: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """tonic's layout: ``<user_lighting>/<class>.npy`` event arrays."""
    files = sorted(sub.glob("*/*.npy"))
    if not files:
        raise DatasetError(f"DVS-Gesture {split} split: no <user>/<class>.npy files under "
                           f"{sub} (tonic's DVSGesture layout); pass --data-dir")
    xs, ys = [], []
    for f in files:
        try:
            c = int(f.stem)
        except ValueError:
            raise DatasetError(f"{f}: file name must be the class number 0..10") from None
        if not 0 <= c < DVS_CLASSES:
            raise DatasetError(f"{f}: class {c} outside 0..{DVS_CLASSES - 1}")
        try:
            ev = np.load(f)
        except (OSError, ValueError) as e:
            raise DatasetError(f"{f}: cannot read ({e})") from None
        if ev.ndim != 2 or ev.shape[1] != 4:
            raise DatasetError(f"{f}: events must be [N, 4] (x, y, p, t), got "
                               f"{list(ev.shape)}")
        if len(ev) and (ev[:, :2].min() < 0 or ev[:, :2].max() >= DVS_SENSOR):
            raise DatasetError(f"{f}: x/y outside the {DVS_SENSOR}x{DVS_SENSOR} sensor")
        xs.append(events_to_frames(ev, T, size))
        ys.append(c)
    return np.stack(xs), np.array(ys, dtype=np.int64)


def load_dvs_gesture(data_dir: str | Path, split: str = "train", T: int = 4,
                     size: int = 48) -> tuple[np.ndarray, np.ndarray]:
    """DVS-Gesture ``split`` -> ([N, T, 2, size, size] binary frames, [N] labels 0..10), from
    the distributed AEDAT files or tonic's npy layout (whichever ``data_dir`` holds)."""
    d = Path(data_dir)
    for cand in (d, d / "DvsGesture"):
        if (cand / "trials_to_train.txt").is_file():
            return _gesture_samples(cand, split, T, size)
    if (d / "DVSGesture").is_dir():
        d = d / "DVSGesture"
    return _gesture_npy(d / ("ibmGestureTrain" if split == "train" else "ibmGestureTest"),
                        split, T, size)


# ------------------------------------------------------------------ N-MNIST-style synthetic set

SACCADES = ((2.0, 2.0), (-4.0, 0.0), (2.0, -2.0))  # image displacement per saccade (x, y)


def _shift_int(img: np.ndarray, ox: int, oy: int) -> np.ndarray:
    """[N, S, S] images moved by whole pixels (ox right, oy down), zero where nothing moves in."""
    s = img.shape[1]
    out = np.zeros_like(img)
    if abs(ox) >= s or abs(oy) >= s:
        return out
    out[:, max(0, oy):s + min(0, oy), max(0, ox):s + min(0, ox)] = \
        img[:, max(0, -oy):s - max(0, oy), max(0, -ox):s - max(0, ox)]
    return out


def _shifted(img: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """[N, S, S] images moved by (dx, dy) pixels, bilinear, zero outside."""
    ix, iy = int(np.floor(dx)), int(np.floor(dy))
    fx, fy = dx - ix, dy - iy
    return ((1 - fx) * (1 - fy) * _shift_int(img, ix, iy)
            + fx * (1 - fy) * _shift_int(img, ix + 1, iy)
            + (1 - fx) * fy * _shift_int(img, ix, iy + 1)
            + fx * fy * _shift_int(img, ix + 1, iy + 1))


def synth_nmnist(images: np.ndarray, T: int = 4, steps: int = 12,
                 threshold: float = 0.3, chunk: int = 4096) -> np.ndarray:
    """MNIST digits [N, 28, 28] (0..255) -> N-MNIST-style event frames [N, T, 2, 34, 34]
    (uint8 0/1; module docstring: three saccades of ``steps`` moves, log-intensity change
    ``threshold``)."""
    imgs = np.asarray(images)
    if imgs.ndim != 3 or imgs.shape[1:] != (28, 28):
        raise DatasetError(f"synth_nmnist needs [N, 28, 28] digits, got {list(imgs.shape)}")
    path = [(0.0, 0.0)]
    for sx, sy in SACCADES:
        x0, y0 = path[-1]
        path += [(x0 + sx * k / steps, y0 + sy * k / steps) for k in range(1, steps + 1)]
    n_moves = len(path) - 1
    b_of = np.minimum(np.arange(n_moves) * T // n_moves, T - 1)
    out = np.zeros((len(imgs), T, 2, NMNIST_SENSOR, NMNIST_SENSOR), dtype=np.uint8)
    off = (NMNIST_SENSOR - 28) // 2 - 1  # the saccades' box is centred
    for lo in range(0, len(imgs), chunk):
        canvas = np.zeros((len(imgs[lo:lo + chunk]), NMNIST_SENSOR, NMNIST_SENSOR))
        canvas[:, off:off + 28, off:off + 28] = imgs[lo:lo + chunk] / 255.0
        ref = np.log(0.05 + canvas)
        o = out[lo:lo + chunk]
        for m, (dx, dy) in enumerate(path[1:]):
            cur = np.log(0.05 + _shifted(canvas, dx, dy))
            diff = cur - ref
            on, off_ = diff >= threshold, diff <= -threshold
            o[:, b_of[m], 1] |= on
            o[:, b_of[m], 0] |= off_
            fired = on | off_
            ref = np.where(fired, cur, ref)
    return out


def load_nmnist_synth(data_dir: str | Path | None, split: str = "train", T: int = 4,
                      ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`synth_nmnist` of MNIST ``split`` (MNIST's directory: ``data_dir``, else the
    default) -> ([N, T, 2, 34, 34] frames, [N] labels)."""
    x, y = load_mnist(data_dir, split, 8)
    return synth_nmnist(x[:, 0], T), y
