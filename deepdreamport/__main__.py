"""``python -m deepdreamport``: the ``deepdream`` command."""

import sys

from .doors.cli import main

sys.exit(main())
