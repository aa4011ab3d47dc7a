"""DreamImages: deep_dream_image's array that saves and shows itself, still a plain array to numpy."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from deepdreamport import deep_dream_image
from deepdreamport.doors.images import DreamImages, display_range

from ..conftest import REFERENCE


def test_display_range_is_one_range_for_the_set():
    assert display_range(np.full((2, 3, 3, 1), 0.7)) == (0.0, 1.0)
    assert display_range(np.array([[[[0.0]], [[200.0]]]])) == (0.0, 255.0)
    assert display_range(np.array([-2.0, 3.0, np.nan])) == (-2.0, 3.0)
    assert display_range(np.full(4, -5.0)) == (-6.0, -4.0)


def test_dream_images_are_arrays_with_pictures():
    images = DreamImages(np.random.RandomState(1).rand(2, 6, 6, 3), labels=["relu2 ch 0", "relu2 ch 3"])
    assert isinstance(images, np.ndarray) and images.labels == ["relu2 ch 0", "relu2 ch 3"]
    assert type(images * 2) is np.ndarray and type(images.sum()) is np.float64  # arithmetic: plain numpy
    assert isinstance(images[0], DreamImages) and images[0]._repr_png_().startswith(b"\x89PNG")  # a view
    assert images._repr_html_().startswith("<figure") and "deep dream: 2 image(s) of 6×6×3" in images._repr_html_()
    assert DreamImages(np.zeros((2, 3)))._repr_png_() is None  # not images: numpy's own display
    again = pickle.loads(pickle.dumps(images))
    assert isinstance(again, DreamImages) and np.array_equal(again, images)


def test_deep_dream_image_returns_labelled_dream_images(tmp_path):
    images = deep_dream_image(
        str(REFERENCE / "models" / "tinynet.onnx"),
        "relu2",
        [0, 3],
        num_iterations=1,
        pyramid_levels=1,
        random_state=0,
        device="cpu",
    )
    assert isinstance(images, DreamImages) and images.labels == ["relu2 ch 0", "relu2 ch 3"]
    assert np.array_equal(np.load(images.save(tmp_path / "dream.npy")), np.asarray(images))
    with pytest.raises(ValueError, match="must end in .npy"):
        images.save(tmp_path / "dream.txt")
