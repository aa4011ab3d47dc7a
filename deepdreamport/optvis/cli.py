"""``deepdream render``: feature visualisation from the command line.

``add_render_parser(subparsers)`` adds the subcommand to the ``deepdream``
parser and ``run_render(args)`` runs it, with the conventions of
:mod:`deepdreamport.cli`: bad input is one line on stderr and exit status 2,
files are written atomically (the montage PNG, optionally the images as
``.npy``, K×H×W×C in 0–1). Channels are 0-based, as in lucent's
``"layer:n"`` strings. ``--optimizer cmaes`` or ``ga`` runs the gradient-free
path (:mod:`.gradient_free`), which also runs graphs onnx2torch cannot convert.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from ._network import DeepDreamError, montage, write_atomic
from .gradient_free import OPTIMIZERS, render_gradient_free
from .network import OptvisNetwork
from .render import parse_units, render


def add_render_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``render`` to ``subparsers`` (from ``ArgumentParser.add_subparsers``); returns the new parser."""
    render = subparsers.add_parser(
        "render",
        help="feature visualisation (lucent-style) of channels of an ONNX network",
        description="Optimise an image per unit (one per batch element) so the unit's channel is maximal, "
        "lucent-style: FFT or pixel parametrisation, decorrelated colour, random transforms, Adam. "
        "Writes a labelled montage PNG (and optionally the images as .npy), atomically.",
    )
    render.add_argument("model", metavar="MODEL.onnx", help="ONNX network")
    render.add_argument(
        "--objective",
        required=True,
        metavar="LAYER:CHANNEL[,...]",
        help="units to visualise, 0-based channels, layer names as `deepdream layers` shows them",
    )
    render.add_argument(
        "--param",
        choices=("fft", "pixel", "laplacian", "cppn", "maco"),
        default="fft",
        help="image parametrisation (default fft)",
    )
    render.add_argument("--redirected-relu", action="store_true", help="Lucid's redirected ReLU gradient (dead units)")
    render.add_argument("--no-decorrelate", action="store_true", help="optimise colours directly (RGB networks)")
    render.add_argument("--size", type=int, default=128, help="image side in pixels (default 128)")
    render.add_argument(
        "--steps", type=int, default=512, help="optimisation steps (default 512); generations for cmaes/ga"
    )
    render.add_argument(
        "--transforms",
        default="standard",
        help="'standard' (lucent's), 'none' or a list like pad:12,jitter:8,scale:0.1,rotate:10",
    )
    render.add_argument(
        "--optimizer",
        default="adam",
        help="a torch.optim optimiser (adam, lbfgs, sgd, ...) or cmaes / ga (gradient-free; default adam)",
    )
    render.add_argument("--lr", type=float, help="learning rate (default 0.05; L-BFGS 1)")
    render.add_argument("--population", type=int, default=16, help="population size for cmaes / ga (default 16)")
    render.add_argument(
        "--input-range",
        metavar="LOW,HIGH",
        help="network units of a 0-1 image (default: from the input layer's mean, else 0,255)",
    )
    render.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    render.add_argument("--lucent", action="store_true", help="draw transforms like lucent (NumPy's global stream)")
    render.add_argument(
        "--dtype", choices=("float32", "float64"), default="float32", help="precision (default float32)"
    )
    render.add_argument("--device", default="cpu", help="torch device (cpu, cuda, ...)")
    render.add_argument("--out", required=True, help="montage PNG to write")
    render.add_argument("--npy", help="also write the images (K×H×W×C, 0-1) as .npy")
    render.add_argument("--quiet", action="store_true", help="no progress bar")
    render.set_defaults(handler=run_render)
    return render


class _BadArgument(Exception):
    pass


def _input_range(text):
    if text is None:
        return None
    try:
        low, high = (float(v) for v in text.split(","))
    except ValueError:
        raise _BadArgument(f"--input-range: expected LOW,HIGH (two numbers); got {text!r}") from None
    return low, high


def run_render(args: argparse.Namespace) -> int:
    """Run ``deepdream render``; 0 on success, 2 (one line on stderr) on bad input."""
    try:
        return _run(args)
    except (_BadArgument, DeepDreamError, OSError, ValueError) as error:
        print(f"deepdream render: error: {' '.join(str(error).split())}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    if not Path(args.model).is_file():
        raise _BadArgument(f"MODEL: ONNX file {args.model!r} does not exist")
    for option, path in (("--out", args.out), ("--npy", args.npy)):
        if path is not None and not Path(path).resolve().parent.is_dir():
            raise _BadArgument(f"{option}: the folder of {path!r} does not exist")
    if args.steps < 1:
        raise _BadArgument(f"--steps: expected a positive integer; got {args.steps}")
    units = parse_units(args.objective)
    network = OptvisNetwork.from_onnx(args.model, input_range=_input_range(args.input_range))
    bar = None
    if not args.quiet:
        bar = tqdm(total=args.steps, desc="render", unit="step", delay=2, file=sys.stderr, leave=False)
    try:
        if args.optimizer.lower() in OPTIMIZERS:
            result = render_gradient_free(
                network,
                args.objective,
                optimizer=args.optimizer.lower(),
                size=args.size,
                population=args.population,
                generations=args.steps,
                decorrelate=not args.no_decorrelate,
                transforms="none" if args.transforms == "standard" else args.transforms,
                seed=args.seed,
                callback=(lambda step, losses: bar.update(1)) if bar else None,
            )
        else:
            result = render(
                network,
                args.objective,
                param=args.param,
                size=args.size,
                decorrelate=not args.no_decorrelate,
                transforms=args.transforms,
                optimizer=args.optimizer,
                lr=args.lr,
                steps=args.steps,
                seed=args.seed,
                lucent=args.lucent,
                dtype=getattr(torch, args.dtype),
                device=args.device,
                redirected_relu=args.redirected_relu,
                callback=(lambda step, loss: (bar.update(1), bar.set_postfix(loss=f"{loss:.4g}", refresh=False)))
                if bar
                else None,
            )
    finally:
        if bar is not None:
            bar.close()
    labels = [f"{layer} ch {channel}" for layer, channel in units]
    sheet = montage(result.images, labels)
    write_atomic(args.out, lambda handle: sheet.save(handle, format="PNG"))
    if args.npy:
        write_atomic(args.npy, lambda handle: np.save(handle, result.images))
    written = ", ".join(p for p in (args.out, args.npy) if p)
    print(
        f"wrote {written} ({len(units)} images of {args.size}x{args.size}, final loss {float(np.sum(result.losses[-1])):.4g})"
    )
    return 0
