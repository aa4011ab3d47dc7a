"""One implementation behind every front door: validate, set up, run the loop.

Mirrors the body of MATLAB's ``deepDreamImage`` after its argument parsing:
resolve the layer, check the channels and the initial image against the
network, build the default initial image, and run
:func:`deepdreamport.core.loop.deep_dream`. Takes already-parsed arguments
(0-based channels, an H×W×C initial image or ``None``) and returns the
:class:`~deepdreamport.core.loop.DreamResult`. The MATLAB door
(:func:`deepdreamport.deepDreamImage`), the Python door
(:func:`deepdreamport.deep_dream_image`), the command line and the parity
runner only translate their arguments.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import replace
from numbers import Integral
from typing import Callable, Iterator, Optional, Sequence, Union

import numpy as np
import torch

from ..core.loop import DreamResult, DreamSettings, IterationCallback, deep_dream, level_sizes, scale_linear
from ..core.tiles import needs_tiles
from ..errors import DeepDreamError, describe, describe_numbers
from ..matlab.layout import to_nchw
from ..matlab.options import initial_image as checked_image_values
from ..nets.base import DreamNetwork, VisualNetwork
from ..nets.batch import takes_one_image_per_pass
from ..nets.sizes import SizeProbe
from .degenerate import carried_start, warn_degenerate
from .guard import PROBE_SIDE, activation_elements_per_pixel, check_memory, dream_max_batch

LayerLike = Union[str, int]
PRECISION_DTYPES = {"single": torch.float32, "double": torch.float64}
StrengthReader = Callable[[int, int, float], None]
"""A callback that reads the strength as a number: ``(level, iteration, strength)``."""


def resolve_device(environment: Union[str, torch.device], argument: str = "ExecutionEnvironment") -> torch.device:
    """MATLAB's ``ExecutionEnvironment``: ``'auto'`` (GPU if any), ``'gpu'``, ``'cpu'``, or a torch device.

    A device that cannot run the network is refused here, before any work:
    a CUDA device without a GPU (or with an index beyond the GPUs present), the
    ``meta`` device (tensors without values) and device types this machine lacks.
    Messages name ``argument`` (the command line: ``--device``).
    """
    requested = repr(str(environment))
    if not isinstance(environment, torch.device):
        name = str(environment).lower()
        if name == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        if name == "gpu":
            name = "cuda"
        try:
            environment = torch.device(name)
        except (RuntimeError, TypeError, ValueError):
            raise DeepDreamError(
                "deepdreamport:BadDevice",
                f"{argument}: expected 'auto', 'gpu', 'cpu' or a torch device such as 'cuda:0'; "
                f"got {describe(environment)}.",
            ) from None
    device = environment
    if device.type == "cpu":
        return device
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise DeepDreamError(
                "parallel:gpu:device:DriverRedirect",
                f"{argument}: {requested} was requested but no CUDA GPU is available; use 'auto' or 'cpu'.",
            )
        if device.index is not None and device.index >= count:
            raise DeepDreamError(
                "parallel:gpu:device:DriverRedirect",
                f"{argument}: {requested} was requested but this machine has {count} GPU(s) "
                f"(cuda:0..cuda:{count - 1}).",
            )
        return device
    if device.type == "meta":
        raise DeepDreamError(
            "deepdreamport:BadDevice",
            f"{argument}: the 'meta' device holds no values, so it cannot run the network; use 'auto', 'cpu' or 'gpu'.",
        )
    backend = getattr(torch, device.type, None)
    available = getattr(backend, "is_available", None)
    if not callable(available) or not available():
        raise DeepDreamError(
            "deepdreamport:BadDevice",
            f"{argument}: the device {str(device)!r} is not available on this machine; use 'auto', 'cpu' or 'gpu'.",
        )
    return device


def resolve_layer_name(network: DreamNetwork, layer: LayerLike, base: int = 1) -> str:
    """A layer name from a name or an index into the layer table counted from ``base`` (MATLAB: 1)."""
    if isinstance(layer, (Integral, np.integer)) and not isinstance(layer, bool):
        return network.layer_name_at(int(layer), base)
    return layer  # type: ignore[return-value]


def check_channels(channels: Sequence[int], truncated: VisualNetwork, base: int = 1) -> None:
    """0-based ``channels`` must lie in 0..num_channels-1; the message counts from ``base`` (MATLAB: 1)."""
    count = truncated.num_channels
    bad = [c for c in channels if not 0 <= c < count]
    if not len(channels) or bad:
        got = "no channel" if not len(channels) else f"out-of-range {describe_numbers(c + base for c in bad)}"
        raise DeepDreamError(
            "nnet_cnn:deepDreamImage:InvalidChannels",
            f"channels: layer {truncated.layer!r} has {count} channels ({base}..{count - 1 + base}, "
            f"{'1-based, MATLAB' if base == 1 else f'{base}-based'}); got {got}.",
        )


def check_tile_size(tile_size: int, truncated: VisualNetwork) -> None:
    """``TileSize`` must hold the layer's receptive field (smaller tiles would cut every unit's input)."""
    min_h, min_w = truncated.receptive_field
    if tile_size < max(min_h, min_w):
        raise DeepDreamError(
            "deepdreamport:deepDreamImage:TileSizeTooSmall",
            f"TileSize: {tile_size} is smaller than the receptive field of layer {truncated.layer!r} "
            f"({min_h}×{min_w}); give at least {max(min_h, min_w)}.",
        )


INITIAL_IMAGE_ID = "nnet_cnn:deepDreamImage:InitialImageNotValidImage"


def check_initial_image(image: np.ndarray, network: DreamNetwork) -> np.ndarray:
    """H×W×C real finite image, C = network channels (its size: :func:`check_initial_image_size`)."""
    image = checked_image_values(image)
    if image.ndim == 2 and network.input_channels == 1:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] != network.input_channels:
        raise DeepDreamError(
            INITIAL_IMAGE_ID,
            f"InitialImage: expected an H×W×{network.input_channels} image; got shape {image.shape}.",
        )
    return image


def check_initial_image_size(size: tuple[int, int], truncated: VisualNetwork, probe: SizeProbe) -> None:
    """The initial image must give ``layer`` an output of at least 1×1 (MATLAB R2019b and later).

    MATLAB's releases differ here: the 2017 release required at least the layer's
    receptive field; R2019b+ computes the layer's output size for the image and
    refuses it when a side is below 1 (same identifier,
    ``nnet_cnn:deepDreamImage:InitialImageNotValidImage``). The port follows R2019b+,
    as for the default initial image (noise of the receptive field's size plus the
    input mean): an image smaller than the receptive field that still reaches the
    layer is dreamt on. The network is run once on zeros of that size (cached).
    """
    height, width = (int(side) for side in size)
    what = (
        f"InitialImage: the initial image must give layer {truncated.layer!r} an output of at least 1×1 "
        "(as MATLAB R2019b and later require); this one"
    )
    probe.check(height, width, truncated.layer, what, identifier=INITIAL_IMAGE_ID)


def size_probe(network: DreamNetwork, truncated: VisualNetwork, tile_size: Optional[int]) -> SizeProbe:
    """Which sizes ``truncated`` takes; the network input size (else the tile) is expected to work."""
    reference = network.input_size if None not in network.input_size else (network.tile_size(tile_size),) * 2
    return truncated.size_probe(network.input_channels, reference)  # type: ignore[arg-type]


LARGEST_SIDE = 2**31
"""No pyramid level may be this many pixels on a side (nothing could hold it; the sizes would overflow first)."""


def check_pyramid_growth(image_size: tuple[int, int], levels: int, scale: float) -> None:
    """Refuse pyramids whose last level no memory could hold, before their sizes are computed.

    ``floor`` compounding of ``side · scale^(levels-1)`` overflows floating point
    for absurd values (``PyramidScale`` 1e308, ``PyramidLevels`` 10^8); the
    memory guard refuses large but representable ones with its estimate.
    """
    side = max(image_size)
    if side < 1 or levels < 2:
        return
    digits = math.log10(side) + (levels - 1) * math.log10(scale)
    if digits >= math.log10(LARGEST_SIDE):
        raise DeepDreamError(
            "deepdreamport:deepDreamImage:PyramidTooLarge",
            f"PyramidLevels, PyramidScale: the last of {levels} pyramid levels would be about 10^{digits:.0f} "
            f"pixels on a side ({side} · {scale:g}^{levels - 1}); use fewer levels or a smaller scale.",
        )


def check_level_sizes(
    image_size: tuple[int, int], settings: DreamSettings, truncated: VisualNetwork, probe: SizeProbe
) -> None:
    """Every size the network will see (each pyramid level, or the tile when a level is tiled) must work."""
    sizes = level_sizes(*image_size, settings.pyramid_levels, settings.pyramid_scale)
    for level, (height, width) in enumerate(sizes, start=1):
        if needs_tiles(height, width, settings.tile_size):
            what = f"TileSize: the tile (pyramid level {level} is {height}×{width}, larger than one tile)"
            height = width = settings.tile_size
        elif level == 1:
            what = "InitialImage: the initial image (pyramid level 1)"
        else:
            previous = sizes[level - 2]
            what = (
                f"PyramidScale: pyramid level {level}, floor({previous[0]}×{previous[1]} · {settings.pyramid_scale:g}),"
            )
        probe.check(height, width, truncated.layer, what)


def default_initial_size(truncated: VisualNetwork, probe: Optional[SizeProbe] = None) -> tuple[int, int]:
    """MATLAB's default initial image size: the layer's receptive field.

    Deviation: when the network cannot take the receptive-field size (a YOLO
    ``Focus`` needs even sides), each side is rounded up to the nearest size
    it takes (``probe``); MATLAB's own layers never need this.
    """
    height, width = truncated.receptive_field
    return probe.valid_initial_size(height, width) if probe is not None else (height, width)


def default_initial_image(network: DreamNetwork, size: tuple[int, int], stream: np.random.RandomState) -> np.ndarray:
    """``randn(h, w, C)`` plus the input layer's per-channel mean (R2019b+)."""
    image = stream.standard_normal((*size, network.input_channels))
    mean = network.input_mean()
    if mean is not None:
        image = image + mean.reshape(1, 1, -1)
    return image


