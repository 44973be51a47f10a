"""model.json + weights.npz: round trip, and one-line errors naming file, layer and field."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fireflys.compiler.compile import random_model
from fireflys.core.model import ModelFormatError, load_model, save_model
from helpers import random_compiled


def _same(a, b) -> None:
    assert str(a.arch) == str(b.arch)
    assert (a.T, a.encoding, a.in_bits, a.readout) == (b.T, b.encoding, b.in_bits, b.readout)
    for x, y in zip(a.layers, b.layers, strict=True):
        assert (x.k, x.reset, x.pco, x.pci, x.widths, x.scan_bits, x.bufs, x.ring, x.fifo) == (
            y.k, y.reset, y.pco, y.pci, y.widths, y.scan_bits, y.bufs, y.ring, y.fifo)
        np.testing.assert_array_equal(x.weight, y.weight)
        np.testing.assert_array_equal(x.bias, y.bias)
        assert (x.theta is None) == (y.theta is None)
        if x.theta is not None:
            np.testing.assert_array_equal(x.theta, y.theta)


@settings(max_examples=60)
@given(st.integers(0, 2**32 - 1))
def test_round_trip(tmp_path_factory, seed: int) -> None:
    d = tmp_path_factory.mktemp("m")
    m = random_compiled(np.random.default_rng(seed))
    save_model(m, d)
    _same(m, load_model(d))


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("good")
    save_model(random_model("1x8x8-4c3p1-mp2-6c3p1-10fc", sparsity=0.5, seed=2,
                            calib_frames=8), d)
    return d


@pytest.fixture
def work(model_dir: Path, tmp_path: Path) -> Path:
    d = tmp_path / "m"
    shutil.copytree(model_dir, d)
    return d


def _edit_json(d: Path, fn) -> None:
    doc = json.loads((d / "model.json").read_text())
    fn(doc)
    (d / "model.json").write_text(json.dumps(doc))


def _edit_npz(d: Path, fn) -> None:
    with np.load(d / "weights.npz") as z:
        arrays = {k: z[k] for k in z.files}
    fn(arrays)
    np.savez(d / "weights.npz", **arrays)


def _error(d: Path) -> str:
    with pytest.raises(ModelFormatError) as e:
        load_model(d)
    msg = str(e.value)
    assert "\n" not in msg, msg
    return msg


def test_truncated_npz(work: Path) -> None:
    data = (work / "weights.npz").read_bytes()
    (work / "weights.npz").write_bytes(data[: len(data) // 2])
    msg = _error(work)
    assert "weights.npz" in msg and "corrupt or truncated" in msg


def test_wrong_field_type(work: Path) -> None:
    _edit_json(work, lambda d: d["layers"][1].__setitem__("k", "1"))
    msg = _error(work)
    assert "model.json: layer 1 (L1): field 'k': expected an integer, got str '1'" in msg


def test_weight_of_nine(work: Path) -> None:
    _edit_npz(work, lambda a: a["L1.weight"].__setitem__((0, 0, 0, 0), 9))
    msg = _error(work)
    assert "layer 1 (L1): field 'weight'" in msg and "value 9" in msg and "[-8, 7]" in msg


def test_mismatched_shape(work: Path) -> None:
    _edit_npz(work, lambda a: a.__setitem__("L2.weight", a["L2.weight"][:, :-1]))
    msg = _error(work)
    assert "layer 2 (L2): field 'weight'" in msg and "shape [10, 95]" in msg
    assert "expected [10, 96]" in msg


@pytest.mark.parametrize(("edit", "expect"), [
    (lambda d: d.__setitem__("version", 99), "field 'version': unsupported format version 99"),
    (lambda d: d.__setitem__("format", "onnx"), "field 'format'"),
    (lambda d: d.__setitem__("T", 0), "field 'T': 0 is out of range [1, 64]"),
    (lambda d: d.__setitem__("T", True), "field 'T': expected an integer"),
    (lambda d: d.__setitem__("arch", "1x8x8-4c3s2-10fc"), "field 'arch': arch token 1 '4c3s2'"),
    (lambda d: d["input"].__setitem__("encoding", "rate"), "field 'encoding'"),
    (lambda d: d["input"].__setitem__("shape", [1, 8, 9]), "field 'input.shape'"),
    (lambda d: d.__setitem__("readout", "max"), "field 'readout'"),
    (lambda d: d["layers"].pop(), "field 'layers': expected 3 layers"),
    (lambda d: d["layers"][0].__setitem__("pco", 5), "layer 0 (L0): field 'pco': 5 is out of"),
    (lambda d: d["layers"][0].__setitem__("pci", 65), "field 'pci': 65 is out of range"),
    (lambda d: d["layers"][1].__setitem__("scan_bits", 0), "field 'scan_bits': 0 is out of"),
    (lambda d: d["layers"][1].__setitem__("scan_bits", "72"), "field 'scan_bits': expected an"),
    (lambda d: d["layers"][1].__setitem__("bufs", 1), "field 'bufs': 1 is out of range"),
    (lambda d: d["layers"][1].__setitem__("bufs", 12), "field 'bufs': expected a power of two"),
    (lambda d: d["layers"][1].__setitem__("ring", "bram"), "layer 1 (L1): field 'ring'"),
    (lambda d: d["layers"][0].__setitem__("fifo", 1), "layer 0 (L0): field 'fifo': 1 is out of"),
    (lambda d: d["layers"][2].__setitem__("fifo", 8), "field 'fifo': the last core has no FIFO"),
    (lambda d: d["layers"][0].__setitem__("reset", "soft"), "layer 0 (L0): field 'reset'"),
    (lambda d: d["layers"][1].__setitem__("sparsity", float("nan")), "field 'sparsity'"),
    (lambda d: d["layers"][1].__setitem__("sparsity", 0.1), "field 'sparsity': says 0.1"),
    (lambda d: d["layers"][1].__setitem__("nnz", 3), "field 'nnz': says 3"),
    (lambda d: d["layers"][1]["widths"].__setitem__("v", 3), "field 'widths.v': 3 bits is too"),
    (lambda d: d["layers"][2]["widths"].pop("score"), "layer 2 (L2): field 'widths'"),
    (lambda d: d["layers"][2].__setitem__("neuron", True), "layer 2 (L2): field 'neuron'"),
    (lambda d: d["layers"][0].__setitem__("out_shape", [4, 8, 8]), "field 'out_shape'"),
    (lambda d: d["layers"][0].__setitem__("kind", "fc"), "field 'kind'"),
    (lambda d: d["layers"].__setitem__(0, []), "layer 0 (L0): field 'layer'"),
    (lambda d: d.__setitem__("weights_sha256", "0" * 64), "field 'weights_sha256'"),
])
def test_json_field_errors(work: Path, edit, expect: str) -> None:
    _edit_json(work, edit)
    msg = _error(work)
    assert expect in msg and "model.json" in msg


@pytest.mark.parametrize(("edit", "expect"), [
    (lambda a: a.pop("L0.theta"), "layer 0 (L0): field 'theta': array 'L0.theta' missing"),
    (lambda a: a.__setitem__("L2.theta", np.zeros(10, np.int32)), "field 'theta': array"),
    (lambda a: a.__setitem__("L0.bias", a["L0.bias"].astype(np.float32)), "must be integer"),
    (lambda a: a.__setitem__("L0.bias", np.full(4, 2**20, np.int32)), "field 'bias': value"),
    (lambda a: a.__setitem__("extra", np.zeros(1)), "unexpected arrays ['extra']"),
])
def test_npz_errors(work: Path, edit, expect: str) -> None:
    _edit_npz(work, edit)
    assert expect in _error(work)


def test_weights_from_another_model(work: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    save_model(random_model("1x8x8-4c3p1-mp2-6c3p1-10fc", sparsity=0.5, seed=3,
                            calib_frames=8), other)
    shutil.copy(other / "weights.npz", work / "weights.npz")
    msg = _error(work)
    assert "model.json" in msg


@pytest.mark.parametrize("what", ["model.json", "weights.npz"])
def test_missing_files(work: Path, what: str) -> None:
    (work / what).unlink()
    assert f"{what}: file not found" in _error(work)


def test_not_json(work: Path) -> None:
    (work / "model.json").write_text("{not json")
    assert "model.json: not valid JSON" in _error(work)


def test_scan_bits_bufs_and_ring_are_optional(work: Path) -> None:
    """Files written before the planner have no ``scan_bits``, ``bufs`` nor ``ring``: the
    defaults (72, 4, LUT-RAM rings) hold; planned values survive a round trip."""
    from fireflys.core.model import BUFS, SCAN_BITS

    mj = work / "model.json"
    d = json.loads(mj.read_text())
    for lj in d["layers"]:
        lj.pop("scan_bits")
        lj.pop("bufs")
        lj.pop("ring")
    mj.write_text(json.dumps(d))
    m = load_model(work)
    assert [ly.scan_bits for ly in m.layers] == [SCAN_BITS] * len(m.layers)
    assert [ly.bufs for ly in m.layers] == [BUFS] * len(m.layers)
    assert [ly.ring for ly in m.layers] == ["lut"] * len(m.layers)
    m.layers[0].scan_bits = 24
    m.layers[0].bufs = 16
    m.layers[1].ring = "block"
    m.layers[0].fifo = 64
    save_model(m, work)
    back = load_model(work)
    assert (back.layers[0].scan_bits, back.layers[0].bufs) == (24, 16)
    assert [ly.ring for ly in back.layers] == ["lut", "block", "lut"]
    assert [ly.fifo for ly in back.layers] == [64, None, None]
