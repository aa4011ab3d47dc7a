"""The ``deepdream`` command: every sub-package's subcommands in one parser.

``dream``, ``layers`` and ``demo`` (:mod:`deepdreamport.doors.cli`),
``render`` (:mod:`deepdreamport.optvis.cli`), ``parity``
(:mod:`deepdreamport.parity.cli`), ``atlas`` and ``serve``
(:mod:`deepdreamport.atlas.cli`). It sits above every layer of the
package, so that each sub-package keeps its own subcommands.
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from .atlas.cli import add_parsers as add_atlas_parsers
from .doors import cli as dream_commands
from .optvis.cli import add_render_parser
from .parity.cli import add_parity_parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepdream", description="MATLAB's deepDreamImage on ONNX networks, in PyTorch."
    )
    parser.add_argument("--debug", action="store_true", help="on an error, also print the Python traceback")
    commands = parser.add_subparsers(dest="command", required=True)
    add_parity_parser(commands)
    dream_commands.add_parsers(commands)
    add_render_parser(commands)
    add_atlas_parsers(commands)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``deepdream ARGS``; returns the exit status.

    Bad input: one line on stderr, exit 2; a bug: one line saying so, exit 1;
    ``--debug`` adds the traceback to either.
    """
    args = build_parser().parse_args(argv)
    return dream_commands.run_command(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
