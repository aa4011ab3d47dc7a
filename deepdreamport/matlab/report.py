"""Progress reporting: MATLAB's verbose table and a progress bar.

Mirrors ``DeepDreamImageSummary``: a header, one row per iteration formatted
``| %11d | %12.2f | %15d |``, a row identical to the previous one is not
printed again, and a closing rule.
"""

from __future__ import annotations

import sys
from typing import Optional, TextIO

RULE = "|" + "=" * 46 + "|"
HEADER = (
    RULE,
    "|  Iteration  |  Activation  |  Pyramid Level  |",
    "|             |   Strength   |                 |",
    RULE,
)


def format_row(iteration: int, strength: float, level: int) -> str:
    return "| %11d | %12.2f | %15d |" % (iteration, strength, level)


class VerboseTable:
    """Prints MATLAB's deep-dream table to ``stream`` (stdout by default)."""

    def __init__(self, stream: Optional[TextIO] = None):
        self.stream = stream
        self._last_row: Optional[str] = None
        self._started = False

    def _write(self, line: str) -> None:
        out = self.stream or sys.stdout
        out.write(line + "\n")
        out.flush()

    def start(self) -> None:
        for line in HEADER:
            self._write(line)
        self._started = True

    def __call__(self, level: int, iteration: int, strength: float) -> None:
        if not self._started:
            self.start()
        row = format_row(iteration, strength, level)
        if row != self._last_row:
            self._write(row)
        self._last_row = row

    def finish(self) -> None:
        if not self._started:
            self.start()
        self._write(RULE)
