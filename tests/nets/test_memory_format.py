"""The network runs in the layout ``preferred_memory_format`` picks; the layout changes no number beyond rounding.

Which layout is faster is measured, not asserted here (timings live in ``benchmarks/``, figure 6).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepdreamport.core.loop import DreamSettings, deep_dream
from deepdreamport.core.tiles import tiled_gradient
from deepdreamport.nets import OnnxNetwork
from deepdreamport.nets.base import CHANNELS_LAST_MIN_MACS, convolution_macs, preferred_memory_format
from tests.conftest import PARITY_MODELS, TINYNET

CPU = torch.device("cpu")


class _Unrunnable(torch.nn.Module):
    """A convolution that fails if it is run: proves a choice was made without running the network."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        raise AssertionError("the layout choice ran the network")


def test_float64_and_unknown_input_sizes_keep_the_default_layout_without_running_the_network():
    assert preferred_memory_format(_Unrunnable(), (3, 8, 8), CPU, torch.float64) == torch.contiguous_format
    assert preferred_memory_format(_Unrunnable(), None, CPU, torch.float32) == torch.contiguous_format


def test_float32_layout_follows_the_convolution_work():
    """tinynet (under 1 M multiply-adds per 32² image) stays; EfficientNet-sized work goes channels_last."""
    tiny = OnnxNetwork.from_onnx(str(TINYNET)).truncated("relu2")
    macs = convolution_macs(tiny.module, (3, 32, 32), CPU, torch.float32)
    # tinynet relu2: conv 3→8 3×3 then conv 8→6 3×3, 'valid' or 'same': at most 32²·(3·8 + 8·6)·9 multiply-adds
    assert 0 < macs <= 32 * 32 * (3 * 8 + 8 * 6) * 9 < CHANNELS_LAST_MIN_MACS
    assert preferred_memory_format(tiny.module, (3, 32, 32), CPU, torch.float32) == torch.contiguous_format
    wide = torch.nn.Conv2d(3, 64, 3, padding=1)
    assert convolution_macs(wide, (3, 224, 224), CPU, torch.float32) == 224 * 224 * 64 * 27
    assert preferred_memory_format(wide, (3, 224, 224), CPU, torch.float32) == torch.channels_last


def test_the_choice_is_measured_once_per_device_and_dtype():
    visual = OnnxNetwork.from_onnx(str(TINYNET)).truncated("relu2")
    assert visual.input_shape == (3, 32, 32)  # tinynet: 3×32×32 inputs
    visual.to(CPU, torch.float32)
    chosen = visual.memory_format
    assert visual._layout_choices == {(CPU, torch.float32): chosen}
    visual.to(CPU, torch.float64)
    visual.to(CPU, torch.float32)
    assert visual.memory_format == chosen and set(visual._layout_choices) == {
        (CPU, torch.float32),
        (CPU, torch.float64),
    }


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


def test_an_explicit_layout_is_applied_and_float64_returns_to_the_default():
    visual = OnnxNetwork.from_onnx(str(TINYNET)).truncated("relu2")
    visual.to(CPU, torch.float32, torch.channels_last)
    assert visual.memory_format == torch.channels_last
    visual.to(CPU, torch.float64)
    assert visual.memory_format == torch.contiguous_format
    weight = next(p for p in visual.module.parameters() if p.dim() == 4)
    assert weight.dtype == torch.float64 and weight.is_contiguous()


def test_a_tiled_pass_and_a_whole_dream_agree_in_either_layout():
    """One float32 tiled gradient agrees to rounding; a whole float64 dream (tiled, 2 levels) to 1e-12.

    (A whole float32 dream is not compared: float32 rounding differences are amplified over the
    iterations, as between any two float32 implementations; see docs/benchmarks.md.)
    """
    visual = OnnxNetwork.from_onnx(str(TINYNET)).truncated("relu2")
    noise = np.random.RandomState(0).standard_normal((2, 3, 40, 40))  # tinynet tiles are 32: tiled
    channels = torch.tensor([0, 1])
    passes, dreams = {}, {}
    for memory_format in (torch.contiguous_format, torch.channels_last):
        visual.to(CPU, torch.float32, memory_format)
        passes[memory_format], _ = tiled_gradient(
            torch.from_numpy(noise).float(), channels, visual.gradient, 32, (5, 9)
        )
        visual.to(CPU, torch.float64, memory_format)
        settings = DreamSettings(3, 2, 1.4, 32, None)
        dreams[memory_format] = deep_dream(
            torch.from_numpy(noise), channels, visual.gradient, settings, np.random.RandomState(0)
        )
    default, last = passes[torch.contiguous_format], passes[torch.channels_last]
    assert float((last - default).abs().max() / default.abs().max()) < 1e-5
    default, last = dreams[torch.contiguous_format], dreams[torch.channels_last]
    assert default.rolls == last.rolls and len(default.rolls) == 6
    assert float((last.images - default.images).abs().max() / default.images.abs().max()) < 1e-12


def test_counted_multiply_adds_decide_the_layout_without_running_the_network():
    assert preferred_memory_format(_Unrunnable(), (3, 8, 8), CPU, torch.float32, macs=0) == torch.contiguous_format
    big = CHANNELS_LAST_MIN_MACS
    assert preferred_memory_format(_Unrunnable(), (3, 8, 8), CPU, torch.float32, macs=big) == torch.channels_last


def test_the_build_probe_serves_the_layout_choice_and_the_input_size_check():
    """One no-gradient pass at the input size when the truncation is built; none again for the layout or sizes."""
    visual = OnnxNetwork.from_onnx(str(TINYNET)).truncated("relu2")
    # the count of an independent pass (tinynet relu2, see above)
    assert visual.convolution_macs == convolution_macs(visual.module, (3, 32, 32), CPU, torch.float32) > 0
    passes = []
    hook = visual.module.register_forward_pre_hook(lambda module, inputs: passes.append(tuple(inputs[0].shape)))
    try:
        visual.to(CPU, torch.float32)
        probe = visual.size_probe(3, (32, 32))
        assert probe.accepts(32, 32)
        assert passes == []
        assert probe.accepts(33, 32) is True and passes == [(1, 3, 33, 32)]  # other sizes are still probed
    finally:
        hook.remove()
