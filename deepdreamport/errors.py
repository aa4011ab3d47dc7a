"""Errors carrying MATLAB's error identifiers, with bounded messages.

MATLAB raises ``MException`` objects whose ``identifier`` (for example
``'nnet_cnn:deepDreamImage:InitialImageNotValidImage'``) lets callers branch on
the kind of failure. :class:`DeepDreamError` keeps that identifier next to a
message that names the argument, the value received and what is allowed.

Messages are bounded: a message is one line (whitespace runs collapse to one
space) of at most :data:`MESSAGE_LIMIT` characters, so a user value of any size
(a list of 10^8 channels, a huge array) never prints a huge line;
:func:`describe` and :func:`describe_numbers` give short forms of such values.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

MESSAGE_LIMIT = 1000
"""Most characters in one error message."""


def bounded(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` on one line, cut to ``limit`` characters (saying how long it was)."""
    line = " ".join(str(text).split())
    if len(line) <= limit:
        return line
    suffix = f" ... ({len(line)} characters in all)"
    return line[: limit - len(suffix)] + suffix


class DeepDreamError(ValueError):
    """Bad input, with MATLAB's error identifier in :attr:`identifier`; the message is one bounded line."""

    def __init__(self, identifier: str, message: str):
        message = bounded(message)
        super().__init__(message)
        self.identifier = identifier
        self.message = message

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.message


def describe(value: object, limit: int = 60) -> str:
    """Short printable form of a user value for error messages."""
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        text = f"array of shape {tuple(value.shape)} and dtype {value.dtype}"
    elif isinstance(value, (list, tuple, range)) and len(value) > 20:
        text = f"{type(value).__name__} of {len(value)} elements"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe_numbers(values: Iterable[int], limit: int = 8) -> str:
    """Integers as sorted runs, at most ``limit`` runs shown: ``[3, 4, 5, 9]`` → ``'3..5, 9'``.

    Example:
        >>> describe_numbers([7, 8, 9, 100000000, 2])
        '2, 7..9, 100000000'
        >>> describe_numbers(range(0, 40, 2), limit=3)
        '0, 2, 4, ... (20 values in all)'
    """
    numbers = np.unique(np.fromiter((int(v) for v in values), dtype=np.int64))
    breaks = np.flatnonzero(np.diff(numbers) != 1) + 1
    starts = np.concatenate([[0], breaks])[: limit + 1]
    ends = np.concatenate([breaks - 1, [len(numbers) - 1]])[: limit + 1]
    runs = [(int(numbers[a]), int(numbers[b])) for a, b in zip(starts, ends)]
    shown = [str(a) if a == b else f"{a}..{b}" for a, b in runs[:limit]]
    if len(runs) > limit:
        shown.append(f"... ({len(numbers)} values in all)")
    return ", ".join(shown)
