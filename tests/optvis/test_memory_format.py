"""optvis runs the network in the layout of the deep-dream side's rule (``preferred_memory_format``):
``channels_last`` for float32 networks with enough convolution work, else the default layout; images
enter in it, activations and gradients leave in the default layout, and the numbers agree to rounding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepdreamport.nets.base import CHANNELS_LAST_MIN_MACS, convolution_macs
from deepdreamport.optvis import objectives, render
from deepdreamport.optvis.gradient_free import population_losses, render_gradient_free
from deepdreamport.optvis.network import OptvisNetwork
from deepdreamport.optvis.rendering import prepare
from deepdreamport.optvis.transform import PerElementDraws, compose

from .conftest import conv_graph, relative_error

CPU = torch.device("cpu")


def _wide_module() -> torch.nn.Module:
    """3→64→8 channels: about 19 M multiply-adds per 64² image, 1.2 M per 16² image."""
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 64, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(64, 8, 3, padding=1)
    )


class LayoutSpy:
    """Records whether the first convolution's input was channels_last, for every forward of more than one
    image or with gradients (the one-image no-gradient probes of channel counts and of the rule are not runs)."""

    def __init__(self, module: torch.nn.Module):
        self.seen: list[bool] = []
        module[0].register_forward_pre_hook(self._record)

    def _record(self, _module, inputs):
        (images,) = inputs
        if images.shape[0] > 1 or torch.is_grad_enabled():
            self.seen.append(images.is_contiguous(memory_format=torch.channels_last) and not images.is_contiguous())


def test_the_wide_module_straddles_the_rule():
    module = _wide_module()
    assert convolution_macs(module, (3, 64, 64), CPU, torch.float32) >= CHANNELS_LAST_MIN_MACS
    assert convolution_macs(module, (3, 16, 16), CPU, torch.float32) < CHANNELS_LAST_MIN_MACS


@pytest.mark.parametrize(
    "size, dtype, memory_format, channels_last",
    [
        (64, torch.float32, None, True),
        (16, torch.float32, None, False),  # too little work: the default layout
        (64, torch.float64, None, False),  # float64 always runs in the default layout
        (64, torch.float32, torch.contiguous_format, False),
        (16, torch.float32, torch.channels_last, True),
    ],
)
def test_render_follows_the_rule_unless_told(size, dtype, memory_format, channels_last):
    module = _wide_module()
    spy = LayoutSpy(module)
    render(
        module,
        "2:3",
        device="cpu",
        size=size,
        steps=2,
        transforms="none",
        dtype=dtype,
        memory_format=memory_format,
        param="pixel",
    )
    assert spy.seen and set(spy.seen) == {channels_last}


def _session(memory_format):
    network = OptvisNetwork.from_onnx(conv_graph(3, size=64, out_channels=64), input_range=(0, 1))
    seen = []

    def read(T):
        acts = T("conv")
        seen.append(acts.is_contiguous())
        return -acts[:, 5].mean() - acts[:, 9].pow(2).mean()

    objective = objectives.Objective(read, "read", "read", ["conv"])
    session = prepare(
        network, objective, device="cpu", size=64, batch=2, param="pixel", seed=3, memory_format=memory_format
    )
    loss = session.closure()
    return session, float(loss.detach()), seen, network


def test_layouts_agree_to_rounding_and_everything_outside_the_network_sees_the_default_layout():
    rule, rule_loss, rule_seen, rule_network = _session(None)
    plain, plain_loss, plain_seen, _ = _session(torch.contiguous_format)
    assert rule_network.last_memory_format is torch.channels_last  # the rule's choice for this network
    assert rule_seen == [True] and plain_seen == [True]  # the objective reads default-layout activations
    assert rule.last_image.grad.is_contiguous() and rule.image.parameters[0].grad.is_contiguous()
    assert rule_loss == pytest.approx(plain_loss, rel=1e-6)
    for a, b in [
        (rule.last_image.grad, plain.last_image.grad),
        (rule.image.parameters[0].grad, plain.image.parameters[0].grad),
    ]:
        assert relative_error(a.numpy(), b.numpy()) < 1e-5


def test_seeded_runs_stay_bit_identical_whatever_ran_before():
    network = OptvisNetwork.from_onnx(conv_graph(3, size=64, out_channels=64), input_range=(0, 1))
    first = render(network, "conv:1", device="cpu", size=64, steps=2, seed=4)
    render(
        network, "conv:1", device="cpu", size=64, steps=1, memory_format=torch.contiguous_format
    )  # puts the weights back
    second = render(network, "conv:1", device="cpu", size=64, steps=2, seed=4)
    assert np.array_equal(first.images, second.images) and np.array_equal(first.losses, second.losses)


def test_gradient_free_population_runs_in_the_rules_layout():
    module = _wide_module()
    spy = LayoutSpy(module)
    network = OptvisNetwork.from_module(module)
    images = torch.rand(4, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    units = [objectives.channel("2", 1), objectives.channel("2", 6)]
    transform_f = compose([network.preprocess], PerElementDraws())
    rule = population_losses(network, ["2"], units, images, transform_f, True)
    plain = population_losses(network, ["2"], units, images, transform_f, True, torch.contiguous_format)
    assert spy.seen == [True, False]
    assert relative_error(rule.numpy(), plain.numpy()) < 1e-5
    result = render_gradient_free(network, objectives.channel("2", 1), size=64, population=4, generations=1)
    assert spy.seen[2:] == [True] and result.images.shape == (1, 64, 64, 3)
