"""The Deep Learning Toolbox's own bilinear ``resizeImage`` (not ``imresize``).

Mirrors ``resizeImage`` / ``interp2d`` of MATLAB's deep-dream sources: output
pixel ``u`` (1-based) samples the source at ``x = u/s + 0.5*(1 - 1/s)`` with
``s = n_out / n_in``, bilinearly, and neighbours outside the image count as
zero (borders darken when upscaling).

Aliasing: :func:`resize_image` returns its input itself (not a copy) when the
size is already right, and a new tensor otherwise; callers that update the
result in place must own the input (the loop and the pyramid do).

The sampling is separable, so it is done per axis with operators built once per
(size pair, dtype, device) and cached: two shifted slices when each output
mixes consecutive inputs (the Laplacian pyramid's ``2M-1 → 2M``), the dense
interpolation matrices ``B = Ry @ A @ Rx.T`` for other sides up to
``DENSE_LIMIT``, and above it the two non-zero taps of each row
(:func:`interpolation_taps`), gathered and summed, so the cost stays linear in
the pixels for very large images. This equals ``grid_sample(mode='bilinear',
align_corners=False, padding_mode='zeros')``; it is *not* ``F.interpolate``,
which clamps at edges.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

from .device_cache import cached_per_device


def _taps_numpy(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per output sample: the 0-based left neighbour, its weight and the right neighbour's.

    Weights of neighbours outside the image are zero (the toolbox pads with zeros).
    """
    scale = n_out / n_in
    u = np.arange(1, n_out + 1, dtype=np.float64)
    x = u / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(x)
    frac = x - left
    left_index = left.astype(np.int64) - 1
    left_weight = np.where((left_index >= 0) & (left_index < n_in), 1.0 - frac, 0.0)
    right_weight = np.where((left_index + 1 >= 0) & (left_index + 1 < n_in), frac, 0.0)
    return left_index, left_weight, right_weight


def interpolation_matrix_numpy(n_in: int, n_out: int) -> np.ndarray:
    """``n_out × n_in`` float64 matrix of one axis of ``resizeImage``.

    Example:
        >>> interpolation_matrix_numpy(2, 4)  # upscaling: outside neighbours count as zero
        array([[0.75, 0.  ],
               [0.75, 0.25],
               [0.25, 0.75],
               [0.  , 0.75]])
    """
    left_index, left_weight, right_weight = _taps_numpy(n_in, n_out)
    matrix = np.zeros((n_out, n_in), dtype=np.float64)
    rows = np.arange(n_out)
    for index, weight in ((left_index, left_weight), (left_index + 1, right_weight)):
        inside = (index >= 0) & (index < n_in)
        np.add.at(matrix, (rows[inside], index[inside]), weight[inside])
    return matrix


