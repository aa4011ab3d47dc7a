"""A level's iteration captured once and replayed (``DreamSettings.graphs``) gives the eager loop's numbers.

On the CPU the capture is :class:`~deepdreamport.core.replay.RecordedReplay`, which replays the
recorded aten operations with the arguments they had, as a CUDA graph replays its kernels; the
tests below also check that it is that strict (a stale value replays stale, a host read is refused),
so a step that passes here reads nothing but its static buffers.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepdreamport.core.loop import DreamSettings, deep_dream
from deepdreamport.core.replay import CaptureError, RecordedReplay
from deepdreamport.core.tiles import roll_image
from deepdreamport.nets import OnnxNetwork
from tests.conftest import TINYNET


@pytest.fixture(scope="module")
def tinynet_gradient():
    return OnnxNetwork.from_onnx(str(TINYNET)).truncated("relu2").to(torch.device("cpu"), torch.float64).gradient


@pytest.mark.parametrize("max_batch, levels", [(None, 2), (3, 1)])
def test_replayed_levels_give_the_eager_numbers_bit_for_bit(tinynet_gradient, max_batch, levels) -> None:
    """Tiled levels (40×36, then 56×50; 32² tiles; chunks of 3 tiles), two iterations each, each with its own roll."""
    images = torch.from_numpy(np.random.RandomState(3).standard_normal((1, 3, 40, 36))).expand(2, -1, -1, -1)
    channels = torch.tensor([0, 3])
    eager = deep_dream(
        images, channels, tinynet_gradient, DreamSettings(2, levels, 1.4, 32, max_batch), np.random.RandomState(0)
    )
    replayed = deep_dream(
        images,
        channels,
        tinynet_gradient,
        DreamSettings(2, levels, 1.4, 32, max_batch, graphs=True),
        np.random.RandomState(0),
    )
    assert replayed.rolls == eager.rolls and len(set(eager.rolls)) == 2 * levels  # each step replayed with its roll
    assert torch.equal(replayed.images, eager.images)
    np.testing.assert_array_equal(replayed.activation_log, eager.activation_log)


def test_untiled_level_is_replayed_too(tinynet_gradient) -> None:
    images = torch.from_numpy(np.random.RandomState(4).standard_normal((1, 3, 20, 24))).expand(2, -1, -1, -1)
    channels = torch.tensor([1, 2])
    eager = deep_dream(images, channels, tinynet_gradient, DreamSettings(2, 1, 1.4, 32), np.random.RandomState(0))
    replayed = deep_dream(
        images, channels, tinynet_gradient, DreamSettings(2, 1, 1.4, 32, graphs=True), np.random.RandomState(0)
    )
    assert eager.rolls == replayed.rolls == []
    assert torch.equal(replayed.images, eager.images)
    np.testing.assert_array_equal(replayed.activation_log, eager.activation_log)


def test_the_roll_as_a_tensor_is_the_same_copy_as_torch_roll() -> None:
    images = torch.arange(2 * 3 * 5 * 7, dtype=torch.float64).reshape(2, 3, 5, 7)
    for roll in [(1, 1), (7, 5), (3, 2), (6, 4)]:
        for sign in (1, -1):
            assert torch.equal(roll_image(images, torch.tensor(roll), sign), roll_image(images, roll, sign))


def test_the_stand_in_replays_what_was_captured_as_a_cuda_graph_does() -> None:
    """Values read from Python at capture time stay baked in; static buffers are read anew."""
    buffer = torch.zeros(3)
    out = torch.zeros(3)
    scale = {"value": 2.0}
    replay = RecordedReplay()
    replay.capture(lambda: out.copy_(buffer * scale["value"] + 1))
    buffer.copy_(torch.tensor([1.0, 2.0, 3.0]))
    scale["value"] = 10.0  # a CUDA graph would not see this either
    replay.replay()
    assert out.tolist() == [3.0, 5.0, 7.0]


@pytest.mark.parametrize(
    "step",
    [
        lambda x: x.add_(float(x.sum())),  # reads a value on the host: a synchronisation
        lambda x: x.add_(torch.tensor([1.0, 2.0, 3.0])),  # copies host data inside the step
    ],
    ids=["host-read", "host-data"],
)
def test_the_stand_in_refuses_steps_a_cuda_graph_cannot_replay(step) -> None:
    buffer = torch.ones(3)
    with pytest.raises(CaptureError, match="cannot be replayed"):
        RecordedReplay().capture(lambda: step(buffer))
