"""The arguments of ``deepdream render``; the handler is :func:`.cli.run_render`.

Standard library only, and the handler is named, not imported, so that parsing and
``deepdream render --help`` import no torch (see :mod:`deepdreamport.doors.commands`).
"""

from __future__ import annotations

import argparse

from ..doors.arguments import integer_at_least, number_pair, positive_float, positive_int, seed

MEMORY_ADVICE = "a smaller --size, fewer units in --objective, a smaller --population (cmaes, ga) or --dtype float32"
"""What to change when a render does not fit in memory (the guard's refusal and an out-of-memory error)."""


def image_size(text: str):
    """``--size``: a side ``N`` (a square) or ``HxW`` (``32x48``: height then width), each ≥ 1."""
    parts = text.lower().replace("×", "x").split("x")
    if len(parts) in (1, 2) and all(part.strip().isdigit() and int(part) >= 1 for part in parts):
        return int(parts[0]) if len(parts) == 1 else (int(parts[0]), int(parts[1]))
    raise argparse.ArgumentTypeError(f"expected an integer ≥ 1 or HEIGHTxWIDTH of such (e.g. 32x48); got {text!r}")


def layer_layout(text: str) -> tuple[str, str]:
    """``--layout LAYER=channels|tokens`` → ``(LAYER, layout)``; anything else is one line naming ``--layout``."""
    layer, equals, layout = text.rpartition("=")
    if not equals or not layer or layout not in ("channels", "tokens"):
        raise argparse.ArgumentTypeError(f"expected LAYER=channels or LAYER=tokens; got {text!r}")
    return layer, layout


def add_render_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``render`` to ``subparsers`` (from ``ArgumentParser.add_subparsers``); returns the new parser."""
    render = subparsers.add_parser(
        "render",
        help="feature visualisation (lucent-style) of channels of an ONNX network",
        description="Optimise an image per unit (one per batch element) so the unit's channel is maximal, "
        "lucent-style: FFT or pixel parametrisation, decorrelated colour, random transforms, Adam. "
        "Writes a labelled montage PNG (and optionally the images as .npy), atomically. Channels and layer rows "
        "count from 1 on the command line.",
    )
    render.add_argument(
        "model",
        metavar="MODEL",
        help="ONNX network (.onnx), or a torch network saved by torch.export (.pt2) or as TorchScript",
    )
    render.add_argument(
        "--objective",
        required=True,
        metavar="OBJECTIVE[,...]",
        help="what to maximise, one image each: a unit LAYER:CHANNEL (channels count from 1, as in dream, atlas "
        "and MATLAB; the Python API counts from 0; LAYER as `deepdream layers` names it), neuron(LAYER:C[,X,Y]), "
        "direction(LAYER,FILE.npy), diversity(LAYER), ... and weighted sums such as "
        "'0.5*relu2:3 - 1e2*diversity(relu2)' (the README's optvis section lists them all)",
    )
    render.add_argument(
        "--batch", type=positive_int, help="images for one objective (e.g. with diversity); default: one per objective"
    )
    render.add_argument(
        "--param",
        choices=("fft", "pixel", "laplacian", "cppn", "maco"),
        default="fft",
        help="image parametrisation (default fft)",
    )
    render.add_argument("--redirected-relu", action="store_true", help="Lucid's redirected ReLU gradient (dead units)")
    render.add_argument("--no-decorrelate", action="store_true", help="optimise colours directly (RGB networks)")
    render.add_argument(
        "--size",
        type=image_size,
        default=128,
        help="image side in pixels, or HEIGHTxWIDTH such as 32x48 (default 128)",
    )
    render.add_argument(
        "--steps", type=positive_int, default=512, help="optimisation steps (default 512); generations for cmaes/ga"
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
    render.add_argument(
        "--lr",
        type=positive_float,
        help="learning rate (default: the parametrisation's: 0.05, maco 0.2, cppn 0.005; L-BFGS 1)",
    )
    render.add_argument(
        "--population", type=integer_at_least(2), default=16, help="population size for cmaes / ga (default 16)"
    )
    render.add_argument(
        "--input-range",
        type=number_pair,
        metavar="LOW,HIGH",
        help="network units of a 0-1 image, LOW < HIGH (default: from the input layer's mean, else 0,255)",
    )
    render.add_argument(
        "--layout",
        type=layer_layout,
        action="append",
        metavar="LAYER=channels|tokens",
        help="how a 3-D layer's axes run when what produced it does not tell: channels (N×C×L, a 1-D convolution's) "
        "or tokens (N×tokens×features); repeatable",
    )
    render.add_argument("--seed", type=seed, default=0, help="seed of every random draw (default 0)")
    render.add_argument("--lucent", action="store_true", help="draw transforms like lucent (NumPy's global stream)")
    render.add_argument(
        "--dtype", choices=("float32", "float64"), default="float32", help="precision (default float32)"
    )
    render.add_argument(
        "--device", default="auto", help="auto (the GPU when there is one; the default), cpu, gpu, cuda:1, ..."
    )
    render.add_argument(
        "--no-memory-check",
        dest="memory_check",
        action="store_false",
        help="run even when the estimated memory exceeds what is available (the guard refuses it otherwise)",
    )
    render.add_argument("--out", required=True, help="montage to write, .png (or .jpg for JPEG)")
    render.add_argument("--npy", help="also write the images (K×H×W×C, 0-1) as .npy")
    render.add_argument("--quiet", action="store_true", help="no progress bar")
    render.set_defaults(handler=f"{__package__}.cli:run_render", memory_advice=MEMORY_ADVICE)
    return render
