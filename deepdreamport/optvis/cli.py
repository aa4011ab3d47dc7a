"""``deepdream render``: feature visualisation from the command line.

``add_render_parser(subparsers)`` adds the subcommand to the ``deepdream``
parser and ``run_render(args)`` runs it, with the conventions of
:mod:`deepdreamport.cli` (errors are reported by
:func:`deepdreamport.doors.commands.run_command`: bad input is one line on
stderr and exit status 2). ``--objective`` is the objective language of
:mod:`.objective_language` (units, neurons, directions, diversity, weighted
sums); channels and positions count from 1, as in ``dream``, ``atlas`` and
MATLAB, and the montage labels say each objective as written. The model is an
ONNX graph or a torch ``.pt2`` / TorchScript file (:mod:`.torch_files`). Before
any work: the model path, the device and the output files are checked
(:mod:`deepdreamport.doors.outputs`: the temporary files exist from the start
and are renamed into place at the end), then, once the network is loaded, the
objective against its layers and channels and the memory the render needs
(:mod:`.guard`). The device is said in one line on stderr once the render has
started. The montage shows the images as they are in 0–1 (a flat image shows
as its colour). ``--optimizer cmaes`` or ``ga`` runs the gradient-free path
(:mod:`.gradient_free`), which also runs graphs onnx2torch cannot convert.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import torch
from tqdm.auto import tqdm

from ._network import (
    DEGENERATE_STATUS,
    MONTAGE_EXTENSIONS,
    DeepDreamError,
    OnnxGraph,
    bounded,
    check_input_file,
    degenerate_images,
    montage,
    montage_format,
    require,
    reserved_outputs,
    resolve_device,
)
from .commands import MEMORY_ADVICE
from .commands import add_render_parser as add_render_parser  # re-exported: the parser of run_render
from .gradient_free import OPTIMIZERS, render_gradient_free
from .guard import check_render_memory, forward_per_pixel, gradient_per_pixel
from .network import OptvisNetwork, as_network
from .objective_language import Parsed, parse_objectives
from .rendering import render

OUTPUT_EXTENSIONS = {"--out": MONTAGE_EXTENSIONS, "--npy": (".npy",)}


def run_render(args: argparse.Namespace) -> int:
    """Run ``deepdream render``; 0 on success, 3 when images are degenerate (bad input raises, for ``run_command``)."""
    model = check_input_file(args.model, "MODEL", "model file", "deepdreamport:onnx:FileNotFound")
    gradient_free = args.optimizer.lower() in OPTIMIZERS
    if gradient_free:  # before any work: the extra each choice needs
        require("nevergrad", f"--optimizer {args.optimizer}")
    if args.param == "maco":
        require("skimage", "--param maco")
    device = torch.device("cpu") if gradient_free else resolve_device(args.device, "--device")
    if gradient_free and args.batch not in (None, 1):
        raise DeepDreamError(
            "deepdreamport:optvis:BadBatch",
            "--batch: the gradient-free optimisers render one image per objective; give one objective per image",
        )
    outputs = {"--out": args.out, "--npy": args.npy}
    with reserved_outputs(outputs, {"model": str(model)}, OUTPUT_EXTENSIONS) as reserved:
        network = as_network(str(model), input_range=args.input_range, layouts=dict(args.layout or ()))
        rows = network.graph.layer_names() if isinstance(network.graph, OnnxGraph) else None  # `deepdream layers`
        parsed = parse_objectives(args.objective, network.layer_names(), network.channels_of, rows=rows)
        objective, labels = _objective_and_labels(parsed, args.batch)
        options = dict(
            param=args.param,
            decorrelate=not args.no_decorrelate,
            transforms=args.transforms,
            optimizer=args.optimizer,
            lr=args.lr,
            seed=args.seed,
            lucent=args.lucent,
            dtype=getattr(torch, args.dtype),
            device=device,
            redirected_relu=args.redirected_relu,
        )
        _check_memory(args, network, parsed, len(labels), options, gradient_free)
        result = _render(args, network, parsed, objective, options, gradient_free)
        if getattr(
            result, "interrupted", False
        ):  # render keeps lucent's Ctrl-C habit; a command stops: nothing written
            raise KeyboardInterrupt
        sheet = montage(result.images, labels, domain=(0.0, 1.0))  # images are 0–1: a flat one shows as its colour
        if "--npy" in reserved:
            reserved["--npy"].commit(lambda handle: np.save(handle, result.images))
        reserved["--out"].commit(lambda handle: sheet.save(handle, format=montage_format(args.out)))
    written = ", ".join(p for p in (args.out, args.npy) if p)
    print(
        f"wrote {written} ({len(labels)} images of {_size_text(args.size)}, "
        f"final loss {float(np.sum(result.losses[-1])):.4g})"
    )
    degenerate = degenerate_images(torch.from_numpy(np.ascontiguousarray(result.images.transpose(0, 3, 1, 2))))
    if degenerate:  # NaN or constant images (doors.degenerate): written, and said, as `deepdream dream` does
        shown = "; ".join(f"{labels[d.index]}: {d.reason}" for d in degenerate[:3])
        print(
            bounded(f"deepdream render: warning: {len(degenerate)} of {len(labels)} images are degenerate. {shown}"),
            file=sys.stderr,
        )
        return DEGENERATE_STATUS
    return 0


def _objective_and_labels(parsed: list[Parsed], batch) -> tuple:
    """One objective per batch element (or one for the whole batch) and a label per image."""
    labels = [item.label if len(item.label) <= 28 else item.label[:27] + "…" for item in parsed]
    if len(parsed) > 1:
        return [item.objective for item in parsed], labels
    count = batch or 1
    return parsed[0].objective, labels if count == 1 else [f"{labels[0]} #{k + 1}" for k in range(count)]


def _check_memory(
    args: argparse.Namespace,
    network: OptvisNetwork,
    parsed: list[Parsed],
    images: int,
    options: dict,
    gradient_free: bool,
) -> None:
    """One probe step (or forward pass) of each layer the objectives read: the network must run on such images;
    then the guard.

    The probe runs with ``--no-memory-check`` too (it is the check that the size works); only the
    refusal is turned off. Each layer is probed with its first channel: what a step keeps for the backward
    pass depends on the layers the network runs to, not on which of their channels is read.
    """
    layers = list(dict.fromkeys(layer for item in parsed for layer in item.objective.layers))
    units = [(layer, 0) for layer in layers] or [(network.layer_names()[-1], 0)]
    if gradient_free:
        transforms = "none" if args.transforms == "standard" else args.transforms
        per_pixel = forward_per_pixel(network, units, args.size, transforms)
        images, dtype, device = images * args.population, torch.float32, torch.device("cpu")
    else:
        per_pixel = gradient_per_pixel(network, units, args.size, options)
        dtype, device = options["dtype"], options["device"]
    if args.memory_check:
        check_render_memory(per_pixel, images, args.size, dtype, device, f"{MEMORY_ADVICE}, or --no-memory-check")


def _size_text(size) -> str:
    """``128x128`` for a side, ``32x48`` for ``(height, width)``."""
    height, width = size if isinstance(size, tuple) else (size, size)
    return f"{height}x{width}"


def _device_line(device: torch.device) -> str:
    """The device a render runs on, for one line on stderr."""
    if device.type == "cuda":
        return f"deepdream render: running on {device} ({torch.cuda.get_device_name(device)})"
    return f"deepdream render: running on {device}"


def _render(args: argparse.Namespace, network: OptvisNetwork, parsed, objective, options: dict, gradient_free: bool):
    bar = None
    if not args.quiet:
        bar = tqdm(total=args.steps, desc="render", unit="step", delay=2, file=sys.stderr, leave=False)
    device = options["device"]

    def on_step(step, loss) -> None:
        if step == 1:  # said once the run has started: bad input stays one line on stderr
            print(_device_line(device), file=sys.stderr)
        if bar is not None:
            bar.update(1)
            if np.ndim(loss) == 0:
                bar.set_postfix(loss=f"{float(loss):.4g}", refresh=False)

    try:
        if gradient_free:
            return render_gradient_free(
                network,
                [item.objective for item in parsed],
                optimizer=args.optimizer.lower(),
                size=args.size,
                population=args.population,
                generations=args.steps,
                decorrelate=not args.no_decorrelate,
                transforms="none" if args.transforms == "standard" else args.transforms,
                seed=args.seed,
                callback=on_step,
            )
        return render(
            network,
            objective,
            batch=args.batch,
            size=args.size,
            steps=args.steps,
            progress=False,
            memory_check=False,  # the command's own guard ran first (_check_memory), before any output existed
            callback=on_step,
            **options,
        )
    finally:
        if bar is not None:
            bar.close()
