"""Hardware scheduling decisions: balanced channel slots and the group look-ahead width."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fireflys.compiler.compile import random_model
from fireflys.compiler.coreplan import core_plans
from fireflys.compiler.sched import channel_slots, look, slot_of


@settings(max_examples=300)
@given(st.lists(st.integers(0, 600), min_size=1, max_size=70), st.data())
def test_slots_are_a_balanced_bijection(nnz, data) -> None:
    co = len(nnz)
    pco = data.draw(st.integers(1, co))
    groups = -(-co // pco)
    slots = channel_slots(np.array(nnz), pco)
    assert len(slots) == groups * pco
    assert sorted(slots[slots >= 0].tolist()) == list(range(co))  # each channel exactly once
    np.testing.assert_array_equal(slots[slot_of(slots)], np.arange(co))


def _max_load(nnz: np.ndarray, slots: np.ndarray, pco: int) -> int:
    load = np.zeros(pco, dtype=np.int64)
    for s, c in enumerate(slots):
        if c >= 0:
            load[s % pco] += nnz[c]
    return int(load.max())


def test_balanced_beats_plain_on_scnn5() -> None:
    m = random_model("scnn5", sparsity=0.9, seed=0, calib_frames=2)
    for ly in m.layers:
        nnz = (ly.weight != 0).reshape(ly.geom.out_ch, -1).sum(axis=1)
        plain = np.arange(-(-len(nnz) // ly.pco) * ly.pco)
        plain[plain >= len(nnz)] = -1
        assert _max_load(nnz, channel_slots(nnz, ly.pco), ly.pco) <= _max_load(nnz, plain,
                                                                                ly.pco)


def test_slots_example() -> None:
    # by decreasing count: 9 -> d0, 7 -> d1, 5 -> d1 (7 < 9), 1 -> d0 (d1 full)
    np.testing.assert_array_equal(channel_slots(np.array([1, 5, 9, 7]), 2), [2, 3, 0, 1])
    np.testing.assert_array_equal(channel_slots(np.array([3, 3, 3]), 2), [0, 1, 2, -1])
    with pytest.raises(ValueError, match="PCO must be in 1..3"):
        channel_slots(np.array([1, 2, 3]), 4)


@pytest.mark.parametrize(("groups", "bits", "want"), [
    (1, 5000, 1), (8, 72, 8), (4, 288, 4), (8, 576, 2), (16, 2304, 1), (3, 600, 3), (6, 400, 3),
    (7, 400, 1)])
def test_look(groups: int, bits: int, want: int) -> None:
    assert look(groups, bits) == want


def test_core_look_of_scnn5() -> None:
    m = random_model("scnn5", sparsity=0.9, seed=0, calib_frames=2, pco=[1, 4, 4, 4, 4, 4])
    # L0: 8 groups of 8 x 9 x 1 bits; L1: 4 of 4 x 9 x 8; L2: 8 of 4 x 9 x 16; L3/L4 too wide
    assert [cp.look for cp in core_plans(m)] == [8, 4, 2, 1, 1, 1]
