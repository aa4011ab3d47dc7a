"""MATLAB's tiled gradient (``TiledGradients``), with every tile and channel in one batch.

Mirrors the toolbox's ``TiledGradients``: an image that fits in one
``TileSize × TileSize`` tile goes through the network whole; a larger one is
rolled by ``(randi(T), randi(T))`` (X drawn first, as MATLAB does), zero-padded
at the bottom and right to multiples of T, split into T×T tiles, and the tile
gradients are reassembled, cropped and rolled back.

Deviations (same numbers):

* MATLAB loops over tiles and channels; here all ``K × nV × nH`` tiles form one
  batch, split into chunks only when ``max_batch`` is set (then tiles are cut
  and their gradients written back chunk by chunk, so memory does not grow
  with a tiled copy of the batch). The network runs in inference mode, so
  batch elements do not interact and the gradients are the loop's.
* MATLAB's ``TiledGradients`` draws the roll itself; here the caller draws it
  with :func:`draw_roll` and passes it to :func:`tiled_gradient`, so that the
  loop can process groups of images with the one roll of an iteration.
"""

from __future__ import annotations

import math
from typing import Callable, Optional, Union

import numpy as np
import torch
import torch.nn.functional as F

from .device_cache import cached_per_device

GradientFunction = Callable[[torch.Tensor, torch.Tensor], "tuple[torch.Tensor, torch.Tensor]"]
"""``(images B×C×H×W, channel_index B) -> (gradient B×C×H×W, activations B)``."""

Roll = tuple[int, int]
"""``(rollX, rollY)``, 1-based, as MATLAB draws them."""

RollLike = Union[Roll, torch.Tensor]
"""A :data:`Roll`, or the same two numbers in a device tensor (``int64``, shape ``(2,)``): a graph replayed
with other rolls reads them from there (:mod:`.replay`)."""


def randi(n: int, stream: np.random.RandomState) -> int:
    """MATLAB's ``randi(n)``: an integer in 1..n drawn as ``1 + floor(n * rand)``.

    ``stream`` is a Mersenne-Twister stream whose ``random_sample`` is MATLAB's
    ``rand`` (see :func:`deepdreamport.matlab.rng.twister`).

    Example:
        >>> randi(224, np.random.RandomState(5489))  # MATLAB: rng(0); randi(224)
        183
    """
    return 1 + int(math.floor(n * stream.random_sample()))


