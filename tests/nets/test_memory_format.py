"""The network runs in the layout ``preferred_memory_format`` picks; the layout changes no number beyond rounding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepdreamport.core.loop import DreamSettings, deep_dream
from deepdreamport.nets import OnnxNetwork
from deepdreamport.nets.base import preferred_memory_format
from tests.conftest import PARITY_MODELS, TINYNET

CPU = torch.device("cpu")


def test_float32_runs_channels_last_and_float64_the_default_layout():
    assert preferred_memory_format(CPU, torch.float32) == torch.channels_last
    assert preferred_memory_format(CPU, torch.float64) == torch.contiguous_format


@pytest.mark.parametrize("model", ["tinynet", "dagnet", "matlab_style_net"])
def test_float64_gradient_is_the_same_in_either_layout(model):
    network = OnnxNetwork.from_onnx(str(PARITY_MODELS / f"{model}.onnx"))
    layer = network.layer_name_at(len(network.layers) // 2)
    visual = network.truncated(layer)
    size = network.tile_size()
    images = torch.from_numpy(np.random.RandomState(0).standard_normal((3, network.input_channels, size, size)))
    channels = torch.tensor([0, 1, 0]) % visual.num_channels
    default, act_default = visual.to(CPU, torch.float64, torch.contiguous_format).gradient(images, channels)
    last, act_last = visual.to(CPU, torch.float64, torch.channels_last).gradient(images, channels)
    assert visual.memory_format == torch.channels_last
    assert next(p for p in visual.module.parameters() if p.dim() == 4).is_contiguous(memory_format=torch.channels_last)
    assert last.is_contiguous()  # handed back in the default layout, for the pyramid
    scale = default.abs().max()
    assert scale > 0
    assert float((last - default).abs().max() / scale) < 1e-12
    assert float((act_last - act_default).abs().max() / act_default.abs().max()) < 1e-12


def test_moving_to_float32_switches_the_layout_and_back():
    visual = OnnxNetwork.from_onnx(str(TINYNET)).truncated("relu2")
    visual.to(CPU, torch.float32)
    assert visual.memory_format == torch.channels_last
    visual.to(CPU, torch.float64)
    assert visual.memory_format == torch.contiguous_format
    weight = next(p for p in visual.module.parameters() if p.dim() == 4)
    assert weight.dtype == torch.float64 and weight.is_contiguous()


def test_a_float32_dream_in_channels_last_agrees_with_one_in_the_default_layout():
    """A whole float32 dream (tiled, 2 levels) in either layout: rounding-level differences only."""
    visual = OnnxNetwork.from_onnx(str(TINYNET)).truncated("relu2")
    size = 40  # tinynet's tile is 28: tiled
    images = torch.from_numpy(np.random.RandomState(0).standard_normal((2, 1, size, size))).float()
    channels = torch.tensor([0, 1])
    runs = {}
    for memory_format in (torch.contiguous_format, torch.channels_last):
        visual.to(CPU, torch.float32, memory_format)
        settings = DreamSettings(3, 2, 1.4, 28, None)
        runs[memory_format] = deep_dream(images, channels, visual.gradient, settings, np.random.RandomState(0))
    default, last = runs[torch.contiguous_format], runs[torch.channels_last]
    assert default.rolls == last.rolls and len(default.rolls) == 6
    scale = default.images.abs().max()
    assert float((last.images - default.images).abs().max() / scale) < 1e-5
