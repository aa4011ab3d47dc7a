"""render on a network whose batch an export pinned to 1 (a CoordConv grid folded to a 1×2×8×8 constant).

References: each image rendered alone (a batch of 1 runs on such a network), and the same network with its
grid expanded to the batch (``pinned=False``, any batch), whose activations are first checked against
onnxruntime's.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch

from deepdreamport.nets.batch import OneImagePerPass, batch_pinned_to_one
from deepdreamport.optvis import as_network, objectives, render
from deepdreamport.optvis.gradient_free import render_gradient_free
from tests.export_networks import coordconv
from tests.optvis.conftest import relative_error


@pytest.fixture(scope="module")
def networks(tmp_path_factory):
    folder = tmp_path_factory.mktemp("coordconv")
    return coordconv(folder / "pinned.onnx"), coordconv(folder / "free.onnx", pinned=False)


def _start(count: int) -> torch.Tensor:
    return torch.from_numpy(np.random.RandomState(3).randn(count, 3, 8, 8).astype(np.float32))


def _param(start: torch.Tensor):
    """lucent's ``(params, image_f)``: the images are ``sigmoid(start)``, each optimised on its own values."""
    values = start.clone().requires_grad_(True)
    return [values], lambda: torch.sigmoid(values)


OPTIONS = dict(steps=4, size=8, transforms="none", device="cpu", progress=False, memory_check=False)


def test_the_free_grid_is_the_pinned_network_with_any_batch(networks):
    pinned, free = networks
    x = np.random.RandomState(0).rand(3, 3, 8, 8).astype(np.float32)
    reference = np.concatenate([ort.InferenceSession(pinned).run(None, {"x": x[k : k + 1]})[0] for k in range(3)])
    free_out = ort.InferenceSession(free).run(None, {"x": x})[0]
    assert relative_error(free_out, reference) < 1e-6
    with pytest.raises(Exception):  # noqa: B017 - onnxruntime's own error types: the pinned graph refuses 3 images
        ort.InferenceSession(pinned).run(None, {"x": x})


def test_two_channels_at_once_give_the_images_of_each_channel_alone(networks):
    pinned, _ = networks
    start = _start(2)
    together = render(pinned, "conv2:0,conv2:4", param=_param(start), **OPTIONS)
    for k, channel in enumerate((0, 4)):
        alone = render(pinned, f"conv2:{channel}", param=_param(start[k : k + 1]), **OPTIONS)
        np.testing.assert_array_equal(together.images[k], alone.images[0])
    assert together.losses[-1] < together.losses[0]


def test_a_diversity_batch_equals_the_network_that_takes_the_batch(networks):
    """Images that interact (lucent's diversity term): the pinned network, one image per pass, gives the numbers of
    the network whose grid follows the batch."""
    pinned, free = networks
    diverse = objectives.channel("conv2", 1) - 10.0 * objectives.diversity("conv2")
    options = {**OPTIONS, "transforms": "standard", "size": 12, "fixed_image_size": 8}  # the grid takes 8×8 only
    results = [render(net, diverse, batch=3, seed=5, **options) for net in (pinned, free)]
    assert relative_error(results[0].images, results[1].images) < 1e-4
    assert relative_error(results[0].losses, results[1].losses) < 1e-4


@pytest.mark.parametrize("engine", ["torch", "onnxruntime"])
def test_a_gradient_free_population_runs_one_image_per_pass(networks, engine):
    pinned, free = networks
    options = dict(size=8, frequencies=2, population=4, generations=3, engine=engine)
    results = [render_gradient_free(net, "conv2:0,conv2:3", **options) for net in (pinned, free)]
    assert relative_error(results[0].losses, results[1].losses) < 1e-5
    assert relative_error(results[0].images, results[1].images) < 1e-5


