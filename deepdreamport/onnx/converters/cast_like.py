"""Converter for ONNX ``CastLike`` (opset 15): ``x.to(like.dtype)``.

Torch's dynamo exporter (onnxscript's torch library) writes ``CastLike`` to give a
scalar constant the dtype of the tensor it meets (``CastLike(0.5, x)``); onnx2torch has
no converter for it. The cast follows the tensor at run time, so a network converted to
float64 (``net.double()``) casts its constants to float64 as well. Opsets 19 and 21
only added types; graphs at those opsets are lowered to 17 first
(:func:`~deepdreamport.onnx.passes.downgrade_opset.downgrade_opset`).
"""

from __future__ import annotations

import torch
from onnx2torch.onnx_graph import OnnxGraph
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule, OperationConverterResult, onnx_mapping_from_node


class OnnxCastLike(torch.nn.Module, OnnxToTorchModule):
    """``x`` in the dtype of ``like``."""

    def forward(self, x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return x.to(like.dtype)


def convert_cast_like(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return OperationConverterResult(torch_module=OnnxCastLike(), onnx_mapping=onnx_mapping_from_node(node))


CONVERTERS = (("", "CastLike", 15, convert_cast_like),)
