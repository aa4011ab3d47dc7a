"""The arguments of ``deepdream render``; the handler is :func:`.cli.run_render`.

Standard library only, and the handler is named, not imported, so that parsing and
``deepdream render --help`` import no torch (see :mod:`deepdreamport.doors.commands`).
"""

from __future__ import annotations

import argparse


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
    render.set_defaults(handler=f"{__package__}.cli:run_render")
    return render
