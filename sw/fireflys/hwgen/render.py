"""Template files of the generated SystemVerilog (``hwgen/templates/``) and their renderer.

A template is SystemVerilog with ``{{ name }}`` placeholders (nothing else is special, so
``$readmemh``, ``@(posedge ...)`` and ``{a, b}`` need no escaping); :func:`render` fills them
from keyword arguments and fails on a missing or unknown name.
"""

from __future__ import annotations

import re
import string
from functools import cache
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent / "templates"


class SvTemplate(string.Template):
    pattern = r"""\{\{(?:
        (?P<escaped>(?!))|(?P<named>(?!))|
        \s*(?P<braced>[A-Za-z_][A-Za-z0-9_]*)\s*\}\}|
        (?P<invalid>(?!)))"""
    flags = re.VERBOSE


@cache
def template(name: str) -> SvTemplate:
    return SvTemplate((TEMPLATES / name).read_text())


def render(name: str, **values: object) -> str:
    """The template ``name`` with every placeholder filled; unused values are an error too
    (a renamed placeholder cannot go unnoticed)."""
    t = template(name)
    wanted = {m.group("braced") for m in t.pattern.finditer(t.template) if m.group("braced")}
    extra = set(values) - wanted
    if extra:
        raise KeyError(f"template {name}: no placeholder for {sorted(extra)}")
    return t.substitute(values)
