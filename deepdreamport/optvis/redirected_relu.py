"""Redirected ReLU: Lucid's fix for units that receive no gradient.

Mirrors Lucid's ``misc/redirected_relu_grad.py`` (``redirected_relu_grad``,
``redirected_relu6_grad``); lucent has none. Forward is the ordinary ReLU
(ReLU6). Backward: when a batch element's ordinary gradient through the unit
is all zero (every input in the flat region), the gradient is passed through
where it would move the input back towards the active region, instead of
being zeroed — so optimisation can start from dead units.

Shape:
    any ``K×...`` tensor; the all-zero test is per batch element.
"""

from __future__ import annotations

import copy
from typing import Optional

import torch


class _Redirected(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, high: Optional[float]) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.high = high
        return x.clamp(min=0) if high is None else x.clamp(0, high)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (x,) = ctx.saved_tensors
        zero = torch.zeros_like(grad)
        flat = x < 0
        wrong_way = flat & (grad > 0)  # descending would push x further below 0
        if ctx.high is not None:
            flat = flat | (x > ctx.high)
            wrong_way = wrong_way | ((x > ctx.high) & (grad < 0))
        ordinary = torch.where(flat, zero, grad)
        redirected = torch.where(wrong_way, zero, grad)
        alive = ordinary.reshape(x.shape[0], -1).norm(dim=1) > 0
        return torch.where(alive.view(-1, *([1] * (x.dim() - 1))), ordinary, redirected), None


def redirected_relu(x: torch.Tensor, high: Optional[float] = None) -> torch.Tensor:
    """ReLU (ReLU6 with ``high=6``) with Lucid's redirected gradient."""
    return _Redirected.apply(x, high)


class RedirectedReLU(torch.nn.Module):
    def __init__(self, high: Optional[float] = None):
        super().__init__()
        self.high = high

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return redirected_relu(x, self.high)


def with_redirected_relu(module: torch.nn.Module) -> torch.nn.Module:
    """A copy of ``module`` whose ``nn.ReLU`` / ``nn.ReLU6`` submodules are :class:`RedirectedReLU`."""
    module = copy.deepcopy(module)
    for name, child in list(module.named_modules()):
        if type(child) is torch.nn.ReLU:
            module.set_submodule(name, RedirectedReLU())
        elif type(child) is torch.nn.ReLU6:
            module.set_submodule(name, RedirectedReLU(6.0))
    return module
