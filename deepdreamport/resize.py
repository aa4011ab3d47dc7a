"""The Deep Learning Toolbox's own bilinear ``resizeImage`` (not ``imresize``).

Mirrors ``resizeImage`` / ``interp2d`` of MATLAB's deep-dream sources: output
pixel ``u`` (1-based) samples the source at ``x = u/s + 0.5*(1 - 1/s)`` with
``s = n_out / n_in``, bilinearly, and neighbours outside the image count as
zero (borders darken when upscaling). Equal sizes return the input unchanged.

The sampling is separable, so it is done per axis with operators built once per
(size pair, dtype, device) and cached: the dense interpolation matrices
``B = Ry @ A @ Rx.T`` for sides up to ``DENSE_LIMIT``, and above it the two
non-zero taps of each row (:func:`interpolation_taps`), gathered and summed, so
the cost stays linear in the pixels for very large images. This equals ``grid_sample(mode='bilinear', align_corners=False,
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


@lru_cache(maxsize=256)
def interpolation_taps(
    n_in: int, n_out: int, dtype: torch.dtype, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The two non-zero taps of each row of :func:`interpolation_matrix_numpy`.

    ``(left, left_weight, right, right_weight)``: 0-based source indices (clamped
    into range) and weights (zero where the neighbour lies outside the image).
    """
    scale = n_out / n_in
    u = np.arange(1, n_out + 1, dtype=np.float64)
    x = u / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(x)
    frac = x - left
    taps = []
    for index, weight in ((left, 1.0 - frac), (left + 1.0, frac)):
        inside = (index >= 1) & (index <= n_in)
        position = np.clip(index, 1, n_in).astype(np.int64) - 1
        taps.append(torch.from_numpy(position).to(device))
        taps.append(torch.from_numpy(np.where(inside, weight, 0.0)).to(device=device, dtype=dtype))
    return taps[0], taps[1], taps[2], taps[3]


DENSE_LIMIT = 1024  # above this side the dense product's cubic cost loses to the two-tap gather


def _gather_rows(images: torch.Tensor, n_out: int) -> torch.Tensor:
    """Resize axis -2 by its two taps: two row gathers and a weighted sum."""
    left, left_weight, right, right_weight = interpolation_taps(images.shape[-2], n_out, images.dtype, images.device)
    out = images.index_select(-2, left).mul_(left_weight[:, None])
    return out.addcmul_(images.index_select(-2, right), right_weight[:, None])


def resize_image(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize ``(..., H, W)`` images to ``size = (h, w)`` like ``resizeImage``.

    Sides up to :data:`DENSE_LIMIT` use the cached dense interpolation matrices
    (one GEMM per axis, fastest at these sizes); larger sides use the two-tap
    gather, whose cost grows with the pixels rather than cubically with the side.
    """
    height, width = int(size[0]), int(size[1])
    in_height, in_width = images.shape[-2], images.shape[-1]
    if (height, width) == (in_height, in_width):
        return images
    out = images
    if height != in_height:
        if max(height, in_height) <= DENSE_LIMIT:
            out = torch.matmul(interpolation_matrix(in_height, height, images.dtype, images.device), out)
        else:
            out = _gather_rows(out, height)
    if width != in_width:
        if max(width, in_width) <= DENSE_LIMIT:
            out = torch.matmul(out, interpolation_matrix(in_width, width, images.dtype, images.device).T)
        else:
            out = _gather_rows(out.transpose(-1, -2), width).transpose(-1, -2)
    return out
