"""The deep-dream loop of MATLAB's ``deepDreamImage`` (``deepDreamImageLaplacianNorm``).

Mirrors ``deepDreamImageLaplacianNorm``: for each pyramid level the image grows
to ``floor(previous * scale)`` (sizes compound on the floored values) through
:func:`~.resize.resize_image`, then ``NumIterations`` steps of
``X = X + laplacianNormalizedImage(TiledGradients(X))`` (step size 1), each
reporting ``(iteration, norm(act), level)``. ``OutputScaling='linear'`` maps
each image to [0, 1] the way MATLAB computes it.

Host synchronisation: none inside the loop. Every tensor stays on the images'
device; ``on_iteration`` receives the strength as a 0-d device tensor, so only
a callback that reads it (``float(strength)``: the verbose table, a user's
callback) waits for the device. The strengths are copied to the host once, at
the end.

Host-side image state (``DreamSettings.host_state``, no MATLAB counterpart,
same numbers): for images larger than the device's memory, the K images live
in host memory (pinned when the device is CUDA) and one group of whole images
at a time is copied to the device for its gradient, normalisation and update
(and for the resize between levels), then copied back. Device memory then
holds one group, not K images; each copy back waits for the device.

Replayed levels (``DreamSettings.graphs``, no MATLAB counterpart, same numbers, off by default
until a GPU run has shown them): each level's iteration (:func:`iterate`) is captured once against
static buffers and replayed per iteration (:class:`StaticLevel`, :mod:`.replay`: CUDA Graphs on
CUDA, a recorded replay elsewhere), so a GPU launches one graph instead of hundreds of operations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable, Optional

import numpy as np
import torch

from .pyramid import laplacian_normalized_image
from .replay import Replay, replay_for
from .resize import resize_image
from .tiles import (
    GradientFunction,
    Roll,
    RollLike,
    draw_roll,
    needs_tiles,
    tile_activation,
    tile_grid,
    tiled_gradient,
)

IterationCallback = Callable[[int, int, torch.Tensor], None]
"""``(level, iteration, strength)``; ``strength`` is a 0-d float64 tensor on the images' device."""


CPU_MAX_BATCH = 4  # tiles × channels per pass on the CPU when no limit is given


def effective_max_batch(max_batch: Optional[int], device: torch.device) -> Optional[int]:
    """The batch limit used: ``max_batch``, or on the CPU :data:`CPU_MAX_BATCH` when it is ``None``.

    Example:
        >>> effective_max_batch(None, torch.device("cpu")), effective_max_batch(3, torch.device("cpu"))
        (4, 3)

    On a CPU large batches run slower per tile than small ones (their activations
    leave the caches). EfficientNet-Lite0 in ``channels_last`` at 224², ms per tile
    at chunks of 2 / 4 / 8 / 16, two quiet runs (benchmarks, figure 8): 25 / 19 / 35 / 36
    and 24 / 25 / 34 / 40, so the CPU default is 4; on a GPU ``None`` keeps one batch.
    The algorithm does not depend on the batch size; float32 results can differ in the
    last bits, because oneDNN picks kernels by batch size.
    """
    if max_batch is None and device.type == "cpu":
        return CPU_MAX_BATCH
    return max_batch


@dataclass(frozen=True)
class DreamSettings:
    """MATLAB's ``NumIterations``, ``PyramidLevels``, ``PyramidScale``, ``TileSize`` and the batch limit."""

    num_iterations: int = 10
    pyramid_levels: int = 3
    pyramid_scale: float = 1.4
    tile_size: int = 224
    max_batch: Optional[int] = None
    host_state: bool = False  # keep the K images on the host, one group on the device at a time
    graphs: bool = False  # capture each level's iteration once and replay it (CUDA Graphs; see .replay)


@dataclass
class DreamResult:
    """The images (K×C×H×W, unscaled: ``OutputScaling='none'``), the verbose log and the rolls."""

    images: torch.Tensor
    activation_log: np.ndarray  # rows [level, iteration, strength]
    rolls: list[Roll]  # (rollX, rollY) per tiled iteration


def level_sizes(height: int, width: int, levels: int, scale: float) -> list[tuple[int, int]]:
    """Image size at each pyramid level: ``floor`` compounding on floored sizes.

    Example:
        >>> level_sizes(10, 7, 3, 1.4)
        [(10, 7), (14, 9), (19, 12)]
    """
    sizes = [(height, width)]
    for _ in range(levels - 1):
        height, width = math.floor(height * scale), math.floor(width * scale)
        sizes.append((height, width))
    return sizes


