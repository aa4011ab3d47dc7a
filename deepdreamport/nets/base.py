"""What every deep-dream network offers, and MATLAB's visual network.

MATLAB's ``deepDreamImage`` takes a network ``net`` and builds from it a
*visual network*: the layers up to the chosen one, with an output layer that
maximises a channel (``nnet.internal.cnn.visualize``). Here:

* :class:`DreamNetwork` is ``net``: the protocol that ONNX networks
  (:class:`~.onnx_net.OnnxNetwork`) and torch modules
  (:class:`~.torch_net.TorchNetwork`) both satisfy;
* :class:`VisualNetwork` is MATLAB's visual network: the truncated module and
  the channel-average objective of :mod:`deepdreamport.core.objective`.

Deviation: releases up to R2019a ran the network in training mode inside
``deepDreamImage``; the port always runs it in inference mode.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Optional, Protocol, runtime_checkable

import numpy as np
import torch

from ..core.objective import channel_objective_gradient
from ..errors import DeepDreamError
from .sizes import SizeProbe

InputSize = tuple[Optional[int], Optional[int]]
"""``(height, width)`` of the network input; ``None`` where it is dynamic."""


@dataclass
class VisualNetwork:
    """MATLAB's visual network: ``layer`` and its ancestors as a module, with the channel objective.

    ``owns_module`` is false for a caller's torch module: then :meth:`to` copies
    it before converting, so the caller's module is never changed.
    """

    layer: str
    output_name: str
    module: torch.nn.Module
    num_channels: int
    receptive_field: tuple[int, int]
    owns_module: bool = True
    _size_probe: Optional[SizeProbe] = field(default=None, repr=False)

    def size_probe(self, input_channels: int, reference: tuple[int, int]) -> SizeProbe:
        """The (cached) :class:`~.sizes.SizeProbe` of this truncation; ``reference`` is a size expected to work."""
        if self._size_probe is None or self._size_probe.reference != tuple(reference):
            self._size_probe = SizeProbe(self.module, input_channels, tuple(reference))  # type: ignore[arg-type]
        return self._size_probe

    def to(self, device: torch.device, dtype: torch.dtype) -> "VisualNetwork":
        """Move the module to ``device`` and ``dtype`` (a copy first, when it is not ours)."""
        tensors = [*self.module.parameters(), *self.module.buffers()]
        if all(t.device == device and (not t.is_floating_point() or t.dtype == dtype) for t in tensors):
            return self
        if not self.owns_module:
            self.module = copy.deepcopy(self.module)
            self.owns_module = True
        self.module.to(device=device, dtype=dtype)
        if self._size_probe is not None:
            self._size_probe.module = self.module  # sizes do not depend on the device or dtype
        return self

    def gradient(self, images: torch.Tensor, channel_index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The objective's input gradient (B×C×H×W) and activations (B): see :mod:`deepdreamport.core.objective`."""
        return channel_objective_gradient(self.module, images, channel_index)


@runtime_checkable
class DreamNetwork(Protocol):
    """MATLAB's ``net`` as ``deepDreamImage`` uses it."""

    input_channels: int
    input_size: InputSize

    def layer_name_at(self, index: int, base: int = 1) -> str:
        """Name of layer ``index`` counted from ``base`` (MATLAB: 1); errors use that numbering."""
        ...

    def tile_size(self, override: Optional[int] = None) -> int:
        """MATLAB's ``TileSize``: ``override``, else the larger side of the input."""
        ...

    def input_mean(self) -> Optional[np.ndarray]:
        """Per-channel mean the input layer subtracts (length C), if any."""
        ...

    def truncated(self, layer: str, tile_size: Optional[int] = None) -> VisualNetwork:
        """The visual network of ``layer`` (cached per layer)."""
        ...


def tile_size_of(input_size: InputSize, override: Optional[int], why_unknown: str) -> int:
    """``override`` if given, else the larger side of ``input_size`` (an error if it is unknown)."""
    if override is not None:
        return int(override)
    if None in input_size:
        raise DeepDreamError(
            "deepdreamport:deepDreamImage:UnknownTileSize",
            f"net: {why_unknown}; give the tile size explicitly (TileSize / tile_size, e.g. 224 for ImageNet networks).",
        )
    return max(input_size)  # type: ignore[type-var]


def probe_channels(module: torch.nn.Module, layer: str, input_channels: int, size: tuple[int, int]) -> int:
    """Run ``module`` once on zeros of ``size`` and return the channel count of its N×C×H×W or N×C output."""
    parameter = next(module.parameters(), None)
    dtype = parameter.dtype if parameter is not None else torch.float32
    device = parameter.device if parameter is not None else "cpu"
    try:
        probe = torch.zeros(1, input_channels, *size, dtype=dtype, device=device)
        with torch.no_grad():
            output = module(probe)
    except (RuntimeError, MemoryError) as exc:  # a size the layers cannot take: name it, not torch's traceback
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        too_large = isinstance(exc, (MemoryError, torch.OutOfMemoryError)) or "allocate" in reason
        raise DeepDreamError(
            "deepdreamport:deepDreamImage:LayerFailsAtInputSize",
            f"layer: {layer!r} and the layers before it cannot run on a {size[0]}×{size[1]}×{input_channels} input "
            f"({reason[:300]}); "
            + (
                "give a smaller tile size (TileSize / tile_size / --tile-size)."
                if too_large
                else "give a tile size the network takes (TileSize / tile_size / --tile-size), "
                "or export the network with an input size it takes."
            ),
        ) from None
    if output.dim() not in (2, 4):
        raise DeepDreamError(
            "deepdreamport:deepDreamImage:LayerNotImageLike",
            f"layer: {layer!r} outputs a tensor of shape {tuple(output.shape)}; expected N×C×H×W or N×C (fully connected).",
        )
    return int(output.shape[1])
