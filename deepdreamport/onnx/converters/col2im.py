"""Converter for ONNX ``Col2Im`` (opset 18): ``F.fold``, the sum of sliding blocks back into an image.

``Col2Im(x, image_shape, block_shape)``: x N×(C·kH·kW)×L, the L blocks of each channel in
row-major order of their positions (what ``F.unfold`` gives, channel-major inside a column);
``image_shape`` [H, W], ``block_shape`` [kH, kW] → N×C×H×W, each entry the sum of the block
entries that land on it; ``dilations``, ``pads`` ([top, left, bottom, right]), ``strides``.
The TorchScript exporter writes ``F.fold``/``nn.Fold`` as ``Col2Im`` from opset 18. Exact: an
asymmetric padding is applied by folding into the padded image and cropping it (torch's
``padding`` is symmetric). ``image_shape`` and ``block_shape`` must be constants (they are in
every export). Gradients reach x; any float dtype.

Deviation: only 2-D images (``F.fold``'s limit): another number of spatial axes is refused
when the network is converted, naming the node.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from onnx2torch.onnx_graph import OnnxGraph
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxMapping, OnnxToTorchModule, OperationConverterResult, get_const_value

from ..passes.downgrade_opset import PORT_DOMAIN_VERSION
from ..passes.resize_input_mean import CUSTOM_DOMAIN


class OnnxCol2Im(torch.nn.Module, OnnxToTorchModule):
    """x N×(C·kH·kW)×L → N×C×H×W: ``F.fold`` into the padded image, cropped by ``pads``."""

    def __init__(self, image: list[int], block: list[int], dilations: list[int], pads: list[int], strides: list[int]):
        super().__init__()
        self.image, self.block, self.dilations, self.pads, self.strides = image, block, dilations, pads, strides

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top, left, bottom, right = self.pads
        padded = [self.image[0] + top + bottom, self.image[1] + left + right]
        folded = F.fold(x, padded, self.block, dilation=self.dilations, padding=0, stride=self.strides)
        return folded[..., top : top + self.image[0], left : left + self.image[1]]


def convert_col2im(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    x, image_name, block_name = node.input_values[:3]
    try:
        image = [int(v) for v in get_const_value(image_name, graph).tolist()]
        block = [int(v) for v in get_const_value(block_name, graph).tolist()]
    except KeyError:
        raise NotImplementedError("Col2Im with image_shape or block_shape computed at run time") from None
    if len(image) != 2 or len(block) != 2:
        raise NotImplementedError(f"Col2Im of a {len(image)}-D image (torch's fold takes 2-D images only)")
    module = OnnxCol2Im(
        image,
        block,
        list(node.attributes.get("dilations", [1, 1])),
        list(node.attributes.get("pads", [0, 0, 0, 0])),
        list(node.attributes.get("strides", [1, 1])),
    )
    return OperationConverterResult(module, OnnxMapping(inputs=(x,), outputs=node.output_values))


CONVERTERS = (
    ("", "Col2Im", 18, convert_col2im),
    (CUSTOM_DOMAIN, "Col2Im", PORT_DOMAIN_VERSION, convert_col2im),
)
