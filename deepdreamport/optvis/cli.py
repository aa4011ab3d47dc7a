"""``deepdream render``: feature visualisation from the command line.

``add_render_parser(subparsers)`` adds the subcommand to the ``deepdream``
parser and ``run_render(args)`` runs it, with the conventions of
:mod:`deepdreamport.cli` (errors are reported by
:func:`deepdreamport.doors.commands.run_command`: bad input is one line on
stderr and exit status 2). Channels and layer rows count from 1, as in
``dream``, ``atlas`` and MATLAB (:mod:`.objective_text` turns them into the
Python API's 0-based objectives); the montage labels name each unit's layer
and its 1-based channel. Before any work: the model path, the objective's
syntax, the device and the output files are checked (:mod:`deepdreamport.doors.outputs`:
the temporary files exist from the start and are renamed into place at the
end), then, once the network is loaded, the layers, channels and the memory the
render needs (:mod:`.guard`). ``--optimizer cmaes`` or ``ga`` runs the
gradient-free path (:mod:`.gradient_free`), which also runs graphs onnx2torch
cannot convert.
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
    bounded,
    check_onnx_path,
    degenerate_images,
    montage,
    montage_format,
    reserved_outputs,
    resolve_device,
)
from .commands import MEMORY_ADVICE
from .commands import add_render_parser as add_render_parser  # re-exported: the parser of run_render
from .gradient_free import OPTIMIZERS, render_gradient_free
from .guard import check_render_memory, forward_per_pixel, gradient_per_pixel
from .network import OptvisNetwork
from .objective_text import api_objective, parse_objective_text, resolve_terms
from .rendering import render

OUTPUT_EXTENSIONS = {"--out": MONTAGE_EXTENSIONS, "--npy": (".npy",)}


def run_render(args: argparse.Namespace) -> int:
    """Run ``deepdream render``; 0 on success (bad input raises, reported by ``run_command``)."""
    model = check_onnx_path(args.model, "MODEL")
    terms = parse_objective_text(args.objective)
    device = resolve_device(args.device, "--device")
    gradient_free = args.optimizer.lower() in OPTIMIZERS
    outputs = {"--out": args.out, "--npy": args.npy}
    with reserved_outputs(outputs, {"model": str(model)}, OUTPUT_EXTENSIONS) as reserved:
        network = OptvisNetwork.from_onnx(str(model), input_range=args.input_range)
        terms = resolve_terms(terms, network.graph.layer_names(), network.channels_of)
        objective = api_objective(terms)
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
        _check_memory(args, network, terms, options, gradient_free)
        result = _render(args, network, objective, options, gradient_free)
        sheet = montage(result.images, [term.label for term in terms])
        if "--npy" in reserved:
            reserved["--npy"].commit(lambda handle: np.save(handle, result.images))
        reserved["--out"].commit(lambda handle: sheet.save(handle, format=montage_format(args.out)))
    written = ", ".join(p for p in (args.out, args.npy) if p)
    print(
        f"wrote {written} ({len(terms)} images of {args.size}x{args.size}, "
        f"final loss {float(np.sum(result.losses[-1])):.4g})"
    )
    degenerate = degenerate_images(torch.from_numpy(np.ascontiguousarray(result.images.transpose(0, 3, 1, 2))))
    if degenerate:  # NaN or constant images (doors.degenerate): written, and said, as `deepdream dream` does
        shown = "; ".join(f"{terms[d.index].label}: {d.reason}" for d in degenerate[:3])
        print(
            bounded(f"deepdream render: warning: {len(degenerate)} of {len(terms)} images are degenerate. {shown}"),
            file=sys.stderr,
        )
        return DEGENERATE_STATUS
    return 0


def _check_memory(args: argparse.Namespace, network: OptvisNetwork, terms, options: dict, gradient_free: bool) -> None:
    """One probe step (or forward pass) of each layer: the network must run on such images; then the guard.

    The probe runs with ``--no-memory-check`` too (it is the check that the size works); only the
    refusal is turned off.
    """
    units = [(term.layer, term.index) for term in terms]
    if gradient_free:
        transforms = "none" if args.transforms == "standard" else args.transforms
        per_pixel = forward_per_pixel(network, units, args.size, transforms)
        images, dtype, device = len(terms) * args.population, torch.float32, torch.device("cpu")
    else:
        per_pixel = gradient_per_pixel(network, units, args.size, options)
        images, dtype, device = len(terms), options["dtype"], options["device"]
    if args.memory_check:
        check_render_memory(per_pixel, images, args.size, dtype, device, f"{MEMORY_ADVICE}, or --no-memory-check")


def _render(args: argparse.Namespace, network: OptvisNetwork, objective, options: dict, gradient_free: bool):
    bar = None
    if not args.quiet:
        bar = tqdm(total=args.steps, desc="render", unit="step", delay=2, file=sys.stderr, leave=False)
    try:
        if gradient_free:
            return render_gradient_free(
                network,
                objective,
                optimizer=args.optimizer.lower(),
                size=args.size,
                population=args.population,
                generations=args.steps,
                decorrelate=not args.no_decorrelate,
                transforms="none" if args.transforms == "standard" else args.transforms,
                seed=args.seed,
                callback=(lambda step, losses: bar.update(1)) if bar else None,
            )
        return render(
            network,
            objective,
            size=args.size,
            steps=args.steps,
            callback=(lambda step, loss: (bar.update(1), bar.set_postfix(loss=f"{loss:.4g}", refresh=False)))
            if bar
            else None,
            **options,
        )
    finally:
        if bar is not None:
            bar.close()