def deep_dream(
    images: torch.Tensor,
    channel_index: torch.Tensor,
    gradient_fn: GradientFunction,
    settings: DreamSettings,
    stream: np.random.RandomState,
    on_iteration: Optional[IterationCallback] = None,
) -> DreamResult:
    """Run the loop on ``images``; element k maximises channel ``channel_index[k]``.

    ``gradient_fn`` is the visual network's objective gradient; ``stream`` draws
    the tile rolls (MATLAB's global stream). ``images`` is never modified.

    Shape:
        - images: :math:`(K, C, H, W)`; channel_index: :math:`(K)`
        - output: ``DreamResult.images`` :math:`(K, C, H', W')` at the last level's size

    Example:
        >>> square = lambda x, k: (2 * x, (x**2).mean(dim=(1, 2, 3)))  # d/dx of sum(x^2)
        >>> result = deep_dream(torch.ones(1, 1, 4, 4), torch.zeros(1, dtype=torch.long), square,
        ...                     DreamSettings(2, 2, 1.5, tile_size=8), np.random.RandomState(5489))
        >>> result.images.shape, result.activation_log[:, :2].tolist()
        (torch.Size([1, 1, 6, 6]), [[1.0, 1.0], [1.0, 2.0], [2.0, 1.0], [2.0, 2.0]])
    """
    strengths: list[torch.Tensor] = []
    log_positions: list[tuple[int, int]] = []
    rolls: list[Roll] = []
    sizes = level_sizes(images.shape[2], images.shape[3], settings.pyramid_levels, settings.pyramid_scale)
    device = images.device
    settings = replace(settings, max_batch=effective_max_batch(settings.max_batch, device))
    if settings.host_state:
        images = host_copy(images, device)
    else:
        images = images.clone()  # updated in place below; never the caller's tensor (often an expanded view)
    use_graphs = settings.graphs and not settings.host_state
    for level, size in enumerate(sizes, start=1):
        images = resize_state(images, size, device) if settings.host_state else resize_image(images, size)
        tiled = needs_tiles(images.shape[2], images.shape[3], settings.tile_size)
        groups = image_groups(images.shape, settings, tiled)
        static = None
        if use_graphs:
            static = StaticLevel(images, channel_index, gradient_fn, settings, groups, replay_for(device))
            images = static.state  # the level's state from here on
        for iteration in range(1, settings.num_iterations + 1):
            roll = draw_roll(settings.tile_size, stream) if tiled else None
            if static is not None:
                strength = static.step(roll)
            else:
                strength = iterate(images, channel_index, gradient_fn, settings, groups, roll, device)
            if roll is not None:
                rolls.append(roll)
            strengths.append(strength)
            log_positions.append((level, iteration))
            if on_iteration is not None:
                on_iteration(level, iteration, strength)
        del static  # the captured graph and its memory (the state is kept)
    values = torch.stack(strengths).cpu().numpy() if strengths else np.zeros(0)
    log = np.array([(lvl, it, value) for (lvl, it), value in zip(log_positions, values)], dtype=np.float64).reshape(
        -1, 3
    )
    return DreamResult(images.detach(), log, rolls)


def iterate(
    images: torch.Tensor,
    channel_index: torch.Tensor,
    gradient_fn: GradientFunction,
    settings: DreamSettings,
    groups: list[slice],
    roll: Optional[RollLike],
    device: torch.device,
) -> torch.Tensor:
    """One iteration, ``X = X + laplacianNormalizedImage(TiledGradients(X))``, in place on ``images``.

    Group by group (:func:`image_groups`; a group on the host is copied to ``device`` and back).
    Returns ``norm(act)`` as a 0-d float64 tensor on ``device``.
    """
    raw = []
    for group in groups:  # images are independent
        part = images[group].to(device, non_blocking=True)  # the state itself when it is on the device
        gradient, activations = tiled_gradient(
            part, channel_index[group], gradient_fn, settings.tile_size, roll, settings.max_batch
        )
        part += laplacian_normalized_image(gradient)
        del gradient
        if part.device != images.device:
            images[group] = part.to(images.device)
        del part
        raw.append(activations)
    activation = tile_activation(torch.cat(raw), roll)
    return torch.linalg.vector_norm(activation.reshape(-1).double())


