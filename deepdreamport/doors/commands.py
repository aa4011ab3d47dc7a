"""The arguments of ``deepdream dream``, ``layers`` and ``demo``, and the error handling of every sub-command.

The ``deepdream`` command (:mod:`deepdreamport.cli`) builds its parser from each
sub-package's ``commands`` module; this one adds ``dream``, ``layers`` and ``demo``,
whose handlers are in :mod:`.cli`. A parser names its handler as
``"module:function"`` (``handler`` default), which :func:`run_command` imports
only when that sub-command runs: this module imports nothing but the standard
library and :mod:`deepdreamport.errors`, so parsing arguments and ``--help`` never
import torch (2 s) or onnx2torch (1.7 s, torchvision).

:func:`run_command` runs a parsed sub-command: bad input ends with a one-line
error on stderr and exit status 2; any other failure is a bug, reported as one
line that says so, exit status 1; ``--debug`` adds the traceback.
"""

from __future__ import annotations

import argparse
import os
import select
import sys
import traceback
from typing import Optional

from .._lazy import load
from ..errors import DeepDreamError, bounded
from ..input_files import os_reason, shown
from .arguments import positive_int, scale_above_one, seed
from .signals import interrupt_name, interrupt_status, terminate_as_interrupt

DEMO_MODEL_NAME = "efficientnet_lite0.onnx"
"""The bundled default model's file name (``models/`` of the working folder or checkout, see ``files.default_model``)."""
DEMO_LAYER = "_blocks/10/Add"
DEMO_CHANNELS = "1:4"
DEMO_OUT = "out/demo.png"
DREAM_MEMORY_ADVICE = (
    "a smaller --max-batch, fewer --levels, a smaller --scale, a smaller image or fewer --channels, or --host-state"
)
"""What to change when ``dream``/``demo`` run out of memory (each command names its own options)."""
MAX_CHANNELS = 1_000_000
"""Most channels (images) one command may ask for; more is refused before anything is expanded."""
HANDLERS = {
    "dream": f"{__package__}.cli:run_dream",
    "layers": f"{__package__}.cli:run_layers",
    "demo": f"{__package__}.cli:run_demo",
}
"""Each sub-command's handler, imported when it runs."""


class CommandError(Exception):
    """Bad command-line input: reported as one line, exit status 2."""


def parse_channels(spec: str) -> list[int]:
    """MATLAB-style channel list: ``1:8``, ``1:2:9``, ``1,3,5`` or a mix (``1:3,7``); 1-based.

    At most :data:`MAX_CHANNELS` channels; the count is checked before any range is expanded.
    """
    ranges: list[range] = []
    for part in str(spec).replace(" ", "").split(","):
        fields = part.split(":")
        try:
            numbers = [int(f) for f in fields]
        except ValueError:
            raise CommandError(
                f"--channels: {bounded(spec, 60)!r} is not a list of integers or MATLAB ranges (1:8, 1:2:9, 1,3,5)"
            ) from None
        if len(numbers) == 1:
            ranges.append(range(numbers[0], numbers[0] + 1))
            continue
        if len(numbers) == 2:
            start, step, stop = numbers[0], 1, numbers[1]
        elif len(numbers) == 3:
            start, step, stop = numbers
        else:
            raise CommandError(
                f"--channels: {bounded(part, 60)!r} is not a MATLAB range (start:stop or start:step:stop)"
            )
        if step == 0 or (stop - start) * step < 0:
            raise CommandError(f"--channels: the range {bounded(part, 60)!r} is empty")
        ranges.append(range(start, stop + (1 if step > 0 else -1), step))
    count = sum(len(r) for r in ranges)
    if count > MAX_CHANNELS:
        raise CommandError(
            f"--channels: {bounded(spec, 60)!r} asks for {count} channels (one image each); "
            f"at most {MAX_CHANNELS} in one run"
        )
    return [channel for r in ranges for channel in r]


