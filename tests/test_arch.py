"""Architecture strings: presets, shapes, round trip, and rejection messages."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fireflys.core.arch import PRESETS, ArchError, parse_arch
from helpers import random_arch_string


def test_scnn5_shapes() -> None:
    a = parse_arch("scnn5")
    assert str(a) == PRESETS["scnn5"]
    assert [ly.out_shape for ly in a.layers] == [
        (8, 28, 28), (16, 14, 14), (32, 7, 7), (64, 7, 7), (64, 3, 3), (10, 1, 1)]
    fc = a.layers[-1]
    assert (fc.kh, fc.kw, fc.fan_in, fc.weight_shape) == (3, 3, 576, (10, 576))
    assert a.num_classes == 10


@pytest.mark.parametrize(("name", "classes", "final"), [
    ("scnn7", 11, (128, 6, 6)), ("scnn9", 10, (256, 2, 2))])
def test_other_presets(name: str, classes: int, final: tuple[int, int, int]) -> None:
    a = parse_arch(name.upper())
    assert a.num_classes == classes
    assert a.layers[-1].in_shape == final


def test_pad_zero_and_kernel_one() -> None:
    a = parse_arch("3x5x7-4c3-2c1-mp2-6fc")
    assert [ly.out_shape for ly in a.layers] == [(4, 3, 5), (2, 1, 2), (6, 1, 1)]
    assert str(a) == "3x5x7-4c3-2c1-mp2-6fc"


@pytest.mark.parametrize(("text", "token", "why"), [
    ("", None, "empty"),
    ("28x28-8c3-10fc", "28x28", "input shape"),
    ("1x28x28-8c3s2-10fc", "8c3s2", "stride"),
    ("1x28x28-8c3p1-ap2-10fc", "ap2", "average pooling"),
    ("1x28x28-8c3p1-mp3-10fc", "mp3", "mp2"),
    ("1x28x28-mp2-10fc", "mp2", "follow a conv"),
    ("1x28x28-8c3p1-mp2-mp2-10fc", "mp2", "follow a conv"),
    ("1x28x28-8c3p1-bn-10fc", "bn", "batch norm"),
    ("1x28x28-8c3p1", "8c3p1", "last layer must be fc"),
    ("1x28x28-10fc-8c3p1-10fc", "8c3p1", "only fc layers"),
    ("1x28x28-8c3p3-10fc", "8c3p3", "padding 3"),
    ("1x2x2-8c3-10fc", "8c3", "does not fit"),
    ("1x28x28-0c3-10fc", "0c3", "channels"),
    ("1x28x28-8x3-10fc", "8x3", "unknown layer"),
    ("1x1x1-4c1-mp2-10fc", "mp2", "cannot pool"),
    ("1x28x28", None, "no layers"),
])
def test_rejections_name_the_token(text: str, token: str | None, why: str) -> None:
    with pytest.raises(ArchError) as e:
        parse_arch(text)
    msg = str(e.value)
    assert why in msg
    if token is not None:
        assert f"'{token}'" in msg
    assert "\n" not in msg


@given(st.integers(0, 2**32 - 1))
def test_print_parse_round_trip(seed: int) -> None:
    text = random_arch_string(np.random.default_rng(seed))
    a = parse_arch(text)
    assert str(a) == text
    assert parse_arch(str(a)) == a
    for prev, nxt in zip(a.layers, a.layers[1:], strict=False):
        assert nxt.in_shape == prev.out_shape
