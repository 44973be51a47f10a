"""Architecture strings in the papers' notation: parse, print, infer shapes, validate.

Grammar (tokens joined by ``-``)::

    CxHxW        input shape (first token)
    NcK[pP]      conv: N output channels, KxK kernel, padding P (default 0), stride 1
    mp2          2x2 max-pool, stride 2, on the spikes of the preceding conv (floor on odd sizes)
    Nfc          fully connected layer with N outputs

Anything else (strides, other pool sizes, average pooling, ...) is rejected with a message
naming the offending token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fireflys.errors import FireflysError

PRESETS: dict[str, str] = {
    "scnn5": "1x28x28-8c3p1-16c3p1-mp2-32c3p1-mp2-64c3p1-64c3p1-mp2-10fc",
    "scnn7": "2x48x48-16c3p1-32c3p1-mp2-32c3p1-64c3p1-mp2-64c3p1-128c3p1-mp2-128c3p1-11fc",
    "scnn9": (
        "3x32x32-16c3p1-32c3p1-mp2-32c3p1-64c3p1-mp2-64c3p1-128c3p1-mp2-128c3p1-256c3p1-mp2-10fc"
    ),
}

MAX_CHANNELS = 4096
MAX_KERNEL = 15
MAX_SIDE = 1024


class ArchError(FireflysError, ValueError):
    """An architecture string that cannot be built; the message names the token."""


@dataclass(frozen=True)
class Layer:
    """One hardware core: a conv (optionally followed by 2x2 max-pool) or an FC layer.

    Shapes are (C, H, W). An FC layer reads the whole flattened input: it is a conv whose
    kernel covers the full input (kh = H, kw = W, pad 0) and whose output is (N, 1, 1).
    """

    kind: str  # "conv" | "fc"
    in_shape: tuple[int, int, int]
    out_ch: int
    kernel: int = 1
    pad: int = 0
    pool: int = 1  # 1 = none, 2 = 2x2 max-pool after the neuron

    @property
    def kh(self) -> int:
        return self.in_shape[1] if self.kind == "fc" else self.kernel

    @property
    def kw(self) -> int:
        return self.in_shape[2] if self.kind == "fc" else self.kernel

    @property
    def conv_shape(self) -> tuple[int, int, int]:
        """Output shape of the neurons, before pooling."""
        if self.kind == "fc":
            return (self.out_ch, 1, 1)
        _, h, w = self.in_shape
        return (self.out_ch, h + 2 * self.pad - self.kernel + 1, w + 2 * self.pad - self.kernel + 1)

    @property
    def out_shape(self) -> tuple[int, int, int]:
        c, h, w = self.conv_shape
        return (c, h // self.pool, w // self.pool)

    @property
    def fan_in(self) -> int:
        return self.in_shape[0] * self.kh * self.kw

    @property
    def weight_shape(self) -> tuple[int, ...]:
        if self.kind == "fc":
            return (self.out_ch, self.fan_in)
        return (self.out_ch, self.in_shape[0], self.kernel, self.kernel)

    def token(self) -> str:
        if self.kind == "fc":
            return f"{self.out_ch}fc"
        tok = f"{self.out_ch}c{self.kernel}" + (f"p{self.pad}" if self.pad else "")
        return tok + ("-mp2" if self.pool == 2 else "")


@dataclass(frozen=True)
class Arch:
    in_shape: tuple[int, int, int]
    layers: tuple[Layer, ...]

    @property
    def num_classes(self) -> int:
        return self.layers[-1].out_ch

    def __str__(self) -> str:
        return "x".join(map(str, self.in_shape)) + "".join("-" + ly.token() for ly in self.layers)


_RE_INPUT = re.compile(r"^(\d+)x(\d+)x(\d+)$")
_RE_CONV = re.compile(r"^(\d+)c(\d+)(?:p(\d+))?$")
_RE_FC = re.compile(r"^(\d+)fc$")
_HINTS = (
    (re.compile(r"^\d+c\d+(p\d+)?s\d+$"), "strided convolution is not supported (stride 1 only)"),
    (re.compile(r"^mp\d+$"), "only 2x2 max-pool 'mp2' is supported"),
    (re.compile(r"^(ap|avg)\d*$"), "average pooling is not supported (spikes are pooled by OR)"),
    (re.compile(r"^\d+c\d+p\d+d\d+$"), "dilated convolution is not supported"),
    (re.compile(r"^(bn|dropout|dp)\d*$"), "batch norm / dropout are not hardware layers"),
)


def _shown(text: str) -> str:
    """``text`` quoted for a one-line message (control characters escaped)."""
    return f"'{text}'" if text.isprintable() else repr(text)


def _fail(token: str, index: int, why: str) -> ArchError:
    return ArchError(f"arch token {index} {_shown(token)}: {why}")


def _positive(value: str, token: str, index: int, what: str, limit: int) -> int:
    n = int(value)
    if not 1 <= n <= limit:
        raise _fail(token, index, f"{what} must be in 1..{limit}, got {n}")
    return n


def parse_arch(text: str) -> Arch:
    """Parse an architecture string or preset name into an :class:`Arch` with shapes."""
    if not isinstance(text, str) or not text.strip():
        raise ArchError("arch string is empty")
    text = text.strip()
    if text.lower() in PRESETS:
        text = PRESETS[text.lower()]
    tokens = text.split("-")
    m = _RE_INPUT.match(tokens[0])
    if not m:
        raise _fail(tokens[0], 0, "first token must be the input shape CxHxW, e.g. 1x28x28")
    shape = tuple(
        _positive(v, tokens[0], 0, name, lim)
        for v, name, lim in zip(
            m.groups(), ("channels", "height", "width"), (MAX_CHANNELS, MAX_SIDE, MAX_SIDE),
            strict=True,
        )
    )
    cur: tuple[int, int, int] = (shape[0], shape[1], shape[2])
    layers: list[Layer] = []
    for i, tok in enumerate(tokens[1:], start=1):
        if tok == "mp2":
            if not layers or layers[-1].kind != "conv" or layers[-1].pool != 1:
                raise _fail(tok, i, "max-pool must directly follow a conv layer")
            c, h, w = layers[-1].conv_shape
            if h < 2 or w < 2:
                raise _fail(tok, i, f"cannot pool a {c}x{h}x{w} feature map")
            prev = layers.pop()
            layers.append(Layer("conv", prev.in_shape, prev.out_ch, prev.kernel, prev.pad, 2))
            cur = layers[-1].out_shape
            continue
        if layers and layers[-1].kind == "fc" and not _RE_FC.match(tok):
            raise _fail(tok, i, "only fc layers may follow an fc layer")
        if m := _RE_CONV.match(tok):
            n = _positive(m[1], tok, i, "channels", MAX_CHANNELS)
            k = _positive(m[2], tok, i, "kernel", MAX_KERNEL)
            p = int(m[3] or 0)
            if p >= k:
                raise _fail(tok, i, f"padding {p} must be smaller than the kernel {k}")
            ly = Layer("conv", cur, n, k, p)
            if min(ly.conv_shape[1:]) < 1:
                raise _fail(tok, i, f"kernel {k} pad {p} does not fit input {cur[1]}x{cur[2]}")
        elif m := _RE_FC.match(tok):
            ly = Layer("fc", cur, _positive(m[1], tok, i, "outputs", MAX_CHANNELS))
        else:
            why = next((h for rx, h in _HINTS if rx.match(tok)), None)
            raise _fail(tok, i, why or "unknown layer (expected NcK[pP], mp2 or Nfc)")
        layers.append(ly)
        cur = ly.out_shape
    if not layers:
        raise ArchError(f"arch {_shown(text)} has no layers")
    if layers[-1].kind != "fc":
        raise _fail(tokens[-1], len(tokens) - 1, "the last layer must be fc (the classifier)")
    return Arch((shape[0], shape[1], shape[2]), tuple(layers))
