"""``deepdream render``: feature visualisation from the command line.

``add_render_parser(subparsers)`` adds the subcommand to the ``deepdream``
parser and ``run_render(args)`` runs it, with the conventions of
:mod:`deepdreamport.cli`: bad input is one line on stderr and exit status 2,
files are written atomically (the montage PNG, the images shown as they are
in 0–1 rather than each stretched to its own range; optionally the images as
``.npy``, K×H×W×C in 0–1). ``--objective`` is the objective language of
:mod:`.objective_language` (units, neurons, directions, diversity, weighted
sums; channels and positions from 1); the model is an ONNX graph or a torch
``.pt2`` / TorchScript file (:mod:`.torch_files`). The device is said in one
line on stderr. ``--optimizer cmaes`` or ``ga`` runs the gradient-free
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
from .commands import add_render_parser as add_render_parser  # re-exported: the parser of run_render
from .gradient_free import OPTIMIZERS, render_gradient_free
from .network import as_network
from .objective_language import parse_objectives
from .rendering import render, render_device


class _BadArgument(Exception):
    pass


def _objective_and_labels(parsed: list, batch) -> tuple:
    """One objective per batch element (or one for the whole batch) and a label per image."""
    labels = [item.text if len(item.text) <= 28 else item.text[:27] + "…" for item in parsed]
    if len(parsed) > 1:
        return [item.objective for item in parsed], labels
    count = batch or 1
    return parsed[0].objective, labels if count == 1 else [f"{labels[0]} #{k + 1}" for k in range(count)]


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


def _device_line(device: torch.device) -> str:
    """The device a render runs on, for one line on stderr."""
    if device.type == "cuda":
        return f"deepdream render: running on {device} ({torch.cuda.get_device_name(device)})"
    return f"deepdream render: running on {device}"


def _run(args: argparse.Namespace) -> int:
    if not Path(args.model).is_file():
        raise _BadArgument(f"MODEL: file {args.model!r} does not exist")
    for option, path in (("--out", args.out), ("--npy", args.npy)):
        if path is not None and not Path(path).resolve().parent.is_dir():
            raise _BadArgument(f"{option}: the folder of {path!r} does not exist")
    if args.steps < 1:
        raise _BadArgument(f"--steps: expected a positive integer; got {args.steps}")
    network = as_network(args.model, input_range=_input_range(args.input_range))
    parsed = parse_objectives(args.objective, network.layer_names(), network.channels_of)
    objective, labels = _objective_and_labels(parsed, args.batch)
    gradient_free = args.optimizer.lower() in OPTIMIZERS
    if gradient_free and args.batch not in (None, 1):
        raise _BadArgument("--batch: the gradient-free optimisers render one image per objective; give one each")
    if args.batch is not None and args.batch < 1:
        raise _BadArgument(f"--batch: expected a positive integer; got {args.batch}")
    device = torch.device("cpu") if gradient_free else render_device(args.device)
    bar = None
    if not args.quiet:
        bar = tqdm(total=args.steps, desc="render", unit="step", delay=2, file=sys.stderr, leave=False)

    def on_step(step, loss) -> None:
        if step == 1:  # said once the run has started: bad input stays one line on stderr
            print(_device_line(device), file=sys.stderr)
        if bar is not None:
            bar.update(1)
            if np.ndim(loss) == 0:
                bar.set_postfix(loss=f"{float(loss):.4g}", refresh=False)

    try:
        if gradient_free:
            result = render_gradient_free(
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
        else:
            result = render(
                network,
                objective,
                batch=args.batch,
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
                device=device,
                redirected_relu=args.redirected_relu,
                progress=False,
                callback=on_step,
            )
    finally:
        if bar is not None:
            bar.close()
    sheet = montage(result.images, labels, domain=(0.0, 1.0))  # images are 0–1: a flat one shows as its colour
    write_atomic(args.out, lambda handle: sheet.save(handle, format="PNG"))
    if args.npy:
        write_atomic(args.npy, lambda handle: np.save(handle, result.images))
    written = ", ".join(p for p in (args.out, args.npy) if p)
    print(
        f"wrote {written} ({len(labels)} images of {args.size}x{args.size}, final loss {float(np.sum(result.losses[-1])):.4g})"
    )
    return 0