def _add_dream_options(
    command: argparse.ArgumentParser,
    *,
    layer: Optional[str],
    channels: Optional[str],
    levels: int,
    iterations: int,
    out: Optional[str],
) -> None:
    command.add_argument(
        "--layer",
        required=layer is None,
        default=layer,
        help="layer name, or its row number in `deepdream layers MODEL` (1-based; #12 is always row 12, "
        "a name that is also a number is that layer)" + (f"; default {layer}" if layer else ""),
    )
    command.add_argument(
        "--channels",
        required=channels is None,
        default=channels,
        help="1-based channels, MATLAB style: 1:8, 1:2:9 or 1,3,5" + (f"; default {channels}" if channels else ""),
    )
    command.add_argument(
        "--image",
        help="initial image, read as MATLAB's imread (PNG/JPEG/TIFF: 8-bit 0-255, 16-bit 0-65535) or an H x W x C "
        ".npy array; its channels must be the network's; default: noise of the layer's receptive-field size",
    )
    command.add_argument("--levels", type=positive_int, default=levels, help=f"PyramidLevels (default {levels})")
    command.add_argument("--scale", type=scale_above_one, default=1.4, help="PyramidScale, > 1 (default 1.4)")
    command.add_argument(
        "--iterations", type=positive_int, default=iterations, help=f"NumIterations per level (default {iterations})"
    )
    command.add_argument(
        "--seed", type=seed, default=0, help="rng(seed, 'twister') before the run (default 0, MATLAB's start-up state)"
    )
    command.add_argument("--device", default="auto", help="auto (GPU if any), cpu, gpu or a torch device (cuda:1)")
    command.add_argument(
        "--scaling",
        choices=("linear", "none"),
        default="linear",
        help="OutputScaling of the saved arrays (default linear)",
    )
    command.add_argument("--tile-size", type=positive_int, help="TileSize for networks with a dynamic input size")
    command.add_argument("--max-batch", type=positive_int, help="at most this many tiles x channels per network pass")
    command.add_argument(
        "--host-state", action="store_true", help="keep the images in host memory, one group on the device at a time"
    )
    command.add_argument(
        "--compile",
        action="store_true",
        help="run the network through torch.compile (needs a C++ compiler on the CPU; compiling takes tens of "
        "seconds, and on a small AVX2 CPU the compiled network was slower: README, Benchmarks, figure 9)",
    )
    command.add_argument("--verbose", action="store_true", help="print MATLAB's verbose table")
    command.add_argument(
        "--no-memory-check",
        dest="memory_check",
        action="store_false",
        help="run even when the estimated memory exceeds what is available (the guard refuses it otherwise)",
    )
    command.add_argument(
        "--out",
        required=out is None,
        default=out,
        help="montage to write, .png (or .jpg for JPEG)" + (f" (default {out})" if out else ""),
    )
    command.add_argument("--mat", help="also write the images as MATLAB .mat (variable I, H x W x C x K)")
    command.add_argument("--npy", help="also write the images as .npy (H x W x C x K)")


def add_parsers(commands: argparse._SubParsersAction) -> None:
    """Add ``dream``, ``layers`` and ``demo`` to the ``deepdream`` command's subparsers."""
    dream = commands.add_parser(
        "dream",
        help="deep-dream images of a layer's channels",
        description="deepDreamImage(net, layer, channels, ...) on an ONNX network; writes a labelled montage PNG "
        "and optionally the images as .mat/.npy (atomically).",
    )
    dream.add_argument("model", metavar="MODEL.onnx", help="ONNX network")
    _add_dream_options(dream, layer=None, channels=None, levels=3, iterations=10, out=None)
    dream.set_defaults(handler=HANDLERS["dream"], memory_advice=DREAM_MEMORY_ADVICE)

    layers = commands.add_parser(
        "layers",
        help="list the layers of an ONNX network",
        description="Print the network's layer table (MATLAB's net.Layers): index, name, type, output size.",
    )
    layers.add_argument("model", metavar="MODEL.onnx", help="ONNX network")
    layers.set_defaults(handler=HANDLERS["layers"])

    demo = commands.add_parser(
        "demo",
        help="dream on the bundled default model",
        description=f"Deep dream on the bundled default model (models/{DEMO_MODEL_NAME}, made by ./dev setup): "
        f"layer {DEMO_LAYER}, channels {DEMO_CHANNELS}.",
    )
    demo.add_argument("--model", help="an ONNX network to use instead of the bundled default")
    _add_dream_options(demo, layer=DEMO_LAYER, channels=DEMO_CHANNELS, levels=2, iterations=5, out=DEMO_OUT)
    demo.set_defaults(handler=HANDLERS["demo"], memory_advice=DREAM_MEMORY_ADVICE)


