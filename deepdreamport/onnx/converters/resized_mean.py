"""Converter for ``deepdreamport::SubtractResizedMean``: ``x - resizeImage(mean, size(x))``.

Written by the :func:`~deepdreamport.onnx.passes.resize_input_mean` pass.
Mirrors MATLAB's ``imageInputLayer`` normalisation with an average image, which
``deepDreamImage`` resizes to the current image size with the toolbox's
``resizeImage`` (:func:`deepdreamport.core.resize.resize_image`).
"""

from __future__ import annotations

import torch
from onnx2torch.onnx_graph import OnnxGraph
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxMapping, OnnxToTorchModule, OperationConverterResult

from ...core.resize import resize_image
from ..passes.resize_input_mean import CUSTOM_DOMAIN, RESIZED_MEAN_OP


class SubtractResizedMean(torch.nn.Module, OnnxToTorchModule):
    """``x - resizeImage(mean, x.shape[-2:])`` for an N×C×H×W input."""

    def __init__(self, mean: torch.Tensor):
        super().__init__()
        mean = mean.reshape((1,) * max(0, 4 - mean.dim()) + tuple(mean.shape[-3:]))
        self.register_buffer("mean", mean)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        mean = self.mean.to(images.dtype)
        return images - resize_image(mean, tuple(images.shape[-2:]))


def convert_subtract_resized_mean(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    mean = torch.from_numpy(graph.initializers[node.input_values[1]].to_numpy().copy())
    return OperationConverterResult(
        torch_module=SubtractResizedMean(mean),
        onnx_mapping=OnnxMapping(inputs=(node.input_values[0],), outputs=node.output_values),
    )


CONVERTER = (CUSTOM_DOMAIN, RESIZED_MEAN_OP, 1, convert_subtract_resized_mean)
