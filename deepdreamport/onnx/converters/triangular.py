"""Converter for ONNX ``Trilu`` (opset 14): ``torch.triu`` / ``torch.tril`` of the last two axes.

``upper`` (default 1) keeps the upper triangle (``triu``), 0 the lower (``tril``); the optional
input ``k`` (an int64 scalar, default 0) shifts the diagonal as torch's ``diagonal`` does
(positive: above the main one). A constant ``k`` (an initializer or ``Constant``, what
exporters write for ``torch.triu(x, k)``) is read at conversion; a computed one is read at run
time. Leading axes are batch axes. Gradients pass to the kept entries; any dtype.
"""

from __future__ import annotations

from typing import Optional

import torch
from onnx2torch.onnx_graph import OnnxGraph
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxMapping, OnnxToTorchModule, OperationConverterResult, get_const_value


class OnnxTrilu(torch.nn.Module, OnnxToTorchModule):
    """``triu(x, k)`` (``upper``) or ``tril(x, k)`` over the last two axes of x …×M×N."""

    def __init__(self, upper: bool, k: Optional[int]):
        super().__init__()
        self.upper = upper
        self.k = k

    def forward(self, x: torch.Tensor, k: Optional[torch.Tensor] = None) -> torch.Tensor:
        diagonal = self.k if self.k is not None else (int(k) if k is not None else 0)
        return torch.triu(x, diagonal) if self.upper else torch.tril(x, diagonal)


def convert_trilu(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    upper = bool(node.attributes.get("upper", 1))
    inputs = node.input_values
    k_name = inputs[1] if len(inputs) > 1 and inputs[1] else ""
    if not k_name:
        return OperationConverterResult(OnnxTrilu(upper, 0), OnnxMapping(inputs=inputs[:1], outputs=node.output_values))
    try:
        k = int(get_const_value(k_name, graph))
    except KeyError:  # computed at run time
        return OperationConverterResult(
            OnnxTrilu(upper, None), OnnxMapping(inputs=inputs[:2], outputs=node.output_values)
        )
    return OperationConverterResult(OnnxTrilu(upper, k), OnnxMapping(inputs=inputs[:1], outputs=node.output_values))


CONVERTERS = (("", "Trilu", 14, convert_trilu),)
