"""Objectives: algebra (including objective × objective), regularisers against their formulas,
and the deepDreamImage objective against the package's MATLAB-parity gradient."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepdreamport.optvis import objectives
from deepdreamport.optvis._network import DeepDreamError, channel_objective_gradient

ACTS = {
    "a": torch.arange(2 * 3 * 4 * 4, dtype=torch.float64).reshape(2, 3, 4, 4) / 10 - 1,
    "input": torch.linspace(-1, 1, 2 * 3 * 5 * 5, dtype=torch.float64).reshape(2, 3, 5, 5) ** 2,
}
T = ACTS.__getitem__


def test_channel_and_neuron_values():
    assert objectives.channel("a", 1)(T).item() == pytest.approx(-ACTS["a"][:, 1].mean().item())
    assert objectives.channel("a", 1, batch=1)(T).item() == pytest.approx(-ACTS["a"][1, 1].mean().item())
    assert objectives.neuron("a", 2)(T).item() == pytest.approx(-ACTS["a"][:, 2, 2, 2].mean().item())


def test_direction_neuron_is_the_cosine_at_one_position():
    vector = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    a = ACTS["a"].numpy()

    def cosine(v):  # per batch element
        return (v * vector.numpy()).sum(axis=1) / np.linalg.norm(v, axis=1) / np.linalg.norm(vector.numpy())

    centre = objectives.direction_neuron("a", vector)(T).item()
    assert centre == pytest.approx(-cosine(a[:, :, 2, 2]).mean())
    assert objectives.direction_neuron("a", vector, x=3, y=1)(T).item() == pytest.approx(-cosine(a[:, :, 1, 3]).mean())
    one = objectives.direction_neuron("a", vector, x=0, y=2, batch=1)(T).item()
    assert one == pytest.approx(-cosine(a[1:, :, 2, 0]).mean())


def test_channel_interpolate_weights_the_batch_linearly():
    acts = {"p": torch.rand(3, 4, 5, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)}
    acts["q"] = 2 * acts["p"][:, :, :3, :3] - 1
    p, q = acts["p"].numpy(), acts["q"].numpy()
    expected = -(p[0, 1].mean() + 0.5 * p[1, 1].mean() + 0.5 * q[1, 3].mean() + q[2, 3].mean())
    objective = objectives.channel_interpolate("p", 1, "q", 3)
    assert objective(acts.__getitem__).item() == pytest.approx(expected)
    assert objective.layers == ("p", "q") and objective.units == (("p", 1), ("q", 3))


@pytest.mark.parametrize(
    "objective, acts, message",
    [
        (objectives.direction("a", [1.0, 2.0]), ACTS, "the direction has 2 values but 'a' has 3 channels"),
        (objectives.direction_neuron("a", [1.0] * 4), ACTS, "the direction has 4 values but 'a' has 3 channels"),
        (objectives.direction_neuron("a", [1.0] * 3, x=4), ACTS, "position x=4, y=2 is outside 'a'"),
        (objectives.neuron("a", 0, y=-1), ACTS, "position x=2, y=-1 is outside 'a'"),
        (
            objectives.channel_interpolate("a", 0, "a", 1),
            {"a": ACTS["a"][:1]},
            "channel_interpolate needs a batch of at least 2 images to interpolate across; got 1",
        ),
    ],
)
def test_careless_objectives_name_the_argument(objective, acts, message):
    with pytest.raises(DeepDreamError, match="objective: " + message):
        objective(acts.__getitem__)


def test_algebra_with_scalars_and_objectives():
    a, b = objectives.channel("a", 0), objectives.channel("a", 2)
    va, vb = a(T).item(), b(T).item()
    for built, value in [
        (a + b, va + vb),
        (a - b, va - vb),
        (a * b, va * vb),
        (a / b, va / vb),
        (2 * a, 2 * va),
        (a * 3, 3 * va),
        (a / 4, va / 4),
        (1 - a, 1 - va),
        (a + 1, va + 1),
        (-a, -va),
        (objectives.Objective.sum([a, b, a]), 2 * va + vb),
    ]:
        assert built(T).item() == pytest.approx(value)
    assert (a * b).layers == ("a",)


def test_regularisers_follow_their_formulas():
    x = ACTS["input"].numpy()
    assert objectives.L1(constant=0.5)(T).item() == pytest.approx(np.abs(x - 0.5).sum())
    assert objectives.L2()(T).item() == pytest.approx(np.sqrt(1e-6 + (x**2).sum()))
    tv = np.abs(np.diff(x, axis=2)).sum() + np.abs(np.diff(x, axis=3)).sum()
    assert objectives.total_variation()(T).item() == pytest.approx(tv)


def test_blur_penalty_uses_lucents_kernel():
    x = ACTS["input"].numpy()
    kernel = np.array([[0.5, 0.5, 0.5], [0.5, 1, 0.5], [0.5, 0.5, 0.5]])
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    ones = np.pad(np.ones_like(x), ((0, 0), (0, 0), (1, 1), (1, 1)))
    blurred = np.zeros_like(x)
    norm = np.zeros_like(x)
    for dy in range(3):
        for dx in range(3):
            blurred += kernel[dy, dx] * padded[:, :, dy : dy + 5, dx : dx + 5]
            norm += kernel[dy, dx] * ones[:, :, dy : dy + 5, dx : dx + 5]
    assert objectives.blur()(T).item() == pytest.approx(0.5 * ((x - blurred / norm) ** 2).sum())


def test_alignment_and_diversity_shapes():
    assert objectives.alignment("a")(T).item() > 0
    assert objectives.diversity("a")(T).dim() == 0


def test_deepdream_objective_gradient_is_matlabs_divided_by_area():
    conv = torch.nn.Conv2d(3, 5, 3).double().requires_grad_(False)
    images = torch.rand(3, 3, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    channels = torch.tensor([4, 0, 2])
    expected, _ = channel_objective_gradient(conv, images, channels)
    x = images.clone().requires_grad_(True)
    acts = conv(x)
    loss = sum(objectives.deepdream("a", int(c), batch=k)({"a": acts}.__getitem__) for k, c in enumerate(channels))
    loss.backward()
    assert torch.allclose(-x.grad * 36, expected, rtol=1e-12, atol=1e-14)


def test_as_objective():
    assert objectives.as_objective("a:1")(T).item() == pytest.approx(-ACTS["a"][:, 1].mean().item())
    with pytest.raises(TypeError):
        objectives.as_objective(3)
