"""The loop reports strengths as device tensors: it never waits for the device itself."""

from __future__ import annotations

import numpy as np
import torch

from deepdreamport.core.loop import DreamSettings, deep_dream


def test_on_iteration_gets_a_device_tensor_and_the_log_its_value():
    seen = []
    square = lambda x, k: (2 * x, (x**2).mean(dim=(1, 2, 3)))  # noqa: E731
    images = torch.full((2, 1, 5, 5), 0.5)
    result = deep_dream(
        images,
        torch.zeros(2, dtype=torch.long),
        square,
        DreamSettings(3, 1, 1.4, tile_size=8),
        np.random.RandomState(5489),
        lambda level, iteration, strength: seen.append(strength),
    )
    assert all(isinstance(s, torch.Tensor) and s.dim() == 0 and s.dtype == torch.float64 for s in seen)
    assert [float(s) for s in seen] == result.activation_log[:, 2].tolist()
    assert torch.equal(images, torch.full((2, 1, 5, 5), 0.5))  # the caller's images are not updated
