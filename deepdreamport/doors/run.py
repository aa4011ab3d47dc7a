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

from dataclasses import replace
from numbers import Integral
from typing import Callable, Optional, Sequence, Union

import numpy as np
import torch

from ..core.loop import DreamResult, DreamSettings, IterationCallback, deep_dream, scale_linear
from ..errors import DeepDreamError, describe
from ..matlab.layout import to_nchw
from ..matlab.options import initial_image as checked_image_values
from ..nets.base import DreamNetwork, VisualNetwork

LayerLike = Union[str, int]
PRECISION_DTYPES = {"single": torch.float32, "double": torch.float64}
StrengthReader = Callable[[int, int, float], None]
"""A callback that reads the strength as a number: ``(level, iteration, strength)``."""


def resolve_device(environment: Union[str, torch.device]) -> torch.device:
    """MATLAB's ``ExecutionEnvironment``: ``'auto'`` (GPU if any), ``'gpu'``, ``'cpu'``."""
    if isinstance(environment, torch.device):
        return environment
    name = str(environment).lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name in ("gpu", "cuda"):
        if not torch.cuda.is_available():
            raise DeepDreamError(
                "parallel:gpu:device:DriverRedirect",
                "ExecutionEnvironment: 'gpu' was requested but no CUDA GPU is available; use 'auto' or 'cpu'.",
            )
        return torch.device("cuda")
    if name == "cpu":
        return torch.device("cpu")
    try:
        return torch.device(environment)
    except (RuntimeError, TypeError):
        raise DeepDreamError(
            "deepdreamport:BadDevice",
            f"ExecutionEnvironment: expected 'auto', 'gpu' or 'cpu'; got {describe(environment)}.",
        ) from None


def resolve_layer_name(network: DreamNetwork, layer: LayerLike) -> str:
    """A layer name from a name or MATLAB's 1-based index into the layer table."""
    if isinstance(layer, (Integral, np.integer)) and not isinstance(layer, bool):
        return network.layer_name_at(int(layer))
    return layer  # type: ignore[return-value]


def check_channels(channels: Sequence[int], truncated: VisualNetwork) -> None:
    """0-based ``channels`` must lie in 0..num_channels-1."""
    count = truncated.num_channels
    bad = [c for c in channels if not 0 <= c < count]
    if not len(channels) or bad:
        raise DeepDreamError(
            "nnet_cnn:deepDreamImage:InvalidChannels",
            f"channels: layer {truncated.layer!r} has {count} channels (1..{count} in MATLAB's numbering); "
            f"got {'no channel' if not len(channels) else 'out-of-range ' + str([c + 1 for c in bad]) + ' (1-based)'}.",
        )


def check_initial_image(image: np.ndarray, network: DreamNetwork, truncated: VisualNetwork) -> np.ndarray:
    """H×W×C real finite image, C = network channels, at least the receptive field."""
    identifier = "nnet_cnn:deepDreamImage:InitialImageNotValidImage"
    image = checked_image_values(image)
    if image.ndim == 2 and network.input_channels == 1:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] != network.input_channels:
        raise DeepDreamError(
            identifier,
            f"InitialImage: expected an H×W×{network.input_channels} image; got shape {image.shape}.",
        )
    min_h, min_w = truncated.receptive_field
    if image.shape[0] < min_h or image.shape[1] < min_w:
        raise DeepDreamError(
            identifier,
            f"InitialImage: {image.shape[0]}×{image.shape[1]} is smaller than the receptive field of layer "
            f"{truncated.layer!r}; it must be at least {min_h}×{min_w}.",
        )
    return image


def default_initial_image(network: DreamNetwork, truncated: VisualNetwork, stream: np.random.RandomState) -> np.ndarray:
    """``randn(rf_h, rf_w, C)`` plus the input layer's per-channel mean (R2019b+)."""
    height, width = truncated.receptive_field
    image = stream.standard_normal((height, width, network.input_channels))
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
) -> DreamResult:
    """Validate and run; ``channels`` are 0-based, ``initial_image`` is H×W×C or ``None``."""
    truncated = network.truncated(resolve_layer_name(network, layer), tile_size)
    channels = [int(c) for c in channels]
    check_channels(channels, truncated)
    if initial_image is None:
        image = default_initial_image(network, truncated, stream)
    else:
        image = check_initial_image(initial_image, network, truncated)
    truncated.to(device, dtype)
    # an expanded view: the loop makes its own copy when it first updates the images
    batch = to_nchw(image, dtype, device).expand(len(channels), -1, -1, -1)
    channel_index = torch.tensor(channels, device=device, dtype=torch.long)
    settings = replace(settings, tile_size=network.tile_size(tile_size))
    return deep_dream(batch, channel_index, truncated.gradient, settings, stream, on_iteration)


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
