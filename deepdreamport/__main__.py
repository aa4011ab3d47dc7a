"""``python -m deepdreamport``: the ``deepdream`` command."""

import sys

from .cli import main

sys.exit(main())
