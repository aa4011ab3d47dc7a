"""Per-element transforms (the default): exact geometry checked against plain slicing and rot90."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepdreamport.optvis import transform
from deepdreamport.optvis._network import DeepDreamError


class FixedDraws:
    """Draws that always pick the given values (one per batch element)."""

    lucent = False

    def __init__(self, *picks):
        self.picks = list(picks)

    def choice(self, values, batch):
        return self.picks.pop(0)


def _image(batch=2, channels=3, size=9):
    return torch.arange(batch * channels * size * size, dtype=torch.float64).reshape(batch, channels, size, size) + 1


def test_jitter_moves_each_element_by_whole_pixels():
    images = _image()
    moved = transform.jitter(4)(images, FixedDraws([2, 0], [1, 3]))
    expected = torch.zeros_like(images)
    expected[0, :, 1:, 2:] = images[0, :, :-1, :-2]
    expected[1, :, 3:, :] = images[1, :, :-3, :]
    assert torch.allclose(moved, expected, atol=1e-9)


def test_rotation_by_90_degrees_is_rot90():
    images = _image(batch=1)
    rotated = transform.random_rotate([90])(images, FixedDraws([90]))
    assert torch.allclose(rotated, torch.rot90(images, 1, dims=(-2, -1)), atol=1e-9)


def test_scale_one_is_identity_and_keeps_size():
    images = _image()
    assert torch.allclose(transform.random_scale([1.0])(images, FixedDraws([1.0, 1.0])), images, atol=1e-9)
    assert transform.random_scale([1.1])(images, FixedDraws([1.1, 0.9])).shape == images.shape


def test_pad_constant():
    padded = transform.pad(2, mode="constant", constant_value=0.5)(torch.zeros(1, 1, 3, 3))
    assert padded.shape == (1, 1, 7, 7) and padded[0, 0, 0, 0] == 0.5 and padded[0, 0, 3, 3] == 0


def test_per_element_draws_differ_across_the_batch_and_repeat_with_the_seed():
    images = torch.rand(8, 3, 32, 32, generator=torch.Generator().manual_seed(1))

    def run():
        return transform.compose(
            transform.standard_transforms(),  # noqa: E731
            transform.PerElementDraws(torch.Generator().manual_seed(3)),
        )(images.clone())

    first, second = run(), run()
    assert torch.equal(first, second)
    same = torch.zeros_like(images)
    same[:] = images[0]
    out = transform.compose(
        transform.standard_transforms(), transform.PerElementDraws(torch.Generator().manual_seed(3))
    )(same)
    assert not torch.allclose(out[0], out[1])


def test_lucent_draws_take_one_value_per_batch_from_numpy():
    np.random.seed(5)
    expected = np.random.choice([1, 2, 3, 4, 5])
    np.random.seed(5)
    assert transform.LucentDraws().choice([1, 2, 3, 4, 5], 3) == [expected] * 3


def test_standard_list_is_lucents():
    pad, jitter8, scale, rotate, jitter4 = transform.standard_transforms()
    assert (pad.width, pad.mode, pad.constant_value) == (12, "constant", 0.5)
    assert (jitter8.d, jitter4.d) == (8, 4)
    assert np.allclose(scale.scales, np.arange(0.9, 1.1001, 0.02))
    assert sorted(rotate.angles) == sorted(list(range(-10, 11)) + [0] * 5)


def test_names():
    assert len(transform.from_names("standard")) == 5 and transform.from_names("none") == []
    assert [type(t).__name__ for t in transform.from_names("pad:4,jitter:3,rotate:5")] == [
        "Pad",
        "Jitter",
        "RandomRotate",
    ]
    with pytest.raises(DeepDreamError, match="transforms: unknown transform 'twirl'"):
        transform.from_names("jitter:2,twirl")
    with pytest.raises(DeepDreamError, match="jitter: d must be an integer > 1"):
        transform.jitter(1)


def test_fused_resampling_matches_the_transforms_one_by_one_on_smooth_images():
    y, x = torch.meshgrid(
        torch.linspace(0, 1, 48, dtype=torch.float64), torch.linspace(0, 1, 48, dtype=torch.float64), indexing="ij"
    )
    images = torch.stack([torch.sin(3 * x + 2 * y), torch.cos(2 * x - y)])[None].repeat(4, 1, 1, 1)
    chain = [transform.jitter(3), transform.random_scale([0.9, 1.1]), transform.random_rotate([-10, 10])]
    fused = transform.compose(chain, transform.PerElementDraws(torch.Generator().manual_seed(2)))(images)
    stepwise = transform.compose(chain, transform.PerElementDraws(torch.Generator().manual_seed(2)), fuse=False)(images)
    inner = (slice(None), slice(None), slice(8, -8), slice(8, -8))  # away from the zero-filled borders
    assert (fused[inner] - stepwise[inner]).abs().max() < 0.01  # multiplying the maps in the wrong order gives 0.03
