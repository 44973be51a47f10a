"""The package's layering: imports run one way (docs/index.md).

Every module of ``sw/fireflys`` is parsed with ``ast``; every import of a ``fireflys`` module
counts (function-local ones too), except those under ``if TYPE_CHECKING:``. The test fails on
an import cycle between modules and on any import against the layer order below.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "sw" / "fireflys"

# layer of each top-level part of the package (a subpackage or a module); a module may import
# its own layer and the layers listed as allowed for it
BASE = {"errors", "paths", "data", "progress", "download", "events"}
ORDER = ["core", "compiler", "interop", "phi", "hwgen", "eda", "verify", "report", "flow", "api",
         "cli"]


def allowed(part: str) -> set[str]:
    """The parts that ``part`` may import."""
    if part in BASE:
        # base modules: errors and paths import nothing of the package; data/progress only
        # them; download also shows progress, events reads MNIST (its synthetic set)
        extra = {"data": {"data"}, "progress": {"progress"}, "download": {"download", "progress"},
                 "events": {"events", "data"}}
        return {"errors", "paths"} | extra.get(part, set())
    if part == "train":  # core <- train <- cli; train may use phi (pattern-aware fine-tuning)
        return BASE | {"core", "phi", "train"}
    if part == "__init__":
        return set()
    below = ORDER[: ORDER.index(part) + 1]
    out = BASE | set(below)
    if part in ("cli", "flow", "api"):  # the flow's export step runs train's export
        out |= {"train"}
    return out


def module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else (
                test.attr if isinstance(test, ast.Attribute) else None)
            if name == "TYPE_CHECKING":
                for sub in node.body:
                    skip.update(id(n) for n in ast.walk(sub))
    return skip


def imports(path: Path, modules: set[str]) -> set[str]:
    """The ``fireflys`` modules that the file at ``path`` imports."""
    tree = ast.parse(path.read_text(), str(path))
    skip = _type_checking_nodes(tree)
    me = module_name(path)
    pkg = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            # `from X import Y`: the module X.Y where Y is one, else X
            names = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in modules else mod
                     for a in node.names]
        else:
            continue
        for n in names:
            if not n.startswith("fireflys"):
                continue
            # the longest prefix that is a module of the package
            parts = n.split(".")
            for k in range(len(parts), 0, -1):
                cand = ".".join(parts[:k])
                if cand in modules:
                    if cand != me and cand != "fireflys":
                        found.add(cand)
                    break
    return found


def graph() -> dict[str, set[str]]:
    files = sorted(PKG.rglob("*.py"))
    modules = {module_name(p) for p in files}
    return {module_name(p): imports(p, modules) for p in files}


def part_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def violations(g: dict[str, set[str]]) -> list[str]:
    out = []
    for mod, deps in sorted(g.items()):
        ok = allowed(part_of(mod))
        for d in sorted(deps):
            if part_of(d) not in ok:
                out.append(f"{mod} imports {d} ({part_of(mod)} may not import "
                           f"{part_of(d)})")
    return out


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in g.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles() -> None:
    assert cycles(graph()) == []


def test_imports_follow_the_layer_order() -> None:
    assert violations(graph()) == []


def test_every_part_has_a_layer() -> None:
    parts = {part_of(m) for m in graph()}
    unknown = parts - BASE - set(ORDER) - {"train", "__init__"}
    assert not unknown, f"parts without a layer: {sorted(unknown)} (add them to ORDER or BASE)"


def test_checker_catches_an_upward_import_and_a_cycle(tmp_path: Path) -> None:
    """The checks themselves: an upward import (core -> verify) and a cycle are reported,
    function-local imports count and TYPE_CHECKING imports do not."""
    g = graph()
    g["fireflys.core.golden"] = g["fireflys.core.golden"] | {"fireflys.verify.rtlsim"}
    bad = violations(g)
    assert "fireflys.core.golden imports fireflys.verify.rtlsim (core may not import verify)" \
        in bad
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    f = tmp_path / "fireflys" / "core" / "x.py"
    f.parent.mkdir(parents=True)
    f.write_text("from typing import TYPE_CHECKING\n"
                 "if TYPE_CHECKING:\n    from fireflys.train.trainer import TrainResult\n"
                 "def g():\n    from fireflys.verify import rtlsim\n")
    mods = {"fireflys.verify.rtlsim", "fireflys.train.trainer", "fireflys.verify"}
    global PKG
    old, PKG = PKG, tmp_path / "fireflys"
    try:
        assert imports(f, mods) == {"fireflys.verify.rtlsim"}
    finally:
        PKG = old


@pytest.mark.parametrize("path", sorted(PKG.rglob("*.py")), ids=lambda p: module_name(p))
def test_module_size(path: Path) -> None:
    """Small modules with one job each: none over 500 lines."""
    n = len(path.read_text().splitlines())
    assert n <= 500, f"{path.relative_to(PKG.parent)} has {n} lines"
