"""``LessOrEqual`` and ``GreaterOrEqual`` at opset 16: onnx2torch's opset-12 converters.

Opset 16 only added bfloat16 to these comparisons; onnx2torch registers them for
opset 12 only, so every graph at opset 16 or later that compares with ``<=``/``>=``
was refused (torch's dynamo exporter writes ``LessOrEqual`` for ``nn.Hardshrink``,
``nn.Threshold`` and masks such as ``x <= t``). The same converters are registered
for opset 16 (:func:`converters`, called once onnx2torch's own are registered).
"""

from __future__ import annotations

from onnx2torch.node_converters import get_converter

OPERATORS = ("LessOrEqual", "GreaterOrEqual")


def converters() -> tuple:
    """``(domain, op_type, 16, onnx2torch's opset-12 converter)`` for each of :data:`OPERATORS`."""
    return tuple(("", op, 16, get_converter(operation_type=op, version=12, domain="")) for op in OPERATORS)
