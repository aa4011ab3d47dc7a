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

Memory format (no MATLAB counterpart, same numbers to rounding): the truncated
module and its input tiles run in the layout :func:`preferred_memory_format`
picks for the device and dtype; the gradient comes back in the default layout,
where the Laplacian pyramid and the resize run.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Optional, Protocol, runtime_checkable

import numpy as np
import torch

from ..core.objective import channel_objective_gradient
from ..errors import DeepDreamError

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
    memory_format: torch.memory_format = torch.contiguous_format

    def to(
        self, device: torch.device, dtype: torch.dtype, memory_format: Optional[torch.memory_format] = None
    ) -> "VisualNetwork":
        """Move the module to ``device``, ``dtype`` and ``memory_format`` (a copy first, when it is not ours).

        ``memory_format`` ``None`` is :func:`preferred_memory_format` of the device and dtype.
        """
        if memory_format is None:
            memory_format = preferred_memory_format(torch.device(device), dtype)
        tensors = [*self.module.parameters(), *self.module.buffers()]
        if memory_format == self.memory_format and all(
            t.device == device and (not t.is_floating_point() or t.dtype == dtype) for t in tensors
        ):
            return self
        if not self.owns_module:
            self.module = copy.deepcopy(self.module)
            self.owns_module = True
        self.module.to(device=device, dtype=dtype)
        self.module.to(memory_format=memory_format)  # 4-D weights only; a no-op for the others
        self.memory_format = memory_format
        return self

    def gradient(self, images: torch.Tensor, channel_index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The objective's input gradient (B×C×H×W) and activations (B): see :mod:`deepdreamport.core.objective`."""
        return channel_objective_gradient(self.module, images, channel_index, self.memory_format)


def preferred_memory_format(device: torch.device, dtype: torch.dtype) -> torch.memory_format:
    """The layout the network runs in: ``channels_last`` except in float64.

    Example:
        >>> preferred_memory_format(torch.device("cpu"), torch.float32), preferred_memory_format(torch.device("cpu"), torch.float64)
        (torch.channels_last, torch.contiguous_format)

    Measured on the CPU (2 cores, torch 2.14.1, truncated EfficientNet-Lite0,
    batch 8 × 224², forward + backward; ``python -m benchmarks`` figure 6
    repeats it): float32 ``channels_last`` 0.69–0.73× the default layout
    (oneDNN's blocked kernels), float64 2.0× (oneDNN has no float64
    convolutions; PyTorch's own channels-last fallback is slower). On CUDA,
    cuDNN's NHWC kernels are its fast path for 16/32-bit floats and it has none
    for float64, so the same rule; ``benchmarks/gpu_check.sh`` measures it there.
    The layout changes only the order of the convolutions' sums (float64
    numbers move by ~1e-16 relative).
    """
    del device  # one rule for CPU and CUDA (see above); kept so a device may get its own
    return torch.contiguous_format if dtype == torch.float64 else torch.channels_last


@runtime_checkable
class DreamNetwork(Protocol):
    """MATLAB's ``net`` as ``deepDreamImage`` uses it."""

    input_channels: int
    input_size: InputSize

    def layer_name_at(self, index: int) -> str:
        """Name of layer ``index`` (MATLAB's 1-based numbering)."""
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
    probe = torch.zeros(
        1,
        input_channels,
        *size,
        dtype=parameter.dtype if parameter is not None else torch.float32,
        device=parameter.device if parameter is not None else "cpu",
    )
    with torch.no_grad():
        output = module(probe)
    if output.dim() not in (2, 4):
        raise DeepDreamError(
            "deepdreamport:deepDreamImage:LayerNotImageLike",
            f"layer: {layer!r} outputs a tensor of shape {tuple(output.shape)}; expected N×C×H×W or N×C (fully connected).",
        )
    return int(output.shape[1])
