"""``MaxPool`` with its ``Indices`` output (opsets 8–12, 22) and ``MaxUnpool`` (opsets 9, 11): the SegNet pair.

An encoder–decoder such as SegNet records where each maximum came from (``MaxPool``'s second
output) and puts the decoder's values back there (``MaxUnpool``). ONNX and torch number those
places differently:

* ONNX: one flat index over the whole N×C×D1×…×Dk input, ``((n·C + c)·D1 + d1)·D2 + …``
  (``storage_order=0``), or with the spatial axes in column-major order (``storage_order=1``:
  ``d1 + D1·(d2 + D2·…)`` within the channel), never counting the padding;
* torch (``max_poolNd(..., return_indices=True)``): the row-major index within the channel's
  D1×…×Dk plane.

:class:`OnnxMaxPoolWithIndices` pools with torch and converts its indices to ONNX's exactly
(an asymmetric padding is applied as a ``-inf`` pad first, as onnx2torch does, and the indices
are moved back from the padded plane). onnx2torch's ``MaxPool`` converter is wrapped
(:data:`WRAPPERS`): a node with an ``Indices`` output, or a ``storage_order`` it refuses, gets
this module; any other node keeps onnx2torch's own. :class:`OnnxMaxUnpool` scatters the values
to ONNX's flat indices of an output of ``output_shape`` (the optional third input: a constant is
read once, a computed one at each call) or of the default size ``(Di − 1)·stride − pads + kernel``
per spatial axis; so the pair is exact whatever the layout, and gradients reach the values.
Where indices repeat (overlapping windows), the last value written wins, as in onnxruntime
(decided deterministically, not by the order of a parallel scatter).
"""

from __future__ import annotations

import math
from typing import Callable, Optional

import torch
import torch.nn.functional as F
from onnx2torch.onnx_graph import OnnxGraph
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import (
    OnnxMapping,
    OnnxToTorchModule,
    OperationConverterResult,
    get_const_value,
    onnx_mapping_from_node,
)

Converter = Callable[[OnnxNode, OnnxGraph], OperationConverterResult]

_POOLS = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}


class OnnxMaxPoolWithIndices(torch.nn.Module, OnnxToTorchModule):
    """``MaxPool`` of x N×C×D1…Dk (k = 1–3) → (values N×C×O1…Ok, ONNX's flat int64 indices of the same shape)."""

    def __init__(
        self,
        kernel: list[int],
        strides: list[int],
        pads: list[int],
        dilations: list[int],
        ceil_mode: bool,
        column_major: bool,
    ):
        super().__init__()
        self.kernel, self.strides, self.dilations = kernel, strides, dilations
        self.ceil_mode, self.column_major = ceil_mode, column_major
        rank = len(kernel)
        self.begins, self.ends = pads[:rank], pads[rank:]
        self.symmetric = self.begins == self.ends and all(2 * p <= k for p, k in zip(self.begins, kernel))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        rank = len(self.kernel)
        spatial = list(x.shape[2:])
        padded = x
        if not self.symmetric and (any(self.begins) or any(self.ends)):
            torch_pads = [p for axis in reversed(range(rank)) for p in (self.begins[axis], self.ends[axis])]
            padded = F.pad(x, torch_pads, value=float("-inf"))
        values, plane_indices = _POOLS[rank](
            padded,
            self.kernel,
            self.strides,
            self.begins if self.symmetric else 0,
            self.dilations,
            ceil_mode=self.ceil_mode,
            return_indices=True,
        )
        pooled_dims = list(padded.shape[2:]) if padded is not x else spatial
        coordinates = []
        remainder = plane_indices
        for axis in reversed(range(rank)):
            coordinate = remainder % pooled_dims[axis]
            remainder = remainder // pooled_dims[axis]
            if padded is not x:
                coordinate = coordinate - self.begins[axis]
            coordinates.insert(0, coordinate)
        axes = reversed(range(rank)) if self.column_major else range(rank)
        within = torch.zeros_like(plane_indices)
        for axis in axes:
            within = within * spatial[axis] + coordinates[axis]
        batch, channels = x.shape[0], x.shape[1]
        planes = torch.arange(batch * channels, device=x.device, dtype=torch.int64).reshape(
            batch, channels, *([1] * rank)
        )
        return values, planes * math.prod(spatial) + within


