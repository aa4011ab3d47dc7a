"""Function-level parity with MATLAB: every entry of components.mat."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepdreamport.core import pyramid as laplacian
from deepdreamport.core import resize
from deepdreamport.core.resize import resize_image
from deepdreamport.matlab.layout import to_hwck, to_nchw
from deepdreamport.parity import load_struct_array, relative_error

from ..conftest import REFERENCE, precision_dtype, tolerance

COMPONENTS = REFERENCE / "components.mat"
RESIZE = load_struct_array(COMPONENTS, "resize")
PAD = load_struct_array(COMPONENTS, "pad")
LAP = load_struct_array(COMPONENTS, "lap")


def _close(actual: torch.Tensor, expected: np.ndarray, precision: str) -> None:
    error = relative_error(to_hwck(actual), expected)
    assert error <= tolerance(precision), f"relative error {error:.3g}"


@pytest.mark.parametrize(
    "entry", RESIZE, ids=lambda e: f"{e['A'].shape}->{tuple(e['outputSize'].ravel().astype(int))}-{e['precision']}"
)
def test_resize_image(entry):
    dtype = precision_dtype(entry["precision"])
    size = tuple(int(v) for v in entry["outputSize"].ravel())
    out = resize_image(to_nchw(entry["A"], dtype), size)
    assert out.dtype == dtype
    _close(out, entry["B"], entry["precision"])


@pytest.mark.parametrize("entry", PAD, ids=lambda e: f"{e['A'].shape}-pad{tuple(e['padSize'].ravel().astype(int))}")
def test_symmetric_pad(entry):
    pad = tuple(int(v) for v in entry["padSize"].ravel())
    out = laplacian.symmetric_pad(to_nchw(entry["A"], torch.float64), pad)
    assert np.array_equal(to_hwck(out).reshape(entry["B"].shape), entry["B"])


@pytest.mark.parametrize("entry", LAP, ids=lambda e: f"{e['A'].shape}-{e['precision']}")
def test_laplacian_pyramid_bands(entry):
    dtype = precision_dtype(entry["precision"])
    bands = laplacian.laplacian_pyramid(to_nchw(entry["A"], dtype), int(np.ravel(entry["N"])[0]))
    assert len(bands) == 5
    for index, band in enumerate(bands, start=1):
        _close(band, entry[f"L{index}"], entry["precision"])


@pytest.mark.parametrize("entry", LAP, ids=lambda e: f"{e['A'].shape}-{e['precision']}")
def test_merge_pyramid(entry):
    dtype = precision_dtype(entry["precision"])
    bands = [to_nchw(entry[f"L{i}"], dtype) for i in range(1, 6)]
    # The reference bands of a 1×1 level lose their singleton axes in MATLAB's
    # layout, so reshape each to the batch/channel layout of the input.
    n, c = to_nchw(entry["A"]).shape[:2]
    bands = [b.reshape(n, c, *b.shape[-2:]) if b.shape[:2] != (n, c) else b for b in bands]
    _close(laplacian.merge_pyramid(bands), entry["merged"], entry["precision"])


@pytest.mark.parametrize("entry", LAP, ids=lambda e: f"{e['A'].shape}-{e['precision']}")
def test_laplacian_normalized_image(entry):
    dtype = precision_dtype(entry["precision"])
    out = laplacian.laplacian_normalized_image(to_nchw(entry["A"], dtype), int(np.ravel(entry["N"])[0]))
    _close(out, entry["normalized"], entry["precision"])


def test_resize_same_size_is_identity():
    images = torch.randn(2, 3, 5, 7, dtype=torch.float64)
    assert resize_image(images, (5, 7)) is images


def test_resize_matches_grid_sample_zero_padding():
    images = torch.randn(2, 3, 9, 13, dtype=torch.float64)
    out = resize_image(images, (14, 6))
    ys = (torch.arange(14, dtype=torch.float64) + 0.5) / 14 * 2 - 1
    xs = (torch.arange(6, dtype=torch.float64) + 0.5) / 6 * 2 - 1
    grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1).expand(2, 14, 6, 2)
    expected = torch.nn.functional.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("n_out", range(1, 34))
@pytest.mark.parametrize("n_in", range(1, 30))
def test_every_resize_path_equals_the_dense_interpolation_matrices(n_in, n_out):
    """Banded slices (2M-1 → 2M), dense products and the two-tap gather are one operator."""
    generator = torch.Generator().manual_seed(1000 * n_in + n_out)
    cpu = torch.device("cpu")
    images = torch.randn(2, 3, n_in, n_in + 2, generator=generator, dtype=torch.float64)
    matrix = resize.interpolation_matrix(n_in, n_out, torch.float64, cpu)
    expected = torch.matmul(matrix, images)
    by_rows = resize._resize_axis(images, -2, n_out)
    by_cols = resize._resize_axis(images.transpose(-1, -2).contiguous(), -1, n_out)
    gathered = resize._gather_rows(images, n_out)
    torch.testing.assert_close(by_rows, expected, rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(by_cols, expected.transpose(-1, -2), rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(gathered, expected, rtol=1e-13, atol=1e-13)


def test_the_resize_sweep_covers_banded_and_dense_sizes():
    cpu = torch.device("cpu")
    seen = {
        "banded" if resize.banded_taps(n_in, n_out, torch.float64, cpu) else "dense"
        for n_in in range(1, 30)
        for n_out in range(1, 34)
    }
    assert seen == {"banded", "dense"}
