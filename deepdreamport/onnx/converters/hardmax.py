"""Converter for ONNX ``Hardmax`` (opset 13): a one-hot of ``argmax``.

1 at the first maximum along ``axis`` (default -1), 0 elsewhere. Opsets 1 and 11 (the input
seen as 2-D) reach it as ``Flatten → Hardmax → Reshape``
(:func:`~deepdreamport.onnx.passes.upgrade_opset.upgrade_opset`).

torch has no hardmax; ``argmax`` returns the first maximum, as ONNX asks. The output is
piecewise constant: its gradient to the input is zero (the module keeps the input in the
autograd graph, so a network's backward pass runs through it and yields zeros, not an error).
Any floating dtype.
"""

from __future__ import annotations

import torch
from onnx2torch.onnx_graph import OnnxGraph
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule, OperationConverterResult, onnx_mapping_from_node


class OnnxHardmax(torch.nn.Module, OnnxToTorchModule):
    """One-hot of the first maximum along ``axis``; the shape is unchanged."""

    def __init__(self, axis: int):
        super().__init__()
        self.axis = axis

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _OneHotOfMaximum.apply(x, self.axis)


class _OneHotOfMaximum(torch.autograd.Function):
    """The one-hot, with the zero gradient to ``x`` (so that a backward pass through it runs, whatever ``x`` holds)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, axis: int) -> torch.Tensor:
        return torch.zeros_like(x).scatter_(axis, x.argmax(axis, keepdim=True), 1.0)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return torch.zeros_like(grad), None


def convert_hardmax(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    module = OnnxHardmax(int(node.attributes.get("axis", -1)))
    return OperationConverterResult(torch_module=module, onnx_mapping=onnx_mapping_from_node(node))


CONVERTERS = (("", "Hardmax", 13, convert_hardmax),)
