"""Bad-input campaign (hypothesis): every malformed model file, memory image, architecture
string and IDX file ends in the reader's named one-line error or in a valid, consistent
result; never a crash."""

from __future__ import annotations

import pytest

from fireflys.cli.main import main
from fireflys.verify import badinput


@pytest.mark.parametrize("name", sorted(badinput.CAMPAIGNS))
def test_campaign_has_no_crash(name: str) -> None:
    r = badinput.CAMPAIGNS[name](120)
    assert r.tried == 120
    assert r.crashes == [], r.crashes[0]
    assert r.named_errors > r.tried // 2  # the campaign mostly makes bad inputs


def test_campaign_finds_a_crash() -> None:
    """The harness reports what is not a named error (it can fail)."""
    from hypothesis import strategies as st

    def check(n: int) -> None:
        if n % 10 == 3:
            raise KeyError("not a named error")
        raise ValueError("named")

    r = badinput._run("t", st.integers(0, 10**6), check, (ValueError,), 60)
    assert r.tried == 60 and r.crashes and "KeyError" in r.crashes[0]


def test_reliability_report(tmp_path, capsys) -> None:
    import json

    formal = tmp_path / "formal.json"
    formal.write_text(json.dumps({"proofs": 3, "passed": 3, "failed": []}))
    soak = tmp_path / "soak.json"
    soak.write_text(json.dumps({"frames": 7, "passed": True, "resets": 1, "malformed": 1,
                                "model": "m", "message": "PASS"}))
    out = tmp_path / "rel.json"
    assert main(["reliability", "--examples", "20", "--formal", str(formal), "--soak",
                 str(soak), "--out", str(out)]) == 0
    rep = json.loads(out.read_text())
    assert rep["proofs_passed"] == 3 and rep["frames_soaked"] == 7
    assert rep["bad_inputs_tried"] == 20 * len(badinput.CAMPAIGNS) and rep["crashes"] == 0
    # a failed proof makes the report fail
    formal.write_text(json.dumps({"proofs": 3, "passed": 2, "failed": ["x"]}))
    assert main(["reliability", "--examples", "5", "--formal", str(formal), "--soak",
                 str(soak), "--out", str(out)]) == 1
    assert main(["reliability", "--examples", "5", "--formal", str(tmp_path / "none.json"),
                 "--soak", str(soak), "--out", str(out)]) == 2
    assert "run `make formal`" in capsys.readouterr().err
