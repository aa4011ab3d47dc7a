"""``python -m deepdreamport.atlas atlas|serve ...``: the atlas commands before they join ``deepdream``."""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from ..doors.commands import run_command
from .commands import add_parsers


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="deepdream", description="Whole-network atlas commands.")
    add_parsers(parser.add_subparsers(dest="command", required=True))
    return run_command(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
