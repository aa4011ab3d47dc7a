"""The resource guard: refuse, before any work, a run whose memory would not fit.

MATLAB's ``deepDreamImage`` has no such guard (it runs until it is out of
memory). Here every front door estimates the peak memory of the run and, when it
exceeds the memory available on the device (host RAM from ``/proc/meminfo``
``MemAvailable``, a GPU's free memory from ``torch.cuda.mem_get_info``), raises
a :class:`~deepdreamport.errors.DeepDreamError` that gives the estimate, the
limit and what to change. ``memory_check=False`` (Python),
``'CheckMemory', false`` (MATLAB door) or ``--no-memory-check`` (command line)
turns the guard off for users who know better.

The estimate (bytes), at the largest pyramid level (H×W), with K images of C
channels, element size ``b`` and ``G`` images per group
(:func:`deepdreamport.core.loop.image_groups`):

* the images, and their copy while a level is resized: ``2 K C H W b``;
* one group's working set (rolled/padded copy, gradient, Laplacian pyramid):
  :data:`GROUP_COPIES` ``× G C H W b``;
* one network pass: ``B`` tiles (``B`` = the batch limit, at most the group's
  tiles) times the elements the network saves for its backward pass per tile
  (measured once per truncated network, :func:`activation_elements_per_pixel`),
  times :data:`PASS_COPIES`.

Measured against the peak RSS of real runs (see the README's "Memory guard"),
the estimate is within a factor of about 1.5 of the growth of the process.

Batch sizing (no MATLAB counterpart, same algorithm): on a GPU without a batch limit, a
run whose one-batch estimate, times :data:`SAFETY`, exceeds the free memory gets the largest
batch that fits instead (:func:`dream_max_batch`), rather than being refused or running out of
memory; runs that fit keep one batch (so their numbers do not change). The CPU keeps its
fixed default (:data:`~deepdreamport.core.loop.CPU_MAX_BATCH`). :func:`items_that_fit` is the
same rule for any batch of independent items (units of the atlas, images of ``render``).
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable, Optional

import torch

from ..core.loop import DreamSettings, effective_max_batch, image_groups, level_sizes
from ..core.tiles import needs_tiles, tile_grid
from ..errors import DeepDreamError
from ..nets.base import VisualNetwork, counting_saved_elements

GROUP_COPIES = 8
"""Image-sized buffers of one group alive at once: rolled, padded, gradient, pyramid bands, update."""
PASS_COPIES = 1
"""Saved activations of a network pass (the backward pass frees them as it makes the gradients)."""
SAFETY = 1.5
"""Estimates are within about this factor of measured peaks: a chosen batch leaves that much room."""
PROBE_SIDE = 1024
"""Largest probe square, unless the network's input is larger (then its input size)."""
OUT_OF_MEMORY = "deepdreamport:deepDreamImage:OutOfMemory"

_PER_PIXEL: "weakref.WeakKeyDictionary[torch.nn.Module, dict[int, float]]" = weakref.WeakKeyDictionary()


def activation_elements_per_pixel(
    truncated: VisualNetwork,
    channels: int,
    tile_size: int,
    largest_probe: int = PROBE_SIDE,
    fallback: Optional[tuple[int, int]] = None,
) -> float:
    """Elements the network saves for backward per input pixel, measured on one ``tile_size`` tile.

    Runs the truncated network once with :func:`torch.autograd.graph.saved_tensors_hooks`
    (a public hook; :func:`~deepdreamport.nets.base.counting_saved_elements`) and counts the
    distinct tensors it saves, parameters excluded. Cached per module and tile size; when the
    tile is the network's input size, the pass that built the truncated network measured it
    already (:attr:`VisualNetwork.saved_elements`) and no pass runs here. This is also the check that the network
    runs on a tile: a size it cannot take is a ``DeepDreamError``. A tile larger
    than ``largest_probe`` is measured on a ``largest_probe`` square instead (the
    count per pixel hardly depends on the size), so the probe itself never
    needs more memory than an ordinary tile. ``fallback`` (the network's input size) is
    measured instead when the square tile is a size the network cannot take: a
    non-square network's fully connected layer takes its input size only, and its
    images are only tiled (and refused, by the size checks) beyond that size.
    """
    cache = _PER_PIXEL.setdefault(truncated.module, {})
    side = min(tile_size, largest_probe)
    if side not in cache and truncated.saved_elements is not None and truncated.input_shape == (channels, side, side):
        cache[side] = truncated.saved_elements / (side * side)  # the build's probe measured it there already
    if side not in cache:
        try:
            cache[side] = _elements_per_pixel(truncated, channels, (side, side))
        except DeepDreamError:
            if fallback is None or None in fallback:
                raise
            cache[side] = _elements_per_pixel(truncated, channels, fallback)
    return cache[side]


