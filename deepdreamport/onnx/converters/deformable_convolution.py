"""Converter for ONNX ``DeformConv`` (opsets 19, 22): ``torchvision.ops.deform_conv2d``.

Deformable convolution (DCN v1, and v2 with a mask) samples each kernel tap at its regular
position moved by an offset the network computes. ``DeformConv(X, W, offset[, B[, mask]])``:
X N×C×H×W, W oC×(C/group)×kH×kW, offset N×(offset_group·kH·kW·2)×oH×oW, B oC, mask
N×(offset_group·kH·kW)×oH×oW → N×oC×oH×oW; attributes ``dilations``, ``group``,
``kernel_shape``, ``offset_group``, ``pads``, ``strides``. ONNX took the operator from
torchvision and they agree (checked against ONNX's reference evaluator): the offsets are laid
out offset group × kH × kW × (Δrow, Δcolumn), the mask offset group × kH × kW multiplies each
sampled value, and a sample is bilinear with zeros outside the image. Gradients reach X, W,
the offsets, the mask and B.

Deviation: 2-D only (torchvision's limit; ONNX allows any number of spatial axes), and symmetric
``pads`` (torchvision pads both sides alike): others are refused when the network is converted,
naming the node.
"""

from __future__ import annotations

from typing import Optional

import torch
from onnx2torch.onnx_graph import OnnxGraph
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule, OperationConverterResult, onnx_mapping_from_node
from torchvision.ops import deform_conv2d

from ..passes.downgrade_opset import PORT_DOMAIN_VERSION
from ..passes.resize_input_mean import CUSTOM_DOMAIN


class OnnxDeformConv(torch.nn.Module, OnnxToTorchModule):
    """``deform_conv2d(x, offset, weight, bias, mask=mask)``; inputs in ONNX's order, bias and mask optional."""

    def __init__(self, strides: list[int], pads: list[int], dilations: list[int], has_bias: bool):
        super().__init__()
        self.strides, self.pads, self.dilations, self.has_bias = strides, pads, dilations, has_bias

    def forward(
        self,
        x: torch.Tensor,
        weight: torch.Tensor,
        offset: torch.Tensor,
        bias_or_mask: Optional[torch.Tensor] = None,
        mask: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        bias = bias_or_mask if self.has_bias else None
        if not self.has_bias and mask is None:
            mask = bias_or_mask
        return deform_conv2d(
            x, offset, weight, bias, stride=self.strides, padding=self.pads, dilation=self.dilations, mask=mask
        )


def convert_deform_conv(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    kernel = node.attributes.get("kernel_shape")
    rank = len(kernel) if kernel is not None else 2
    pads = list(node.attributes.get("pads", [0] * 2 * rank))
    if rank != 2:
        raise NotImplementedError(f"DeformConv with {rank} spatial axes (torchvision's deform_conv2d is 2-D)")
    if pads[:2] != pads[2:]:
        raise NotImplementedError(f"DeformConv with asymmetric pads={pads} (torchvision pads both sides alike)")
    inputs = list(node.input_values)
    has_bias = len(inputs) > 3 and bool(inputs[3])
    # group and offset_group are read by torchvision from the shapes of the weight and the offsets
    module = OnnxDeformConv(
        list(node.attributes.get("strides", [1, 1])),
        pads[:2],
        list(node.attributes.get("dilations", [1, 1])),
        has_bias,
    )
    mapping = onnx_mapping_from_node(node)  # without a bias (an empty name) the mask moves up
    return OperationConverterResult(module, mapping._replace(inputs=tuple(name for name in inputs if name)))


CONVERTERS = (
    ("", "DeformConv", 19, convert_deform_conv),
    ("", "DeformConv", 22, convert_deform_conv),
    (CUSTOM_DOMAIN, "DeformConv", PORT_DOMAIN_VERSION, convert_deform_conv),
)
