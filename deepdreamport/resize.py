"""The Deep Learning Toolbox's own bilinear ``resizeImage`` (not ``imresize``).

Mirrors ``resizeImage`` / ``interp2d`` of MATLAB's deep-dream sources: output
pixel ``u`` (1-based) samples the source at ``x = u/s + 0.5*(1 - 1/s)`` with
``s = n_out / n_in``, bilinearly, and neighbours outside the image count as
zero (borders darken when upscaling). Equal sizes return the input unchanged.

The sampling is separable, so it is done as two small dense interpolation
matrices, ``B = Ry @ A @ Rx.T``, built once per (size pair, dtype, device) and
cached. This equals ``grid_sample(mode='bilinear', align_corners=False,
padding_mode='zeros')``; it is *not* ``F.interpolate``, which clamps at edges.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch


def interpolation_matrix_numpy(n_in: int, n_out: int) -> np.ndarray:
    """``n_out × n_in`` float64 matrix of one axis of ``resizeImage``."""
    scale = n_out / n_in
    u = np.arange(1, n_out + 1, dtype=np.float64)
    x = u / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(x)
    frac = x - left
    matrix = np.zeros((n_out, n_in), dtype=np.float64)
    rows = np.arange(n_out)
    for index, weight in ((left, 1.0 - frac), (left + 1.0, frac)):
        inside = (index >= 1) & (index <= n_in)
        np.add.at(matrix, (rows[inside], index[inside].astype(np.int64) - 1), weight[inside])
    return matrix


@lru_cache(maxsize=256)
def interpolation_matrix(n_in: int, n_out: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Cached torch copy of :func:`interpolation_matrix_numpy`."""
    return torch.from_numpy(interpolation_matrix_numpy(n_in, n_out)).to(device=device, dtype=dtype)


def resize_image(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize ``(..., H, W)`` images to ``size = (h, w)`` like ``resizeImage``."""
    height, width = int(size[0]), int(size[1])
    in_height, in_width = images.shape[-2], images.shape[-1]
    if (height, width) == (in_height, in_width):
        return images
    out = images
    if height != in_height:
        rows = interpolation_matrix(in_height, height, images.dtype, images.device)
        out = torch.matmul(rows, out)
    if width != in_width:
        cols = interpolation_matrix(in_width, width, images.dtype, images.device)
        out = torch.matmul(out, cols.T)
    return out
