"""The ``deepdream`` command line.

Subcommands: ``dream`` (deep-dream images of a layer's channels, written as a
labelled montage PNG and optionally as MATLAB ``.mat`` / NumPy ``.npy``),
``layers`` (the layer table of an ONNX network), ``demo`` (the main job on the
bundled default model) and ``parity`` (check the port against MATLAB reference
cases). Channels are 1-based on the command line, as in MATLAB. Output files
are written atomically (a temporary file in the same folder, then
``os.replace``), so a failed run never leaves a partial file. Bad input ends
with a one-line error on stderr and exit status 2.

Start-up time: ``scipy.io`` (about 1 s of imports) is needed only by
``parity`` and by ``--mat``, so those two import it (through
:mod:`deepdreamport.parity` and in :func:`dream_to_files`) when they run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
from tqdm.auto import tqdm

from ..errors import DeepDreamError
from ..matlab.layout import khwc_to_hwck
from ..matlab.options import channel_list
from ..nets.load import format_layer_table, load_network
from .files import check_output_folder, default_model, montage, read_image, write_atomic
from .python import deep_dream_image

DEMO_LAYER = "_blocks/10/Add"
DEMO_CHANNELS = "1:4"


def _parity(args: argparse.Namespace) -> int:
    from ..parity import CaseResult, find_cases, load_case, run_case  # at run time: start-up (module docstring)

    try:
        paths = find_cases(args.paths)
    except FileNotFoundError as exc:
        print(f"deepdream parity: {exc}", file=sys.stderr)
        return 2
    if not paths:
        print("deepdream parity: no case files (*.mat) found", file=sys.stderr)
        return 2
    all_passed = True
    if not args.json:
        print(
            f"{'case':40s} {'prec':6s} {'Iraw rel':>10s} {'Ilinear rel':>11s} {'strength':>9s} {'rolls':>5s}  verdict"
        )
    for path in paths:
        try:
            result = run_case(load_case(path), args.models, device=args.device)
        except Exception as exc:  # a broken case is a failed case, reported and not fatal
            result = CaseResult(
                path.stem, "?", float("inf"), float("inf"), float("inf"), False, 0.0, f"{type(exc).__name__}: {exc}"
            )
        all_passed &= result.passed
        if args.json:
            print(json.dumps(result.as_dict()))
        else:
            verdict = "PASS" if result.passed else "FAIL" + (f" ({result.error})" if result.error else "")
            print(
                f"{result.case:40s} {result.precision:6s} {result.iraw_relative_error:10.2e} "
                f"{result.ilinear_relative_error:11.2e} {result.strength_abs_error:9.2e} "
                f"{'yes' if result.rolls_match else 'NO':>5s}  {verdict}"
            )
    return 0 if all_passed else 1


class CommandError(Exception):
    """Bad command-line input: reported as one line, exit status 2."""


def parse_channels(spec: str) -> list[int]:
    """MATLAB-style channel list: ``1:8``, ``1:2:9``, ``1,3,5`` or a mix (``1:3,7``); 1-based."""
    channels: list[int] = []
    for part in str(spec).replace(" ", "").split(","):
        fields = part.split(":")
        try:
            numbers = [int(f) for f in fields]
        except ValueError:
            raise CommandError(
                f"--channels: {spec!r} is not a list of integers or MATLAB ranges (1:8, 1:2:9, 1,3,5)"
            ) from None
        if len(numbers) == 1:
            channels.append(numbers[0])
            continue
        if len(numbers) == 2:
            start, step, stop = numbers[0], 1, numbers[1]
        elif len(numbers) == 3:
            start, step, stop = numbers
        else:
            raise CommandError(f"--channels: {part!r} is not a MATLAB range (start:stop or start:step:stop)")
        if step == 0 or (stop - start) * step < 0:
            raise CommandError(f"--channels: the range {part!r} is empty")
        channels.extend(range(start, stop + (1 if step > 0 else -1), step))
    return channels


def dream_to_files(args: argparse.Namespace, model) -> int:
    """Run one dream from parsed arguments and write the requested files (all or none computed first)."""
    for option, path in (("--out", args.out), ("--mat", args.mat), ("--npy", args.npy)):
        check_output_folder(option, path)
    channels = channel_list(parse_channels(args.channels), base=1)
    if args.iterations < 1 or args.levels < 1:
        raise CommandError("--iterations and --levels must be positive integers")
    network = load_network(str(model))
    image = read_image(args.image, network.input_channels) if args.image else None
    bar = tqdm(total=args.iterations * args.levels, desc="deep dream", unit="it", delay=2, file=sys.stderr, leave=False)
    try:
        images = deep_dream_image(
            network,
            args.layer,
            [c - 1 for c in channels],
            initial_image=image,
            num_iterations=args.iterations,
            pyramid_levels=args.levels,
            pyramid_scale=args.scale,
            output_scaling=args.scaling,
            verbose=args.verbose,
            device=args.device,
            random_state=args.seed,
            max_batch=args.max_batch,
            host_state=args.host_state,
            tile_size=args.tile_size,
            progress=bar,
        )
    finally:
        bar.close()
    labels = [f"{args.layer} ch {c}" for c in channels]
    sheet = montage(images, labels)
    matlab_layout = khwc_to_hwck(images)
    write_atomic(args.out, lambda f: sheet.save(f, format="PNG"))
    if args.mat:
        import scipy.io  # at run time: start-up (module docstring)

        record = {
            "I": matlab_layout,
            "layer": args.layer,
            "channels": np.asarray(channels, dtype=np.float64).reshape(1, -1),
        }
        write_atomic(args.mat, lambda f: scipy.io.savemat(f, record))
    if args.npy:
        write_atomic(args.npy, lambda f: np.save(f, matlab_layout))
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
    Path(args.out).resolve().parent.mkdir(parents=True, exist_ok=True)
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
        help="layer name (see `deepdream layers MODEL`)" + (f"; default {layer}" if layer else ""),
    )
    command.add_argument(
        "--channels",
        required=channels is None,
        default=channels,
        help="1-based channels, MATLAB style: 1:8, 1:2:9 or 1,3,5" + (f"; default {channels}" if channels else ""),
    )
    command.add_argument(
        "--image", help="initial image (PNG/JPEG; pixels 0-255); default: noise of the layer's receptive-field size"
    )
    command.add_argument("--levels", type=int, default=levels, help=f"PyramidLevels (default {levels})")
    command.add_argument("--scale", type=float, default=1.4, help="PyramidScale, > 1 (default 1.4)")
    command.add_argument(
        "--iterations", type=int, default=iterations, help=f"NumIterations per level (default {iterations})"
    )
    command.add_argument(
        "--seed", type=int, default=0, help="rng(seed, 'twister') before the run (default 0, MATLAB's start-up state)"
    )
    command.add_argument("--device", default="auto", help="auto (GPU if any), cpu or gpu")
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
    command.add_argument("--verbose", action="store_true", help="print MATLAB's verbose table")
    command.add_argument(
        "--out", required=out is None, default=out, help="montage PNG to write" + (f" (default {out})" if out else "")
    )
    command.add_argument("--mat", help="also write the images as MATLAB .mat (variable I, H x W x C x K)")
    command.add_argument("--npy", help="also write the images as .npy (H x W x C x K)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepdream", description="MATLAB's deepDreamImage on ONNX networks, in PyTorch."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    parity = commands.add_parser(
        "parity",
        help="check the port against MATLAB reference cases",
        description="Run every schema-v1 case file and compare with MATLAB's numbers "
        "(double 1e-10, single 1e-5 relative; strengths 1e-4 absolute; rolls exact). Exit 0 only if all pass.",
    )
    parity.add_argument("paths", nargs="+", help="case .mat files or folders of them")
    parity.add_argument("--models", required=True, help="folder holding the cases' ONNX networks")
    parity.add_argument("--device", default="cpu", help="torch device (cpu, cuda)")
    parity.add_argument("--json", action="store_true", help="one JSON object per case")
    parity.set_defaults(handler=_parity)

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
    demo.add_argument("--model", help=argparse.SUPPRESS)
    _add_dream_options(demo, layer=DEMO_LAYER, channels=DEMO_CHANNELS, levels=2, iterations=5, out="out/demo.png")
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (CommandError, DeepDreamError, OSError, ValueError) as exc:
        message = " ".join(str(exc).split())
        print(f"deepdream {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"deepdream {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
