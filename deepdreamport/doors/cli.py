"""The handlers of ``deepdream dream``, ``layers`` and ``demo``.

``dream`` (deep-dream images of a layer's channels, written as a labelled
montage PNG and optionally as MATLAB ``.mat`` / NumPy ``.npy``), ``layers``
(the layer table of an ONNX network) and ``demo`` (the main job on the bundled
default model). Their arguments are in :mod:`.commands`, which names these
handlers so that parsing imports none of this; :mod:`deepdreamport.cli`
assembles them with the other sub-packages' subcommands and runs them through
:func:`.commands.run_command`. Channels and layer numbers are 1-based on the
command line, as in MATLAB, and so are the error messages. Output paths are
checked and their temporary files created before any work; the files are
renamed into place (``os.replace``) at the end, so a failed run never leaves a
partial file and never overwrites an input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from tqdm.auto import tqdm

from ..core.loop import DreamSettings
from ..errors import bounded
from ..input_files import check_input_file
from ..matlab.layout import khwc_to_hwck
from ..matlab.options import channel_list
from ..nets.load import format_layer_table, load_network
from ..nets.onnx_net import CONSTANT_WEIGHTS_NOTE
from ..onnx.read import check_onnx_path
from .commands import DEMO_OUT, CommandError, parse_channels
from .commands import add_parsers as add_parsers  # re-exported: the parsers of these handlers
from .commands import run_command as run_command  # re-exported
from .degenerate import EXIT_STATUS as DEGENERATE_STATUS
from .degenerate import degenerate_warnings
from .files import MONTAGE_EXTENSIONS, default_model, image_size, montage, montage_format, read_image
from .guard import check_memory
from .numbering import layer_from_text
from .outputs import output_folder, reserved_outputs
from .python import dream_images
from .run import check_pyramid_growth, resolve_device, resolve_layer_name

OUTPUT_EXTENSIONS = {"--out": MONTAGE_EXTENSIONS, "--mat": (".mat",), "--npy": (".npy",)}


def dream_to_files(args: argparse.Namespace, model: Path) -> int:
    """Run one dream from parsed arguments and write the requested files.

    Every input and output is checked before any work: output paths (not empty,
    the right extension, no input and no other output), their folders (a
    temporary file is created in each), the channels, the device; then the
    network is loaded, the layer read by the command line's rule
    (:mod:`.numbering`), the image's memory checked from its header before it
    is decoded; the dream runs and the files are renamed into place together at
    the end. The montage's labels name the layer, never its row number.
    """
    channels = channel_list(parse_channels(args.channels), base=1)
    device = resolve_device(args.device, "--device")
    if args.image is not None:
        args.image = str(check_input_file(args.image, "--image", "image"))  # ~ expanded
    outputs = {"--out": args.out, "--mat": args.mat, "--npy": args.npy}
    with reserved_outputs(outputs, {"model": str(model), "--image": args.image}, OUTPUT_EXTENSIONS) as reserved:
        network = load_network(str(model))
        if network.constant_weights:
            print(f"deepdream {args.command}: {CONSTANT_WEIGHTS_NOTE}", file=sys.stderr)
        layer = resolve_layer_name(
            network, layer_from_text(args.layer, [row.name for row in network.layers], "--layer"), base=1
        )
        if args.image and args.memory_check:
            _check_image_memory(args, network, len(channels), device)
        image = read_image(args.image, network.input_channels) if args.image else None
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
                device=device,
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
        sheet = montage(images, [f"{layer} ch {c}" for c in channels])
        matlab_layout = khwc_to_hwck(images)
        if "--mat" in reserved:
            record = {
                "I": matlab_layout,
                "layer": layer,
                "channels": np.asarray(channels, dtype=np.float64).reshape(1, -1),
            }
            import scipy.io  # only with --mat: scipy.io is 0.2 s of start-up that no other output needs

            reserved["--mat"].commit(lambda f: scipy.io.savemat(f, record))
        if "--npy" in reserved:
            reserved["--npy"].commit(lambda f: np.save(f, matlab_layout))
        reserved["--out"].commit(lambda f: sheet.save(f, format=montage_format(args.out)))
    written = ", ".join(p for p in (args.out, args.mat, args.npy) if p)
    print(f"wrote {written} ({len(channels)} images of {images.shape[1]}x{images.shape[2]}x{images.shape[3]})")
    return 0


def reporting_degenerate(args: argparse.Namespace, write: Callable[[], int]) -> int:
    """Run ``write`` (a command that writes images); degenerate images end it with one line and exit status 3.

    The files are written all the same: their numbers are what MATLAB's arithmetic
    gives (a NaN image included), and ``--scaling none`` keeps finite values; the
    status tells a script that some images show nothing of their unit
    (:mod:`.degenerate`).
    """
    with degenerate_warnings() as degenerate:
        status = write()
    if status == 0 and degenerate:
        print(bounded(f"deepdream {args.command}: warning: {degenerate[0]}"), file=sys.stderr)
        return DEGENERATE_STATUS
    return status


def _check_image_memory(args: argparse.Namespace, network, images: int, device) -> None:
    """The memory guard on ``--image``'s size from its header, before the image is decoded.

    A lower bound of the guard's estimate (the images and their working copies,
    without the network pass), so a picture too large for memory is refused in
    the guard's one line without decoding it; the full guard runs later.
    """
    settings = DreamSettings(
        args.iterations, args.levels, args.scale, network.tile_size(args.tile_size), args.max_batch
    )
    size = image_size(args.image)
    check_pyramid_growth(size, args.levels, args.scale)
    check_memory(0.0, images, network.input_channels, size, settings, torch.float32, device)


def run_dream(args: argparse.Namespace) -> int:
    model = check_onnx_path(args.model, "MODEL")
    return reporting_degenerate(args, lambda: dream_to_files(args, model))


def run_layers(args: argparse.Namespace) -> int:
    print(format_layer_table(check_onnx_path(args.model, "MODEL")))
    return 0


def run_demo(args: argparse.Namespace) -> int:
    if args.model is not None:
        model = check_onnx_path(args.model, "--model")
    else:
        model = default_model()
        if not model.is_file():
            raise CommandError(f"the default model {str(model)!r} is missing; run ./dev setup to fetch it")
    if args.out == DEMO_OUT:  # only the default folder is made (and removed again if the run fails while empty)
        with output_folder("--out", Path(DEMO_OUT).parent, {}):
            return reporting_degenerate(args, lambda: dream_to_files(args, model))
    return reporting_degenerate(
        args, lambda: dream_to_files(args, model)
    )  # a folder the user names must exist, as for dream
