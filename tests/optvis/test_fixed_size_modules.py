"""render on a torch module that takes one input size only (a ``Linear`` after a flatten), its size not declared.

The layers' channel counts are found at the render's own size; a size the module refuses is one line naming how to
render at its size. Reference: the module's own forward pass at that size.
"""

from __future__ import annotations

import pytest
import torch

from deepdreamport.errors import DeepDreamError
from deepdreamport.optvis import render
from deepdreamport.optvis.gradient_free import render_gradient_free


class FixedSizeNet(torch.nn.Module):
    """A 3×40×40 image → 4 convolution channels → 5 scores; any other size fails in ``fc``."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.relu = torch.nn.ReLU()
        self.fc = torch.nn.Linear(4 * 40 * 40, 5)

    def forward(self, x):
        return self.fc(self.relu(self.conv(x)).flatten(1))


OPTIONS = dict(steps=3, transforms="none", device="cpu", progress=False, memory_check=False, seed=0)


def test_a_module_of_one_size_renders_at_that_size():
    net = FixedSizeNet()
    with pytest.raises(RuntimeError):  # the module itself refuses the 64×64 image that used to probe its layers
        net(torch.zeros(1, 3, 64, 64))
    result = render(net, "fc:2", size=40, **OPTIONS)
    assert result.images.shape == (1, 40, 40, 3)
    scores = net(torch.from_numpy(result.images).permute(0, 3, 1, 2))
    assert scores.shape == (1, 5)
    assert render(net, "conv:3", size=(40, 40), **OPTIONS).images.shape == (1, 40, 40, 3)


def test_a_module_of_one_size_at_another_size_is_one_line_naming_the_way():
    for call in (
        lambda: render(FixedSizeNet(), "conv:1", size=48, **OPTIONS),
        lambda: render_gradient_free(FixedSizeNet(), "conv:1", size=48, generations=1, population=4, seed=0),
    ):
        with pytest.raises(DeepDreamError) as caught:
            call()
        message = str(caught.value)
        assert "\n" not in message and len(message) < 500
        assert "1×3×48×48" in message and "size=(H, W), transforms='none'" in message
