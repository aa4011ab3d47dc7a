"""REDUCE and EXPAND skip work the definition does; they must still give its numbers, bit for bit.

The fast paths add the same non-zero terms in the same order as the full filter
(a product, then one multiply-add per further tap; EXPAND's edge taps and its
``× 4`` are folded in by exact powers of two), so they give the definition's
numbers to the last bit, in float32 and float64.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from deepdreamport.core import pyramid as laplacian

TAPS = laplacian.FILTER_TAPS


def _pad(images: torch.Tensor, dim: int) -> torch.Tensor:
    index = torch.from_numpy(np.pad(np.arange(images.shape[dim]), 2, mode="symmetric"))
    return images.index_select(dim, index)


def _filter(padded: torch.Tensor, dim: int) -> torch.Tensor:
    length = padded.shape[dim] - 4
    out = padded.narrow(dim, 0, length) * TAPS[0]
    for shift in range(1, 5):
        out.add_(padded.narrow(dim, shift, length), alpha=TAPS[shift])
    return out


def _blur_by_definition(images: torch.Tensor) -> torch.Tensor:
    """``conv2(h, h, symmetricPad(A, 2), 'valid')`` over every sample."""
    return _filter(_pad(_filter(_pad(images, -2), -2), -1), -1)


def _assert_same(actual: torch.Tensor, expected: torch.Tensor, where) -> None:
    assert actual.shape == expected.shape, where
    assert torch.equal(actual, expected), f"{where}: max difference {(actual - expected).abs().max().item():.3g}"


def _expand_by_definition(images: torch.Tensor) -> torch.Tensor:
    n, c, h, w = images.shape
    grid = images.new_zeros((n, c, 2 * h - 1, 2 * w - 1))
    grid[..., ::2, ::2] = images
    return _blur_by_definition(grid) * 4


SIZES = list(itertools.product(range(1, 9), [1, 2, 3, 4, 7, 12])) + [(224, 224), (301, 190)]


@pytest.fixture(params=[True, False], ids=["cpu-slice-copies", "accelerator-gathers"])
def copy_path(request, monkeypatch):
    """Both ways the pads and interleaves are copied: slices (the CPU's) and one gather / stack (a GPU's)."""
    monkeypatch.setattr(laplacian, "CPU_SLICE_COPIES", request.param)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_reduce_is_the_subsampled_blur(dtype, copy_path):
    generator = torch.Generator().manual_seed(0)
    for height, width in SIZES:
        images = torch.randn(2, 3, height, width, generator=generator, dtype=dtype)
        expected = _blur_by_definition(images)[..., ::2, ::2]
        _assert_same(laplacian.reduce(images), expected, (height, width))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_expand_is_the_blurred_zero_grid(dtype, copy_path):
    generator = torch.Generator().manual_seed(1)
    for height, width in SIZES:
        images = torch.randn(2, 3, height, width, generator=generator, dtype=dtype)
        _assert_same(laplacian.expand(images), _expand_by_definition(images), (height, width))


def test_expand_edges_differ_from_interior_pattern():
    """The edge outputs see the mirrored sample twice; a constant stays constant inside only."""
    out = laplacian.expand(torch.ones(1, 1, 6, 6, dtype=torch.float64))
    assert out[0, 0, 5, 5].item() == pytest.approx(1.0)
    assert out[0, 0, 0, 0].item() != pytest.approx(1.0)
