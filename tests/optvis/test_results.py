"""RenderResult saves and shows itself: grid, PNGs, .npy, Jupyter's PNG and HTML, one display range."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from deepdreamport.optvis import render
from deepdreamport.optvis._network import DeepDreamError
from deepdreamport.optvis.rendering import RenderResult


def _result(images, losses=(1.0, 0.5)):
    return RenderResult(np.asarray(images), np.asarray(losses), labels=tuple(f"u{k}" for k in range(len(images))))


def test_a_flat_image_shows_as_its_colour_not_black():
    flat = np.full((2, 4, 4, 3), 0.5)
    flat[1] = 0.25
    grid = np.asarray(_result(flat).grid(min_tile=4))
    tiles = grid[grid.min(axis=2) < 255]  # every non-white pixel is an image pixel or label text
    assert {128, 64} <= set(np.unique(tiles[:, 0]).tolist())  # 0.5 → 128, 0.25 → 64: one range, 0–1


def test_save_grid_npy_and_one_png_per_image(tmp_path):
    images = np.random.RandomState(0).rand(3, 8, 10, 3)
    result = _result(images)
    assert Image.open(result.save(tmp_path / "grid.png")).size[0] > 30
    assert np.array_equal(np.load(result.save(tmp_path / "raw.npy")), images)  # raw values, not display values
    written = result.save_images(tmp_path)
    assert [p.name for p in written] == ["image_0.png", "image_1.png", "image_2.png"]
    assert np.array_equal(np.asarray(Image.open(written[1])), (images[1] * 255).round().astype(np.uint8))
    for bad, message in ((tmp_path / "x.txt", "must end in .npy"), (tmp_path / "no" / "x.png", "does not exist")):
        with pytest.raises(DeepDreamError, match=message):
            result.save(bad)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "grid.png",
        "image_0.png",
        "image_1.png",
        "image_2.png",
        "raw.npy",
    ]


def test_jupyter_representations_and_show_without_a_display(tinynet, monkeypatch, capsys):
    result = render(tinynet, "conv2:1,conv2:2", size=16, steps=2, transforms="none", device="cpu")
    assert Image.open(io.BytesIO(result._repr_png_())).format == "PNG"
    html = result._repr_html_()
    assert html.startswith("<figure") and "data:image/png;base64," in html
    assert "2 image(s) of 16×16, 2 steps" in html and "on cpu" in html and "shown with 0…1" in html
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    result.show()
    assert "no display here" in capsys.readouterr().err
    images, losses = result  # unpacks as before
    assert images is result.images and losses is result.losses