def run_deep_dream(
    network: DreamNetwork,
    layer: LayerLike,
    channels: Sequence[int],
    *,
    initial_image: Optional[np.ndarray],
    settings: DreamSettings,
    dtype: torch.dtype,
    device: torch.device,
    stream: np.random.RandomState,
    tile_size: Optional[int] = None,
    on_iteration: Optional[IterationCallback] = None,
    base: int = 1,
    memory_check: bool = True,
    compile: bool = False,
) -> DreamResult:
    """Validate and run; ``channels`` are 0-based, ``initial_image`` is H×W×C or ``None``.

    ``base`` is the numbering of the caller's layer indices and of the messages
    (MATLAB door and command line: 1; Python door: 0). Every check, the memory
    guard (:mod:`.guard`, unless ``memory_check`` is false) included, runs before
    the random stream is drawn from or the network is moved; on a GPU the guard also
    picks the batch when one batch would not fit (:func:`.guard.dream_max_batch`). ``compile`` runs the
    visual network through ``torch.compile`` (:meth:`VisualNetwork.runnable`; the
    compiled module is kept on the network's cached visual network for later runs).
    Images that show nothing of their unit (NaN or constant, or the start image
    unchanged because the gradient was zero) are kept, as MATLAB computes them, and
    reported by a :class:`~.degenerate.DegenerateImagesWarning` naming their channels.
    """
    truncated = network.truncated(resolve_layer_name(network, layer, base), tile_size)
    channels = [int(c) for c in channels]
    check_channels(channels, truncated, base)
    tile = network.tile_size(tile_size)
    check_tile_size(tile, truncated)
    if initial_image is not None:
        initial_image = check_initial_image(initial_image, network)
    settings = replace(settings, tile_size=tile)  # every other setting (host_state, ...) passes through
    probe = size_probe(network, truncated, tile_size)
    if takes_one_image_per_pass(truncated, network.input_channels, probe.reference):
        settings = replace(settings, max_batch=1)  # a batch pinned to 1 by the export: one image per pass
    start_size = default_initial_size(truncated, probe) if initial_image is None else initial_image.shape[:2]
    check_pyramid_growth(tuple(start_size), settings.pyramid_levels, settings.pyramid_scale)
    if memory_check:  # before the sizes are probed: a probe of a size that cannot fit would fail on its own
        largest_probe = max([PROBE_SIDE, *(side for side in network.input_size if side)])
        per_pixel = activation_elements_per_pixel(  # an explicit TileSize must fit; MATLAB's default may not
            truncated, network.input_channels, tile, largest_probe, fallback=None if tile_size else network.input_size
        )
        run_size = (len(channels), network.input_channels, tuple(start_size))
        settings = replace(settings, max_batch=dream_max_batch(per_pixel, *run_size, settings, dtype, device))
        check_memory(per_pixel, *run_size, settings, dtype, device)
    if initial_image is not None:
        check_initial_image_size(initial_image.shape[:2], truncated, probe)
    check_level_sizes(tuple(start_size), settings, truncated, probe)
    image = default_initial_image(network, start_size, stream) if initial_image is None else initial_image
    truncated.to(device, dtype)
    truncated.compile = bool(compile)
    # an expanded view: the loop makes its own copy when it first updates the images
    batch = to_nchw(image, dtype, device).expand(len(channels), -1, -1, -1)
    channel_index = torch.tensor(channels, device=device, dtype=torch.long)
    with ieee_float32(device):
        result = deep_dream(batch, channel_index, truncated.gradient, settings, stream, on_iteration)
    sizes = level_sizes(*batch.shape[2:], settings.pyramid_levels, settings.pyramid_scale)
    warn_degenerate(result.images, carried_start(batch[:1], sizes), channels, base)
    return result


