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
import torch.nn.functional as F

from .device_cache import cached_per_device
from .resize import resize_image

CPU_SLICE_COPIES = True
"""On the CPU, pads and interleaves copy slices (several operations, fast there); off it, and with this
false, one gather or ``stack`` each (one kernel on a GPU; ``benchmarks.op_count`` counts both paths).
The same copies either way."""

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


def _slice_copies(images: torch.Tensor) -> bool:
    return CPU_SLICE_COPIES and images.device.type == "cpu"


def _symmetric_pad_axis(images: torch.Tensor, dim: int) -> torch.Tensor:
    """Pad one axis by ``PAD`` repeating edge samples (``np.pad(mode='symmetric')``).

    One gather on accelerators (one kernel); on the CPU, where a gather along the last axis is
    about ten times slower than copying slices, the two flipped edges and a ``cat`` (the same copy).
    """
    size = images.shape[dim]
    if not _slice_copies(images) or size < PAD:  # (too short to mirror by slices: the index table)
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


@cached_per_device(maxsize=512)
def _expand_operands(
    m: int, dim: int, ndim: int, gain: float, dtype: torch.dtype, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """The scales ``[4, 1 … 1, 4]`` of the edge-extended samples and the first taps of the odd outputs
    ``gain · [h0 + h1, h1 … h1]`` (shaped to broadcast along ``dim``)."""
    shape = [1] * ndim
    shape[dim] = -1
    scale = np.ones(m + 2)
    scale[[0, -1]] = 4.0
    odd_taps = np.full(m - 1, FILTER_TAPS[1] * gain)
    odd_taps[0] = (FILTER_TAPS[0] + FILTER_TAPS[1]) * gain
    as_tensor = lambda values: torch.from_numpy(values).to(device=device, dtype=dtype).reshape(shape)  # noqa: E731
    return as_tensor(scale), as_tensor(odd_taps)


def _replicate_edge(images: torch.Tensor, dim: int) -> torch.Tensor:
    """``[a0, a0 … a(M-1), a(M-1)]`` along ``dim`` (one of the last two of N×C×H×W): one padding kernel."""
    if images.dim() != 4 or dim < 2:
        size = images.shape[dim]
        return torch.cat((images.narrow(dim, 0, 1), images, images.narrow(dim, size - 1, 1)), dim=dim)
    return F.pad(images, (1, 1, 0, 0) if dim == 3 else (0, 0, 1, 1), mode="replicate")


def _expand_axis(images: torch.Tensor, dim: int, gain: float = 1.0) -> torch.Tensor:
    """Zero-interleave, symmetric-pad and filter one axis (times ``gain``, a power of two), skipping the zeros.

    The padded interleaved signal of ``a`` is ``[0 a0 a0 0 a1 0 ... a(M-1) a(M-1) 0]``, so every
    output needs two or three of the five taps: even outputs ``2j`` are
    ``h0·a(j-1) + h2·a(j) + h4·a(j+1)`` and odd outputs ``2j+1`` are ``h1·a(j) + h3·a(j+1)`` inside;
    at the edges the mirrored sample replaces the missing one. Computed with the same operations
    in the same order as the full filter (a product, then one multiply-add per further non-zero
    tap; the skipped ``0 · h`` terms add exactly nothing), in few, whole-axis operations:

    * even outputs from the samples extended by ``4·a0`` and ``4·a(M-1)``: ``h0 · 4a0 = h1 · a0``
      and ``h4 · 4a(M-1) = h3 · a(M-1)`` exactly (powers of two), so the edge sums are the
      interior formula's;
    * odd outputs ``h1·a(j) + h3·a(j+1)`` with the first tap ``h0 + h1`` at ``j = 0``:
      ``round(a0 · 5/16)`` is the full filter's ``h0·a0`` followed by ``+ h1·a0`` (``a0/16`` is
      exact), and one more multiply-add ``+ h4·a(M-1)`` at the last odd output.

    ``gain`` scales every tap; a power of two scales each rounded result exactly, so EXPAND's
    ``× 4`` is folded into the second axis's taps instead of costing a pass over the output.
    """
    m = images.shape[dim]
    taps = [tap * gain for tap in FILTER_TAPS]
    if m < 3:  # too short for the edge patterns below
        out = _filter_axis(_symmetric_pad_axis(_interleave_zeros(images, dim), dim), dim)
        return out.mul_(gain) if gain != 1 else out
    dim = dim % images.dim()
    scale, odd_taps = _expand_operands(m, dim, images.dim(), gain, images.dtype, images.device)
    extended = _replicate_edge(images, dim).mul_(scale)  # [4·a0, a0 … a(M-1), 4·a(M-1)]
    even = torch.mul(_every(extended, dim, 0, m), taps[0])
    even.add_(_every(extended, dim, 1, m), alpha=taps[2])
    even.add_(_every(extended, dim, 2, m), alpha=taps[4])
    odd = torch.empty_like(even)  # M slots for the M - 1 odd outputs: the last is cut off below
    first = _every(odd, dim, 0, m - 1)
    torch.mul(_every(images, dim, 0, m - 1), odd_taps, out=first)
    first.add_(_every(images, dim, 1, m - 1), alpha=taps[3])
    _every(odd, dim, m - 2, 1).add_(_every(images, dim, m - 1, 1), alpha=taps[4])
    return _interleave(even, odd, dim)


def _interleave(even: torch.Tensor, odd: torch.Tensor, dim: int) -> torch.Tensor:
    """``[e0 o0 e1 o1 … e(M-1)]`` along ``dim`` from M even and M (the last unused) odd samples.

    The sums were made in contiguous buffers (sums written into strided views of the output
    keep the CPU from vectorising them); one ``stack`` interleaves them, but along the CPU's last
    axis two strided copies are ten times faster than that ``stack``. The same copy either way.
    """
    m = even.shape[dim]
    if _slice_copies(even) and dim == even.dim() - 1:
        shape = list(even.shape)
        shape[dim] = 2 * m - 1
        out = even.new_empty(shape)
        _every(out, dim, 0, m, 2).copy_(even)
        _every(out, dim, 1, m - 1, 2).copy_(_every(odd, dim, 0, m - 1))
        return out
    return torch.stack((even, odd), dim=dim + 1).flatten(dim, dim + 1).narrow(dim, 0, 2 * m - 1)


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
    return _expand_axis(_expand_axis(images, -2), -1, gain=4.0)


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
