"""Converters for ONNX ``GridSample`` (opsets 16, 20) and ``AffineGrid`` (opset 20): ``F.grid_sample``, ``F.affine_grid``.

Spatial transformer networks, deformable sampling and optical-flow warping sample an image
at positions the network computes; torch's exporters write ``F.grid_sample`` as
``GridSample`` (TorchScript from opset 16, dynamo) and ``F.affine_grid`` as ``AffineGrid``
(TorchScript at opset 20). ONNX took both from torch, so they agree:

* ``GridSample(X, grid)``: X N×C×H×W (or N×C×D×H×W at opset 20), grid N×Hout×Wout×2
  (N×Dout×Hout×Wout×3) of normalised (x, y[, z]) in [-1, 1] → N×C×Hout×Wout; ``mode``
  ``bilinear``/``nearest``/``bicubic`` (opset 16) or ``linear``/``nearest``/``cubic``
  (opset 20, the same samplers renamed; torch's ``bilinear`` on 5-D input is ONNX's trilinear
  ``linear``), ``padding_mode`` ``zeros``/``border``/``reflection``, ``align_corners`` (0: the
  extreme values are the outer pixels' edges, 1: their centres); nearest rounds halves to even
  (torch and onnxruntime both use ``nearbyint``). Gradients reach X and the grid (bilinear,
  bicubic; nearest passes none to the grid).
* ``AffineGrid(theta, size)``: theta N×2×3 (N×3×4), size ``[N, C, H, W]`` (``[N, C, D, H, W]``)
  → the N×H×W×2 (N×D×H×W×3) grid of ``theta · (x, y[, z], 1)`` over the normalised output
  positions; gradients reach theta.

Deviation: a 5-D ``cubic`` ``GridSample`` (tricubic) is refused: torch has no tricubic sampling.
Both also serve the port's own ``deepdreamport::GridSample``/``AffineGrid`` nodes, written by
:func:`~deepdreamport.onnx.passes.downgrade_opset.downgrade_opset` when it lowers the rest of a
graph to opset 17 (ONNX's converter has no adapter for opset 20's ``GridSample``).
"""

from __future__ import annotations

from typing import Optional

import torch
from onnx2torch.onnx_graph import OnnxGraph
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import (
    OnnxMapping,
    OnnxToTorchModule,
    OperationConverterResult,
    get_const_value,
    onnx_mapping_from_node,
)

from ..passes.downgrade_opset import PORT_DOMAIN_VERSION
from ..passes.resize_input_mean import CUSTOM_DOMAIN
from .unknown_rank import input_shape

TORCH_MODES = {
    "bilinear": "bilinear",
    "linear": "bilinear",
    "nearest": "nearest",
    "bicubic": "bicubic",
    "cubic": "bicubic",
}
"""ONNX ``GridSample`` modes (opset 16 and opset 20 names) → ``F.grid_sample``'s."""
PADDING_MODES = ("zeros", "border", "reflection")


class OnnxGridSample(torch.nn.Module, OnnxToTorchModule):
    """``F.grid_sample(x, grid)``: x N×C×H×W (N×C×D×H×W), grid N×Hout×Wout×2 (N×Dout×Hout×Wout×3)."""

    def __init__(self, mode: str, padding_mode: str, align_corners: bool):
        super().__init__()
        self.mode = mode
        self.padding_mode = padding_mode
        self.align_corners = align_corners

    def forward(self, x: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
        if x.dim() == 5 and self.mode == "bicubic":
            raise NotImplementedError("GridSample: mode=cubic on a 5-D input (tricubic) has no torch equivalent")
        return torch.nn.functional.grid_sample(
            x, grid.to(x.dtype), mode=self.mode, padding_mode=self.padding_mode, align_corners=self.align_corners
        )


class OnnxAffineGrid(torch.nn.Module, OnnxToTorchModule):
    """``F.affine_grid(theta, size)``: theta N×2×3 (N×3×4), size [N, C, H, W] ([N, C, D, H, W]) → N×H×W×2 (…×3).

    ``size`` is held when the graph gives it as a constant (read once: no data-dependent read for
    ``torch.compile``), else read from the second input at each call.
    """

    def __init__(self, align_corners: bool, size: Optional[list[int]] = None):
        super().__init__()
        self.align_corners = align_corners
        self.size = size

    def forward(self, theta: torch.Tensor, size: Optional[torch.Tensor] = None) -> torch.Tensor:
        shape = self.size if self.size is not None else [int(v) for v in size.tolist()]
        return torch.nn.functional.affine_grid(theta, shape, align_corners=self.align_corners)


def convert_grid_sample(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    mode = node.attributes.get("mode", "bilinear")
    padding_mode = node.attributes.get("padding_mode", "zeros")
    if mode not in TORCH_MODES:
        raise NotImplementedError(f"GridSample with mode={mode!r} (expected one of {', '.join(TORCH_MODES)})")
    if padding_mode not in PADDING_MODES:
        raise NotImplementedError(
            f"GridSample with padding_mode={padding_mode!r} (expected {', '.join(PADDING_MODES)})"
        )
    shape = input_shape(node, graph)
    if TORCH_MODES[mode] == "bicubic" and shape is not None and len(shape) == 5:
        raise NotImplementedError("GridSample: mode=cubic on a 5-D input (tricubic) has no torch equivalent")
    module = OnnxGridSample(TORCH_MODES[mode], padding_mode, bool(node.attributes.get("align_corners", 0)))
    return OperationConverterResult(torch_module=module, onnx_mapping=onnx_mapping_from_node(node))


def convert_affine_grid(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    align_corners = bool(node.attributes.get("align_corners", 0))
    theta, size = node.input_values[:2]
    try:
        constant = [int(v) for v in get_const_value(size, graph).tolist()]
    except KeyError:  # computed in the graph (from a Shape): read at each call
        return OperationConverterResult(OnnxAffineGrid(align_corners), onnx_mapping_from_node(node))
    return OperationConverterResult(
        OnnxAffineGrid(align_corners, constant), OnnxMapping(inputs=(theta,), outputs=node.output_values)
    )


CONVERTERS = (
    ("", "GridSample", 16, convert_grid_sample),
    ("", "GridSample", 20, convert_grid_sample),
    ("", "GridSample", 22, convert_grid_sample),
    ("", "AffineGrid", 20, convert_affine_grid),
    (CUSTOM_DOMAIN, "GridSample", PORT_DOMAIN_VERSION, convert_grid_sample),
    (CUSTOM_DOMAIN, "AffineGrid", PORT_DOMAIN_VERSION, convert_affine_grid),
)
