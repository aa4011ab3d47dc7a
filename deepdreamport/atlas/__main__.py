"""``python -m deepdreamport.atlas atlas|serve ...``: the atlas commands before they join ``deepdream``."""

from __future__ import annotations

import sys
from typing import Optional, Sequence

from ..doors.arguments import CommandParser
from ..doors.commands import run_command
from .commands import add_parsers


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = CommandParser(prog="deepdream", description="Whole-network atlas commands.")
    add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_or_status(argv)
    return args if isinstance(args, int) else run_command(args)


if __name__ == "__main__":
    sys.exit(main())
