"""Converters for ONNX ``ThresholdedRelu`` (opsets 10, 22) and ``Shrink`` (opset 9).

Mirror Keras' ``ThresholdedReLU`` (tf2onnx writes ``ThresholdedRelu``) and torch's
``Softshrink``/``Hardshrink`` in the form ``Shrink`` defines; elementwise:

* ``ThresholdedRelu``: ``x`` where ``x > alpha`` (default 1), else 0 (``F.threshold``);
* ``Shrink``: ``x - bias`` where ``x > lambd``, ``x + bias`` where ``x < -lambd``, else 0
  (``lambd`` default 0.5, ``bias`` default 0).

The gradient is 1 where the input passes and 0 elsewhere, as in torch's modules.
"""

from __future__ import annotations

import torch
from onnx2torch.onnx_graph import OnnxGraph
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule, OperationConverterResult, onnx_mapping_from_node


class OnnxThresholdedRelu(torch.nn.Module, OnnxToTorchModule):
    """``x`` where ``x > alpha``, else 0."""

    def __init__(self, alpha: float):
        super().__init__()
        self.alpha = alpha

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.threshold(x, self.alpha, 0.0)


class OnnxShrink(torch.nn.Module, OnnxToTorchModule):
    """``x - bias`` above ``lambd``, ``x + bias`` below ``-lambd``, 0 between."""

    def __init__(self, lambd: float, bias: float):
        super().__init__()
        self.lambd = lambd
        self.bias = bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        zero = torch.zeros((), dtype=x.dtype, device=x.device)
        return torch.where(x > self.lambd, x - self.bias, torch.where(x < -self.lambd, x + self.bias, zero))


def convert_thresholded_relu(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    module = OnnxThresholdedRelu(float(node.attributes.get("alpha", 1.0)))
    return OperationConverterResult(torch_module=module, onnx_mapping=onnx_mapping_from_node(node))


def convert_shrink(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    module = OnnxShrink(float(node.attributes.get("lambd", 0.5)), float(node.attributes.get("bias", 0.0)))
    return OperationConverterResult(torch_module=module, onnx_mapping=onnx_mapping_from_node(node))


CONVERTERS = (
    ("", "ThresholdedRelu", 10, convert_thresholded_relu),
    ("", "ThresholdedRelu", 22, convert_thresholded_relu),
    ("", "Shrink", 9, convert_shrink),
)