def _elements_per_pixel(truncated: VisualNetwork, channels: int, size: tuple[int, int]) -> float:
    """Elements saved for backward per input pixel, on one ``size`` image (see :func:`activation_elements_per_pixel`)."""
    height, width = size
    module = truncated.module
    parameter = next(module.parameters(), None)
    dtype = parameter.dtype if parameter is not None else torch.float32
    device = parameter.device if parameter is not None else torch.device("cpu")
    probe = torch.zeros(1, channels, height, width, dtype=dtype, device=device, requires_grad=True)
    try:
        elements = saved_elements(lambda: module(probe), module)
    except RuntimeError as exc:  # a size the network cannot take: name it instead of torch's traceback
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DeepDreamError(
            "deepdreamport:deepDreamImage:TileSizeNotAccepted",
            f"TileSize: layer {truncated.layer!r} cannot run on a {height}×{width} tile ({reason}); "
            "give the tile size the network was made for (TileSize / tile_size / --tile-size).",
        ) from None
    return elements / (height * width)


def saved_elements(run: Callable[[], object], owned: Iterable[torch.Tensor] = ()) -> int:
    """Elements autograd saves for the backward pass while ``run()`` runs, plus its output's elements.

    Counted by :func:`~deepdreamport.nets.base.counting_saved_elements` (a public hook), each
    storage once, the storages of ``owned`` (parameters, buffers) excluded. ``run`` returns a
    tensor, a dict or a sequence of tensors (its output), or ``None``.
    """
    with torch.enable_grad(), counting_saved_elements(owned) as saved:
        output = run()
    outputs = output.values() if isinstance(output, dict) else output if isinstance(output, (list, tuple)) else [output]
    elements = sum(saved.values()) + sum(t.numel() for t in outputs if isinstance(t, torch.Tensor))
    del output, outputs
    return elements


@dataclass(frozen=True)
class MemoryEstimate:
    """Peak bytes of a run, where they peak, and the part the network passes take."""

    peak_bytes: int
    level: int  # 1-based pyramid level of the peak
    size: tuple[int, int]  # image size at that level
    pass_bytes: int  # the network pass's share of the peak
    batch: int  # tiles (or images) per network pass


def estimate_memory(
    images: int,
    channels: int,
    size: tuple[int, int],
    settings: DreamSettings,
    element_bytes: int,
    elements_per_pixel: float,
    device: torch.device,
) -> MemoryEstimate:
    """The peak memory of a run (see the module docstring), over every pyramid level.

    ``settings.tile_size`` must be the tile size used; ``settings.max_batch`` the
    batch limit given (``None``: the device's default,
    :func:`~deepdreamport.core.loop.effective_max_batch`).
    """
    max_batch = effective_max_batch(settings.max_batch, device)
    settings = DreamSettings(
        settings.num_iterations, settings.pyramid_levels, settings.pyramid_scale, settings.tile_size, max_batch
    )
    tile = settings.tile_size
    best = MemoryEstimate(0, 1, size, 0, 0)
    for level, (height, width) in enumerate(level_sizes(*size, settings.pyramid_levels, settings.pyramid_scale), 1):
        pixels = height * width
        all_images = 2 * images * channels * pixels * element_bytes
        tiled = needs_tiles(height, width, tile)
        if tiled:
            rows, cols = tile_grid(height, width, tile)
            groups = image_groups(torch.Size([images, channels, height, width]), settings, True)
            group = groups[0].stop - (groups[0].start or 0) if groups[0].stop is not None else images
            group_pixels = rows * cols * tile * tile
            batch = group * rows * cols if max_batch is None else min(max_batch, group * rows * cols)
            pass_pixels = batch * tile * tile
        else:
            group, group_pixels = images, pixels
            batch = images if max_batch is None else min(max_batch, images)
            pass_pixels = batch * pixels
        working = GROUP_COPIES * group * channels * group_pixels * element_bytes
        network = math.ceil(PASS_COPIES * elements_per_pixel * pass_pixels * element_bytes)
        peak = all_images + working + network
        if peak > best.peak_bytes:
            best = MemoryEstimate(peak, level, (height, width), network, batch)
    return best


