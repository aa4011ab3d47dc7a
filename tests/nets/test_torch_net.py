"""A caller's ``nn.Module`` is used, never changed: modes, requires_grad, dtype, device, weights, hooks."""

from __future__ import annotations

import torch

from deepdreamport import TorchNetwork, deep_dream_image


def _mixed_module() -> torch.nn.Module:
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3),
        torch.nn.BatchNorm2d(4),
        torch.nn.ReLU(),
        torch.nn.Dropout(0.5),
        torch.nn.Conv2d(4, 5, 3),
    )
    model.train()
    model[1].eval()  # mixed: the top module trains, its batch norm does not
    model[4].weight.requires_grad_(False)  # and one weight is frozen
    return model


def _state(model: torch.nn.Module) -> dict:
    return {
        "training": [(name, module.training) for name, module in model.named_modules()],
        "requires_grad": [(name, p.requires_grad) for name, p in model.named_parameters()],
        "dtypes": [(name, t.dtype, t.device) for name, t in [*model.named_parameters(), *model.named_buffers()]],
        "values": {name: t.detach().clone() for name, t in [*model.named_parameters(), *model.named_buffers()]},
        "hooks": [(name, len(m._forward_hooks)) for name, m in model.named_modules()],
    }


def _assert_same(before: dict, after: dict) -> None:
    for key in ("training", "requires_grad", "dtypes", "hooks"):
        assert before[key] == after[key], key
    for name, value in before["values"].items():
        assert torch.equal(value, after["values"][name]), name


def test_the_callers_module_is_left_exactly_as_it_was():
    model = _mixed_module()
    before = _state(model)
    for dtype in (torch.float32, torch.float64):
        images = deep_dream_image(model, "4", [0, 1], tile_size=12, num_iterations=2, pyramid_levels=2, dtype=dtype)
        assert images.shape[0] == 2
    _assert_same(before, _state(model))


def test_the_network_runs_in_inference_mode_whatever_the_callers_mode():
    model = _mixed_module()
    network = TorchNetwork(model)
    visual = network.truncated("2", tile_size=12)
    images = torch.rand(3, 3, 12, 12)
    first, _ = visual.gradient(images, torch.tensor([0, 1, 2]))
    second, _ = visual.gradient(images, torch.tensor([0, 1, 2]))
    assert torch.equal(first, second)  # no dropout, no batch statistics
    assert model.training and not model[1].training