class OnnxMaxUnpool(torch.nn.Module, OnnxToTorchModule):
    """``MaxUnpool(x, indices[, output_shape])``: x and indices N×C×I1…Ik → N×C×O1…Ok, zeros but at the indices."""

    def __init__(self, kernel: list[int], strides: list[int], pads: list[int], output_shape: Optional[list[int]]):
        super().__init__()
        self.kernel, self.strides, self.pads = kernel, strides, pads
        self.output_shape = output_shape

    def _default_shape(self, x: torch.Tensor) -> list[int]:
        rank = len(self.kernel)
        return [*x.shape[:2]] + [
            (x.shape[2 + axis] - 1) * self.strides[axis] - self.pads[axis] - self.pads[rank + axis] + self.kernel[axis]
            for axis in range(rank)
        ]

    def forward(
        self, x: torch.Tensor, indices: torch.Tensor, output_shape: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        if self.output_shape is not None:
            shape = self.output_shape
        elif output_shape is not None:
            shape = [int(v) for v in output_shape.tolist()]
        else:
            shape = self._default_shape(x)
        flat_indices = indices.reshape(-1).to(torch.int64)
        positions = torch.arange(flat_indices.numel(), device=x.device)
        writer = torch.full((math.prod(shape),), -1, dtype=torch.int64, device=x.device)
        writer = writer.scatter_reduce(0, flat_indices, positions, reduce="amax")
        written = x.reshape(-1)[writer.clamp(min=0)]
        return torch.where(writer >= 0, written, torch.zeros_like(written)).reshape(shape)


def _pool_attributes(node: OnnxNode, rank: int) -> tuple[list[int], list[int], list[int]]:
    kernel = list(node.attributes["kernel_shape"])
    strides = list(node.attributes.get("strides", [1] * rank))
    pads = list(node.attributes.get("pads", [0] * 2 * rank))
    return kernel, strides, pads


def with_indices(original: Converter) -> Converter:
    """onnx2torch's ``MaxPool`` converter ``original``; a node with ``Indices`` or ``storage_order=1`` → our module."""

    def convert(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
        outputs = node.output_values
        indices_used = len(outputs) > 1 and bool(outputs[1])
        if not indices_used and not node.attributes.get("storage_order", 0):
            return original(node, graph)
        if node.attributes.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
            raise NotImplementedError("MaxPool with indices: auto_pad SAME_* (the explicit_auto_pad pass writes pads)")
        rank = len(node.attributes["kernel_shape"])
        if rank not in _POOLS:
            raise NotImplementedError(f"MaxPool with {rank} spatial axes (expected 1 to 3)")
        kernel, strides, pads = _pool_attributes(node, rank)
        module = OnnxMaxPoolWithIndices(
            kernel,
            strides,
            pads,
            list(node.attributes.get("dilations", [1] * rank)),
            bool(node.attributes.get("ceil_mode", 0)),
            bool(node.attributes.get("storage_order", 0)),
        )
        if not indices_used:
            return OperationConverterResult(_ValuesOnly(module), OnnxMapping(node.input_values[:1], outputs[:1]))
        return OperationConverterResult(module, OnnxMapping(node.input_values[:1], tuple(outputs[:2])))

    return convert


class _ValuesOnly(torch.nn.Module, OnnxToTorchModule):
    """The values output of a pooling module that returns (values, indices)."""

    def __init__(self, pool: torch.nn.Module):
        super().__init__()
        self.pool = pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x)[0]


def convert_max_unpool(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    rank = len(node.attributes["kernel_shape"])
    kernel, strides, pads = _pool_attributes(node, rank)
    inputs = node.input_values
    if len(inputs) < 3 or not inputs[2]:
        return OperationConverterResult(
            OnnxMaxUnpool(kernel, strides, pads, None), OnnxMapping(inputs[:2], node.output_values)
        )
    try:
        output_shape = [int(v) for v in get_const_value(inputs[2], graph).tolist()]
    except KeyError:  # computed in the graph (the Shape of the pooled tensor): read at each call
        return OperationConverterResult(OnnxMaxUnpool(kernel, strides, pads, None), onnx_mapping_from_node(node))
    return OperationConverterResult(
        OnnxMaxUnpool(kernel, strides, pads, output_shape), OnnxMapping(inputs[:2], node.output_values)
    )


CONVERTERS = tuple(("", "MaxUnpool", version, convert_max_unpool) for version in (9, 11))
WRAPPERS = {"MaxPool": with_indices}
