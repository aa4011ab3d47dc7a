"""Converters for ONNX ``QuantizeLinear`` and ``DequantizeLinear`` (opsets 10, 13, 19, 21): QDQ graphs.

Quantisation tools (onnxruntime's ``quantize_static``, TensorRT's QAT exports, torch's
``fake_quantize_*`` exported by TorchScript) write a float network with its weights stored as
int8/uint8 and ``DequantizeLinear`` in front of each use, and ``QuantizeLinear`` →
``DequantizeLinear`` pairs on the activations. The port runs such a graph in float:

* a ``DequantizeLinear`` of a constant (the weights; per tensor or per ``axis``) is folded to a
  float initializer before conversion by :mod:`~deepdreamport.onnx.passes.fold_constants`
  (ONNX's reference evaluator computes ``(w − zero_point) · scale``), so ``Conv`` and ``Gemm``
  read ordinary weights;
* ``QuantizeLinear``: ``q = clamp(round(x / scale) + zero_point, qmin, qmax)`` with rounding half
  to even, as ONNX; when every reader is a ``DequantizeLinear`` (a fake quantisation) ``q`` stays
  a float tensor holding those integers, with a straight-through gradient (1 where ``x`` is in
  the quantised range, 0 where it is clamped: the rule of torch's ``fake_quantize``), so the
  gradient a dream follows passes the pair; otherwise it is cast to the zero point's integer type
  (no gradient, as in ONNX);
* ``DequantizeLinear``: ``(q − zero_point) · scale``, in ``scale``'s dtype (``net.double()``
  makes it float64), any integer or float-held ``q``.

The forward values are onnxruntime's exactly (the same float division, rounding and product).
``scale`` and ``zero_point`` are 1-element (per tensor) or 1-D along ``axis`` (per axis);
the quantised type is the zero point's (uint8 without one) or ``output_dtype`` (opset 21).

Deviation: blocked quantisation (opset 21's ``block_size``) and the float8/int4 types are refused
when the network is converted, naming the node.
"""

from __future__ import annotations

from typing import Optional

import torch
from onnx import TensorProto
from onnx2torch.onnx_graph import OnnxGraph
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxMapping, OnnxToTorchModule, OperationConverterResult, get_const_value

RANGES = {
    torch.uint8: (0, 255),
    torch.int8: (-128, 127),
    torch.uint16: (0, 65535),
    torch.int16: (-32768, 32767),
}
"""The quantised integer types and their ranges."""
ONNX_TYPES = {
    TensorProto.UINT8: torch.uint8,
    TensorProto.INT8: torch.int8,
    TensorProto.UINT16: torch.uint16,
    TensorProto.INT16: torch.int16,
}


def _along(parameter: torch.Tensor, axis: int, rank: int) -> torch.Tensor:
    """A per-tensor (0-D or 1-element) parameter as is; a per-axis 1-D one shaped to broadcast along ``axis``."""
    if parameter.numel() == 1:
        return parameter.reshape(())
    shape = [1] * rank
    shape[axis % rank] = -1
    return parameter.reshape(shape)


class OnnxQuantizeLinear(torch.nn.Module, OnnxToTorchModule):
    """x (float) → ``clamp(round(x / scale) + zero_point)``: float-held integers with a straight-through gradient
    (``fake``), else the integer type ``dtype``."""

    def __init__(self, axis: int, dtype: torch.dtype, fake: bool):
        super().__init__()
        self.axis, self.dtype, self.fake = axis, dtype, fake
        self.low, self.high = RANGES[dtype]

    def forward(self, x: torch.Tensor, scale: torch.Tensor, zero_point: Optional[torch.Tensor] = None) -> torch.Tensor:
        scale = _along(scale, self.axis, x.dim()).to(x.dtype)
        offset = 0 if zero_point is None else _along(zero_point, self.axis, x.dim()).to(x.dtype)
        with torch.no_grad():
            unclamped = torch.round(x / scale) + offset
            quantised = unclamped.clamp(self.low, self.high)
        if not self.fake:
            return quantised.to(self.dtype)
        inside = ((unclamped >= self.low) & (unclamped <= self.high)).to(x.dtype)
        # value: the quantised integers exactly (x - x.detach() is 0); gradient: 1/scale inside the range
        return quantised + (x - x.detach()) * inside / scale


class OnnxDequantizeLinear(torch.nn.Module, OnnxToTorchModule):
    """q (integer, or float-held integers) → ``(q − zero_point) · scale`` in scale's dtype."""

    def __init__(self, axis: int):
        super().__init__()
        self.axis = axis

    def forward(self, q: torch.Tensor, scale: torch.Tensor, zero_point: Optional[torch.Tensor] = None) -> torch.Tensor:
        values = q if q.is_floating_point() else q.to(torch.int32)
        if zero_point is not None:
            values = values - _along(zero_point, self.axis, q.dim()).to(values.dtype)
        return values.to(scale.dtype) * _along(scale, self.axis, q.dim())


def _refuse_blocks(node: OnnxNode) -> None:
    if node.attributes.get("block_size", 0):
        raise NotImplementedError(f"{node.operation_type} with block_size={node.attributes['block_size']}")


def _quantised_type(node: OnnxNode, graph: OnnxGraph) -> torch.dtype:
    inputs = node.input_values
    if "output_dtype" in node.attributes and node.attributes["output_dtype"]:
        onnx_type = node.attributes["output_dtype"]
        if onnx_type not in ONNX_TYPES:
            raise NotImplementedError(f"QuantizeLinear to ONNX type {onnx_type} (expected uint8/int8/uint16/int16)")
        return ONNX_TYPES[onnx_type]
    if len(inputs) < 3 or not inputs[2]:
        return torch.uint8
    try:
        dtype = get_const_value(inputs[2], graph).dtype
    except KeyError:
        raise NotImplementedError("QuantizeLinear with a zero point computed at run time") from None
    if dtype not in RANGES:
        raise NotImplementedError(f"QuantizeLinear to {dtype} (expected uint8/int8/uint16/int16)")
    return dtype


def _only_dequantized(name: str, graph: OnnxGraph) -> bool:
    """Whether ``name`` is read by ``DequantizeLinear`` nodes only (as their quantised input) and is no graph output."""
    if name in graph.output_values:
        return False
    readers = [node for node in graph.nodes.values() if name in node.input_values]
    return bool(readers) and all(
        node.operation_type == "DequantizeLinear" and node.input_values[0] == name and name not in node.input_values[1:]
        for node in readers
    )


def convert_quantize_linear(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    _refuse_blocks(node)
    dtype = _quantised_type(node, graph)
    fake = _only_dequantized(node.output_values[0], graph)
    module = OnnxQuantizeLinear(node.attributes.get("axis", 1), dtype, fake)
    inputs = tuple(name for name in node.input_values if name)
    return OperationConverterResult(module, OnnxMapping(inputs=inputs, outputs=node.output_values))


def convert_dequantize_linear(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    _refuse_blocks(node)
    inputs = tuple(name for name in node.input_values if name)
    return OperationConverterResult(
        OnnxDequantizeLinear(node.attributes.get("axis", 1)), OnnxMapping(inputs=inputs, outputs=node.output_values)
    )


CONVERTERS = tuple(
    ("", op_type, version, converter)
    for op_type, converter in (
        ("QuantizeLinear", convert_quantize_linear),
        ("DequantizeLinear", convert_dequantize_linear),
    )
    for version in (10, 13, 19, 21)
)
