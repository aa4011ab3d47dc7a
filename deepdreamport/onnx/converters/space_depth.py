"""Converters for ONNX ``SpaceToDepth`` (opsets 1, 13) and ``DepthToSpace`` in ``DCR`` mode (opsets 11, 13).

Mirror the ONNX definitions (reshape, transpose, reshape), which tf2onnx writes for
TensorFlow's ``space_to_depth``/``depth_to_space`` (YOLOv2's "reorg", sub-pixel
upsampling) and which MATLAB's ``spaceToDepthLayer``/``depthToSpace2dLayer`` export to;
b = ``blocksize``, x N×C×H×W:

* ``SpaceToDepth``: N×C×H×W → N×(b·b·C)×(H/b)×(W/b), output channel ``(i·b + j)·C + c``
  holding ``x[c, b·h + i, b·w + j]`` (not ``F.pixel_unshuffle``'s ``c·b·b + i·b + j``);
* ``DepthToSpace`` ``DCR`` (depth-column-row, the default and TensorFlow's order):
  N×C×H×W → N×(C/b²)×(b·H)×(b·W), input channel ``(i·b + j)·C/b² + c`` to
  ``y[c, b·h + i, b·w + j]``. onnx2torch converts the ``CRD`` mode only
  (``F.pixel_shuffle``: what torch exports); ``CRD`` nodes keep its converter.

Both are pure permutations: gradients pass through unchanged, any dtype.
"""

from __future__ import annotations

from typing import Callable

import torch
from onnx2torch.onnx_graph import OnnxGraph
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule, OperationConverterResult, onnx_mapping_from_node


class OnnxSpaceToDepth(torch.nn.Module, OnnxToTorchModule):
    """N×C×H×W → N×(b·b·C)×(H/b)×(W/b), blocks to channels in ONNX's (row, column, channel) order."""

    def __init__(self, blocksize: int):
        super().__init__()
        self.blocksize = blocksize

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        b = self.blocksize
        blocks = x.reshape(n, c, h // b, b, w // b, b).permute(0, 3, 5, 1, 2, 4)
        return blocks.reshape(n, c * b * b, h // b, w // b)


class OnnxDepthToSpaceDCR(torch.nn.Module, OnnxToTorchModule):
    """N×C×H×W → N×(C/b²)×(b·H)×(b·W), channels to blocks in ONNX's depth-column-row order."""

    def __init__(self, blocksize: int):
        super().__init__()
        self.blocksize = blocksize

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        b = self.blocksize
        blocks = x.reshape(n, b, b, c // (b * b), h, w).permute(0, 3, 4, 1, 5, 2)
        return blocks.reshape(n, c // (b * b), h * b, w * b)


def convert_space_to_depth(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    module = OnnxSpaceToDepth(int(node.attributes["blocksize"]))
    return OperationConverterResult(torch_module=module, onnx_mapping=onnx_mapping_from_node(node))


Converter = Callable[[OnnxNode, OnnxGraph], OperationConverterResult]


def depth_to_space_any_mode(original: Converter) -> Converter:
    """onnx2torch's ``DepthToSpace`` converter for ``CRD``; :class:`OnnxDepthToSpaceDCR` for ``DCR``."""

    def convert(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
        if node.attributes.get("mode", "DCR") != "DCR":
            return original(node, graph)
        module = OnnxDepthToSpaceDCR(int(node.attributes["blocksize"]))
        return OperationConverterResult(torch_module=module, onnx_mapping=onnx_mapping_from_node(node))

    return convert


CONVERTERS = (
    ("", "SpaceToDepth", 1, convert_space_to_depth),
    ("", "SpaceToDepth", 13, convert_space_to_depth),
)
WRAPPERS = {"DepthToSpace": depth_to_space_any_mode}