def run_command(args: argparse.Namespace) -> int:
    """Run a parsed subcommand: bad input is one line on stderr, exit 2; a bug one line saying so, exit 1.

    ``args.handler`` is the function or its ``"module:function"`` name (imported here,
    inside the error handling); ``args.debug`` (the top-level ``--debug``) adds the
    traceback to either. Ctrl-C, SIGTERM and SIGHUP stop the command through the
    same clean-up (:mod:`.signals`: temporary files removed, claims handed back) and
    exit with 128 + the signal: 130, 143, 129. Running out of memory is exit 2 with
    the command's own advice (``args.memory_advice``, set by its parser).
    """
    with terminate_as_interrupt() as received:
        try:
            handler = load(args.handler) if isinstance(args.handler, str) else args.handler
            return received.status(handler(args))
        except BrokenPipeError as exc:
            if stdout_reader_left():
                return SIGPIPE_STATUS
            _report(args, f"error: {_reason(exc)}")
            return 2
        except (CommandError, DeepDreamError, OSError) as exc:
            _report(args, f"error: {_reason(exc)}")
            return 2
        except KeyboardInterrupt as interrupt:
            print(
                f"deepdream {args.command}: interrupted ({interrupt_name(interrupt)}); nothing was left half-written",
                file=sys.stderr,
            )
            return interrupt_status(interrupt)
        except (MemoryError, RuntimeError) as exc:
            if not _out_of_memory(exc):
                _report(args, _bug(args, exc))
                return 1
            advice = getattr(args, "memory_advice", None) or "smaller inputs"
            _report(
                args,
                f"error: out of memory ({_reason(exc)}); use {advice} (the memory guard was off or its estimate "
                "too low)",
            )
            return 2
        except Exception as exc:  # anything else is a bug of this package, not the user's input
            _report(args, _bug(args, exc))
            return 1


SIGPIPE_STATUS = 128 + 13  # what a shell reports for a command stopped by SIGPIPE (``yes | head``)


def stdout_reader_left() -> bool:
    """Whether standard output is a pipe whose reader has gone (``deepdream layers M | head``).

    Python ignores SIGPIPE, so a write to such a pipe raises ``BrokenPipeError`` where
    C programs end silently. The pipe is asked directly (``poll``: an error or hang-up on
    the write end means no reader is left), since the failed write may have emptied the
    buffer. When it is so, standard output is pointed at the null device, so that the
    interpreter's own flush at exit does not raise again, and the command ends quietly as
    ``head``'s users expect. A broken pipe elsewhere (a worker's connection) answers
    ``False`` and is reported as usual.
    """
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # a replaced or closed stdout (tests, embedding programs)
        return False
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(descriptor, select.POLLOUT)
        events = dict(poller.poll(0)).get(descriptor, 0)
        if not events & (select.POLLERR | select.POLLHUP):
            return False
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, descriptor)
    os.close(null)
    return True


def _bug(args: argparse.Namespace, exc: BaseException) -> str:
    return f"internal error (a bug in deepdreamport, please report it): {type(exc).__name__}: {_reason(exc)}" + (
        "" if getattr(args, "debug", False) else " (rerun with --debug for the traceback)"
    )


def _out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is an allocation failure (host or GPU), which is not a bug of the package.

    torch is looked up, not imported: this module must stay torch-free, and torch's
    ``OutOfMemoryError`` can only have been raised by a command that imported torch.
    """
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(exc, torch.OutOfMemoryError):
        return True
    return isinstance(exc, MemoryError) or "can't allocate memory" in str(exc)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{shown(exc.filename)}: {os_reason(exc)}" if exc.filename else os_reason(exc)
    return bounded(str(exc) or type(exc).__name__)


def _report(args: argparse.Namespace, line: str) -> None:
    if getattr(args, "debug", False):
        traceback.print_exc(file=sys.stderr)
    print(bounded(f"deepdream {args.command}: {line}"), file=sys.stderr)