def available_bytes(device: torch.device) -> Optional[int]:
    """Memory free for a run on ``device``: a GPU's free memory plus what torch's cache holds, or host ``MemAvailable``.

    ``None`` when it cannot be known (no ``/proc/meminfo``, another device type).
    """
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free + torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device))
    if device.type != "cpu":
        return None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def items_that_fit(
    per_item_bytes: float,
    device: torch.device,
    fixed_bytes: float = 0,
    most: Optional[int] = None,
    limit: Optional[int] = None,
) -> Optional[int]:
    """How many independent items (tiles, units, images) of ``per_item_bytes`` each fit in one pass on ``device``
    next to ``fixed_bytes`` of other memory, with :data:`SAFETY` room; at least 1, at most ``most``.

    ``limit``: the memory to share (default :func:`available_bytes`). ``None`` when the memory cannot be known
    or the device is the CPU (whose batch is chosen for speed, not memory): keep the caller's default.

    Example:
        >>> items_that_fit(2**20, torch.device("cuda"), fixed_bytes=2**20, limit=12 * 2**20)
        7
        >>> items_that_fit(2**20, torch.device("cpu")) is None
        True
    """
    if device.type == "cpu":
        return None
    limit = available_bytes(device) if limit is None else limit
    if limit is None:
        return None
    count = int((limit / SAFETY - fixed_bytes) // max(per_item_bytes, 1))
    count = max(1, count)
    return min(count, most) if most is not None else count


def dream_max_batch(
    per_pixel: float,
    images: int,
    channels: int,
    size: tuple[int, int],
    settings: DreamSettings,
    dtype: torch.dtype,
    device: torch.device,
    limit: Optional[int] = None,
) -> Optional[int]:
    """The dream's batch limit on ``device``: ``settings.max_batch`` if given; on a GPU, one batch (``None``) when its
    estimated peak times :data:`SAFETY` fits the free memory, else the largest batch that does (at least 1).

    ``per_pixel`` is :func:`activation_elements_per_pixel`; the CPU keeps ``None`` (its fixed default).
    """
    if settings.max_batch is not None or device.type == "cpu":
        return settings.max_batch
    limit = available_bytes(device) if limit is None else limit
    if limit is None:
        return None
    element_bytes = torch.empty((), dtype=dtype).element_size()

    def fits(max_batch: Optional[int]) -> bool:
        trial = replace(settings, max_batch=max_batch)
        estimate = estimate_memory(images, channels, size, trial, element_bytes, per_pixel, device)
        return estimate.peak_bytes * SAFETY <= limit

    if fits(None):
        return None
    low, high = 1, max(1, estimate_memory(images, channels, size, settings, element_bytes, per_pixel, device).batch)
    while low < high:  # the largest batch that fits (the estimate grows with the batch)
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low


def readable_bytes(value: int) -> str:
    """``412 MiB`` / ``2.3 GiB``."""
    return f"{value / 2**30:.1f} GiB" if value >= 2**30 else f"{value / 2**20:.0f} MiB"


def check_memory(
    per_pixel: float,
    images: int,
    channels: int,
    size: tuple[int, int],
    settings: DreamSettings,
    dtype: torch.dtype,
    device: torch.device,
    limit: Optional[int] = None,
) -> MemoryEstimate:
    """Refuse (``DeepDreamError``) a run whose estimated peak exceeds ``limit`` (default: :func:`available_bytes`).

    ``per_pixel``: :func:`activation_elements_per_pixel` of the truncated network.
    """
    element_bytes = torch.empty((), dtype=dtype).element_size()
    estimate = estimate_memory(images, channels, size, settings, element_bytes, per_pixel, device)
    limit = available_bytes(device) if limit is None else limit
    if limit is None or estimate.peak_bytes <= limit:
        return estimate
    height, width = estimate.size
    advice = []
    if estimate.batch > 1 and estimate.pass_bytes > estimate.peak_bytes // 4:
        advice.append(f"a smaller MaxBatch / --max-batch (now {estimate.batch} per pass)")
    if estimate.level > 1:
        advice.append(f"fewer PyramidLevels or a smaller PyramidScale (level {estimate.level} is {height}×{width})")
    advice.append("a smaller image")
    if images > 1:
        advice.append("fewer channels per call")
    raise DeepDreamError(
        OUT_OF_MEMORY,
        f"this run needs about {readable_bytes(estimate.peak_bytes)} of memory on {device} (at pyramid level {estimate.level}, "
        f"{images} image(s) of {height}×{width}×{channels}) but {readable_bytes(limit)} is available; use "
        + ", ".join(advice)
        + "; or turn this check off (memory_check=False, 'CheckMemory' false, --no-memory-check).",
    )
