"""Bad-input campaign: hypothesis generates malformed inputs for every reader of the flow and
checks that each one ends in the reader's named error (one line, naming the file or token) or
in a valid, internally consistent result; anything else is a crash and is reported.

Campaigns (each ``fn(examples) -> CampaignResult``):

* ``model_json``: one field of a model.json replaced (None, bools, huge or negative integers,
  NaN / inf floats, strings, lists, objects) or deleted, or the file truncated at any byte.
  A model that still loads must run through the golden model and round-trip through
  save/load unchanged.
* ``weights_npz``: one array of weights.npz given another dtype (floats with NaN, int64,
  bool), shape or out-of-range values, deleted or renamed, with model.json's sha256 updated
  (a consistent-looking but wrong pair); or the file cut short.
* ``memory_images``: hex text of random characters, widths and depths for the ``$readmemh``
  image reader, and flipped words in a real image set (``read_memories`` must reject any image
  that disagrees with its model).
* ``arch``: architecture strings from the grammar's alphabet; a string that parses must print
  back to one that parses to the same architecture.
* ``idx``: MNIST IDX files with flipped, inserted or removed bytes, gzip or raw.

Needs the ``dev`` extra (hypothesis).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fireflys.compiler.memimg import MemImageError, read_hex, read_memories, write_memories
from fireflys.core.arch import ArchError, parse_arch
from fireflys.core.model import ModelFormatError, load_model, save_model
from fireflys.data import DatasetError, load_mnist

DEMO_ARCH = "1x8x8-4c3p1-mp2-6c3p1-10fc"


@dataclass
class CampaignResult:
    name: str
    tried: int = 0
    named_errors: int = 0
    accepted: int = 0  # valid inputs (checked for consistency)
    crashes: list[str] = field(default_factory=list)  # input and traceback, first few

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "tried": self.tried, "named_errors": self.named_errors,
                "accepted": self.accepted, "crashes": len(self.crashes),
                "crash_examples": self.crashes[:3]}


def _run(name: str, strategy, check: Callable[[Any], None], named: tuple[type, ...],
         examples: int) -> CampaignResult:
    """Run ``check`` on ``examples`` inputs drawn from ``strategy`` (derandomized: the same
    inputs every run). ``check`` raises one of ``named`` (must be a one-line message) or
    returns for a valid input; any other exception is a crash."""
    from hypothesis import HealthCheck, Phase, given, settings

    res = CampaignResult(name)

    @settings(max_examples=examples, database=None, derandomize=True, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(strategy)
    def prop(case: Any) -> None:
        res.tried += 1
        try:
            check(case)
        except named as e:
            msg = str(e)
            if not msg or "\n" in msg:
                res.crashes.append(f"{case!r}: unhelpful message {msg!r}")
            else:
                res.named_errors += 1
        except Exception:  # noqa: BLE001 - anything else is exactly what the campaign finds
            res.crashes.append(f"{case!r}:\n{traceback.format_exc(limit=4)}")
        else:
            res.accepted += 1

    prop()
    return res


def _golden_once(model) -> None:
    from fireflys.compiler.compile import random_input
    from fireflys.core import golden

    golden.run(model, random_input(model, 1, np.random.default_rng(0)))


def _base_model(tmp: Path) -> Path:
    from fireflys.compiler.compile import random_model

    d = tmp / "base"
    save_model(random_model(DEMO_ARCH, sparsity=0.5, seed=2, calib_frames=8), d)
    return d


def _copy(base: Path, counter: list[int], prefix: str) -> Path:
    """A fresh numbered copy of the model directory ``base`` to mutate."""
    counter[0] += 1
    d = base.parent / f"{prefix}{counter[0]}"
    shutil.copytree(base, d)
    return d


def _leaf_paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _leaf_paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _leaf_paths(v, prefix + (i,))
    return out


def _values():
    from hypothesis import strategies as st

    return st.one_of(
        st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.integers(-3, 70),
        st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
        st.lists(st.integers(-5, 70), max_size=5), st.dictionaries(st.text(max_size=4),
                                                                   st.integers(), max_size=2))


def _consistent(d: Path) -> None:
    """A model that loaded must run and round-trip."""
    m = load_model(d)
    _golden_once(m)
    again = d.parent / (d.name + "_again")
    save_model(m, again)
    m2 = load_model(again)
    if str(m2.arch) != str(m.arch) or any(
            not np.array_equal(a.weight, b.weight) for a, b in zip(m.layers, m2.layers,
                                                                  strict=True)):
        raise AssertionError("a loaded model does not round-trip")


def model_json(examples: int) -> CampaignResult:
    from hypothesis import strategies as st

    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        base = _base_model(tmp)
        doc0 = json.loads((base / "model.json").read_text())
        text0 = (base / "model.json").read_text()
        paths = _leaf_paths(doc0)
        n = [0]

        def check(case) -> None:
            kind, idx, value, cut = case
            d = _copy(base, n, "m")
            if kind == "truncate":
                (d / "model.json").write_text(text0[: cut % len(text0)])
            else:
                doc = json.loads(text0)
                path = paths[idx % len(paths)]
                obj = doc
                for k in path[:-1]:
                    obj = obj[k]
                if kind == "delete" and isinstance(obj, dict):
                    del obj[path[-1]]
                else:
                    obj[path[-1]] = value
                (d / "model.json").write_text(json.dumps(doc))
            try:
                _consistent(d)
            finally:
                shutil.rmtree(d, ignore_errors=True)

        strat = st.tuples(st.sampled_from(["replace", "replace", "delete", "truncate"]),
                          st.integers(0, 10**6), _values(), st.integers(0, 10**6))
        return _run("model_json", strat, check, (ModelFormatError,), examples)


def weights_npz(examples: int) -> CampaignResult:
    import hashlib

    from hypothesis import strategies as st

    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        base = _base_model(tmp)
        with np.load(base / "weights.npz") as z:
            arrays0 = {k: z[k] for k in z.files}
        keys = sorted(arrays0)
        n = [0]

        def check(case) -> None:
            kind, idx, val, cut = case
            d = _copy(base, n, "w")
            arrays = dict(arrays0)
            key = keys[idx % len(keys)]
            a = arrays[key]
            if kind == "float_nan":
                b = a.astype(np.float64)
                b.flat[idx % b.size] = np.nan if val % 2 else float(val)
                arrays[key] = b
            elif kind == "int64":
                arrays[key] = a.astype(np.int64) + val
            elif kind == "bool":
                arrays[key] = a.astype(bool)
            elif kind == "shape":
                arrays[key] = np.resize(a, (max(0, a.size + val % 5 - 2),))
            elif kind == "value":
                b = a.astype(np.int64)
                b.flat[idx % b.size] = val
                arrays[key] = b.astype(a.dtype) if abs(val) < 100 else b
            elif kind == "delete":
                del arrays[key]
            elif kind == "rename":
                arrays[key + "_x"] = arrays.pop(key)
            npz = d / "weights.npz"
            np.savez(npz, **arrays)
            if kind == "truncate":
                data = npz.read_bytes()
                npz.write_bytes(data[: cut % len(data)])
            doc = json.loads((d / "model.json").read_text())
            doc["weights_sha256"] = hashlib.sha256(npz.read_bytes()).hexdigest()
            (d / "model.json").write_text(json.dumps(doc))
            try:
                _consistent(d)
            finally:
                shutil.rmtree(d, ignore_errors=True)

        strat = st.tuples(st.sampled_from(["float_nan", "int64", "bool", "shape", "value",
                                           "delete", "rename", "truncate"]),
                          st.integers(0, 10**6), st.integers(-(2**40), 2**40),
                          st.integers(0, 10**6))
        return _run("weights_npz", strat, check, (ModelFormatError,), examples)


def memory_images(examples: int) -> CampaignResult:
    from hypothesis import strategies as st

    from fireflys.core.model import load_model as _load

    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        base = _base_model(tmp)
        model = _load(base)
        mem0 = tmp / "mem0"
        write_memories(model, mem0)
        images = sorted(p.name for p in mem0.glob("*.hex"))
        n = [0]

        def check(case) -> None:
            kind, text, width, depth, idx, bit = case
            n[0] += 1
            if kind == "text":
                f = tmp / f"h{n[0]}.hex"
                f.write_text(text)
                words = read_hex(f, width, depth)
                if depth is not None and len(words) != depth:
                    raise AssertionError(f"read {len(words)} words, depth {depth}")
                if any(not 0 <= w < (1 << width) for w in words):
                    raise AssertionError("a word wider than the image width was accepted")
                return
            d = tmp / f"mem{n[0]}"
            shutil.copytree(mem0, d)
            f = d / images[idx % len(images)]
            lines = f.read_text().splitlines()
            i = (idx // len(images)) % max(1, len(lines))
            if lines:
                word = int(lines[i], 16) ^ (1 << (bit % (4 * len(lines[i]))))
                lines[i] = format(word, f"0{len(lines[i])}x")
            f.write_text("\n".join(lines) + "\n")
            try:
                got = read_memories(model, d)
            finally:
                shutil.rmtree(d, ignore_errors=True)
            # a flipped bit that still reads must read back as a different model, never as the
            # original: the comparison is the reader's own consistency check
            ref = read_memories(model, mem0)
            same = all(np.array_equal(a.masks, b.masks) and np.array_equal(a.values, b.values)
                       for a, b in zip(got, ref, strict=True))
            if same:
                raise AssertionError(f"flipping a bit of {f.name} line {i} went unnoticed")

        alphabet = "0123456789abcdefABCDEFxzXZ_/ \n\t@g-"
        strat = st.tuples(st.sampled_from(["text", "text", "flip"]),
                          st.text(alphabet=alphabet, max_size=40), st.integers(1, 40),
                          st.one_of(st.none(), st.integers(0, 6)), st.integers(0, 10**6),
                          st.integers(0, 200))
        return _run("memory_images", strat, check, (MemImageError,), examples)


def arch(examples: int) -> CampaignResult:
    from hypothesis import strategies as st

    def check(text: str) -> None:
        a = parse_arch(text)
        b = parse_arch(str(a))
        if str(a) != str(b):
            raise AssertionError(f"{text!r} -> {a} -> {b}")

    strat = st.one_of(st.text(alphabet="0123456789cpfmx-_ ", max_size=30),
                      st.text(max_size=12),
                      st.sampled_from(["scnn5", "scnn7", "scnn9"]))
    return _run("arch", strat, check, (ArchError,), examples)


def idx(examples: int) -> CampaignResult:
    import gzip

    from hypothesis import strategies as st

    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        rng = np.random.default_rng(0)
        img = rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)
        lab = np.array([1, 7, 3], dtype=np.uint8)

        def idx_bytes(a: np.ndarray) -> bytes:
            head = bytes([0, 0, 0x08, a.ndim]) + b"".join(
                int(s).to_bytes(4, "big") for s in a.shape)
            return head + a.tobytes()

        files0 = {"train-images-idx3-ubyte": idx_bytes(img),
                  "train-labels-idx1-ubyte": idx_bytes(lab)}
        n = [0]

        def check(case) -> None:
            which, kind, pos, byte, gz = case
            n[0] += 1
            d = tmp / f"d{n[0]}"
            d.mkdir()
            for name, data in files0.items():
                if name.startswith(("train-images", "train-labels")[which]):
                    p = pos % (len(data) + 1)
                    if kind == "flip" and p < len(data):
                        data = data[:p] + bytes([data[p] ^ (byte | 1)]) + data[p + 1:]
                    elif kind == "insert":
                        data = data[:p] + bytes([byte]) + data[p:]
                    elif kind == "cut":
                        data = data[:p]
                (d / (name + (".gz" if gz else ""))).write_bytes(
                    gzip.compress(data) if gz else data)
            try:
                x, y = load_mnist(d, "train")
                if x.shape[1:] != (1, 28, 28) or len(x) != len(y) or y.max(initial=0) > 9:
                    raise AssertionError(f"accepted inconsistent data {x.shape} {y.shape}")
            finally:
                shutil.rmtree(d, ignore_errors=True)

        strat = st.tuples(st.integers(0, 1), st.sampled_from(["flip", "insert", "cut"]),
                          st.integers(0, 3000), st.integers(0, 255), st.booleans())
        return _run("idx", strat, check, (DatasetError,), examples)


CAMPAIGNS: dict[str, Callable[[int], CampaignResult]] = {
    "model_json": model_json, "weights_npz": weights_npz, "memory_images": memory_images,
    "arch": arch, "idx": idx,
}


def run_all(examples: int) -> list[CampaignResult]:
    return [fn(examples) for fn in CAMPAIGNS.values()]