def batched_gradient(
    gradient_fn: GradientFunction, images: torch.Tensor, channel_index: torch.Tensor, max_batch: Optional[int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Call ``gradient_fn`` on at most ``max_batch`` elements at a time.

    Shape:
        - images: :math:`(B, C, H, W)`; channel_index: :math:`(B)`
        - output: gradient :math:`(B, C, H, W)` and activations :math:`(B)`

    Example:
        >>> double = lambda x, k: (2 * x, x.sum(dim=(1, 2, 3)))
        >>> gradient, act = batched_gradient(double, torch.ones(5, 1, 2, 2), torch.zeros(5, dtype=torch.long), 2)
        >>> gradient.shape, act.tolist()
        (torch.Size([5, 1, 2, 2]), [4.0, 4.0, 4.0, 4.0, 4.0])
    """
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
    """MATLAB's ``mean(mean(Z))`` on an nV×nH×K array (each ``mean`` on the first non-singleton axis).

    Shape:
        - values: :math:`(nV, nH, K)`
        - output: :math:`(K)`, or a scalar when only one axis is not singleton

    Example:
        >>> matlab_mean_of_mean(torch.arange(6.0).reshape(1, 2, 3))  # nV = 1: mean over nH, then over K
        tensor(2.5000)
    """
    for _ in range(2):
        non_singleton = [axis for axis, size in enumerate(values.shape) if size != 1]
        if non_singleton:
            values = values.mean(dim=non_singleton[0], keepdim=True)
    return values.reshape(-1) if values.numel() > 1 else values.reshape(())


def draw_roll(tile_size: int, stream: np.random.RandomState) -> Roll:
    """``(rollX, rollY)``: two ``randi(T)`` draws, X first, as MATLAB draws them.

    Example:
        >>> draw_roll(224, np.random.RandomState(5489))
        (183, 203)
    """
    roll_x = randi(tile_size, stream)
    roll_y = randi(tile_size, stream)
    return roll_x, roll_y


def tile_grid(height: int, width: int, tile_size: int) -> tuple[int, int]:
    """``(nV, nH)``: tile rows and columns after padding to multiples of T.

    Example:
        >>> tile_grid(300, 224, 224)
        (2, 1)
    """
    return -(-height // tile_size), -(-width // tile_size)


def needs_tiles(height: int, width: int, tile_size: int) -> bool:
    """Whether an H×W image is larger than one T×T tile (MATLAB's test in ``TiledGradients``).

    Example:
        >>> needs_tiles(224, 224, 224), needs_tiles(225, 100, 224)
        (False, True)
    """
    return height > tile_size or width > tile_size


@cached_per_device(maxsize=64)
def tile_places(
    count: int, rows: int, cols: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Image, tile-row and tile-column index of each tile, in the batch order ``(k, i, j)``.

    Shape:
        - output: three tensors of shape :math:`(K · nV · nH)`

    Example:
        >>> [t.tolist() for t in tile_places(2, 1, 2, torch.device("cpu"))]
        [[0, 0, 1, 1], [0, 0, 0, 0], [0, 1, 0, 1]]
    """
    place = torch.arange(count * rows * cols, device=device)
    return place // (rows * cols), (place // cols) % rows, place % cols


def tile_views(padded: torch.Tensor, tile_size: int) -> torch.Tensor:
    """The T×T tiles of a padded batch as a view: ``[k, i, j]`` is tile ``(i, j)`` of image ``k``.

    Shape:
        - padded: :math:`(K, C, nV · T, nH · T)`
        - output: :math:`(K, nV, nH, C, T, T)`, a view of ``padded`` (writes go to it)
    """
    return padded.unfold(2, tile_size, tile_size).unfold(3, tile_size, tile_size).permute(0, 2, 3, 1, 4, 5)


@cached_per_device(maxsize=64)
def _positions(size: int, device: torch.device) -> torch.Tensor:
    return torch.arange(size, device=device)


def roll_image(images: torch.Tensor, roll: RollLike, sign: int = 1) -> torch.Tensor:
    """``circshift(X, sign · [rollY rollX])``: ``torch.roll`` for a :data:`Roll`, two gathers for a tensor roll.

    Both are the same copy of the same samples (``out[i] = x[(i - shift) mod n]``).

    Example:
        >>> image = torch.arange(6.0).reshape(1, 1, 2, 3)
        >>> torch.equal(roll_image(image, (1, 1)), roll_image(image, torch.tensor([1, 1])))
        True
    """
    if not isinstance(roll, torch.Tensor):
        return torch.roll(images, shifts=(sign * roll[1], sign * roll[0]), dims=(2, 3))
    return _gather_rolled(images, roll, sign, images.shape[2], images.shape[3])


def _gather_rolled(images: torch.Tensor, roll: torch.Tensor, sign: int, height: int, width: int) -> torch.Tensor:
    """Rows and columns ``(i - sign · shift) mod n`` of ``images`` (``n`` = ``height``, ``width``: the first ``n``
    rows/columns of a larger, padded image are rolled and the rest cut off)."""
    rows = torch.remainder(_positions(height, images.device) - sign * roll[1], height)
    cols = torch.remainder(_positions(width, images.device) - sign * roll[0], width)
    return images.index_select(2, rows).index_select(3, cols)


def _tiled_pass(
    images: torch.Tensor,
    channel_index: torch.Tensor,
    gradient_fn: GradientFunction,
    tile_size: int,
    roll: RollLike,
    max_batch: Optional[int],
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradient of rolled, padded, tiled ``images`` and the tile activations (K×nV×nH).

    Without a batch limit (or when all tiles fit in one) every tile of every
    image is one batch. With ``max_batch``, each chunk of ``max_batch`` tiles is
    gathered from the padded image in one indexing operation and its gradients
    scattered back into one gradient buffer in another, so no tiled copy of the
    whole batch is ever made and the operations do not grow with the tiles.
    """
    count, channels, height, width = images.shape
    rows, cols = tile_grid(height, width, tile_size)
    rolled = roll_image(images, roll)
    padded = F.pad(rolled, (0, cols * tile_size - width, 0, rows * tile_size - height))
    del rolled
    total = count * rows * cols
    tile_channels = channel_index.repeat_interleave(rows * cols)  # on the device: no host round trip per chunk
    if max_batch is None or max_batch >= total:
        tiles = (
            padded.reshape(count, channels, rows, tile_size, cols, tile_size)
            .permute(0, 2, 4, 1, 3, 5)
            .reshape(total, channels, tile_size, tile_size)
        )
        tile_gradients, tile_activations = gradient_fn(tiles, tile_channels)
        gradient = (
            tile_gradients.reshape(count, rows, cols, channels, tile_size, tile_size)
            .permute(0, 3, 1, 4, 2, 5)
            .reshape(count, channels, rows * tile_size, cols * tile_size)
        )
        activations = tile_activations.reshape(count, rows, cols)
    else:
        gradient = torch.empty_like(padded)
        activations = images.new_empty(total)
        image, row, col = tile_places(count, rows, cols, images.device)
        padded_tiles, gradient_tiles = tile_views(padded, tile_size), tile_views(gradient, tile_size)
        for start in range(0, total, max_batch):
            chunk = slice(start, min(start + max_batch, total))
            place = (image[chunk], row[chunk], col[chunk])
            tile_gradients, activations[chunk] = gradient_fn(padded_tiles[place], tile_channels[chunk])  # one gather
            gradient_tiles[place] = tile_gradients  # one scatter into the gradient's tiles
        activations = activations.reshape(count, rows, cols)
    del padded
    if isinstance(roll, torch.Tensor):  # crop and roll back in one gather per axis
        return _gather_rolled(gradient, roll, -1, height, width), activations
    return roll_image(gradient[..., :height, :width], roll, -1), activations


def tiled_gradient(
    images: torch.Tensor,
    channel_index: torch.Tensor,
    gradient_fn: GradientFunction,
    tile_size: int,
    roll: Optional[RollLike],
    max_batch: Optional[int] = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """MATLAB's ``TiledGradients``: the objective's input gradient and its raw activations.

    Whole images go through ``gradient_fn`` when ``roll`` is ``None`` (the image
    fits in one tile); otherwise they are rolled by ``roll``, tiled and
    reassembled. Element ``k`` maximises channel ``channel_index[k]``.
    :func:`tile_activation` turns the raw activations into MATLAB's ``act``.

    Shape:
        - images: :math:`(K, C, H, W)`; channel_index: :math:`(K)`
        - output: gradient :math:`(K, C, H, W)`; activations :math:`(K)` when
          ``roll`` is ``None``, else :math:`(K, nV, nH)` (one per tile)

    Example:
        >>> identity = lambda x, k: (torch.ones_like(x), x.mean(dim=(1, 2, 3)))
        >>> gradient, act = tiled_gradient(torch.zeros(2, 3, 5, 5), torch.tensor([0, 1]), identity, 4, (1, 2))
        >>> gradient.shape, act.shape
        (torch.Size([2, 3, 5, 5]), torch.Size([2, 2, 2]))
    """
    if roll is None:
        return batched_gradient(gradient_fn, images, channel_index, max_batch)
    return _tiled_pass(images, channel_index, gradient_fn, tile_size, roll, max_batch)


def tile_activation(raw: torch.Tensor, roll: Optional[RollLike]) -> torch.Tensor:
    """MATLAB's ``act``: the mean over images, or ``mean(mean(Z))`` over nV×nH×K tiles.

    Shape:
        - raw: :math:`(K)` when ``roll`` is ``None``, else :math:`(K, nV, nH)`
        - output: a scalar, or :math:`(K)` for tiled images

    Example:
        >>> tile_activation(torch.tensor([1.0, 3.0]), None)
        tensor(2.)
        >>> tile_activation(torch.ones(2, 2, 3), (1, 1))
        tensor([1., 1.])
    """
    return raw.mean() if roll is None else matlab_mean_of_mean(raw.permute(1, 2, 0))
