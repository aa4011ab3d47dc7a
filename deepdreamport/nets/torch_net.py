"""A torch ``nn.Module`` as a deep-dream network (the Python door's extension).

Gives an arbitrary ``nn.Module`` the :class:`~.base.DreamNetwork` interface
that ONNX networks have, so both kinds go through the one implementation
(:func:`deepdreamport.doors.run.run_deep_dream`).

- ``layer`` is a submodule name as listed by ``named_modules()``. The forward
  pass is cut short with a forward hook on that submodule that records its
  output and stops the pass, so later modules never run (and a classifier
  head that needs a fixed input size does not constrain the image).
- The receptive field follows the toolbox's rule on a series network: walk the
  modules in registration order up to and including ``layer`` and compose
  ``Conv*d``, ``MaxPool*d``, ``AvgPool*d`` (kernel, dilation, stride) and
  ``Linear`` (whole input); every other module leaves it unchanged.

Deviations: the network runs a private copy of the module, made once, in
inference mode (``eval()``) with its weights' ``requires_grad`` off, so the
caller's module is never changed (training flags of every submodule,
``requires_grad``, device and dtype stay as they were); it costs one copy of
the weights. Input channels are read from the first convolution unless given;
the tile size must be given when the module does not declare an input size.
"""

from __future__ import annotations

import copy
from typing import Optional

import numpy as np
import torch

from ..errors import DeepDreamError
from .base import InputSize, VisualNetwork, probe_truncation, tile_size_of


class _Stop(Exception):
    """Raised by the hook to end the forward pass at the chosen layer."""


class LayerOutput(torch.nn.Module):
    """Runs ``model`` up to submodule ``layer`` and returns that submodule's output."""

    def __init__(self, model: torch.nn.Module, layer: str):
        super().__init__()
        self.model = model
        self.layer = layer

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        captured: list[torch.Tensor] = []

        def hook(_module, _inputs, output):
            captured.append(output[0] if isinstance(output, (tuple, list)) else output)
            raise _Stop

        handle = self.model.get_submodule(self.layer).register_forward_hook(hook)
        try:
            self.model(images)
        except _Stop:
            pass
        finally:
            handle.remove()
        if not captured:
            raise DeepDreamError(
                "deepdreamport:deepDreamImage:LayerNotRun",
                f"layer: submodule {self.layer!r} is never called by the module's forward pass.",
            )
        return captured[0]


def _pair(value) -> tuple[int, int]:
    if isinstance(value, (tuple, list)):
        return (int(value[0]), int(value[-1]))
    return (int(value), int(value))


def module_receptive_field(model: torch.nn.Module, layer: str, whole: tuple[int, int]) -> tuple[int, int]:
    """The toolbox's receptive-field rule on ``model``'s modules up to ``layer`` (inclusive)."""
    extent = [1.0, 1.0]
    jump = [1.0, 1.0]
    inside = False
    for name, module in model.named_modules():
        in_layer = name == layer or name.startswith(layer + ".")
        if inside and not in_layer:
            break
        inside = inside or in_layer
        if isinstance(
            module, (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.MaxPool2d, torch.nn.AvgPool2d)
        ):
            kernel = _pair(module.kernel_size)
            stride = _pair(module.stride)
            dilation = _pair(getattr(module, "dilation", 1))
            for axis in range(2):
                extent[axis] += (kernel[axis] - 1) * dilation[axis] * jump[axis]
                jump[axis] *= stride[axis]
        elif isinstance(module, torch.nn.Linear):
            extent = [float(whole[0]), float(whole[1])]
    return int(min(extent[0], whole[0])), int(min(extent[1], whole[1]))


class TorchNetwork:
    """An ``nn.Module`` prepared for deep dream: a :class:`~.base.DreamNetwork`."""

    def __init__(
        self,
        model: torch.nn.Module,
        input_channels: Optional[int] = None,
        input_size: Optional[tuple[int, int]] = None,
    ):
        if not isinstance(model, torch.nn.Module):
            raise DeepDreamError(
                "deepdreamport:BadNetwork", f"net: expected a torch.nn.Module; got {type(model).__name__}."
            )
        if input_channels is None:
            first = next((m for m in model.modules() if isinstance(m, torch.nn.Conv2d)), None)
            if first is None:
                raise DeepDreamError(
                    "deepdreamport:UnknownInputChannels",
                    "net: cannot infer the number of input channels (no Conv2d); give input_channels.",
                )
            input_channels = first.in_channels
        self.input_channels = int(input_channels)
        self.input_size: InputSize = tuple(input_size) if input_size else (None, None)  # type: ignore[assignment]
        self._model = copy.deepcopy(model).eval().requires_grad_(False)
        self._names = [name for name, _ in model.named_modules() if name]
        self._truncated: dict = {}

    def layer_names(self) -> list[str]:
        return list(self._names)

    def layer_name_at(self, index: int, base: int = 1) -> str:
        """Name of the ``index``-th submodule of ``named_modules()``, counted from ``base`` (MATLAB: 1)."""
        names = self._names
        position = int(index) - base + 1
        if not 1 <= position <= len(names):
            raise DeepDreamError(
                "nnet_cnn:deepDreamImage:InvalidLayer",
                f"layer: index {index} is out of range; the module has {len(names)} submodules "
                f"({base}..{len(names) - 1 + base}, {base}-based).",
            )
        return names[position - 1]

    def tile_size(self, override: Optional[int] = None) -> int:
        return tile_size_of(self.input_size, override, "a torch module does not declare its input size")

    def input_mean(self) -> Optional[np.ndarray]:
        return None

    def truncated(self, layer: str, tile_size: Optional[int] = None) -> VisualNetwork:
        if not isinstance(layer, str) or layer not in self._names:
            shown = ", ".join(self._names[:30]) + (", ..." if len(self._names) > 30 else "")
            raise DeepDreamError(
                "nnet_cnn:deepDreamImage:InvalidLayer",
                f"layer: the module has no submodule named {layer!r}. Submodules: {shown}.",
            )
        key = (layer, tile_size)
        if key not in self._truncated:
            size = self.tile_size(tile_size)
            whole = tuple(s or size for s in self.input_size)
            module = LayerOutput(self._model, layer)
            probe = probe_truncation(module, layer, self.input_channels, whole)  # type: ignore[arg-type]
            field_size = module_receptive_field(self._model, layer, whole)  # type: ignore[arg-type]
            self._truncated[key] = VisualNetwork(
                layer,
                layer,
                module,
                probe.channels,
                field_size,
                input_shape=(self.input_channels, *whole),  # type: ignore[arg-type]
                convolution_macs=probe.convolution_macs,
                saved_elements=probe.saved_elements,
            )
        return self._truncated[key]
