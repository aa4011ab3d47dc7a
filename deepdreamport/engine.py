"""One implementation behind both front doors: validate, set up, run the loop.

Takes already-parsed arguments (0-based channels, an H×W×C initial image or
``None``) and returns the :class:`~deepdreamport.dream.DreamResult`. The
MATLAB door (:func:`deepdreamport.deepDreamImage`) and the Python door
(:func:`deepdreamport.deep_dream_image`) only translate their arguments.
"""

from __future__ import annotations

from numbers import Integral
from typing import Optional, Sequence, Union

import numpy as np
import torch

from .dream import DreamResult, DreamSettings, IterationCallback, deep_dream
from .errors import DeepDreamError, describe
from .matlab_layout import to_nchw
from .network import TruncatedNetwork, VisualNetwork
from .onnx_import import OnnxSource

NetworkLike = Union[VisualNetwork, OnnxSource]
LayerLike = Union[str, int]


def as_network(net: NetworkLike) -> VisualNetwork:
    """A :class:`VisualNetwork` from a loaded network, an ONNX path, bytes or proto."""
    if isinstance(net, VisualNetwork):
        return net
    return VisualNetwork.from_onnx(net)


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


def resolve_layer_name(network: VisualNetwork, layer: LayerLike) -> str:
    """A layer name from a name or MATLAB's 1-based index into the layer table."""
    if isinstance(layer, (Integral, np.integer)) and not isinstance(layer, bool):
        return network.layer_name_at(int(layer))
    return layer  # type: ignore[return-value]


def check_channels(channels: Sequence[int], truncated: TruncatedNetwork) -> None:
    """0-based ``channels`` must lie in 0..num_channels-1."""
    count = truncated.num_channels
    bad = [c for c in channels if not 0 <= c < count]
    if not len(channels) or bad:
        raise DeepDreamError(
            "nnet_cnn:deepDreamImage:InvalidChannels",
            f"channels: layer {truncated.layer!r} has {count} channels (1..{count} in MATLAB's numbering); "
            f"got {'no channel' if not len(channels) else 'out-of-range ' + str([c + 1 for c in bad]) + ' (1-based)'}.",
        )


def check_initial_image(image: np.ndarray, network: VisualNetwork, truncated: TruncatedNetwork) -> np.ndarray:
    """H×W×C real finite image, C = network channels, at least the receptive field."""
    identifier = "nnet_cnn:deepDreamImage:InitialImageNotValidImage"
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
    if not np.all(np.isfinite(image)):
        raise DeepDreamError(identifier, "InitialImage: contains NaN or Inf values.")
    return image


def default_initial_image(
    network: VisualNetwork, truncated: TruncatedNetwork, stream: np.random.RandomState
) -> np.ndarray:
    """``randn(rf_h, rf_w, C)`` plus the input layer's per-channel mean (R2019b+)."""
    height, width = truncated.receptive_field
    image = stream.standard_normal((height, width, network.input_channels))
    mean = network.input_mean()
    if mean is not None:
        image = image + mean.reshape(1, 1, -1)
    return image


def run_deep_dream(
    network: VisualNetwork,
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
        image = check_initial_image(np.asarray(initial_image), network, truncated)
    truncated.to(device, dtype)
    # an expanded view: the loop makes its own copy when it first updates the images
    batch = to_nchw(image, dtype, device).expand(len(channels), -1, -1, -1)
    channel_index = torch.tensor(channels, device=device, dtype=torch.long)
    settings = DreamSettings(
        settings.num_iterations,
        settings.pyramid_levels,
        settings.pyramid_scale,
        network.tile_size(tile_size),
        settings.max_batch,
    )
    return deep_dream(batch, channel_index, truncated.gradient, settings, stream, on_iteration)
