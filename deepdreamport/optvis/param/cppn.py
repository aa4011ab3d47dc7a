"""CPPN parametrisation: the image is a small coordinate network's output.

Mirrors lucent's ``optvis/param/cppn.py`` (``cppn``, ``CompositeActivation``),
after Lucid's ``param/cppn.py``: coordinates in ±√3, ``num_layers`` 1×1
convolutions of ``num_hidden_channels`` with the composite activation
``[atan(x)/0.67, atan(x)²/0.6]``, a sigmoid output; weights N(0, 1/in), zero
biases, a zero last layer.

``activation_fn`` and ``normalize`` (``InstanceNorm2d`` after every
convolution) as in lucent.

Deviations: one CPPN per batch element (lucent draws batch 1); the weights
come from the given ``torch.Generator`` (torch's global stream without one),
consuming it exactly as lucent consumes torch's global stream (``nn.Conv2d``'s
own uniform initialisation, then the normal re-initialisation), so a seed
gives lucent's weights; any output channel count, dtype and device;
non-square images (``size=(H, W)``: the longer side spans ±√3, the shorter
the same pixel spacing); an activation that does not double the channels
(lucent assumes it does: ``in = 2 × hidden``) gets convolutions of its width.

Shape:
    ``image_f()``: ``K×C×H×W``
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable, Optional

import numpy as np
import torch

from .images import ImageParam


class CompositeActivation(torch.nn.Module):
    """``[atan(x)/0.67, atan(x)²/0.6]`` along the channels (lucent ``CompositeActivation``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.atan(x)
        return torch.cat([x / 0.67, (x * x) / 0.6], 1)


def _conv(in_c: int, out_c: int, generator: Optional[torch.Generator]) -> torch.nn.Conv2d:
    """A 1×1 convolution with ``nn.Conv2d``'s default initialisation drawn from ``generator`` (and nothing
    drawn from torch's global stream besides, so that ``generator=None`` consumes it exactly as lucent)."""
    conv = torch.nn.utils.skip_init(torch.nn.Conv2d, in_c, out_c, 1)
    with torch.no_grad():
        bound = 1 / np.sqrt(in_c)
        conv.weight.uniform_(-bound, bound, generator=generator)
        conv.bias.uniform_(-bound, bound, generator=generator)
    return conv


def _channels_out(activation: torch.nn.Module, channels_in: int) -> int:
    """The channels ``activation`` returns for ``channels_in`` (the composite activation doubles them)."""
    with torch.no_grad():
        return int(activation(torch.zeros(1, channels_in, 1, 1)).shape[1])


def _network(
    channels: int,
    hidden: int,
    layers: int,
    generator: Optional[torch.Generator],
    activation_fn: Callable[[], torch.nn.Module] = CompositeActivation,
    normalize: bool = False,
) -> torch.nn.Sequential:
    modules = []
    in_c = 2
    for i in range(layers):
        out_c = channels if i == layers - 1 else hidden
        modules.append((f"conv{i}", _conv(in_c, out_c, generator)))
        if normalize:
            modules.append((f"norm{i}", torch.nn.InstanceNorm2d(out_c)))
        if i < layers - 1:
            activation = activation_fn()
            modules.append((f"actv{i}", activation))
            in_c = _channels_out(activation, out_c)
        else:
            modules.append(("output", torch.nn.Sigmoid()))
    net = torch.nn.Sequential(OrderedDict(modules))
    for module in net.modules():
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.normal_(module.weight, 0, np.sqrt(1 / module.in_channels), generator=generator)
            torch.nn.init.zeros_(module.bias)
    torch.nn.init.zeros_(net.get_submodule(f"conv{layers - 1}").weight)
    return net


def coordinates(height: int, width: int) -> torch.Tensor:
    """The CPPN's input: x (down the rows) and y (across) in ±√3 along the longer side, the same spacing
    along the shorter one (lucent's square grid when ``height == width``).

    Shape: → ``1×2×height×width``
    """
    r = 3**0.5
    longest = max(height, width)
    rows = torch.linspace(-r, r, longest)
    if height == width:
        x_range = y_range = rows
    else:
        step = 2 * r / (longest - 1) if longest > 1 else 0.0
        x_range = (torch.arange(height) - (height - 1) / 2) * step
        y_range = (torch.arange(width) - (width - 1) / 2) * step
    x = x_range.view(-1, 1).repeat(1, width)
    y = y_range.view(1, -1).repeat(height, 1)
    return torch.stack([x, y], dim=0).unsqueeze(0)


def cppn(
    size,
    channels: int = 3,
    num_hidden_channels: int = 24,
    num_layers: int = 8,
    activation_fn: Callable[[], torch.nn.Module] = CompositeActivation,
    normalize: bool = False,
    batch: int = 1,
    *,
    generator: Optional[torch.Generator] = None,
    dtype: torch.dtype = torch.float32,
    device=None,
) -> ImageParam:
    """``batch`` CPPN images of ``size`` (S or (H, W)) in 0–1 (lucent ``param.cppn``).

    ``activation_fn``: the hidden layers' activation class (lucent's, default the composite
    ``[atan/0.67, atan²/0.6]``); ``normalize``: instance normalisation after every convolution.
    """
    height, width = (size, size) if isinstance(size, (int, np.integer)) else (int(size[0]), int(size[1]))
    grid = coordinates(height, width).to(device=device, dtype=dtype)
    nets = [
        _network(channels, num_hidden_channels, num_layers, generator, activation_fn, normalize).to(
            device=device, dtype=dtype
        )
        for _ in range(batch)
    ]
    parameters = [p for net in nets for p in net.parameters()]
    return ImageParam(parameters, lambda: torch.cat([net(grid) for net in nets]), channels, "cppn")
