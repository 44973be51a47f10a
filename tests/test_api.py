"""docs/api.md's session runs (on a small model instead of scnn5): fireflys.api is the flow
from Python, and the documentation's example stays true."""

from __future__ import annotations

import os
import re
from pathlib import Path

from fireflys import api
from fireflys.paths import REPO


def test_the_documented_session_runs(tmp_path: Path, capsys) -> None:
    block = re.search(r"```python\n(.*?)```", (REPO / "docs" / "api.md").read_text(),
                      re.S).group(1)
    model = tmp_path / "m"
    api.compile_to_dir(api.random_model("1x6x6-3c3p1-mp2-5fc", sparsity=0.5, seed=2,
                                        calib_frames=4), model)
    code = block.replace('MODEL = "models/scnn5_mnist"', f'MODEL = "{model}"')
    code = code.replace('"mnist", 4, 0', '"random", 3, 0')
    assert code != block
    cwd = os.getcwd()
    os.chdir(tmp_path)  # build/api/... under the test's directory
    try:
        exec(compile(code, "docs/api.md", "exec"), {})
    finally:
        os.chdir(cwd)
    out = capsys.readouterr().out
    assert "golden predictions" in out and "frame period" in out
    assert (tmp_path / "build" / "api" / "hw").is_dir()


def test_api_names() -> None:
    assert set(api.__all__) <= set(dir(api))
