"""Bitmap packer: exact round trip, detector assignment, window order, memory images."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fireflys.compiler.bitmap import pack_hw, pack_layer, unpack_hw, unpack_layer
from fireflys.compiler.compile import compile_to_dir, random_model
from fireflys.compiler.memimg import (
    MemImageError,
    empty_output,
    from_word,
    read_hex,
    read_memories,
    write_hex,
)
from fireflys.compiler.sched import channel_slots, slot_of
from fireflys.core import golden
from fireflys.core.model import load_model


@st.composite
def weights(draw):
    co = draw(st.integers(1, 20))
    kh = draw(st.sampled_from([1, 2, 3]))
    kw = draw(st.sampled_from([1, 3]))
    ci = draw(st.integers(1, 70))
    density = draw(st.sampled_from([0.0, 1.0, 0.5, 0.1, 0.01, 0.9]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    vals = rng.integers(-8, 8, (co, kh, kw, ci))
    vals[vals == 0] = 1
    w = np.where(rng.random(vals.shape) < density, vals, 0).astype(np.int8)
    pco = draw(st.integers(1, co))
    pci = draw(st.sampled_from([1, 3, 7, 8, 16, 32, 33, 64]))
    balanced = draw(st.booleans())
    return w, pco, pci, balanced


@settings(max_examples=500)
@given(weights())
def test_round_trip(case) -> None:
    w, pco, pci, balanced = case
    co = w.shape[0]
    slots = channel_slots(np.count_nonzero(w.reshape(co, -1), axis=1), pco) if balanced else None
    p = pack_hw(w, pco, pci, slots)
    np.testing.assert_array_equal(unpack_hw(p), w)
    assert sum(len(v) for v in p.values) == np.count_nonzero(w)
    # channel c lives in its slot s = g * PCO + d (plain: s = c), at its group's base address
    where = slot_of(p.slots)
    if not balanced:
        np.testing.assert_array_equal(where, np.arange(co))
    for c in range(co):
        d, g = int(where[c]) % pco, int(where[c]) // pco
        nz = w[c].reshape(-1)[w[c].reshape(-1) != 0]
        b = p.bases[d, g]
        np.testing.assert_array_equal(p.values[d][b : b + len(nz)], nz)
        assert p.counts[d, g] == len(nz)
    assert p.masks.max(initial=0) < (1 << pci)


@pytest.mark.parametrize("fill", [0, 1])
@pytest.mark.parametrize(("co", "pco", "ci", "pci"), [(1, 1, 1, 1), (5, 2, 9, 8), (16, 4, 64, 64),
                                                      (7, 7, 3, 16)])
def test_all_zero_and_all_dense(fill, co, pco, ci, pci) -> None:
    w = np.full((co, 3, 3, ci), fill * -8, dtype=np.int8)
    p = pack_hw(w, pco, pci)
    np.testing.assert_array_equal(unpack_hw(p), w)
    expected_mask = ((1 << min(pci, ci)) - 1) if fill else 0
    if fill and ci % pci == 0:
        assert (p.masks[:, : co // pco] == expected_mask).all()
    if not fill:
        assert all(len(v) == 0 for v in p.values) and not p.masks.any()


def test_segment_layout_is_window_order() -> None:
    """Segment s = (ky*KW + kx) * ceil(CI/PCI) + j holds channels j*PCI .. j*PCI+PCI-1."""
    w = np.zeros((1, 3, 3, 10), dtype=np.int8)
    w[0, 1, 2, 9] = 5  # ky=1 kx=2 ci=9 ; PCI=4 -> 3 segments per position, j=2, bit 1
    w[0, 0, 0, 0] = -3
    p = pack_hw(w, 1, 4)
    s = (1 * 3 + 2) * 3 + 2
    assert p.masks[0, 0, s] == 0b10 and p.masks[0, 0, 0] == 1
    assert p.values[0].tolist() == [-3, 5]


def test_fc_columns_are_permuted_to_pixel_major() -> None:
    """FC weights are stored in torch (c, h, w) order; the hardware reads [pixel][c]."""
    m = random_model("2x3x3-4c3p1-5fc", sparsity=0.0, seed=1, calib_frames=4)
    fc = m.layers[-1]
    p = pack_layer(fc)
    hw = unpack_hw(p)  # CO, H, W, C
    c, y, x = 1, 2, 0
    assert hw[3, y, x, c] == fc.weight[3, c * 9 + y * 3 + x]
    np.testing.assert_array_equal(unpack_layer(p, "fc", fc.geom.in_shape), fc.weight)


@pytest.mark.parametrize("seed", range(8))
def test_memory_images_round_trip(tmp_path, seed) -> None:
    m = random_model("3x7x7-9c3p1-mp2-5c1-6fc", sparsity=[0.0, 0.5, 0.9, 1.0][seed % 4],
                     seed=seed, calib_frames=4, pco=[4, 2, 6], pci=[2, 8, 16])
    compile_to_dir(m, tmp_path)
    back = read_memories(load_model(tmp_path), tmp_path / "mem")
    for ly, p in zip(m.layers, back, strict=True):
        np.testing.assert_array_equal(unpack_layer(p, ly.geom.kind, ly.geom.in_shape), ly.weight)


def test_hex_words(tmp_path) -> None:
    f = tmp_path / "a.hex"
    write_hex(f, [-8, 7, 0, -1], 4, signed=True)
    assert f.read_text() == "8\n7\n0\nf\n"
    assert [from_word(w, 4) for w in read_hex(f, 4, 4)] == [-8, 7, 0, -1]
    write_hex(f, [0x1FF, -300], 10, signed=True)
    assert f.read_text().split() == ["1ff", "2d4"]
    write_hex(f, [1023], 10, signed=False)
    assert f.read_text() == "3ff\n"
    with pytest.raises(ValueError, match="does not fit"):
        write_hex(f, [8], 4, signed=True)
    with pytest.raises(ValueError, match="does not fit"):
        write_hex(f, [-1], 4, signed=False)


@pytest.mark.parametrize(("text", "msg"), [
    ("1\nzz\n", ":2: not a hex word"),
    ("1\n123\n", "has more than 1 digits"),
    ("1\n2\n", "2 words, expected 3"),
    ("@10\n", "not a hex word"),
])
def test_hex_reader_errors(tmp_path, text, msg) -> None:
    f = tmp_path / "b.hex"
    f.write_text(text)
    with pytest.raises(MemImageError, match=msg):
        read_hex(f, 4, 3)


def test_hex_reader_width_and_comments(tmp_path) -> None:
    f = tmp_path / "c.hex"
    f.write_text("// header\n7 // x\n\n3f\n")
    assert read_hex(f, 6) == [7, 0x3F]
    with pytest.raises(MemImageError, match="does not fit in 5 bits"):
        read_hex(f, 5)


@pytest.mark.parametrize(("encoding", "readout"), [("direct", "integrate"), ("spikes", "spikes")])
def test_empty_output_is_the_zero_input_response(encoding: str, readout: str) -> None:
    """A frame of zeros gives every channel of the first layer no pair: its output at every
    pixel is the empty-output word (wide enough to need more than 64 bits)."""
    m = random_model("4x3x3-40c3p1-24fc", sparsity=0.5, seed=2, calib_frames=4, T=3,
                     encoding=encoding, readout=readout, k=1)
    res = golden.run(m, np.zeros((1, *(() if encoding == "direct" else (m.T,)),
                                  *m.arch.in_shape), dtype=np.int64))
    word, width = empty_output(m, 0)
    assert width == m.T * 40
    s = res.pre_pool[0][0]  # T, C, H, W
    for y in range(3):
        for x in range(3):
            bits = s[:, :, y, x].reshape(-1)  # t * C + c
            assert word == sum(1 << int(i) for i in np.flatnonzero(bits))
    last, last_w = empty_output(m, 1)
    if readout == "integrate":  # scores T * bias, two's complement fields
        sw = m.layers[1].widths["score"]
        assert last_w == 24 * sw
        got = [from_word((last >> (c * sw)) & ((1 << sw) - 1), sw) for c in range(24)]
        assert got == (m.T * m.layers[1].bias).tolist()


@pytest.mark.parametrize("spw", [1, 2, 3, 6])
def test_scan_list_points_at_the_words_weights(spw: int) -> None:
    """Every scan-list entry's mask and ptr select exactly the word's non-zero weights, in
    order; groups appear in order, each flagged first once; empty words are left out."""
    from fireflys.compiler.scanlist import scan_list, words_per_window

    rng = np.random.default_rng(spw)
    co, kh, kw, ci, pco, pci = 7, 3, 3, 20, 3, 8  # 3 segments per pixel
    if spw not in (1, 3, 6):
        with pytest.raises(ValueError, match="multiple or a divisor"):
            scan_list(pack_hw(np.ones((co, kh, kw, ci), np.int8), pco, pci), 0, spw)
        return
    w = np.where(rng.random((co, kh, kw, ci)) < 0.15, rng.integers(1, 8, (co, kh, kw, ci)), 0)
    p = pack_hw(w.astype(np.int8), pco, pci)
    spp = -(-ci // pci)
    for d in range(pco):
        entries = scan_list(p, d, spw)
        assert [e.tag for e in entries] == sorted(e.tag for e in entries)
        assert [e.tag for e in entries if e.first] == sorted({e.tag for e in entries})
        for e in entries:
            ch = p.slots[e.tag * pco + d]
            dense = np.zeros((kh * kw * spp * pci + spw * pci,), np.int64)
            dense[: kh * kw * spp * pci] = np.pad(w[ch], ((0, 0), (0, 0), (0, spp * pci - ci))
                                                  ).reshape(-1)
            word = dense[e.word * spw * pci : (e.word + 1) * spw * pci]
            assert e.mask == sum(1 << b for b in np.flatnonzero(word))
            n = bin(e.mask).count("1")
            assert p.values[d][e.ptr : e.ptr + n].tolist() == word[word != 0].tolist()
            assert e.word < words_per_window(kh * kw * spp, spw)


def test_bram36_takes_the_best_ramb18_shape() -> None:
    from fireflys.compiler.scanlist import bram36

    assert bram36(68, 107) == 1.0  # two 512 x 36 halves
    assert bram36(36, 512) == 0.5
    assert bram36(36, 513) == 1.0
    assert bram36(4, 1514) == 0.5  # 4K x 4
    assert bram36(1, 20000) == 1.0


def test_block_lists_takes_long_lists_largest_first_within_the_budget() -> None:
    from fireflys.compiler.scanlist import LUT_LIST_DEPTH, block_lists

    lists = {(0, 0): (LUT_LIST_DEPTH, 72),  # short: stays in LUTs whatever the budget
             (1, 0): (90, 64), (1, 1): (100, 64), (2, 0): (87, 69), (3, 0): (70, 30)}
    assert block_lists(lists, 10.0) == {(1, 0), (1, 1), (2, 0), (3, 0)}
    # by mask content: 100 x 64 > 87 x 69 > 90 x 64 > 70 x 30 (0.5 each for the last)
    assert block_lists(lists, 2.0) == {(1, 1), (2, 0)}
    assert block_lists(lists, 2.5) == {(1, 1), (2, 0), (3, 0)}
    assert block_lists(lists, 0.0) == set()
    assert block_lists(lists, 10.0, lut_depth=0) == set(lists)


def test_shipped_scnn5_lists_in_block_ram_fit_five_bram36(tmp_path) -> None:
    """The shipped model's plan (PCO 1,4,2,1,4,1, words of 9/21/42/46/34/32 bits): the lists
    longer than 64 entries read their masks from block RAM: L3's 135 entries (46-bit masks: one
    BRAM36), L4's four 122-131-entry lists (34 bits: a RAMB18 each) and L5's 180 entries (32
    bits: a RAMB18); with L5's weights (a RAMB18) 4 BRAM36 in all."""
    from fireflys.compiler.scanlist import whole_pixel_lanes
    from fireflys.hwgen.params import core_params
    from fireflys.paths import REPO

    cores = core_params(whole_pixel_lanes(load_model(REPO / "models" / "scnn5_mnist")),
                           tmp_path)
    assert [c.params["ListBlockOf"] for c in cores] == ["1'h0", "4'h0", "2'h0", "1'h1",
                                                        "4'hf", "1'h1"]
    assert [c.params["WtBlock"] for c in cores] == [0, 0, 0, 0, 0, 1]
    masks = sorted(tmp_path.glob("L4_d*_mask.hex"))
    assert len(masks) == 4 and all(len(m.read_text().split()) > 64 for m in masks)


