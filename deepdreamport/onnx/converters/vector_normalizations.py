"""Converters for ONNX ``LpNormalization`` (opsets 1, 22) and ``MeanVarianceNormalization`` (opsets 9, 13).

* ``LpNormalization``: ``x / ‖x‖ₚ`` along ``axis`` (default -1), ``p`` 1 or 2 (default 2);
  torch's ``F.normalize`` without its ``eps`` floor: a zero vector gives 0/0 = NaN, as
  ONNX's formula and onnxruntime do. (Caffe's and older MATLAB exports' L2 normalisation,
  SSD's ``conv4_3`` norm before its scale.)
* ``MeanVarianceNormalization``: ``(x − mean) / (√var + 1e-9)`` over ``axes`` (default
  ``[0, 2, 3]``: per channel across the batch and the image, MATLAB's and Caffe's MVN),
  with the biased variance. ONNX's function computes the variance as ``E[x²] − E[x]²``;
  here it is ``E[(x − mean)²]``, the same number without the cancellation (within float32
  rounding of onnxruntime's).

Any floating dtype; gradients are torch's.
"""

from __future__ import annotations

import torch
from onnx2torch.onnx_graph import OnnxGraph
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule, OperationConverterResult, onnx_mapping_from_node

MVN_EPSILON = 1e-9
"""The constant ONNX's ``MeanVarianceNormalization`` function adds to the standard deviation."""


class OnnxLpNormalization(torch.nn.Module, OnnxToTorchModule):
    """``x / ‖x‖ₚ`` along ``axis``, p ∈ {1, 2}; the shape is unchanged."""

    def __init__(self, p: int, axis: int):
        super().__init__()
        self.p = p
        self.axis = axis

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x / torch.linalg.vector_norm(x, ord=self.p, dim=self.axis, keepdim=True)


class OnnxMeanVarianceNormalization(torch.nn.Module, OnnxToTorchModule):
    """``(x − mean) / (std + 1e-9)`` with mean and (biased) std over ``axes``; the shape is unchanged."""

    def __init__(self, axes: tuple[int, ...]):
        super().__init__()
        self.axes = axes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        centred = x - x.mean(self.axes, keepdim=True)
        return centred / (centred.square().mean(self.axes, keepdim=True).sqrt() + MVN_EPSILON)


def convert_lp_normalization(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    p = int(node.attributes.get("p", 2))
    if p not in (1, 2):
        raise NotImplementedError(f"LpNormalization with p={p} (expected 1 or 2)")
    module = OnnxLpNormalization(p, int(node.attributes.get("axis", -1)))
    return OperationConverterResult(torch_module=module, onnx_mapping=onnx_mapping_from_node(node))


def convert_mean_variance_normalization(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    axes = tuple(int(axis) for axis in node.attributes.get("axes", (0, 2, 3)))
    return OperationConverterResult(
        torch_module=OnnxMeanVarianceNormalization(axes), onnx_mapping=onnx_mapping_from_node(node)
    )


CONVERTERS = (
    ("", "LpNormalization", 1, convert_lp_normalization),
    ("", "LpNormalization", 22, convert_lp_normalization),
    ("", "MeanVarianceNormalization", 9, convert_mean_variance_normalization),
    ("", "MeanVarianceNormalization", 13, convert_mean_variance_normalization),
)
