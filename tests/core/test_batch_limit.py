"""The batch limit (``max_batch``) changes memory use, never the numbers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepdreamport.core.loop import DreamSettings, deep_dream
from deepdreamport.nets import OnnxNetwork


@pytest.mark.parametrize("max_batch", [1, 3, 7, 1000])
def test_batch_limit_gives_the_unlimited_numbers(reference_dir, max_batch: int) -> None:
    network = OnnxNetwork.from_onnx(str(reference_dir / "models" / "tinynet.onnx"))
    truncated = network.truncated("relu2").to(torch.device("cpu"), torch.float64)
    channels = torch.tensor([0, 3, 1, 0, 2])
    images = (
        torch.from_numpy(np.random.RandomState(1).standard_normal((1, 3, 70, 70))).expand(5, -1, -1, -1).contiguous()
    )
    before = images.clone()
    unlimited = deep_dream(
        images, channels, truncated.gradient, DreamSettings(2, 3, 1.4, 32, None), np.random.RandomState(0)
    )
    limited = deep_dream(
        images, channels, truncated.gradient, DreamSettings(2, 3, 1.4, 32, max_batch), np.random.RandomState(0)
    )
    assert torch.equal(images, before)  # the caller's tensor is never updated in place
    assert limited.rolls == unlimited.rolls
    np.testing.assert_allclose(limited.activation_log, unlimited.activation_log, rtol=1e-12, atol=0)
    torch.testing.assert_close(limited.images, unlimited.images, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("max_batch", [None, 2])
def test_host_side_image_state_gives_the_same_numbers(reference_dir, max_batch) -> None:
    """``host_state`` (groups of images moved to the device one at a time, resize per image) changes no number."""
    network = OnnxNetwork.from_onnx(str(reference_dir / "models" / "tinynet.onnx"))
    truncated = network.truncated("relu2").to(torch.device("cpu"), torch.float64)
    channels = torch.tensor([0, 3, 1])
    images = torch.from_numpy(np.random.RandomState(2).standard_normal((1, 3, 50, 50))).expand(3, -1, -1, -1)
    plain = deep_dream(
        images, channels, truncated.gradient, DreamSettings(2, 3, 1.4, 32, max_batch), np.random.RandomState(0)
    )
    hosted = deep_dream(
        images,
        channels,
        truncated.gradient,
        DreamSettings(2, 3, 1.4, 32, max_batch, host_state=True),
        np.random.RandomState(0),
    )
    assert hosted.images.device.type == "cpu" and hosted.images.shape == plain.images.shape == (3, 3, 98, 98)
    assert hosted.rolls == plain.rolls and len(plain.rolls) == 6
    np.testing.assert_allclose(hosted.activation_log, plain.activation_log, rtol=1e-12, atol=0)
    torch.testing.assert_close(hosted.images, plain.images, rtol=1e-12, atol=1e-12)
