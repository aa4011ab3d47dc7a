"""CPPN parametrisation: the image is a small coordinate network's output.

Mirrors lucent's ``optvis/param/cppn.py`` (``cppn``, ``CompositeActivation``),
after Lucid's ``param/cppn.py``: coordinates in ±√3, ``num_layers`` 1×1
convolutions of ``num_hidden_channels`` with the composite activation
``[atan(x)/0.67, atan(x)²/0.6]``, a sigmoid output; weights N(0, 1/in), zero
biases, a zero last layer.

Deviations: one CPPN per batch element (lucent draws batch 1); the weights
come from the given ``torch.Generator``, consuming it exactly as lucent
consumes torch's global stream (``nn.Conv2d``'s own uniform initialisation,
then the normal re-initialisation), so a seed gives lucent's weights; any
output channel count, dtype and device.

Shape:
    ``image_f()``: ``K×C×S×S``
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Optional

import numpy as np
import torch

from .images import ImageParam


class CompositeActivation(torch.nn.Module):
    """``[atan(x)/0.67, atan(x)²/0.6]`` along the channels (lucent ``CompositeActivation``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.atan(x)
        return torch.cat([x / 0.67, (x * x) / 0.6], 1)


def _network(channels: int, hidden: int, layers: int, generator: Optional[torch.Generator]) -> torch.nn.Sequential:
    modules = []
    for i in range(layers):
        in_c = 2 if i == 0 else hidden * 2
        out_c = channels if i == layers - 1 else hidden
        conv = torch.nn.Conv2d(in_c, out_c, 1)
        with torch.no_grad():  # nn.Conv2d's default initialisation, drawn from ``generator``
            bound = 1 / np.sqrt(in_c)
            conv.weight.uniform_(-bound, bound, generator=generator)
            conv.bias.uniform_(-bound, bound, generator=generator)
        modules.append((f"conv{i}", conv))
        modules.append((f"actv{i}", CompositeActivation()) if i < layers - 1 else ("output", torch.nn.Sigmoid()))
    net = torch.nn.Sequential(OrderedDict(modules))
    for module in net.modules():
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.normal_(module.weight, 0, np.sqrt(1 / module.in_channels), generator=generator)
            torch.nn.init.zeros_(module.bias)
    torch.nn.init.zeros_(net.get_submodule(f"conv{layers - 1}").weight)
    return net


def cppn(
    size: int,
    channels: int = 3,
    num_hidden_channels: int = 24,
    num_layers: int = 8,
    batch: int = 1,
    *,
    generator: Optional[torch.Generator] = None,
    dtype: torch.dtype = torch.float32,
    device=None,
) -> ImageParam:
    """``batch`` CPPN images of ``size``×``size`` in 0–1 (lucent ``param.cppn``)."""
    r = 3**0.5
    coords = torch.linspace(-r, r, size)
    x = coords.view(-1, 1).repeat(1, size)
    y = coords.view(1, -1).repeat(size, 1)
    grid = torch.stack([x, y], dim=0).unsqueeze(0).to(device=device, dtype=dtype)
    nets = [
        _network(channels, num_hidden_channels, num_layers, generator).to(device=device, dtype=dtype)
        for _ in range(batch)
    ]
    parameters = [p for net in nets for p in net.parameters()]
    return ImageParam(parameters, lambda: torch.cat([net(grid) for net in nets]), channels, "cppn")
