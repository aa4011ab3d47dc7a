"""Errors carrying MATLAB's error identifiers.

MATLAB raises ``MException`` objects whose ``identifier`` (for example
``'nnet_cnn:deepDreamImage:InitialImageNotValidImage'``) lets callers branch on
the kind of failure. :class:`DeepDreamError` keeps that identifier next to a
message that names the argument, the value received and what is allowed.
"""

from __future__ import annotations


class DeepDreamError(ValueError):
    """Bad input, with MATLAB's error identifier in :attr:`identifier`."""

    def __init__(self, identifier: str, message: str):
        super().__init__(message)
        self.identifier = identifier
        self.message = message

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.message


def describe(value: object, limit: int = 60) -> str:
    """Short printable form of a user value for error messages."""
    text = repr(value)
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        text = f"array of shape {tuple(value.shape)} and dtype {value.dtype}"
    return text if len(text) <= limit else text[: limit - 3] + "..."
