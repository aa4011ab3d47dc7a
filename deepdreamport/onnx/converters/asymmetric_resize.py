"""``Resize`` in ``linear`` mode with ``coordinate_transformation_mode='asymmetric'`` (opsets 11, 13), N×C×H×W.

Mirrors onnxruntime's ``Resize``: output pixel ``o`` samples the input at ``o / scale``
(``scale`` given, or ``out / in`` when ``sizes`` are), linearly between the two
neighbours, the last one repeated past the edge. This is how MATLAB's and older
exporters' ``Upsample`` (opsets 7–9, made ``Resize`` by
:func:`~deepdreamport.onnx.passes.upgrade_opset.upgrade_opset`) and TensorFlow 1's
``resize_bilinear`` (tf2onnx) sample. onnx2torch converts every ``linear`` ``Resize`` to
``F.interpolate(align_corners=False)``, which samples at half-pixel centres (more
than 40 % relative error on these graphs), with only a warning. Here each spatial axis
is resized by an interpolation matrix, ``Y = R_h · X · R_wᵀ``, in the input's dtype
(differentiable in the input). Other modes and ranks keep onnx2torch's converter.
"""

from __future__ import annotations

from typing import Callable, Optional

import torch
from onnx2torch.onnx_graph import OnnxGraph
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule, OperationConverterResult, onnx_mapping_from_node

Converter = Callable[[OnnxNode, OnnxGraph], OperationConverterResult]


def interpolation_matrix(size_in: int, size_out: int, scale: float, like: torch.Tensor) -> torch.Tensor:
    """``size_out × size_in``: row ``o`` weights the input samples around ``o / scale`` (edge repeated)."""
    position = torch.arange(size_out, dtype=torch.float64) / scale
    low = position.floor().clamp(max=size_in - 1)
    high = (low + 1).clamp(max=size_in - 1)
    weight = (position - low).clamp(0, 1)
    matrix = torch.zeros(size_out, size_in, dtype=torch.float64)
    rows = torch.arange(size_out)
    matrix.index_put_((rows, low.long()), 1 - weight, accumulate=True)
    matrix.index_put_((rows, high.long()), weight, accumulate=True)
    return matrix.to(dtype=like.dtype, device=like.device)


class OnnxAsymmetricLinearResize(torch.nn.Module, OnnxToTorchModule):
    """N×C×H×W → N×C×H'×W', bilinear at asymmetric coordinates ``o / scale``."""

    def forward(
        self,
        x: torch.Tensor,
        roi: Optional[torch.Tensor] = None,
        scales: Optional[torch.Tensor] = None,
        sizes: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        height, width = x.shape[-2:]
        if sizes is not None and sizes.numel():
            out_h, out_w = (int(v) for v in sizes.tolist()[-2:])
            scale_h, scale_w = out_h / height, out_w / width
        else:
            scale_h, scale_w = (float(v) for v in scales.tolist()[-2:])
            out_h, out_w = int(height * scale_h), int(width * scale_w)
        rows = interpolation_matrix(height, out_h, scale_h, x)
        columns = interpolation_matrix(width, out_w, scale_w, x)
        return torch.einsum("Hh,nchw,Ww->ncHW", rows, x, columns)


def asymmetric_linear(original: Converter) -> Converter:
    """:class:`OnnxAsymmetricLinearResize` for a 4-D ``linear`` asymmetric ``Resize``; else ``original``."""

    def convert(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
        value = graph.value_info.get(node.input_values[0])
        rank = len(value.type.tensor_type.shape.dim) if value is not None else 4
        if (
            node.attributes.get("mode", "nearest") != "linear"
            or node.attributes.get("coordinate_transformation_mode", "half_pixel") != "asymmetric"
            or rank != 4
        ):
            return original(node, graph)
        return OperationConverterResult(
            torch_module=OnnxAsymmetricLinearResize(), onnx_mapping=onnx_mapping_from_node(node)
        )

    return convert


WRAPPERS = {"Resize": asymmetric_linear}
