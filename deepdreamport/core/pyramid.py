"""Laplacian-pyramid gradient normalisation of MATLAB's deep dream.

Mirrors the toolbox's ``LaplacianPyramid`` / ``laplacianNormalizedImage`` and
``symmetricPad``: the 5-tap binomial filter ``[1 4 6 4 1]/16`` applied as
``conv2(h, h, A, 'valid')`` after symmetric padding by 2, ``REDUCE`` (filter,
keep every other sample), ``EXPAND`` (zero-interleave, filter, times 4, no
renormalisation at borders), four levels, per-image RMS normalisation of every
band with a ``1e-8`` floor, and the merge back with :func:`resize_image`.

All functions take ``N × C × H × W`` tensors and run on their device as
sums of shifted slices (the filter is separable and has five taps); any size
down to 1×1 works.
"""

from __future__ import annotations

import numpy as np
import torch

from .device_cache import cached_per_device
from .resize import resize_image

FILTER_TAPS = (1 / 16, 1 / 4, 3 / 8, 1 / 4, 1 / 16)
PAD = 2
NUM_LEVELS = 4
NORM_FLOOR = 1e-8


@cached_per_device(maxsize=512)
def _symmetric_index(n: int, pad: int, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.pad(np.arange(n), pad, mode="symmetric")).to(device)


def symmetric_pad(images: torch.Tensor, pad: tuple[int, int]) -> torch.Tensor:
    """Pad the last two axes by ``pad = (rows, cols)`` repeating edge samples.

    Same as ``np.pad(mode='symmetric')`` and the toolbox's ``symmetricPad``.

    Shape:
        - images: :math:`(*, H, W)`
        - output: :math:`(*, H + 2 rows, W + 2 cols)`

    Example:
        >>> symmetric_pad(torch.tensor([[1.0, 2.0, 3.0]]), (0, 2))
        tensor([[2., 1., 1., 2., 3., 3., 2.]])
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


def _every(images: torch.Tensor, dim: int, start: int, count: int, step: int = 1) -> torch.Tensor:
    """``count`` samples along ``dim`` from ``start``, ``step`` apart (a view)."""
    index = [slice(None)] * images.dim()
    index[dim] = slice(start, start + step * (count - 1) + 1, step)
    return images[tuple(index)]


def _filter_axis(padded: torch.Tensor, dim: int, step: int = 1) -> torch.Tensor:
    """The 5 taps along ``dim`` ('valid'), as a sum of scaled, shifted slices.

    With ``step = 2`` only every other output is computed (``REDUCE`` keeps no more).
    """
    count = (padded.shape[dim] - 2 * PAD + step - 1) // step
    out = _every(padded, dim, 0, count, step) * FILTER_TAPS[0]
    for shift in range(1, len(FILTER_TAPS)):
        out.add_(_every(padded, dim, shift, count, step), alpha=FILTER_TAPS[shift])
    return out


def _interleave_zeros(images: torch.Tensor, dim: int) -> torch.Tensor:
    """``M`` samples → ``2M - 1``: the samples at even positions, zeros between."""
    shape = list(images.shape)
    shape[dim] = 2 * shape[dim] - 1
    grid = images.new_zeros(shape)
    _every(grid, dim, 0, images.shape[dim], 2).copy_(images)
    return grid


def _weighted_sum(terms: list[tuple[torch.Tensor, int]]) -> torch.Tensor:
    """``sum(FILTER_TAPS[t] * x)`` in the order given, with the blur's own operations."""
    (first, tap), rest = terms[0], terms[1:]
    out = first * FILTER_TAPS[tap]
    for values, tap in rest:
        out.add_(values, alpha=FILTER_TAPS[tap])
    return out


def _expand_axis(images: torch.Tensor, dim: int) -> torch.Tensor:
    """Zero-interleave, symmetric-pad and filter one axis, skipping the zeros.

    The padded interleaved signal of ``a`` is ``[0 a0 a0 0 a1 0 ... a(M-1) a(M-1) 0]``,
    so every output needs only two or three of the five taps. The non-zero terms
    are added in the same order as the full filter adds them, and adding the
    skipped ``0 * h`` terms changes nothing, so the result is the full filter's
    (to the last bit, but for PyTorch rounding a multiply-add once or twice
    depending on how it vectorises a slice).
    """
    m = images.shape[dim]
    if m < 3:  # too short for the edge patterns below
        return _filter_axis(_symmetric_pad_axis(_interleave_zeros(images, dim), dim), dim)
    a = lambda start, count: _every(images, dim, start, count)  # noqa: E731
    shape = list(images.shape)
    shape[dim] = 2 * m - 1
    out = images.new_empty(shape)
    even = _every(out, dim, 0, m, 2)
    odd = _every(out, dim, 1, m - 1, 2)
    # even outputs 2j: interior j = 1..M-2 use a(j-1), a(j), a(j+1) with taps 0, 2, 4
    _every(even, dim, 1, m - 2).copy_(_weighted_sum([(a(0, m - 2), 0), (a(1, m - 2), 2), (a(2, m - 2), 4)]))
    _every(even, dim, 0, 1).copy_(_weighted_sum([(a(0, 1), 1), (a(0, 1), 2), (a(1, 1), 4)]))
    _every(even, dim, m - 1, 1).copy_(_weighted_sum([(a(m - 2, 1), 0), (a(m - 1, 1), 2), (a(m - 1, 1), 3)]))
    # odd outputs 2j+1: interior j = 1..M-3 use a(j), a(j+1) with taps 1, 3
    if m > 3:
        _every(odd, dim, 1, m - 3).copy_(_weighted_sum([(a(1, m - 3), 1), (a(2, m - 3), 3)]))
    _every(odd, dim, 0, 1).copy_(_weighted_sum([(a(0, 1), 0), (a(0, 1), 1), (a(1, 1), 3)]))
    _every(odd, dim, m - 2, 1).copy_(_weighted_sum([(a(m - 2, 1), 1), (a(m - 1, 1), 3), (a(m - 1, 1), 4)]))
    return out


