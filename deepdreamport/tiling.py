"""MATLAB's tiled gradient, with every tile and channel in one batch.

Mirrors the toolbox's ``TiledGradients``: an image that fits in one
``TileSize × TileSize`` tile goes through the network whole; a larger one is
rolled by ``(randi(T), randi(T))`` (X drawn first, as MATLAB does), zero-padded
at the bottom and right to multiples of T, split into T×T tiles, and the tile
gradients are reassembled, cropped and rolled back.

Deviation (speed only, same numbers): MATLAB loops over tiles and channels;
here all ``K × nV × nH`` tiles form one batch, split into chunks only when
``max_batch`` is set (then tiles are cut and their gradients written back chunk
by chunk, so memory does not grow with a tiled copy of the batch). The network runs in inference mode, so batch elements do
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


def draw_roll(tile_size: int, stream: np.random.RandomState) -> tuple[int, int]:
    """``(rollX, rollY)``: two ``randi(T)`` draws, X first, as MATLAB draws them."""
    roll_x = randi(tile_size, stream)
    roll_y = randi(tile_size, stream)
    return roll_x, roll_y


def tile_grid(height: int, width: int, tile_size: int) -> tuple[int, int]:
    """``(nV, nH)``: tile rows and columns after padding to multiples of T."""
    return -(-height // tile_size), -(-width // tile_size)


def tiled_pass(
    images: torch.Tensor,
    channel_index: torch.Tensor,
    gradient_fn: GradientFunction,
    tile_size: int,
    roll: tuple[int, int],
    max_batch: Optional[int] = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradient of rolled, padded, tiled ``images`` and the tile activations (K×nV×nH).

    Without a batch limit (or when all tiles fit in one) every tile of every
    image is one batch. With ``max_batch``, tiles are cut from the padded image
    ``max_batch`` at a time and their gradients written straight into one
    gradient buffer, so no tiled copy of the whole batch is ever made.
    """
    count, channels, height, width = images.shape
    roll_x, roll_y = roll
    rows, cols = tile_grid(height, width, tile_size)
    rolled = torch.roll(images, shifts=(roll_y, roll_x), dims=(2, 3))
    padded = F.pad(rolled, (0, cols * tile_size - width, 0, rows * tile_size - height))
    del rolled
    total = count * rows * cols
    if max_batch is None or max_batch >= total:
        tiles = (
            padded.reshape(count, channels, rows, tile_size, cols, tile_size)
            .permute(0, 2, 4, 1, 3, 5)
            .reshape(total, channels, tile_size, tile_size)
        )
        tile_gradients, tile_activations = gradient_fn(tiles, channel_index.repeat_interleave(rows * cols))
        gradient = (
            tile_gradients.reshape(count, rows, cols, channels, tile_size, tile_size)
            .permute(0, 3, 1, 4, 2, 5)
            .reshape(count, channels, rows * tile_size, cols * tile_size)
        )
        activations = tile_activations.reshape(count, rows, cols)
    else:
        gradient = torch.empty_like(padded)
        activations = images.new_empty(total)
        places = [(k, i, j) for k in range(count) for i in range(rows) for j in range(cols)]
        for start in range(0, total, max_batch):
            chunk = places[start : start + max_batch]
            tiles = torch.stack(
                [padded[k, :, i * tile_size : (i + 1) * tile_size, j * tile_size : (j + 1) * tile_size] for k, i, j in chunk]
            )
            chunk_channels = channel_index[torch.tensor([k for k, _, _ in chunk], device=channel_index.device)]
            tile_gradients, tile_activations = gradient_fn(tiles, chunk_channels)
            for (k, i, j), tile_gradient in zip(chunk, tile_gradients):
                gradient[k, :, i * tile_size : (i + 1) * tile_size, j * tile_size : (j + 1) * tile_size] = tile_gradient
            activations[start : start + len(chunk)] = tile_activations
        activations = activations.reshape(count, rows, cols)
    del padded
    gradient = torch.roll(gradient[..., :height, :width], shifts=(-roll_y, -roll_x), dims=(2, 3))
    return gradient, activations


def tiled_activation(tile_activations: torch.Tensor) -> torch.Tensor:
    """MATLAB's ``act`` from the K×nV×nH tile activations (``mean(mean(Z))`` on nV×nH×K)."""
    return matlab_mean_of_mean(tile_activations.permute(1, 2, 0))


def gradient_step(
    images: torch.Tensor,
    channel_index: torch.Tensor,
    gradient_fn: GradientFunction,
    tile_size: int,
    roll: Optional[tuple[int, int]],
    max_batch: Optional[int] = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradient and raw activations: whole images when ``roll`` is ``None``, else tiled with that roll.

    The raw activations are per image (K) or per tile (K×nV×nH); :func:`combine_activations`
    turns them into MATLAB's ``act``.
    """
    if roll is None:
        return batched_gradient(gradient_fn, images, channel_index, max_batch)
    return tiled_pass(images, channel_index, gradient_fn, tile_size, roll, max_batch)


def combine_activations(raw: torch.Tensor, roll: Optional[tuple[int, int]]) -> torch.Tensor:
    """MATLAB's ``act``: the mean over images, or ``mean(mean(Z))`` over the tiles."""
    return raw.mean() if roll is None else tiled_activation(raw)


def needs_tiles(height: int, width: int, tile_size: int) -> bool:
    return height > tile_size or width > tile_size


def tiled_gradient(
    images: torch.Tensor,
    channel_index: torch.Tensor,
    gradient_fn: GradientFunction,
    tile_size: int,
    stream: np.random.RandomState,
    max_batch: Optional[int] = None,
) -> TiledResult:
    """MATLAB's ``TiledGradients`` for K×C×H×W ``images`` (element k maximises ``channel_index[k]``)."""
    roll = draw_roll(tile_size, stream) if needs_tiles(images.shape[2], images.shape[3], tile_size) else None
    gradient, raw = gradient_step(images, channel_index, gradient_fn, tile_size, roll, max_batch)
    return TiledResult(gradient, combine_activations(raw, roll), roll)
