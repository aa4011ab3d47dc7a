"""``python -m deepdreamport.parity ARGS`` = ``deepdream parity ARGS``."""

import sys

from .cli import main

sys.exit(main())