class StaticLevel:
    """One pyramid level's :func:`iterate`, captured once by ``replay`` (:mod:`.replay`) and replayed per step.

    Its static buffers: :attr:`state` (the level's images, updated in place by every step),
    :attr:`roll` (``(rollX, rollY)`` as a device tensor) and :attr:`strength`. Same numbers as
    :func:`iterate`: the roll is the same copy done by gathers (:func:`~.tiles.roll_image`).

    Shape:
        - images: :math:`(K, C, H, W)` on the device; channel_index: :math:`(K)`
    """

    def __init__(
        self,
        images: torch.Tensor,
        channel_index: torch.Tensor,
        gradient_fn: GradientFunction,
        settings: DreamSettings,
        groups: list[slice],
        replay: Replay,
    ):
        device = images.device
        tiled = needs_tiles(images.shape[2], images.shape[3], settings.tile_size)
        self.state = images.clone()  # scratch for the warm-up and the capture, then the level's state
        self.roll = torch.ones(2, dtype=torch.long, device=device)  # any valid roll for the warm-up
        self.strength = torch.zeros((), dtype=torch.float64, device=device)
        self.replay = replay

        def step() -> None:
            roll = self.roll if tiled else None
            self.strength.copy_(iterate(self.state, channel_index, gradient_fn, settings, groups, roll, device))

        replay.capture(step)
        self.state.copy_(images)

    def step(self, roll: Optional[Roll]) -> torch.Tensor:
        """One iteration with ``roll`` (``None``: untiled); returns its strength (a copy: the buffer is reused)."""
        if roll is not None:
            self.roll[0].fill_(roll[0])  # kernels with the values as arguments: no host copy, no wait
            self.roll[1].fill_(roll[1])
        self.replay.replay()
        return self.strength.clone()


def host_copy(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A host copy of ``images`` for the host-side state: pinned when ``device`` is CUDA (asynchronous copies)."""
    return images.to("cpu", copy=True).pin_memory() if device.type == "cuda" else images.to("cpu", copy=True)


def resize_state(images: torch.Tensor, size: tuple[int, int], device: torch.device) -> torch.Tensor:
    """:func:`~.resize.resize_image` of host-side ``images``, one image at a time on ``device``.

    Shape:
        - images: :math:`(K, C, H, W)` on the host; output: :math:`(K, C, H', W')` on the host
    """
    if tuple(images.shape[2:]) == tuple(size):
        return images
    out = torch.empty((*images.shape[:2], *size), dtype=images.dtype, pin_memory=device.type == "cuda")
    for k in range(images.shape[0]):
        out[k : k + 1] = resize_image(images[k : k + 1].to(device, non_blocking=True), size).to("cpu")
    return out


def image_groups(shape: torch.Size, settings: DreamSettings, tiled: bool) -> list[slice]:
    """Groups of whole images that one iteration processes one after another.

    One group, unless the images are tiled, a batch limit is set and their tiles
    exceed it: then as many images as fill ``max_batch`` with their tiles (at
    least one), so that only one group's tiles, gradient and pyramid exist at a
    time. Untiled images are chunked by the batch limit inside the gradient.
    With ``host_state`` and no batch limit, tiled images go one at a time.

    Example:
        >>> image_groups(torch.Size([3, 3, 300, 300]), DreamSettings(tile_size=224, max_batch=8), True)
        [slice(0, 2, None), slice(2, 3, None)]
        >>> image_groups(torch.Size([2, 3, 300, 300]), DreamSettings(tile_size=224, host_state=True), True)
        [slice(0, 1, None), slice(1, 2, None)]
    """
    count, _, height, width = shape
    limit = settings.max_batch
    if tiled and limit is None and settings.host_state:
        return [slice(k, k + 1) for k in range(count)]
    if not tiled or limit is None:
        return [slice(None)]
    rows, cols = tile_grid(height, width, settings.tile_size)
    if count * rows * cols <= limit:
        return [slice(None)]
    size = max(1, limit // (rows * cols))
    return [slice(start, min(start + size, count)) for start in range(0, count, size)]


def scale_linear(images: torch.Tensor) -> torch.Tensor:
    """``OutputScaling='linear'``: each image to [0, 1], as MATLAB computes it.

    MATLAB evaluates ``d = 1/(max - min); I = d*X - min*d`` per image, so a
    constant image yields NaN/Inf as it does there.

    Shape:
        - images: :math:`(K, C, H, W)`
        - output: :math:`(K, C, H, W)`

    Example:
        >>> scale_linear(torch.tensor([[[[2.0, 4.0, 3.0]]]]))
        tensor([[[[0.0000, 1.0000, 0.5000]]]])
    """
    flat = images.reshape(images.shape[0], -1)
    low = flat.min(dim=1).values.reshape(-1, 1, 1, 1)
    high = flat.max(dim=1).values.reshape(-1, 1, 1, 1)
    inverse_range = 1 / (high - low)
    return inverse_range * images - low * inverse_range
