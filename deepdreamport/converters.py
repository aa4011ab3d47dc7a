"""onnx2torch converters for operators it lacks, added through its registry.

Registered with ``onnx2torch.node_converters.registry.add_converter`` (never by
editing onnx2torch). Importing this module registers them once.

``deepdreamport::SubtractResizedMean`` (written by
:func:`deepdreamport.onnx_fixups.resize_input_mean`): ``x - resizeImage(mean,
size(x))``. Mirrors MATLAB's ``imageInputLayer`` normalisation with an average
image, which ``deepDreamImage`` resizes to the current image size with the
toolbox's ``resizeImage`` (see :mod:`deepdreamport.resize`).
"""

from __future__ import annotations

import torch
from onnx2torch.node_converters.registry import _CONVERTER_REGISTRY, OperationDescription, add_converter
from onnx2torch.onnx_graph import OnnxGraph
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxMapping, OnnxToTorchModule, OperationConverterResult

from .onnx_fixups import CUSTOM_DOMAIN, RESIZED_MEAN_OP
from .resize import resize_image


class SubtractResizedMean(torch.nn.Module, OnnxToTorchModule):
    """``x - resizeImage(mean, x.shape[-2:])`` for an N×C×H×W input."""

    def __init__(self, mean: torch.Tensor):
        super().__init__()
        mean = mean.reshape((1,) * max(0, 4 - mean.dim()) + tuple(mean.shape[-3:]))
        self.register_buffer("mean", mean)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        mean = self.mean.to(images.dtype)
        return images - resize_image(mean, tuple(images.shape[-2:]))


def _subtract_resized_mean(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    mean = torch.from_numpy(graph.initializers[node.input_values[1]].to_numpy().copy())
    return OperationConverterResult(
        torch_module=SubtractResizedMean(mean),
        onnx_mapping=OnnxMapping(inputs=(node.input_values[0],), outputs=node.output_values),
    )


def register() -> None:
    """Register the converters (idempotent)."""
    description = OperationDescription(CUSTOM_DOMAIN, RESIZED_MEAN_OP, 1)
    if description not in _CONVERTER_REGISTRY:
        add_converter(operation_type=RESIZED_MEAN_OP, version=1, domain=CUSTOM_DOMAIN)(_subtract_resized_mean)


register()
