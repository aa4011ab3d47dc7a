"""Converters for ONNX ``GlobalMaxPool`` (opsets 1, 22) and ``GlobalLpPool`` (opsets 2, 22).

Mirror MATLAB's ``globalMaxPooling2dLayer`` (exported as ``GlobalMaxPool``) and
Keras' ``GlobalMaxPooling2D`` kept as a layer; for x N×C×D1×…, over every axis from 2
on, keeping them as size 1 (N×C×1×…):

* ``GlobalMaxPool``: ``amax`` (the gradient is split evenly between tied maxima,
  as torch's ``amax`` does; onnxruntime computes no gradient);
* ``GlobalLpPool``: ``(Σ |x|^p)^(1/p)`` with the integer ``p`` (default 2),
  ``torch.linalg.vector_norm``.

Opset 22 only widened the types.
"""

from __future__ import annotations

import torch
from onnx2torch.onnx_graph import OnnxGraph
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule, OperationConverterResult, onnx_mapping_from_node


class OnnxGlobalMaxPool(torch.nn.Module, OnnxToTorchModule):
    """N×C×D1×… → N×C×1×…: the maximum over every spatial position."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.amax(x, dim=tuple(range(2, x.dim())), keepdim=True)


class OnnxGlobalLpPool(torch.nn.Module, OnnxToTorchModule):
    """N×C×D1×… → N×C×1×…: the p-norm over every spatial position."""

    def __init__(self, p: int):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.linalg.vector_norm(x, ord=self.p, dim=tuple(range(2, x.dim())), keepdim=True)


def convert_global_max_pool(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return OperationConverterResult(torch_module=OnnxGlobalMaxPool(), onnx_mapping=onnx_mapping_from_node(node))


def convert_global_lp_pool(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    module = OnnxGlobalLpPool(int(node.attributes.get("p", 2)))
    return OperationConverterResult(torch_module=module, onnx_mapping=onnx_mapping_from_node(node))


CONVERTERS = (
    ("", "GlobalMaxPool", 1, convert_global_max_pool),
    ("", "GlobalMaxPool", 22, convert_global_max_pool),
    ("", "GlobalLpPool", 2, convert_global_lp_pool),
    ("", "GlobalLpPool", 22, convert_global_lp_pool),
)
