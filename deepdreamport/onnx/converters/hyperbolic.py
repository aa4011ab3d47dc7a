"""Converters for ONNX ``Sinh``, ``Cosh``, ``Asinh``, ``Acosh``, ``Atanh`` (opsets 9, 22): ``torch.sinh`` and kin.

Elementwise, as ONNX defines them (opset 22 only widened the types); onnx2torch converts
``Tan``, ``Asin``, ``Acos``, ``Atan`` (and ``Tanh``) itself. Outside their domains
(``Acosh`` below 1, ``Atanh`` outside (-1, 1)) both give NaN, and ±inf at ``Atanh(±1)``.
Any floating dtype; the gradients are torch's (``cosh``, ``sinh``, ``1/√(x²+1)``,
``1/√(x²-1)``, ``1/(1-x²)``).
"""

from __future__ import annotations

from typing import Callable

import torch
from onnx2torch.onnx_graph import OnnxGraph
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule, OperationConverterResult, onnx_mapping_from_node

FUNCTIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "Sinh": torch.sinh,
    "Cosh": torch.cosh,
    "Asinh": torch.asinh,
    "Acosh": torch.acosh,
    "Atanh": torch.atanh,
}
"""ONNX operator → its torch function."""


class OnnxHyperbolic(torch.nn.Module, OnnxToTorchModule):
    """One of :data:`FUNCTIONS`, elementwise."""

    def __init__(self, op_type: str):
        super().__init__()
        self.op_type = op_type
        self.function = FUNCTIONS[op_type]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.function(x)


def convert_hyperbolic(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return OperationConverterResult(
        torch_module=OnnxHyperbolic(node.operation_type), onnx_mapping=onnx_mapping_from_node(node)
    )


CONVERTERS = tuple(("", op_type, version, convert_hyperbolic) for op_type in FUNCTIONS for version in (9, 22))
