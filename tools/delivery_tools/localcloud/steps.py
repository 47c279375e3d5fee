"""Step-by-step progress with timings, so a long deploy shows where it is and where the time went."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


class StepRunner:
    """Prints `==> title` before and the elapsed seconds after each step; keeps the timings."""

    def __init__(self, out: TextIO = sys.stdout) -> None:
        self._out = out
        self.timings: dict[str, float] = {}

    def _print(self, line: str) -> None:
        print(line, file=self._out, flush=True)

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        """Time the body as one step; a failure is reported with its elapsed time and re-raised."""
        self._print(f"==> {title}")
        started = time.monotonic()
        try:
            yield
        except BaseException:
            self._print(f"    FAILED after {time.monotonic() - started:.1f} s: {title}")
            raise
        elapsed = time.monotonic() - started
        self.timings[title] = round(elapsed, 2)
        self._print(f"    ok ({elapsed:.1f} s)")

    def note(self, message: str) -> None:
        """An indented detail line under the current step."""
        self._print(f"    {message}")
