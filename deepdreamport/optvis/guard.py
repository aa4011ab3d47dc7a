"""``render``'s memory guard: refuse, before any work, a render whose memory would not fit.

lucent has no such guard; this follows the deep-dream guard
(:mod:`deepdreamport.doors.guard`, whose memory limit and message form it
shares). The estimate (bytes) for K units rendered at S×S pixels with C
channels and elements of ``b`` bytes, with the gradient (``render``):

    K · S² · b · (saved + PARAM_COPIES · param + IMAGE_COPIES · C)

where ``saved`` and ``param`` are measured per pixel on one optimisation step
of one unit of each layer (the largest is kept) at ``min(S, PROBE_SIDE)``:
``saved`` is what autograd keeps for the backward pass through the
parametrisation, the transforms, the network and the objective
(:func:`deepdreamport.doors.guard.saved_elements`), ``param`` the
parametrisation's elements (held with its gradient and the optimiser's two
moments: :data:`PARAM_COPIES`), and :data:`IMAGE_COPIES` image-sized buffers
that are not saved but alive at once (transform outputs, gradients in the
backward pass). Without the gradient (``--optimizer cmaes``/``ga``), each
generation is one forward pass of K × population images:

    K · population · S² · b · (network + IMAGE_COPIES · C)

with ``network`` the elements a forward pass of the network keeps per pixel
(measured as ``saved``, an upper bound of a pass without gradient; 0 for a
graph only onnxruntime runs, whose memory onnxruntime manages). Measured
against the growth of the peak resident memory of real CPU runs (README,
"Feature visualisation", and ``python -m benchmarks.render_guard_accuracy``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import torch

from ._network import OUT_OF_MEMORY, DeepDreamError, available_bytes, readable_bytes, saved_elements
from .network import OptvisNetwork
from .objectives import channel
from .rendering import prepare

PROBE_SIDE = 256
"""Side of the probe step's image (or the render's size, if smaller)."""
PARAM_COPIES = 4
"""The parametrisation's values, their gradient and the optimiser's two moments (Adam)."""
IMAGE_COPIES = 8
"""Image-sized buffers alive at once besides the saved ones (as the deep-dream guard's group copies)."""


@dataclass(frozen=True)
class RenderEstimate:
    """Peak bytes of a render, and what it was made of."""

    peak_bytes: int
    images: int  # images held at once: K, or K × population without the gradient
    per_pixel: float  # elements per pixel of one image


def _layers(units: Sequence[tuple[str, int]]) -> list[str]:
    return list(dict.fromkeys(layer for layer, _ in units))


def _sides(size) -> tuple[int, int]:
    """``size`` (a side or ``(height, width)``) as ``(height, width)``."""
    return (int(size[0]), int(size[1])) if isinstance(size, (tuple, list)) else (int(size), int(size))


def _input_size_advice(network: OptvisNetwork) -> str:
    """What a layer that needs the network's input size takes: that size, named (``32×48``), when it is fixed."""
    height, width = tuple(network.input_size or (None, None))
    if height is None or width is None:
        return "takes only that --size, with --transforms none"
    return (
        f"takes only that size, {height}×{width}: --size {height}x{width} --transforms none "
        f"(Python: size=({height}, {width}), transforms='none')"
    )


def size_error(
    network: OptvisNetwork, layers: Sequence[str], sides: tuple[int, int], transforms: str, exc: Exception
) -> DeepDreamError:
    """The one-line refusal of a size the network cannot compute ``layers`` at (``exc``: torch's error), naming
    ``--size`` and, when the network's input size is fixed, that height×width."""
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return DeepDreamError(
        "deepdreamport:optvis:SizeNotAccepted",
        f"--size: the network cannot compute {', '.join(map(repr, layers))} on {sides[0]}×{sides[1]} images "
        f"transformed by --transforms {transforms} ({reason}); a layer that needs the network's input size "
        f"(a fully connected one) {_input_size_advice(network)}",
    )


def is_memory_error(exc: BaseException) -> bool:
    """Whether torch's ``exc`` says memory ran out (not a size the network cannot take)."""
    return isinstance(exc, torch.OutOfMemoryError) or "can't allocate memory" in str(exc)


def _probe(
    run,
    owned: Sequence[torch.Tensor],
    layers: Sequence[str],
    sides: tuple[int, int],
    transforms: str,
    network: OptvisNetwork,
) -> int:
    """``saved_elements(run, owned)``; a network that cannot run on the probe's images is refused naming ``--size``
    and, when the network's input size is fixed, that height×width (:func:`size_error`)."""
    try:
        return saved_elements(run, owned)
    except RuntimeError as exc:
        if is_memory_error(exc):
            raise
        raise size_error(network, layers, sides, transforms, exc) from None


def gradient_per_pixel(network: OptvisNetwork, units: Sequence[tuple[str, int]], size, options: dict) -> float:
    """Elements per pixel of one image of one optimisation step (the largest over the units' layers).

    ``units``: ``(layer, 0-based channel)``; ``options``: :func:`.rendering.prepare`'s keywords
    (param, transforms, optimizer, dtype, device ...), as the render will use them. The probe
    step is also the check that the network runs on such images (a ``DeepDreamError`` if not).
    """
    sides = _probe_sides(size)
    largest = 0.0
    for layer in _layers(units):
        index = next(c for name, c in units if name == layer)
        session = prepare(network, channel(layer, index), size=sides, **options)
        parameters = [p for group in session.optimizer.param_groups for p in group["params"]]
        transforms = str(options.get("transforms", "standard"))
        saved = _probe(session.closure, parameters, [layer], sides, transforms, network)
        values = sum(p.numel() for p in parameters)
        pixels = sides[0] * sides[1]
        largest = max(largest, (saved + PARAM_COPIES * values) / pixels + IMAGE_COPIES * network.input_channels)
        session.optimizer.zero_grad(set_to_none=True)
    return largest


def _probe_sides(size) -> tuple[int, int]:
    """The probe's image: ``size`` with each side at most :data:`PROBE_SIDE` (a square stays square; a non-square
    size is kept whole, as a layer that needs the network's input size takes only that)."""
    height, width = _sides(size)
    if height == width:
        return min(height, PROBE_SIDE), min(width, PROBE_SIDE)
    return height, width


def forward_per_pixel(network: OptvisNetwork, units: Sequence[tuple[str, int]], size, transforms: str) -> float:
    """Elements per pixel of one image of a gradient-free generation (the network's forward pass)."""
    sides = _probe_sides(size)
    network_part = 0.0
    if network.runs_in_torch:
        layers = _layers(units)
        forward = network.torch_forward(layers, torch.float32, "cpu")
        probe = torch.full((1, network.input_channels, *sides), 0.5, device="cpu")  # as the forward above
        run = lambda: forward(network.preprocess(probe))  # noqa: E731
        network_part = _probe(run, (), layers, sides, transforms, network) / (sides[0] * sides[1])
    return network_part + IMAGE_COPIES * network.input_channels


def check_render_memory(
    per_pixel: float,
    images: int,
    size,
    dtype: torch.dtype,
    device: torch.device,
    advice: str,
    limit: Optional[int] = None,
) -> RenderEstimate:
    """Refuse (``DeepDreamError``) a render whose estimate exceeds ``limit`` (default: the memory available).

    ``per_pixel``: :func:`gradient_per_pixel` or :func:`forward_per_pixel`; ``images``: K,
    or K × population; ``advice``: what to change, in the words of the caller's options.
    """
    element_bytes = torch.empty((), dtype=dtype).element_size()
    height, width = _sides(size)
    estimate = RenderEstimate(math.ceil(images * height * width * element_bytes * per_pixel), images, per_pixel)
    limit = available_bytes(device) if limit is None else limit
    if limit is None or estimate.peak_bytes <= limit:
        return estimate
    raise DeepDreamError(
        OUT_OF_MEMORY,
        f"this render needs about {readable_bytes(estimate.peak_bytes)} of memory on {device} ({images} image(s) "
        f"of {height}×{width}) but {readable_bytes(limit)} is available; use {advice}.",
    )