def reduce(images: torch.Tensor) -> torch.Tensor:
    """``REDUCE``: blur, then keep rows and columns 1, 3, 5, … (1-based).

    Only the kept outputs are computed (the same sums as blurring everything).

    Shape:
        - images: :math:`(N, C, H, W)`
        - output: :math:`(N, C, \\lceil H/2 \rceil, \\lceil W/2 \rceil)`

    Example:
        >>> reduce(torch.ones(1, 1, 5, 4)).shape
        torch.Size([1, 1, 3, 2])
    """
    vertical = _filter_axis(_symmetric_pad_axis(images, -2), -2, step=2)
    return _filter_axis(_symmetric_pad_axis(vertical, -1), -1, step=2)


def expand(images: torch.Tensor) -> torch.Tensor:
    """``EXPAND``: ``M × N`` → ``(2M-1) × (2N-1)`` zero-interleaved, blurred, × 4.

    Computed axis by axis without filtering the inserted zeros; the same sums as
    blurring the zero-interleaved grid (see :func:`_expand_axis`).

    Shape:
        - images: :math:`(N, C, M, N')`
        - output: :math:`(N, C, 2M - 1, 2N' - 1)`

    Example:
        >>> out = expand(torch.ones(1, 1, 3, 3))
        >>> out.shape, out[0, 0, 2, 2].item()  # the centre keeps its value; no renormalisation at borders
        (torch.Size([1, 1, 5, 5]), 1.0)
    """
    return _expand_axis(_expand_axis(images, -2), -1).mul_(4)


def laplacian_pyramid(images: torch.Tensor, levels: int = NUM_LEVELS) -> list[torch.Tensor]:
    """MATLAB's ``LaplacianPyramid``: bands ``L1 … L{levels+1}``, ``levels`` detail bands, then the residual.

    Shape:
        - images: :math:`(N, C, H, W)`
        - output: ``levels + 1`` tensors, band ``i`` of size :math:`\\lceil H/2^i \rceil \times \\lceil W/2^i \rceil`

    Example:
        >>> [tuple(b.shape[-2:]) for b in laplacian_pyramid(torch.rand(1, 3, 20, 13), 2)]
        [(20, 13), (10, 7), (5, 4)]
    """
    bands = []
    current = images
    for _ in range(levels):
        coarser = reduce(current)
        upsampled = resize_image(expand(coarser), current.shape[-2:])  # always a new tensor
        bands.append(torch.sub(current, upsampled, out=upsampled))
        current = coarser
    bands.append(current)
    return bands


def merge_pyramid(bands: list[torch.Tensor]) -> torch.Tensor:
    """Collapse bands back into an image (inverse of :func:`laplacian_pyramid`).

    Shape:
        - bands: as returned by :func:`laplacian_pyramid`
        - output: :math:`(N, C, H, W)`, the size of the first band

    Example:
        >>> images = torch.rand(2, 3, 17, 9, dtype=torch.float64)
        >>> bool(torch.allclose(merge_pyramid(laplacian_pyramid(images.clone())), images))
        True
    """
    out = bands[-1]
    for band in reversed(bands[:-1]):
        out = resize_image(expand(out), band.shape[-2:]).add_(band)  # a new tensor, updated in place
    return out


def _band_rms(band: torch.Tensor) -> torch.Tensor:
    count = band.shape[1] * band.shape[2] * band.shape[3]
    return torch.sqrt(band.square().sum(dim=(1, 2, 3), keepdim=True) / count).clamp_min(NORM_FLOOR)


def normalize_band(band: torch.Tensor) -> torch.Tensor:
    """Divide each image by its RMS over ``C × H × W`` (floored at ``1e-8``).

    Shape:
        - band: :math:`(N, C, H, W)`
        - output: :math:`(N, C, H, W)`

    Example:
        >>> normalize_band(torch.full((1, 1, 2, 2), 3.0))
        tensor([[[[1., 1.],
                  [1., 1.]]]])
    """
    return band / _band_rms(band)


def laplacian_normalized_image(images: torch.Tensor, levels: int = NUM_LEVELS) -> torch.Tensor:
    """MATLAB's ``laplacianNormalizedImage(A, N)``: normalise every band, merge.

    The pyramid's bands are new tensors (but for ``levels = 0``), so they are
    normalised in place: same numbers, one image-sized buffer less at a time.
    ``images`` is not modified.

    Shape:
        - images: :math:`(N, C, H, W)`
        - output: :math:`(N, C, H, W)`

    Example:
        >>> laplacian_normalized_image(torch.zeros(1, 3, 8, 8)).abs().max()  # the 1e-8 floor: no division by 0
        tensor(0.)
    """
    bands = laplacian_pyramid(images, levels)
    for band in bands:
        if band is images:
            bands = [normalize_band(images)]
        else:
            band.div_(_band_rms(band))
    return merge_pyramid(bands)
