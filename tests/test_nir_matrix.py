"""The NIR support matrix (fireflys.interop.nir_matrix) is measured, and docs/nir.md holds the
table it measures."""

from __future__ import annotations

from pathlib import Path

import pytest

from fireflys.cli.main import main
from fireflys.interop.nir_matrix import markdown, node_types, support_matrix, table_in, write_into
from fireflys.paths import REPO

DOC = REPO / "docs" / "nir.md"


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory):
    return support_matrix(tmp_path_factory.mktemp("nirm"))


def test_every_node_type_has_a_measured_row(rows) -> None:
    by = {r.node: r for r in rows}
    assert sorted(by) == node_types() and "Conv2d" in by and "NIRGraph" in by
    for t in ("Conv2d", "Affine", "LIF", "IF", "I", "SumPool2d", "Flatten", "Input", "Output"):
        assert by[t].export == "exact" and by[t].import_own.startswith("exact"), t
        assert by[t].import_foreign.startswith("approximate: "), t
    for t in ("Linear", "LI"):  # read from other tools, never written
        assert by[t].export.startswith("not written") and by[t].import_own == "-"
        assert by[t].import_foreign.startswith("approximate: "), t
    assert "average pooling" in by["AvgPool2d"].import_foreign
    assert "delays are not supported" in by["Delay"].import_foreign
    assert "synaptic current" in by["CubaLIF"].import_foreign
    assert "subgraph" in by["NIRGraph"].import_foreign
    for t in ("AvgPool2d", "CubaLI", "CubaLIF", "Delay", "Scale", "Threshold", "NIRGraph",
              "Conv1d"):
        assert by[t].import_foreign.startswith("refused: "), t
    # IF neurons: the integer model equals the float probe spike for spike
    assert "spikes >= 100.0 %" in by["IF"].import_foreign


def test_docs_hold_the_measured_table(rows) -> None:
    assert table_in(DOC) == markdown(rows), (
        f"{DOC} does not hold the measured NIR matrix: run `fireflys nir matrix --write "
        "docs/nir.md`")


def test_cli_writes_between_the_markers(tmp_path: Path, capsys) -> None:
    f = tmp_path / "nir.md"
    f.write_text("# NIR\n\nbefore\n")
    assert main(["nir", "matrix", "--write", str(f)]) == 0
    text = f.read_text()
    assert text.startswith("# NIR\n\nbefore\n") and table_in(f) is not None
    assert not write_into(f, table_in(f))  # the same table: unchanged
    assert "already up to date" not in capsys.readouterr().out
