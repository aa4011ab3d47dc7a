"""SizeProbe: which image sizes a network takes, on small torch modules with known constraints."""

from __future__ import annotations

import pytest
import torch

from deepdreamport.errors import DeepDreamError
from deepdreamport.nets.sizes import SizeProbe


class EvenOnly(torch.nn.Module):
    """A strided conv (``ceil(n/2)``) concatenated with a 2×2 max pool (``floor(n/2)``): even sides only."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 2, 3, stride=2, padding=1)

    def forward(self, x):
        return torch.cat([self.conv(x), torch.nn.functional.max_pool2d(x, 2)], 1)


class ExactSize(torch.nn.Module):
    """A fully connected layer on the flattened 3×6×8 image: that size only."""

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3 * 6 * 8, 2)

    def forward(self, x):
        return self.fc(x.flatten(1))


def test_even_sides_found_and_initial_size_rounded_up():
    probe = SizeProbe(EvenOnly().eval(), 3, (16, 16))
    assert probe.accepts(10, 12) and not probe.accepts(11, 12) and not probe.accepts(10, 13)
    assert probe.valid_initial_size(9, 10) == (10, 10)
    assert probe.sides_near(0, 11) == [6, 8, 10, 12, 14, 16]


def test_error_names_the_sizes_that_work():
    probe = SizeProbe(EvenOnly().eval(), 3, (16, 16))
    probe.check(12, 14, "cat", "InitialImage: the initial image")
    with pytest.raises(DeepDreamError) as info:
        probe.check(15, 14, "cat", "PyramidScale: pyramid level 2")
    message = str(info.value)
    assert info.value.identifier == "deepdreamport:deepDreamImage:InvalidImageSize"
    assert "15×14" in message and "Heights that work near it: 10, 12, 14, 16, 18, 20" in message
    assert "widths: 14" in message


def test_fully_connected_takes_only_its_input_size():
    probe = SizeProbe(ExactSize().eval(), 3, (6, 8))
    assert probe.accepts(6, 8) and not probe.accepts(6, 9)
    assert probe.sides_near(0, 5) == [6] and probe.sides_near(1, 9) == [8]
    assert probe.valid_initial_size(5, 8) == (6, 8)  # the height rounded up to the one it takes


class SizeRecorder(EvenOnly):
    """:class:`EvenOnly` that records the sizes it was run at."""

    def __init__(self):
        super().__init__()
        self.sizes: list[tuple[int, int]] = []

    def forward(self, x):
        self.sizes.append(tuple(x.shape[2:]))
        return super().forward(x)


def test_a_large_size_is_probed_side_by_side_never_whole():
    module = SizeRecorder().eval()
    probe = SizeProbe(module, 3, (16, 16))
    assert probe.accepts(3000, 2000) and not probe.accepts(3001, 2000) and not probe.accepts(3000, 2001)
    assert sorted(set(module.sizes)) == [(16, 2000), (16, 2001), (3000, 16), (3001, 16)]
    assert probe.accepts(1024, 1024) and (1024, 1024) in module.sizes  # up to WHOLE_PROBE_PIXELS: as a whole
