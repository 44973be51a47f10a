"""Progress bars (fireflys.progress): a run that builds first restarts the bar's clock."""

from __future__ import annotations

import time

from fireflys import progress


def test_bar_clock_restarts_when_the_run_starts(monkeypatch) -> None:
    seen: dict[str, tuple[int, float]] = {}  # per bar: what it showed when first closed
    real = progress.tqdm

    class Spy(real):  # type: ignore[misc, valid-type]
        def close(self) -> None:
            seen.setdefault(self.desc, (self.n, self.format_dict["elapsed"]))
            super().close()

    monkeypatch.setattr(progress, "tqdm", Spy)
    with progress.bar(4, "run", disable=False) as p:
        time.sleep(0.5)  # the build
        p(0, 4)
        for i in range(1, 5):
            p(i, 4)
    n, elapsed = seen["run"]
    assert n == 4 and elapsed < 0.4, elapsed
    with progress.bar(2, "no build") as p:  # no (0, n): the clock runs from the start
        time.sleep(0.3)
        p(2, 2)
    assert seen["no build"][1] >= 0.3