def test_long_lists_read_their_other_fields_from_block_ram(tmp_path) -> None:
    """Lists longer than LUT_FIELD_DEPTH keep their fields (all but the mask) in block RAM,
    within what the masks leave of the budget; the image is each list word less its mask. The
    shipped plan's lists (at most 180 entries) stay in LUT ROMs."""
    from fireflys.compiler.scanlist import field_word, whole_pixel_lanes, words_per_window
    from fireflys.hwgen.params import core_params
    from fireflys.paths import REPO

    model = whole_pixel_lanes(load_model(REPO / "models" / "scnn5_mnist"))
    cores = core_params(model, tmp_path)
    assert all(set(c.params["FieldBlockOf"].split("'h")[1]) == {"0"} for c in cores)
    cores = core_params(model, tmp_path, lut_field_depth=150)  # L5's 180 entries: 0.5 left
    assert [c.params["FieldBlockOf"] for c in cores] == ["1'h0", "4'h0", "2'h0", "1'h0",
                                                         "4'h0", "1'h1"]
    cores = core_params(model, tmp_path, lut_field_depth=150, bram36_budget=4.0)  # none left
    assert cores[5].params["FieldBlockOf"] == "1'h0"
    p = cores[5].params  # FC on 3x3 x 64: 36 segments of 16 lanes, 2 per word
    assert (p["KH"], p["KW"], p["Ci"], p["Pci"], p["Spw"]) == (3, 3, 64, 16, 2)
    word, nw = 32, words_per_window(36, 2)
    lists = (tmp_path / "L5_d0_list.hex").read_text().split()
    fields = (tmp_path / "L5_d0_fields.hex").read_text().split()
    assert len(fields) == len(lists) == 180
    assert [int(f, 16) for f in fields] == [field_word(int(v, 16), word, nw) for v in lists]


def test_dense_packing_stores_every_weight() -> None:
    """pack_hw(dense=True): every weight of a real channel is stored and has its mask bit, zero
    or not (phantom slots and padding lanes stay empty); it unpacks to the same weights."""
    rng = np.random.default_rng(4)
    w = np.where(rng.random((5, 3, 3, 6)) < 0.7, 0, rng.integers(-8, 8, (5, 3, 3, 6)))
    w = w.astype(np.int8)
    p = pack_hw(w, 2, 4, dense=True)  # 3 groups x 2 detectors: one phantom slot
    assert np.array_equal(unpack_hw(p), w)
    assert sum(len(v) for v in p.values) == w.size
    assert int(p.counts.sum()) == w.size and (p.counts[p.slots.reshape(-1, 2).T < 0] == 0).all()
    sparse = pack_hw(w, 2, 4)
    assert sum(len(v) for v in sparse.values) == np.count_nonzero(w) < w.size