@cached_per_device(maxsize=256)
def interpolation_matrix(n_in: int, n_out: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Cached torch copy of :func:`interpolation_matrix_numpy` (bounded per device).

    Shape:
        - output: :math:`(n_{out}, n_{in})`

    Example:
        >>> interpolation_matrix(4, 2, torch.float64, torch.device("cpu"))
        tensor([[0.5000, 0.5000, 0.0000, 0.0000],
                [0.0000, 0.0000, 0.5000, 0.5000]], dtype=torch.float64)
    """
    return torch.from_numpy(interpolation_matrix_numpy(n_in, n_out)).to(device=device, dtype=dtype)


@cached_per_device(maxsize=256)
def interpolation_taps(
    n_in: int, n_out: int, dtype: torch.dtype, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The two non-zero taps of each row of :func:`interpolation_matrix_numpy`.

    ``(left, left_weight, right, right_weight)``: 0-based source indices (clamped
    into range) and weights (zero where the neighbour lies outside the image).

    Shape:
        - output: four tensors of shape :math:`(n_{out})`

    Example:
        >>> [t.tolist() for t in interpolation_taps(2, 4, torch.float64, torch.device("cpu"))]
        [[0, 0, 0, 1], [0.0, 0.75, 0.25, 0.75], [0, 1, 1, 1], [0.75, 0.25, 0.75, 0.0]]
    """
    left_index, left_weight, right_weight = _taps_numpy(n_in, n_out)
    as_index = lambda index: torch.from_numpy(np.clip(index, 0, n_in - 1)).to(device)  # noqa: E731
    as_weight = lambda weight: torch.from_numpy(weight).to(device=device, dtype=dtype)  # noqa: E731
    return as_index(left_index), as_weight(left_weight), as_index(left_index + 1), as_weight(right_weight)


@cached_per_device(maxsize=256)
def banded_taps(
    n_in: int, n_out: int, dtype: torch.dtype, device: torch.device
) -> Optional[tuple[int, torch.Tensor, torch.Tensor]]:
    """``(first, left_weight, right_weight)`` when output ``u`` mixes inputs ``first+u`` and
    ``first+u+1`` (consecutive left neighbours, as in the pyramid's ``2M-1 → 2M``); else ``None``.

    Shape:
        - output: ``first`` and two weight tensors of shape :math:`(n_{out})`

    Example:
        >>> first, left, right = banded_taps(3, 4, torch.float64, torch.device("cpu"))
        >>> first, left.tolist(), right.tolist()
        (-1, [0.0, 0.375, 0.625, 0.875], [0.875, 0.625, 0.375, 0.0])
        >>> banded_taps(4, 2, torch.float64, torch.device("cpu")) is None  # outputs skip inputs
        True
    """
    left_index, left_weight, right_weight = _taps_numpy(n_in, n_out)
    if n_out < 2 or not np.all(np.diff(left_index) == 1):
        return None
    as_weight = lambda weight: torch.from_numpy(weight).to(device=device, dtype=dtype)  # noqa: E731
    return int(left_index[0]), as_weight(left_weight), as_weight(right_weight)


DENSE_LIMIT = 1024  # above this side the dense product's cubic cost loses to the two-tap gather


def _gather_rows(images: torch.Tensor, n_out: int) -> torch.Tensor:
    """Resize axis -2 by its two taps: two row gathers and a weighted sum."""
    left, left_weight, right, right_weight = interpolation_taps(images.shape[-2], n_out, images.dtype, images.device)
    out = images.index_select(-2, left).mul_(left_weight[:, None])
    return out.addcmul_(images.index_select(-2, right), right_weight[:, None])


def _banded(
    images: torch.Tensor, dim: int, first: int, left_weight: torch.Tensor, right_weight: torch.Tensor
) -> torch.Tensor:
    """Resize axis ``dim`` (-2 or -1) whose left neighbours are consecutive: two shifted slices."""
    n_in, n_out = images.shape[dim], left_weight.shape[0]
    before, after = max(0, -first), max(0, first + n_out + 1 - n_in)
    padding = (before, after) if dim == -1 else (0, 0, before, after)
    padded = F.pad(images, padding)
    shape = (-1, 1) if dim == -2 else (1, -1)
    left = padded.narrow(dim, first + before, n_out) * left_weight.reshape(shape)
    return left.addcmul_(padded.narrow(dim, first + before + 1, n_out), right_weight.reshape(shape))


def _resize_axis(images: torch.Tensor, dim: int, n_out: int) -> torch.Tensor:
    n_in = images.shape[dim]
    if n_in == n_out:
        return images
    band = banded_taps(n_in, n_out, images.dtype, images.device)
    if band is not None:
        return _banded(images, dim, *band)
    if max(n_in, n_out) <= DENSE_LIMIT:
        matrix = interpolation_matrix(n_in, n_out, images.dtype, images.device)
        return torch.matmul(matrix, images) if dim == -2 else torch.matmul(images, matrix.T)
    if dim == -2:
        return _gather_rows(images, n_out)
    return _gather_rows(images.transpose(-1, -2), n_out).transpose(-1, -2)


def resize_image(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize ``(..., H, W)`` images to ``size = (h, w)`` like ``resizeImage``.

    Per axis: consecutive two-tap sampling (the pyramid's ``2M-1 → 2M``) as two
    shifted slices; other sides up to :data:`DENSE_LIMIT` as one product with the
    cached dense interpolation matrix; larger sides as a two-tap gather, whose
    cost grows with the pixels rather than cubically with the side. Returns
    ``images`` itself when it already has that size, else a new tensor.

    Shape:
        - images: :math:`(*, H, W)`
        - output: :math:`(*, h, w)`

    Example (edge samples see a zero neighbour: 5/6 per axis):
        >>> resize_image(torch.ones(1, 1, 2, 2, dtype=torch.float64), (3, 3))
        tensor([[[[0.6944, 0.8333, 0.6944],
                  [0.8333, 1.0000, 0.8333],
                  [0.6944, 0.8333, 0.6944]]]], dtype=torch.float64)
        >>> image = torch.zeros(1, 1, 2, 2)
        >>> resize_image(image, (2, 2)) is image
        True
    """
    height, width = int(size[0]), int(size[1])
    if (height, width) == tuple(images.shape[-2:]):
        return images
    return _resize_axis(_resize_axis(images, -2, height), -1, width)
