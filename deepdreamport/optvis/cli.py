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

from ._network import DEGENERATE_STATUS, DeepDreamError, bounded, degenerate_images, montage, write_atomic
from .commands import add_render_parser as add_render_parser  # re-exported: the parser of run_render
from .gradient_free import OPTIMIZERS, render_gradient_free
from .network import OptvisNetwork
from .rendering import parse_units, render


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
    degenerate = degenerate_images(torch.from_numpy(np.ascontiguousarray(result.images.transpose(0, 3, 1, 2))))
    if degenerate:  # NaN or constant images (doors.degenerate): written, and said, as `deepdream dream` does
        shown = "; ".join(f"{labels[d.index]}: {d.reason}" for d in degenerate[:3])
        print(
            bounded(f"deepdream render: warning: {len(degenerate)} of {len(units)} images are degenerate. {shown}"),
            file=sys.stderr,
        )
        return DEGENERATE_STATUS
    return 0
