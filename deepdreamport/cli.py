"""The ``deepdream`` command: every sub-package's subcommands in one parser.

``dream``, ``layers`` and ``demo`` (:mod:`deepdreamport.doors.commands`),
``render`` (:mod:`deepdreamport.optvis.commands`), ``parity``
(:mod:`deepdreamport.parity.commands`), ``atlas`` and ``serve``
(:mod:`deepdreamport.atlas.commands`). It sits above every layer of the
package, so that each sub-package keeps its own subcommands.

Start-up: each sub-package's ``commands`` module holds only the arguments and
names its handler as ``"module:function"``; :func:`.doors.commands.run_command`
imports the handler's module when that sub-command runs. So parsing and every
``--help`` import no torch (2 s on a 2-core machine) and no onnx2torch (1.7 s:
it imports torchvision, torch._dynamo, sympy), and ``deepdream demo`` imports
only the dream path (not the atlas, jinja2, optvis, parity or onnxruntime).
"""

from __future__ import annotations

import atexit
import gc
import sys
from typing import Optional, Sequence

from .atlas import commands as atlas_commands
from .doors import commands as dream_commands
from .doors.arguments import CommandParser
from .input_files import PATH_ERRORS
from .optvis import commands as render_commands
from .parity import commands as parity_commands


def build_parser() -> CommandParser:
    """The ``deepdream`` parser; its sub-commands' parsers are :class:`CommandParser` too (one-line errors)."""
    parser = CommandParser(prog="deepdream", description="MATLAB's deepDreamImage on ONNX networks, in PyTorch.")
    parser.add_argument("--debug", action="store_true", help="on an error, also print the Python traceback")
    commands = parser.add_subparsers(dest="command", required=True)
    parity_commands.add_parity_parser(commands)
    dream_commands.add_parsers(commands)
    render_commands.add_render_parser(commands)
    atlas_commands.add_parsers(commands)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``deepdream ARGS``; returns the exit status.

    Bad input (arguments included): one line on stderr, exit 2; a bug: one line saying
    so, exit 1; ``--debug`` adds the traceback to either; interrupted (Ctrl-C, SIGTERM,
    SIGHUP): 128 + the signal, after the same clean-up.
    """
    # At exit the interpreter runs a full garbage collection over every object that torch,
    # torchvision and sympy made at import: 0.5-1 s on 2 cores. gc.freeze (a public API) at exit
    # moves them out of the collector's sight. Python does not promise finalizers for objects
    # alive at exit anyway, and every output is renamed into place before the command returns.
    atexit.unregister(gc.freeze)  # once, however often main runs in one process (tests)
    atexit.register(gc.freeze)
    _print_any_path()
    args = build_parser().parse_or_status(argv)
    status = args if isinstance(args, int) else dream_commands.run_command(args)
    try:  # output still buffered (a short table piped into `head`) meets a gone reader here, not at exit
        sys.stdout.flush()
    except BrokenPipeError:
        return dream_commands.SIGPIPE_STATUS if dream_commands.stdout_reader_left() else status
    except ValueError:  # a stdout already closed by the caller (an embedding program, a test)
        pass
    return status


def _print_any_path() -> None:
    """Let standard output and error print any path, a file name that is not UTF-8 (``os.fsdecode``'s
    surrogate escapes) as ``\\xff`` as messages show it (:func:`.input_files.shown`), where a UTF-8
    locale's strict encoding would fail after the work, and write nothing else differently."""
    for stream in (sys.stdout, sys.stderr):
        if getattr(stream, "errors", None) in ("strict", "backslashreplace") and hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors=PATH_ERRORS)
            except OSError:  # reconfigure asks a stream that claims to seek where it is: a shared pipe says ESPIPE
                pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
