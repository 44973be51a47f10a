"""The one progress mechanism of long runs: a simulator (or any long loop) reports ``(done,
total)`` through a :data:`Progress` callback, and the caller shows it with :func:`bar`, a
tqdm bar (thread-safe, so two simulations can run side by side, one bar each)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tqdm import tqdm

Progress = Callable[[int, int], None]  # (frames done, frames in all); (0, n): the run starts


@contextmanager
def bar(total: int, desc: str, *, unit: str = "frame", disable: bool = False,
        position: int | None = None) -> Iterator[Progress]:
    """A tqdm bar of ``total`` units and the callback that moves it to ``done``; ``done`` 0
    before any progress restarts its clock (a run that builds first reports (0, n) once the
    build is done, so the rate and the time left are the run's, not the build's)."""
    lock = threading.Lock()
    with tqdm(total=total, desc=desc, unit=unit, disable=disable, position=position,
              leave=True) as b:
        def update(done: int, _total: int) -> None:
            with lock:
                if done == 0 and b.n == 0:
                    b.reset(total=total)
                b.update(max(0, min(done, total) - b.n))

        yield update
        update(total, total)  # the run finished: every frame is out


def say(msg: str) -> None:
    """A status line that does not break the bars."""
    tqdm.write(msg)
