"""render: batches of units, any channel count, torch modules, optimisers, seeds, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepdreamport.optvis import objectives, render
from deepdreamport.optvis._network import DeepDreamError
from deepdreamport.optvis.network import OptvisNetwork
from deepdreamport.optvis.param import image
from deepdreamport.optvis.rendering import prepare

from .conftest import TINYNET, conv_graph, relative_error


def test_units_are_one_per_batch_element(tinynet):
    session = prepare(tinynet, "conv2:1,conv2:4,conv1:0", device="cpu", size=24, transforms="none", param="pixel")
    session.closure()
    grad = session.image.parameters[0].grad
    assert grad.shape[0] == 3 and all(grad[k].abs().sum() > 0 for k in range(3))
    alone = prepare(tinynet, "conv2:4", device="cpu", size=24, transforms="none", param="pixel")
    with torch.no_grad():
        alone.image.parameters[0].copy_(session.image.parameters[0][1:2])
    alone.closure()
    assert relative_error(alone.image.parameters[0].grad[0], grad[1]) < 1e-5


def test_list_of_objectives(tinynet):
    result = render(tinynet, [objectives.neuron("conv2", 0), "relu2:3"], device="cpu", size=24, steps=2)
    assert result.images.shape == (2, 24, 24, 3) and result.losses.shape == (2,)


def test_seed_makes_cpu_runs_bit_identical(tinynet):
    first = render(tinynet, "conv2:1,conv2:2", device="cpu", size=24, steps=3, seed=7)
    second = render(tinynet, "conv2:1,conv2:2", device="cpu", size=24, steps=3, seed=7)
    third = render(tinynet, "conv2:1,conv2:2", device="cpu", size=24, steps=3, seed=8)
    assert np.array_equal(first.images, second.images) and np.array_equal(first.losses, second.losses)
    assert not np.array_equal(first.images, third.images)


def test_float64_and_lbfgs_and_callback(tinynet):
    seen = []
    result = render(
        tinynet,
        "conv2:1",
        size=24,
        steps=2,
        dtype=torch.float64,
        optimizer="lbfgs",
        lr=0.1,
        transforms="none",
        callback=lambda step, loss: seen.append(step),
        progress=True,
    )
    assert result.images.dtype == np.float64 and seen == [1, 2] and np.all(np.isfinite(result.losses))


@pytest.mark.slow
def test_adam_lowers_the_loss(tinynet):
    result = render(tinynet, "conv2:1", device="cpu", size=32, steps=30, transforms="none")
    assert result.losses[-1] < result.losses[0] - 0.05


@pytest.mark.parametrize("channels", [1, 4])
def test_any_channel_count(channels):
    net = OptvisNetwork.from_onnx(conv_graph(channels), input_range=(0, 1))
    result = render(net, "conv:2", device="cpu", size=16, steps=2, transforms="pad:2,jitter:2")
    assert result.images.shape == (1, 16, 16, channels)


def test_torch_module_by_module_name():
    module = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Conv2d(4, 6, 3))
    result = render(module, "2:5", device="cpu", size=16, steps=2, transforms="none")
    assert result.images.shape == (1, 16, 16, 3)
    with pytest.raises(DeepDreamError, match="objective: the network has no layer named 'conv9'"):
        render(module, "conv9:0", device="cpu", steps=1)


def test_input_range_is_found_from_the_input_mean(tinynet):
    assert "0–1" in tinynet.input_range_source
    assert OptvisNetwork.from_onnx(conv_graph(3), input_range=(0, 255)).input_range_source == "given (0, 255)"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(objective="nolayer:1"), "objective: the network has no layer named 'nolayer'"),
        (dict(objective="conv2:6"), "objective: channel 6 of 'conv2' is out of range; it has channels 0..5"),
        (dict(objective="conv2"), "objective: 'conv2' is not LAYER:CHANNEL"),
        (dict(steps=0), "steps: expected a positive integer; got 0"),
        (dict(transforms="jitter:4,warp"), "transforms: unknown transform 'warp'"),
        (dict(optimizer="cmaes"), "optimizer: 'cmaes' is gradient-free"),
        (dict(optimizer="adamx"), "optimizer: unknown optimiser 'adamx'"),
        (
            dict(param=image(16, channels=1)),
            "param: the parametrisation draws 1-channel images but the network takes 3",
        ),
        (dict(param=lambda: image(16)._replace() if False else None), "param: a callable must return an ImageParam"),
        (dict(batch=3, objective="conv2:1,conv2:2"), "batch: 3 disagrees with the 2 objectives"),
        (dict(memory_format="nhwc"), "memory_format: expected None (the layout rule"),
        (
            dict(objective=objectives.channel_interpolate("conv2", 1, "conv1", 2)),
            "objective: channel_interpolate needs a batch of at least 2 images",
        ),
        (
            dict(objective=objectives.direction_neuron("conv2", torch.ones(5))),
            "objective: the direction has 5 values but 'conv2' has 6 channels",
        ),
    ],
)
def test_bad_input_names_the_argument(tinynet, kwargs, message):
    options = dict(objective="conv2:1", steps=1, size=16)
    options.update(kwargs)
    with pytest.raises(DeepDreamError, match=message.replace("(", r"\(").replace(")", r"\)")):
        render(tinynet, options.pop("objective"), **options)


def test_optimizer_without_parameters(tinynet):
    empty = image(16)
    empty.parameters = []
    with pytest.raises(DeepDreamError, match="optimizer: the parametrisation has no parameters"):
        render(tinynet, "conv2:1", device="cpu", param=empty, steps=1)


def test_objective_objects_are_checked_before_running(tinynet):
    with pytest.raises(DeepDreamError, match="objective: channel 7 of 'conv2' is out of range"):
        render(tinynet, objectives.neuron("conv2", 0) + 2 * objectives.channel("conv2", 7), device="cpu", steps=1)
    with pytest.raises(DeepDreamError, match="objective: the network has no layer named 'conv3'"):
        render(tinynet, [objectives.diversity("conv3")], device="cpu", steps=1)


def test_python_render_refuses_a_render_that_cannot_fit_before_the_first_step(monkeypatch):
    """``render`` has the guard of ``deepdream render``: one line naming what to change, or memory_check=False."""
    import deepdreamport.optvis.guard as guard

    monkeypatch.setattr(guard, "available_bytes", lambda device: 10 * 2**20)
    with pytest.raises(DeepDreamError, match="needs about .* memory_check=False"):
        render(str(TINYNET), "conv2:0", size=512, steps=1, device="cpu", progress=False)
    result = render(str(TINYNET), "conv2:0", size=512, steps=1, device="cpu", progress=False, memory_check=False)
    assert result.images.shape == (1, 512, 512, 3)


@pytest.mark.parametrize(
    "options, words",
    [
        ({"size": 0}, "size: expected a side in pixels"),
        ({"size": 2.5}, "size: expected a side in pixels"),
        ({"size": (8,)}, "size: expected a side in pixels"),
        ({"batch": 0}, "batch: expected a positive integer"),
        ({"lr": -1}, "lr: expected a learning rate"),
        ({"lr": float("nan")}, "lr: expected a learning rate"),
        ({"transforms": "pad:-1"}, "transforms: pad:-1 is out of range"),
        ({"transforms": "jitter:0"}, "transforms: jitter:0 is out of range"),
        ({"transforms": "scale:5"}, "transforms: scale:5 is out of range"),
        ({"transforms": "rotate:x"}, "needs a number after the colon"),
    ],
)
def test_careless_render_arguments_are_one_line_naming_the_argument(options, words):
    with pytest.raises(DeepDreamError, match=words):
        render(str(TINYNET), "conv2:0", steps=1, device="cpu", progress=False, **options)
