"""How long an atlas will take, said before it starts (no MATLAB counterpart).

One forward+backward pass of the deepest selected layer's network on one input-size image
is timed here, with one thread as a worker computes; each render is costed as the passes its
recipe makes (the matlab recipe: iterations × tiles per pyramid level, from the layer's
receptive field; optvis recipes: steps at their image size, × 2.5 for the transforms, which
enlarge the image, and the parametrisation), each example image as half a pass (forward only),
plus the workers' start-up. Shallower layers cost less than the deepest. Checked on
EfficientNet-Lite0 ``_blocks/10/Add`` (one thread): matlab 2 levels × 5 iterations estimated
1.7 s per unit, measured 1.7–1.9 s; lucid 64 steps at 96 px estimated 2.0 s, measured 1.8–2.7 s.
Other load on the machine is not foreseen.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Mapping, Sequence

import torch

CONFIRM_RENDERS = 5_000
"""Renders above which a run asks first (a terminal) or needs ``--yes`` / ``yes=True``."""
CONFIRM_SECONDS = 3_600.0
"""Estimated seconds above which a run asks first."""
START_SECONDS = 10.0
"""A worker's start-up (torch, the network): paid once per job."""
OPTVIS_FACTOR = 2.5


@dataclass(frozen=True)
class Estimate:
    renders: int  # renders left to do
    layers: int
    example_images: int  # example images left to score (each for every selected layer in one pass)
    seconds: float
    workers: int

    @property
    def large(self) -> bool:
        return self.renders > CONFIRM_RENDERS or self.seconds > CONFIRM_SECONDS

    def line(self) -> str:
        examples = f"; {self.example_images:,} example images to score" if self.example_images else ""
        return (
            f"{self.renders:,} renders left in {self.layers:,} layers{examples}; about "
            f"{duration(self.seconds)} with {self.workers} worker{'s' if self.workers != 1 else ''} "
            "(from one timed pass on this machine)"
        )


def duration(seconds: float) -> str:
    """``95`` → ``'1.6 min'``; ``7200`` → ``'2.0 h'``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def time_pass(module: torch.nn.Module, channels: int, size: int, repeats: int = 2) -> float:
    """Seconds of one forward+backward of ``module`` on one size×size image, one thread (the fastest of repeats)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        best = math.inf
        for _ in range(repeats + 1):  # the first run warms up
            image = torch.zeros(1, channels, size, size, requires_grad=True)
            started = time.perf_counter()
            output = module(image)
            if isinstance(output, (tuple, list)):
                output = output[0]
            output.float().mean().backward()
            best = min(best, time.perf_counter() - started)
        return best
    finally:
        torch.set_num_threads(threads)


def matlab_passes(field: Sequence[int], tile: int, params: Mapping) -> float:
    """Network passes of one matlab render, in input-size-image equivalents."""
    height, width = (max(1, int(side)) for side in field)
    passes = 0.0
    for _ in range(int(params["levels"])):
        tiles = math.ceil(height / tile) * math.ceil(width / tile)
        area = tiles if height > tile or width > tile else height * width / tile**2
        passes += params["iterations"] * area
        height, width = math.floor(height * params["scale"]), math.floor(width * params["scale"])
    return passes


def render_passes(recipe: str, params: Mapping, field: Sequence[int], tile: int) -> float:
    if recipe == "matlab":
        return matlab_passes(field, tile, params)
    images = 4 if recipe == "diversity" else 1
    return OPTVIS_FACTOR * images * params.get("steps", 256) * params.get("size", tile) ** 2 / tile**2


def estimate(
    pass_seconds: float,
    renders: Sequence[tuple[str, Sequence[int]]],
    params: Mapping[str, Mapping],
    tile: int,
    example_images: int,
    layers: int,
    workers: int,
) -> Estimate:
    """``renders``: (recipe, the layer's receptive field) per render left."""
    passes = sum(render_passes(recipe, params[recipe], field, tile) for recipe, field in renders)
    seconds = (passes + example_images / 2) * pass_seconds / max(1, workers)
    if renders or example_images:
        seconds += START_SECONDS
    return Estimate(len(renders), layers, example_images, seconds, workers)
