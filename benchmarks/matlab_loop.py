"""The same algorithm looping tile by tile and channel by channel, as MATLAB does.

A reference for figure 2 built from the package's own pieces (``randi``,
``resize_image``, ``laplacian_normalized_image``, ``level_sizes``,
``matlab_mean_of_mean``): only the tiled gradient differs, calling the network
once per (channel, tile) on a 1×C×T×T batch, as the toolbox's ``TiledGradients``
loops do. It draws the same rolls from the same stream, so it must give the
port's numbers.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from deepdreamport.core.loop import level_sizes
from deepdreamport.core.pyramid import laplacian_normalized_image
from deepdreamport.core.resize import resize_image
from deepdreamport.core.tiles import GradientFunction, matlab_mean_of_mean, randi


def looped_tiled_gradient(
    images: torch.Tensor,
    channel_index: torch.Tensor,
    gradient_fn: GradientFunction,
    tile_size: int,
    stream: np.random.RandomState,
) -> tuple[torch.Tensor, torch.Tensor]:
    count, _, height, width = images.shape
    if height <= tile_size and width <= tile_size:
        gradients, activations = [], []
        for k in range(count):
            gradient, activation = gradient_fn(images[k : k + 1], channel_index[k : k + 1])
            gradients.append(gradient)
            activations.append(activation)
        return torch.cat(gradients), torch.cat(activations).mean()
    roll_x = randi(tile_size, stream)
    roll_y = randi(tile_size, stream)
    rolled = torch.roll(images, shifts=(roll_y, roll_x), dims=(2, 3))
    rows = -(-height // tile_size)
    cols = -(-width // tile_size)
    padded = F.pad(rolled, (0, cols * tile_size - width, 0, rows * tile_size - height))
    gradient = torch.zeros_like(padded)
    z = torch.zeros(rows, cols, count, dtype=images.dtype, device=images.device)
    for i in range(rows):
        for j in range(cols):
            ys, xs = slice(i * tile_size, (i + 1) * tile_size), slice(j * tile_size, (j + 1) * tile_size)
            for k in range(count):
                tile_gradient, activation = gradient_fn(padded[k : k + 1, :, ys, xs], channel_index[k : k + 1])
                gradient[k : k + 1, :, ys, xs] = tile_gradient
                z[i, j, k] = activation[0]
    gradient = torch.roll(gradient[..., :height, :width], shifts=(-roll_y, -roll_x), dims=(2, 3))
    return gradient, matlab_mean_of_mean(z)


def looped_deep_dream(
    images: torch.Tensor,
    channel_index: torch.Tensor,
    gradient_fn: GradientFunction,
    num_iterations: int,
    pyramid_levels: int,
    pyramid_scale: float,
    tile_size: int,
    stream: np.random.RandomState,
) -> tuple[torch.Tensor, np.ndarray]:
    strengths = []
    for size in level_sizes(images.shape[2], images.shape[3], pyramid_levels, pyramid_scale):
        images = resize_image(images, size)
        for _ in range(num_iterations):
            gradient, activation = looped_tiled_gradient(images, channel_index, gradient_fn, tile_size, stream)
            images = images + laplacian_normalized_image(gradient)
            strengths.append(float(torch.linalg.vector_norm(activation.reshape(-1).double())))
    return images, np.array(strengths)
