"""MATLAB's tiled gradient, with every tile and channel in one batch.

Mirrors the toolbox's ``TiledGradients``: an image that fits in one
``TileSize × TileSize`` tile goes through the network whole; a larger one is
rolled by ``(randi(T), randi(T))`` (X drawn first, as MATLAB does), zero-padded
at the bottom and right to multiples of T, split into T×T tiles, and the tile
gradients are reassembled, cropped and rolled back.

Deviation (speed only, same numbers): MATLAB loops over tiles and channels;
here all ``K × nV × nH`` tiles form one batch, split into chunks only when
``max_batch`` is set. The network runs in inference mode, so batch elements do
not interact and the gradients are the loop's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import torch
import torch.nn.functional as F

from .rng import randi

GradientFunction = Callable[[torch.Tensor, torch.Tensor], "tuple[torch.Tensor, torch.Tensor]"]


@dataclass(frozen=True)
class TiledResult:
    gradient: torch.Tensor
    activation: torch.Tensor  # MATLAB's ``act``: a scalar or a K-vector
    roll: Optional[tuple[int, int]]  # (rollX, rollY) as drawn, or None


def batched_gradient(
    gradient_fn: GradientFunction, images: torch.Tensor, channel_index: torch.Tensor, max_batch: Optional[int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Call ``gradient_fn`` on at most ``max_batch`` elements at a time."""
    total = images.shape[0]
    if max_batch is None or max_batch >= total:
        return gradient_fn(images, channel_index)
    gradients, activations = [], []
    for start in range(0, total, max_batch):
        gradient, activation = gradient_fn(images[start : start + max_batch], channel_index[start : start + max_batch])
        gradients.append(gradient)
        activations.append(activation)
    return torch.cat(gradients), torch.cat(activations)


def matlab_mean_of_mean(values: torch.Tensor) -> torch.Tensor:
    """MATLAB's ``mean(mean(Z))`` on an nV×nH×K array (each ``mean`` on the first non-singleton axis)."""
    for _ in range(2):
        non_singleton = [axis for axis, size in enumerate(values.shape) if size != 1]
        if non_singleton:
            values = values.mean(dim=non_singleton[0], keepdim=True)
    return values.reshape(-1) if values.numel() > 1 else values.reshape(())


def tiled_gradient(
    images: torch.Tensor,
    channel_index: torch.Tensor,
    gradient_fn: GradientFunction,
    tile_size: int,
    stream: np.random.RandomState,
    max_batch: Optional[int] = None,
) -> TiledResult:
    """Gradient of the objective for K×C×H×W ``images`` (element k maximises ``channel_index[k]``)."""
    count, channels, height, width = images.shape
    if height <= tile_size and width <= tile_size:
        gradient, activation = batched_gradient(gradient_fn, images, channel_index, max_batch)
        return TiledResult(gradient, activation.mean(), None)

    roll_x = randi(tile_size, stream)
    roll_y = randi(tile_size, stream)
    rolled = torch.roll(images, shifts=(roll_y, roll_x), dims=(2, 3))
    rows = -(-height // tile_size)
    cols = -(-width // tile_size)
    padded = F.pad(rolled, (0, cols * tile_size - width, 0, rows * tile_size - height))
    tiles = (
        padded.reshape(count, channels, rows, tile_size, cols, tile_size)
        .permute(0, 2, 4, 1, 3, 5)
        .reshape(count * rows * cols, channels, tile_size, tile_size)
    )
    tile_channels = channel_index.repeat_interleave(rows * cols)
    tile_gradients, tile_activations = batched_gradient(gradient_fn, tiles, tile_channels, max_batch)
    gradient = (
        tile_gradients.reshape(count, rows, cols, channels, tile_size, tile_size)
        .permute(0, 3, 1, 4, 2, 5)
        .reshape(count, channels, rows * tile_size, cols * tile_size)[..., :height, :width]
    )
    gradient = torch.roll(gradient, shifts=(-roll_y, -roll_x), dims=(2, 3))
    activation = matlab_mean_of_mean(tile_activations.reshape(count, rows, cols).permute(1, 2, 0))
    return TiledResult(gradient, activation, (roll_x, roll_y))
