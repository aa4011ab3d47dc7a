"""``python -m deepdreamport.atlas atlas|serve ...``: the atlas commands before they join ``deepdream``."""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from .cli import add_parsers


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="deepdream", description="Whole-network atlas commands.")
    add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
