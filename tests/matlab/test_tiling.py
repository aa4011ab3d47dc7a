"""MATLAB's imtile / montage on MATLAB's layouts (H×W×C×K, H×W×K, lists), and MATLAB's imread.

Expected arrays are written out from the layout rules of MATLAB's documentation: frames row by
row, a roughly square grid (``ceil(sqrt(K·H/W))`` columns), padding on every side of a frame,
the background in the frames' class, an RGB image's three planes tiled as grey frames.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from PIL import Image

import deepdreamport
from deepdreamport import DeepDreamError, imread, imtile, montage
from deepdreamport.doors.files import montage as labelled_montage

from ..doors.test_files import write_png16


def frames(count: int, height: int = 2, width: int = 3, channels: int = 3, dtype=np.float32) -> np.ndarray:
    """H×W×C×K, frame k filled with (k + 1) / 10 (uint8: k + 1)."""
    scale = 1 if np.dtype(dtype).kind == "u" else 0.1
    return np.stack([np.full((height, width, channels), (k + 1) * scale, dtype) for k in range(count)], axis=3)


def test_deep_dream_layout_tiles_row_by_row_in_a_roughly_square_grid():
    images = frames(4, 2, 2)  # deepDreamImage's H×W×C×K, single
    out = imtile(images)
    assert out.dtype == np.float32 and out.shape == (4, 4, 3)
    for k, (row, column) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
        np.testing.assert_array_equal(out[2 * row : 2 * row + 2, 2 * column : 2 * column + 2], images[:, :, :, k])
    assert imtile(frames(5, 2, 2)).shape == (4, 6, 3)  # 3 columns, 2 rows; the sixth tile black
    assert imtile(frames(3, 1, 4)).shape == (3, 4, 3)  # wide frames: ceil(sqrt(3·1/4)) = 1 column, 3 rows
    assert imtile(frames(3, 4, 1)).shape == (4, 3, 3)  # tall frames: ceil(sqrt(3·4/1)) = 4 columns: 1 row of 3
    assert not imtile(frames(5, 2, 2))[2:, 4:].any()


def test_an_rgb_image_gives_its_three_planes_as_grey_frames():
    rgb = np.arange(2 * 2 * 3, dtype=np.uint8).reshape(2, 2, 3)
    out = imtile(rgb)
    expected = np.zeros((4, 4), np.uint8)
    expected[:2, :2], expected[:2, 2:], expected[2:, :2] = rgb[:, :, 0], rgb[:, :, 1], rgb[:, :, 2]
    np.testing.assert_array_equal(out, expected)


def test_grid_size_border_size_and_background_colour():
    images = frames(3, 1, 2, dtype=np.uint8)
    one_row = imtile(images, "GridSize", [1, np.nan], "BorderSize", 1, "BackgroundColor", "w")
    assert one_row.shape == (3, 12, 3)
    assert (one_row[0] == 255).all() and (one_row[:, 0] == 255).all()  # a one-pixel white frame around each
    np.testing.assert_array_equal(one_row[1, 1:3], [[1, 1, 1]] * 2)
    np.testing.assert_array_equal(one_row[1, 5:7], [[2, 2, 2]] * 2)
    assert imtile(images, GridSize=[np.nan, 1]).shape == (3, 2, 3)  # MATLAB's Name=Value syntax
    assert imtile(images, "grid", [1, 3], "border", [0, 2]).shape == (1, 18, 3)  # prefixes, [rows cols]

    grey = frames(1, 1, 1, channels=1, dtype=np.uint8)
    red = imtile(grey, "GridSize", [1, 2], "BackgroundColor", [1, 0, 0])
    np.testing.assert_array_equal(red, [[[1, 1, 1], [255, 0, 0]]])  # grey repeated to RGB on a red background
    assert imtile(grey, "GridSize", [1, 2], "BackgroundColor", "#808080").tolist() == [[1, 128]]


def test_lists_blank_tiles_mixed_classes_and_frame_selection():
    rgb = np.full((2, 2, 3), 255, np.uint8)
    grey = np.full((2, 2), 0.5)
    out = imtile([rgb, None, grey], "GridSize", [1, 3])
    assert out.dtype == np.float64  # im2double of every frame when the classes differ
    np.testing.assert_array_equal(out[:, :2], 1.0)
    np.testing.assert_array_equal(out[:, 2:4], 0.0)  # the empty cell: background
    np.testing.assert_array_equal(out[:, 4:], 0.5)

    images = frames(3, 1, 1, channels=1, dtype=np.uint8)
    assert imtile(images, "Frames", [3, 1], "GridSize", [1, 2]).tolist() == [[3, 1]]
    assert imtile(images, "Frames", np.array([True, False, True]), "GridSize", [1, 2]).tolist() == [[1, 3]]
    assert montage(images, "Indices", [2], "Size", [1, 1]).tolist() == [[2]]


@pytest.mark.parametrize(
    "call, identifier, words",
    [
        (lambda: imtile([np.zeros((2, 2)), np.zeros((3, 3))]), "deepdreamport:imtile:InvalidImages", "ThumbnailSize"),
        (lambda: imtile(frames(2), "ThumbnailSize", [4, 4]), "MATLAB:InputParser:UnmatchedParameter", "GridSize"),
        (lambda: montage(frames(2), "GridSize", [1, 2]), "MATLAB:InputParser:UnmatchedParameter", "Size"),
        (lambda: imtile(frames(2), "GridSize", [0, 2]), "MATLAB:InputParser:ArgumentFailedValidation", "GridSize"),
        (lambda: imtile(frames(2), "BackgroundColor", "purple"), "MATLAB:InputParser:ArgumentFailedValidation", ""),
        (lambda: imtile(frames(2), "Frames", [3]), "MATLAB:InputParser:ArgumentFailedValidation", "1..2"),
        (lambda: imtile(np.zeros((2, 2, 2, 2))), "deepdreamport:imtile:InvalidImages", "C = 1 or 3"),
    ],
)
def test_bad_input_is_one_error_with_matlabs_identifier(call, identifier, words):
    with pytest.raises(DeepDreamError) as caught:
        call()
    assert caught.value.identifier == identifier and words in str(caught.value)


def test_the_earlier_labelled_montage_call_still_works_with_a_warning():
    images = np.zeros((2, 8, 8, 3))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sheet = deepdreamport.montage(images, ["a", "b"])
    assert isinstance(sheet, Image.Image) and sheet.size == labelled_montage(images, ["a", "b"]).size
    assert [w.category for w in caught] == [DeprecationWarning]


def test_imread_returns_the_pixels_in_the_files_class(tmp_path):
    rgb = np.random.RandomState(0).randint(0, 256, (3, 4, 3)).astype(np.uint8)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    np.testing.assert_array_equal(imread(tmp_path / "rgb.png"), rgb)
    Image.fromarray(np.dstack([rgb, np.full((3, 4), 7, np.uint8)]), "RGBA").save(tmp_path / "rgba.png")
    np.testing.assert_array_equal(imread(tmp_path / "rgba.png"), rgb)  # alpha: MATLAB's third output, dropped

    grey = rgb[:, :, 0]
    Image.fromarray(grey).save(tmp_path / "grey.png")
    assert imread(str(tmp_path / "grey.png")).shape == (3, 4)  # H×W, as MATLAB
    deep = (np.arange(12).reshape(3, 4) * 5000).astype(np.uint16)
    write_png16(tmp_path / "deep.png", deep)
    read = imread(tmp_path / "deep.png")
    assert read.dtype == np.uint16 and np.array_equal(read, deep)

    with pytest.raises(DeepDreamError) as caught:
        imread(tmp_path / "missing.png")
    assert caught.value.identifier == "MATLAB:imagesci:imread:fileDoesNotExist"
    assert imtile([imread(tmp_path / "rgb.png"), imread(tmp_path / "grey.png")]).shape == (3, 8, 3)


def test_imwrite_writes_as_matlab_and_imread_reads_it_back(tmp_path):
    from deepdreamport import imwrite

    single = np.array([[0.0, 0.5], [1.0, 2.0]], np.float32)  # outside [0, 1] saturates
    imwrite(single, tmp_path / "s.png")
    np.testing.assert_array_equal(imread(tmp_path / "s.png"), [[0, 128], [255, 255]])
    rgb = np.random.RandomState(1).randint(0, 256, (2, 3, 3)).astype(np.uint8)
    imwrite(rgb, str(tmp_path / "rgb.png"))
    np.testing.assert_array_equal(imread(tmp_path / "rgb.png"), rgb)
    deep = np.array([[0, 40000]], np.uint16)
    imwrite(deep, tmp_path / "deep.png")
    assert imread(tmp_path / "deep.png").dtype == np.uint16 and imread(tmp_path / "deep.png").tolist() == [[0, 40000]]
    with pytest.raises(DeepDreamError) as caught:
        imwrite(rgb, tmp_path / "x.unknown")
    assert caught.value.identifier == "MATLAB:imagesci:imwrite:fileFormat" and not list(tmp_path.glob("x*"))