def test_the_probe_wraps_only_a_pinned_batch(networks):
    pinned, free = networks
    for path, expected in ((pinned, True), (free, False)):
        module = as_network(path).graph.torch_module(["y"])
        assert batch_pinned_to_one(module, 3, (8, 8)) is expected
    module = as_network(pinned).graph.torch_module(["y"])
    images = _start(3).requires_grad_(True)
    OneImagePerPass(module)(images).sum().backward()  # the gradient flows back through the concatenation
    single = _start(1).requires_grad_(True)
    module(single).sum().backward()
    np.testing.assert_array_equal(images.grad[:1].numpy(), single.grad.numpy())


class _ReshapedToOne(torch.nn.Module):
    """A torch module whose batch is pinned to 1: ``reshape(1, -1)`` before a fully connected layer (a batch of
    several fails), or ``view(1, -1)`` read as a layer (a batch of several gives one wrong row); ``pinned=False``:
    the same weights with the batch kept."""

    def __init__(self, pinned: bool = True):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)
        self.pool = torch.nn.AdaptiveAvgPool2d(6)  # any image size (optvis probes channels at 64×64)
        self.flat = torch.nn.Identity()
        self.fc = torch.nn.Linear(4 * 6 * 6, 5)
        self.pinned = pinned

    def forward(self, x):
        y = self.pool(torch.relu(self.conv(x)))
        y = self.flat(y.reshape(1, -1) if self.pinned else y.reshape(len(y), -1))
        return self.fc(y)


def _module_pair():
    torch.manual_seed(4)
    pinned = _ReshapedToOne().eval()
    free = _ReshapedToOne(pinned=False).eval()
    free.load_state_dict(pinned.state_dict())
    return pinned, free


def test_a_torch_module_with_a_pinned_batch_runs_one_image_per_pass():
    pinned, _ = _module_pair()
    images = torch.rand(3, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():  # the reference: plain torch, each image alone
        relu = [pinned.pool(torch.relu(pinned.conv(images[k : k + 1]))) for k in range(3)]
        expected_flat = torch.cat([r.reshape(1, -1) for r in relu])
        expected_fc = torch.cat([pinned.fc(r.reshape(1, -1)) for r in relu])
        with pytest.raises(RuntimeError):
            pinned(images)  # the module itself refuses the batch
        acts = as_network(pinned, preprocess=lambda x: x).torch_forward(["fc", "flat"], torch.float32, "cpu")(images)
    np.testing.assert_allclose(acts["fc"].numpy(), expected_fc.numpy(), rtol=1e-6)
    np.testing.assert_allclose(acts["flat"].numpy(), expected_flat.numpy(), rtol=1e-6)


@pytest.mark.parametrize("layer", ["fc", "flat"])
def test_a_pinned_torch_module_renders_several_images_as_each_alone(layer):
    """``fc``: the batch fails; ``flat``: ``view(1, -1)`` gives a wrong-sized batch without failing."""
    pinned, free = _module_pair()
    start = _start(2)
    options = dict(OPTIONS, preprocess=lambda x: x)
    together = render(pinned, f"{layer}:0,{layer}:4", param=_param(start), **options)
    for k, channel in enumerate((0, 4)):
        alone = render(pinned, f"{layer}:{channel}", param=_param(start[k : k + 1]), **options)
        np.testing.assert_array_equal(together.images[k], alone.images[0])
    reference = render(free, f"{layer}:0,{layer}:4", param=_param(start), **options)  # the batch kept
    assert relative_error(together.images, reference.images) < 1e-5
    assert relative_error(together.losses, reference.losses) < 1e-5


def test_a_pinned_torch_module_runs_a_gradient_free_population():
    pinned, free = _module_pair()
    options = dict(size=8, frequencies=2, population=4, generations=2, preprocess=lambda x: x)
    results = [render_gradient_free(net, "fc:1,fc:3", **options) for net in (pinned, free)]
    assert relative_error(results[0].losses, results[1].losses) < 1e-5
    assert relative_error(results[0].images, results[1].images) < 1e-5
