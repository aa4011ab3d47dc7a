"""The deep-dream subcommands of the ``deepdream`` command line, and its error handling.

``dream`` (deep-dream images of a layer's channels, written as a labelled
montage PNG and optionally as MATLAB ``.mat`` / NumPy ``.npy``), ``layers``
(the layer table of an ONNX network) and ``demo`` (the main job on the bundled
default model); :mod:`deepdreamport.cli` assembles them with the other
sub-packages' subcommands and runs them through :func:`run_command`. Channels and layer numbers are 1-based on the command line, as in
MATLAB, and so are the error messages. Output paths are checked and their
temporary files created before any work; the files are renamed into place
(``os.replace``) at the end, so a failed run never leaves a partial file and
never overwrites an input. Bad input ends with a one-line error on stderr and
exit status 2; any other failure is a bug, reported as one line that says so,
exit status 1; ``--debug`` adds the traceback.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path
from typing import Optional

import numpy as np
import scipy.io
import torch
from tqdm.auto import tqdm

from ..errors import DeepDreamError, bounded
from ..matlab.layout import khwc_to_hwck
from ..matlab.options import channel_list
from ..nets.load import format_layer_table, load_network
from .files import check_output_paths, default_model, montage, read_image, reserve_outputs
from .python import dream_images

DEMO_LAYER = "_blocks/10/Add"
DEMO_CHANNELS = "1:4"
DEMO_OUT = "out/demo.png"
MAX_CHANNELS = 1_000_000
"""Most channels (images) one command may ask for; more is refused before anything is expanded."""
OUTPUT_EXTENSIONS = {"--out": (".png", ".jpg", ".jpeg"), "--mat": (".mat",), "--npy": (".npy",)}


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


def parse_layer(text: str):
    """``--layer``: a row number of ``deepdream layers`` (1-based, as the README says) or a layer name."""
    return int(text) if text.strip().isdigit() else text


def dream_to_files(args: argparse.Namespace, model) -> int:
    """Run one dream from parsed arguments and write the requested files.

    Every input and output is checked before any work: output paths (not empty,
    the right extension, no input and no other output), their folders (a
    temporary file is created in each), the channels, the image; then the
    dream runs and the files are renamed into place together at the end.
    """
    outputs = {"--out": args.out, "--mat": args.mat, "--npy": args.npy}
    check_output_paths(outputs, {"model": str(model), "--image": args.image}, OUTPUT_EXTENSIONS)
    channels = channel_list(parse_channels(args.channels), base=1)
    if args.iterations < 1 or args.levels < 1:
        raise CommandError("--iterations and --levels must be positive integers")
    reserved = reserve_outputs(outputs)
    try:
        network = load_network(str(model))
        image = read_image(args.image, network.input_channels) if args.image else None
        layer = parse_layer(args.layer)
        bar = tqdm(
            total=args.iterations * args.levels, desc="deep dream", unit="it", delay=2, file=sys.stderr, leave=False
        )
        try:
            images = dream_images(
                network,
                layer,
                channels,
                base=1,
                initial_image=image,
                num_iterations=args.iterations,
                pyramid_levels=args.levels,
                pyramid_scale=args.scale,
                output_scaling=args.scaling,
                verbose=args.verbose,
                device=args.device,
                dtype="single",
                random_state=args.seed,
                max_batch=args.max_batch,
                tile_size=args.tile_size,
                input_channels=None,
                callback=None,
                progress=bar,
                memory_check=args.memory_check,
                host_state=args.host_state,
                compile=args.compile,
            )
        finally:
            bar.close()
        labels = [f"{args.layer} ch {c}" for c in channels]
        sheet = montage(images, labels)
        matlab_layout = khwc_to_hwck(images)
        sheet_format = "JPEG" if Path(args.out).suffix.lower() in (".jpg", ".jpeg") else "PNG"
        if "--mat" in reserved:
            record = {
                "I": matlab_layout,
                "layer": args.layer,
                "channels": np.asarray(channels, dtype=np.float64).reshape(1, -1),
            }
            reserved["--mat"].commit(lambda f: scipy.io.savemat(f, record))
        if "--npy" in reserved:
            reserved["--npy"].commit(lambda f: np.save(f, matlab_layout))
        reserved["--out"].commit(lambda f: sheet.save(f, format=sheet_format))
    finally:
        for pending in reserved.values():
            pending.discard()
    written = ", ".join(p for p in (args.out, args.mat, args.npy) if p)
    print(f"wrote {written} ({len(channels)} images of {images.shape[1]}x{images.shape[2]}x{images.shape[3]})")
    return 0


def _dream(args: argparse.Namespace) -> int:
    if not Path(args.model).is_file():
        raise CommandError(f"MODEL: ONNX file {args.model!r} does not exist")
    return dream_to_files(args, args.model)


def _layers(args: argparse.Namespace) -> int:
    print(format_layer_table(args.model))
    return 0


def _demo(args: argparse.Namespace) -> int:
    model = Path(args.model) if args.model else default_model()
    if not model.is_file():
        raise CommandError(f"the default model {str(model)!r} is missing; run ./dev setup to fetch it")
    if args.out == DEMO_OUT:  # only the default folder is made; a folder the user names must exist, as for dream
        Path(DEMO_OUT).parent.mkdir(parents=True, exist_ok=True)
    return dream_to_files(args, model)


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
        help="layer name, or its row number in `deepdream layers MODEL` (1-based)"
        + (f"; default {layer}" if layer else ""),
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
    command.add_argument("--levels", type=int, default=levels, help=f"PyramidLevels (default {levels})")
    command.add_argument("--scale", type=float, default=1.4, help="PyramidScale, > 1 (default 1.4)")
    command.add_argument(
        "--iterations", type=int, default=iterations, help=f"NumIterations per level (default {iterations})"
    )
    command.add_argument(
        "--seed", type=int, default=0, help="rng(seed, 'twister') before the run (default 0, MATLAB's start-up state)"
    )
    command.add_argument("--device", default="auto", help="auto (GPU if any), cpu, gpu or a torch device (cuda:1)")
    command.add_argument(
        "--scaling",
        choices=("linear", "none"),
        default="linear",
        help="OutputScaling of the saved arrays (default linear)",
    )
    command.add_argument("--tile-size", type=int, help="TileSize for networks with a dynamic input size")
    command.add_argument("--max-batch", type=int, help="at most this many tiles x channels per network pass")
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
    dream.set_defaults(handler=_dream)

    layers = commands.add_parser(
        "layers",
        help="list the layers of an ONNX network",
        description="Print the network's layer table (MATLAB's net.Layers): index, name, type, output size.",
    )
    layers.add_argument("model", metavar="MODEL.onnx", help="ONNX network")
    layers.set_defaults(handler=_layers)

    demo = commands.add_parser(
        "demo",
        help="dream on the bundled default model",
        description=f"Deep dream on the bundled default model ({default_model().name}, made by ./dev setup): "
        f"layer {DEMO_LAYER}, channels {DEMO_CHANNELS}.",
    )
    demo.add_argument("--model", help="an ONNX network to use instead of the bundled default")
    _add_dream_options(demo, layer=DEMO_LAYER, channels=DEMO_CHANNELS, levels=2, iterations=5, out=DEMO_OUT)
    demo.set_defaults(handler=_demo)


def run_command(args: argparse.Namespace) -> int:
    """Run a parsed subcommand: bad input is one line on stderr, exit 2; a bug one line saying so, exit 1.

    ``args.debug`` (the top-level ``--debug``) adds the traceback to either.
    """
    try:
        return args.handler(args)
    except (CommandError, DeepDreamError, OSError) as exc:
        _report(args, f"error: {_reason(exc)}")
        return 2
    except KeyboardInterrupt:
        print(f"deepdream {args.command}: interrupted", file=sys.stderr)
        return 130
    except (MemoryError, RuntimeError) as exc:
        if not _out_of_memory(exc):
            _report(args, _bug(args, exc))
            return 1
        _report(
            args,
            f"error: out of memory ({_reason(exc)}); use a smaller --max-batch, fewer --levels, a smaller "
            "--scale, a smaller image or fewer channels (the memory guard was off or its estimate too low)",
        )
        return 2
    except Exception as exc:  # anything else is a bug of this package, not the user's input
        _report(args, _bug(args, exc))
        return 1


def _bug(args: argparse.Namespace, exc: BaseException) -> str:
    return f"internal error (a bug in deepdreamport, please report it): {type(exc).__name__}: {_reason(exc)}" + (
        "" if getattr(args, "debug", False) else " (rerun with --debug for the traceback)"
    )


def _out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is an allocation failure (host or GPU), which is not a bug of the package."""
    return isinstance(exc, (MemoryError, torch.OutOfMemoryError)) or "can't allocate memory" in str(exc)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename!r}" if exc.filename else exc.strerror
    return bounded(str(exc) or type(exc).__name__)


def _report(args: argparse.Namespace, line: str) -> None:
    if getattr(args, "debug", False):
        traceback.print_exc(file=sys.stderr)
    print(bounded(f"deepdream {args.command}: {line}"), file=sys.stderr)
