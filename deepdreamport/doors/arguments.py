"""The argument parser and value types of every ``deepdream`` sub-command.

:class:`CommandParser` is argparse's parser with one change: a bad argument
ends with one line (``deepdream dream: error: --levels: expected an integer
≥ 1; got '2.5'``) and exit status 2, instead of argparse's usage block of nine
to eleven lines before it. The types (:func:`positive_int`, :func:`seed`,
:func:`finite_float`, ...) refuse a bad number while the arguments are parsed,
naming the option and what it takes. Every sub-package's ``commands`` module
builds its options with them (a sub-parser is made with its parent's class), so
each numeric option is checked the same way everywhere.

Standard library only: parsing and ``--help`` must not import torch (see
:mod:`deepdreamport.doors.commands`).
"""

from __future__ import annotations

import argparse
import difflib
import math
import re
from typing import Callable, NoReturn, Optional, Sequence, Union

SEED_LIMIT = 2**32
"""MATLAB's ``rng(seed)`` takes seeds 0..2^32-1."""
_ARGUMENT_PREFIX = re.compile(r"^argument ([^:]+): ")
_UNRECOGNIZED = "unrecognized arguments: "


class CommandParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line naming the option, exit status 2.

    ``add_subparsers`` makes the sub-commands' parsers of this class too, so the
    ``deepdream`` parser built with it gives every sub-command the same errors.
    """

    def error(self, message: str) -> NoReturn:
        line = " ".join(_ARGUMENT_PREFIX.sub(r"\1: ", message).split())
        if line.startswith(_UNRECOGNIZED):
            line += self._suggestions(line[len(_UNRECOGNIZED) :].split())
        self.exit(2, f"{self.prog}: error: {line} (see `{self.prog} --help`)\n")

    def parse_args(self, args=None, namespace=None):  # noqa: D102 - argparse's, with the error from the sub-command
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            self._chosen(parsed).error(_UNRECOGNIZED + " ".join(extras))
        return parsed

    def _chosen(self, parsed: argparse.Namespace) -> argparse.ArgumentParser:
        """The innermost sub-command's parser that ``parsed`` went through (this parser when there is none).

        Unrecognised arguments are reported by it: its name and its own options, not those of every command.
        """
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction) and action.dest != argparse.SUPPRESS:
                chosen = action.choices.get(getattr(parsed, action.dest, None))
                if chosen is not None:
                    return chosen._chosen(parsed) if isinstance(chosen, CommandParser) else chosen
        return self

    def _option_strings(self) -> set[str]:
        """Every option of this parser and of its sub-commands' parsers."""
        names: set[str] = set()
        for action in self._actions:
            names.update(action.option_strings)
            if isinstance(action, argparse._SubParsersAction):
                for parser in action.choices.values():
                    names.update(parser._option_strings() if isinstance(parser, CommandParser) else ())
        return names

    def _suggestions(self, tokens: Sequence[str]) -> str:
        known = sorted(self._option_strings())
        hints = []
        for token in tokens:
            if token.startswith("-"):
                option = token.split("=")[0]
                close = _closest_option(option, known)
                if close:
                    hints.append(f"{option}: did you mean {close}?")
        return "; " + "; ".join(hints) if hints else ""

    def parse_or_status(self, argv: Optional[Sequence[str]] = None) -> Union[argparse.Namespace, int]:
        """The parsed arguments, or the exit status when parsing ends the command (``--help``: 0, an error: 2)."""
        try:
            return self.parse_args(argv)
        except SystemExit as exit_info:
            return exit_info.code if isinstance(exit_info.code, int) else 2


def _number_type(name: str, convert: Callable[[str], float], accept: Callable[[float], bool], expected: str):
    """An argparse type: ``convert`` the text, then keep it only if ``accept``; else say ``expected``."""

    def parse(text: str):
        try:
            value = convert(text.strip())
        except (ValueError, OverflowError):
            raise argparse.ArgumentTypeError(f"expected {expected}; got {text!r}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"expected {expected}; got {text!r}")
        return value

    parse.__name__ = name
    return parse


def integer_at_least(low: int):
    """An argparse type: an integer ≥ ``low``."""
    return _number_type(f"integer_at_least_{low}", int, lambda v: v >= low, f"an integer ≥ {low}")


positive_int = integer_at_least(1)
"""An integer ≥ 1 (counts, sizes, steps)."""
port = _number_type("port", int, lambda v: 0 <= v <= 65535, "a port number 0..65535 (0 picks a free one)")
"""A TCP port, 0 for any free one."""
seed = _number_type("seed", int, lambda v: 0 <= v < SEED_LIMIT, "an integer seed in 0..2^32-1 (MATLAB's rng)")
"""A random seed as MATLAB's ``rng(seed)`` takes it."""
positive_float = _number_type("positive_float", float, lambda v: math.isfinite(v) and v > 0, "a finite number > 0")
"""A finite number > 0 (a learning rate)."""
scale_above_one = _number_type(
    "scale_above_one", float, lambda v: math.isfinite(v) and v > 1, "a finite number > 1 (MATLAB's PyramidScale)"
)
"""MATLAB's ``PyramidScale``: a finite number > 1."""


def number_pair(text: str) -> tuple[float, float]:
    """``LOW,HIGH``: two finite numbers with LOW < HIGH (an input range)."""
    parts = text.split(",")
    try:
        low, high = (float(part) for part in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LOW,HIGH (two numbers, such as 0,255); got {text!r}") from None
    if not (math.isfinite(low) and math.isfinite(high)):
        raise argparse.ArgumentTypeError(f"expected two finite numbers LOW,HIGH; got {text!r}")
    if not low < high:
        raise argparse.ArgumentTypeError(f"expected LOW < HIGH; got {text!r}")
    return low, high


def image_size(text: str) -> tuple[int, int]:
    """``HxW`` (or ``H,W``): two integers ≥ 1."""
    parts = text.lower().replace(",", "x").split("x")
    try:
        height, width = (int(part) for part in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HxW such as 64x64; got {text!r}") from None
    if height < 1 or width < 1:
        raise argparse.ArgumentTypeError(f"expected HxW with sides ≥ 1; got {text!r}")
    return height, width


def _closest_option(typed: str, known: Sequence[str]) -> Optional[str]:
    """The option ``typed`` was probably meant to be: a near spelling, or an option with ``typed`` as one of its words.

    Names are compared without their dashes, which every option shares and which made unrelated names
    look alike (``--units`` and ``--quiet``).
    """
    bare = typed.lstrip("-")
    if not bare:
        return None
    names = {option.lstrip("-"): option for option in known if option.startswith("--")}
    close = difflib.get_close_matches(bare, list(names), n=1, cutoff=0.7)
    if close:
        return names[close[0]]
    having_the_word = [option for name, option in names.items() if bare in name.split("-")]
    return having_the_word[0] if len(having_the_word) == 1 else None
