"""Laplacian-pyramid gradient normalisation of MATLAB's deep dream.

Mirrors the toolbox's ``LaplacianPyramid`` / ``laplacianNormalizedImage`` and
``symmetricPad``: the 5-tap binomial filter ``[1 4 6 4 1]/16`` applied as
``conv2(h, h, A, 'valid')`` after symmetric padding by 2, ``REDUCE`` (filter,
keep every other sample), ``EXPAND`` (zero-interleave, filter, times 4, no
renormalisation at borders), four levels, per-image RMS normalisation of every
band with a ``1e-8`` floor, and the merge back with :func:`resize_image`.

All functions take ``N × C × H × W`` tensors and run on their device as
depthwise convolutions; any size down to 1×1 works.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from .resize import resize_image

FILTER_TAPS = (1 / 16, 1 / 4, 3 / 8, 1 / 4, 1 / 16)
PAD = 2
NUM_LEVELS = 4
NORM_FLOOR = 1e-8


@lru_cache(maxsize=512)
def _symmetric_index(n: int, pad: int, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.pad(np.arange(n), pad, mode="symmetric")).to(device)


def symmetric_pad(images: torch.Tensor, pad: tuple[int, int]) -> torch.Tensor:
    """Pad the last two axes by ``pad = (rows, cols)`` repeating edge samples.

    Same as ``np.pad(mode='symmetric')`` and the toolbox's ``symmetricPad``.
    """
    rows, cols = int(pad[0]), int(pad[1])
    out = images
    if rows:
        out = out.index_select(-2, _symmetric_index(out.shape[-2], rows, out.device))
    if cols:
        out = out.index_select(-1, _symmetric_index(out.shape[-1], cols, out.device))
    return out


def _symmetric_pad_axis(images: torch.Tensor, dim: int) -> torch.Tensor:
    """Pad one axis by ``PAD`` repeating edge samples (``np.pad(mode='symmetric')``)."""
    size = images.shape[dim]
    if size < PAD:  # too short to mirror by slices: fall back to the index table
        return images.index_select(dim, _symmetric_index(size, PAD, images.device))
    head = images.narrow(dim, 0, PAD).flip(dim)
    tail = images.narrow(dim, size - PAD, PAD).flip(dim)
    return torch.cat((head, images, tail), dim=dim)


def _filter_axis(padded: torch.Tensor, dim: int) -> torch.Tensor:
    """``conv`` with the 5 taps along ``dim`` ('valid'), as a sum of shifted slices."""
    length = padded.shape[dim] - 2 * PAD
    out = padded.narrow(dim, 0, length) * FILTER_TAPS[0]
    for shift in range(1, len(FILTER_TAPS)):
        out.add_(padded.narrow(dim, shift, length), alpha=FILTER_TAPS[shift])
    return out


def _blur(images: torch.Tensor) -> torch.Tensor:
    """``conv2(h, h, A, 'valid')`` on the symmetrically padded image.

    Done per axis as five scaled, shifted slices (memory-bound elementwise work),
    not as a depthwise convolution: on the CPU the 5×1 depthwise kernels were the
    largest cost of the whole normalisation.
    """
    vertical = _filter_axis(_symmetric_pad_axis(images, -2), -2)
    return _filter_axis(_symmetric_pad_axis(vertical, -1), -1)


def reduce(images: torch.Tensor) -> torch.Tensor:
    """``REDUCE``: blur, then keep rows and columns 1, 3, 5, … (1-based)."""
    return _blur(images)[..., ::2, ::2]


def expand(images: torch.Tensor) -> torch.Tensor:
    """``EXPAND``: ``M × N`` → ``(2M-1) × (2N-1)`` zero-interleaved, blurred, × 4."""
    n, c, h, w = images.shape
    grid = images.new_zeros((n, c, 2 * h - 1, 2 * w - 1))
    grid[..., ::2, ::2] = images
    return _blur(grid) * 4


def laplacian_pyramid(images: torch.Tensor, levels: int = NUM_LEVELS) -> list[torch.Tensor]:
    """Bands ``L1 … L{levels+1}``: ``levels`` detail bands, then the residual."""
    bands = []
    current = images
    for _ in range(levels):
        coarser = reduce(current)
        bands.append(current - resize_image(expand(coarser), current.shape[-2:]))
        current = coarser
    bands.append(current)
    return bands


def merge_pyramid(bands: list[torch.Tensor]) -> torch.Tensor:
    """Collapse bands back into an image (inverse of :func:`laplacian_pyramid`)."""
    out = bands[-1]
    for band in reversed(bands[:-1]):
        out = resize_image(expand(out), band.shape[-2:]) + band
    return out


def normalize_band(band: torch.Tensor) -> torch.Tensor:
    """Divide each image by its RMS over ``C × H × W`` (floored at ``1e-8``)."""
    count = band.shape[1] * band.shape[2] * band.shape[3]
    rms = torch.sqrt(band.square().sum(dim=(1, 2, 3), keepdim=True) / count)
    return band / rms.clamp_min(NORM_FLOOR)


def laplacian_normalized_image(images: torch.Tensor, levels: int = NUM_LEVELS) -> torch.Tensor:
    """MATLAB's ``laplacianNormalizedImage(A, N)``: normalise every band, merge."""
    return merge_pyramid([normalize_band(band) for band in laplacian_pyramid(images, levels)])