@contextlib.contextmanager
def ieee_float32(device: torch.device) -> Iterator[None]:
    """Single precision as MATLAB computes it: IEEE float32 convolutions and products on CUDA.

    cuDNN runs float32 convolutions in TF32 by default (10-bit mantissa), which
    would miss the 1e-5 single-precision parity; the previous setting is
    restored afterwards (process-wide flags: not for concurrent threads).
    """
    if torch.device(device).type != "cuda":
        yield
        return
    settings = (torch.backends.cudnn.conv, torch.backends.cuda.matmul)
    saved = [backend.fp32_precision for backend in settings]
    try:
        for backend in settings:
            backend.fp32_precision = "ieee"
        yield
    finally:
        for backend, value in zip(settings, saved):
            backend.fp32_precision = value


def iteration_callback(
    readers: Sequence[Optional[StrengthReader]] = (), tickers: Sequence[Optional[Callable[[], None]]] = ()
) -> Optional[IterationCallback]:
    """The loop's callback: ``tickers`` are told an iteration ended, ``readers`` also get its strength.

    Reading the strength waits for the device (one host synchronisation per
    iteration), so it is done only when a reader exists: the verbose table or
    a user's callback. A progress bar is a ticker and never waits.
    """
    readers = [r for r in readers if r is not None]
    tickers = [t for t in tickers if t is not None]
    if not readers and not tickers:
        return None

    def on_iteration(level: int, iteration: int, strength) -> None:
        for tick in tickers:
            tick()
        if readers:
            value = float(strength)
            for read in readers:
                read(level, iteration, value)

    return on_iteration


def scaled_images(result: DreamResult, output_scaling: str):
    """MATLAB's ``OutputScaling``: ``'linear'`` maps each image to [0, 1], ``'none'`` keeps it (K×C×H×W)."""
    return scale_linear(result.images) if output_scaling == "linear" else result.images
