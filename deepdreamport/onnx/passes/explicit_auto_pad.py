"""Fix-up pass: ``auto_pad=SAME_UPPER/SAME_LOWER/VALID`` → explicit ``pads``."""

from __future__ import annotations

import math
from typing import Optional

import onnx

from ...errors import DeepDreamError
from ..graph import (
    attribute,
    copy_model,
    remove_attribute,
    set_ints,
    static_shapes,
)

_PADDED_OPS = ("Conv", "MaxPool", "AveragePool", "LpPool")


def same_padding(size: Optional[int], kernel: int, stride: int, dilation: int, upper: bool) -> tuple[int, int]:
    """(begin, end) padding of ONNX ``auto_pad=SAME_UPPER/SAME_LOWER`` on one axis."""
    extent = (kernel - 1) * dilation + 1
    if stride == 1:
        total = extent - 1
    else:
        if size is None:
            raise ValueError("size needed")
        total = max((math.ceil(size / stride) - 1) * stride + extent - size, 0)
    small, large = total // 2, total - total // 2
    return (small, large) if upper else (large, small)


def explicit_auto_pad(model: onnx.ModelProto) -> onnx.ModelProto:
    """``auto_pad`` on Conv and pooling nodes → explicit ``pads`` (onnx2torch lacks SAME_*)."""

    def has_auto_pad(node):
        return node.op_type in _PADDED_OPS and attribute(node, "auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET")

    if not any(has_auto_pad(node) for node in model.graph.node):
        return model
    model = copy_model(model)
    shapes = static_shapes(model)
    initializers = {init.name: init for init in model.graph.initializer}
    for node in model.graph.node:
        if not has_auto_pad(node):
            continue
        mode = attribute(node, "auto_pad")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        kernel = attribute(node, "kernel_shape")
        if kernel is None and node.input[1] in initializers:
            kernel = list(initializers[node.input[1]].dims[2:])
        if kernel is None:
            raise DeepDreamError(
                "deepdreamport:onnx:UnknownKernel",
                f"net: cannot make auto_pad explicit on {node.name!r}: its kernel size is not known.",
            )
        rank = len(kernel)
        strides = list(attribute(node, "strides", [1] * rank))
        dilations = list(attribute(node, "dilations", [1] * rank))
        if mode == "VALID":
            pads = [0] * (2 * rank)
        else:
            spatial = (shapes.get(node.input[0]) or [None] * (rank + 2))[2:]
            try:
                pairs = [
                    same_padding(spatial[i], kernel[i], strides[i], dilations[i], mode == "SAME_UPPER")
                    for i in range(rank)
                ]
            except ValueError:
                raise DeepDreamError(
                    "deepdreamport:onnx:DynamicSamePadding",
                    f"net: node {node.name!r} uses auto_pad={mode} with stride {strides} on an input of unknown "
                    "size; export the model with a fixed input size.",
                ) from None
            pads = [p[0] for p in pairs] + [p[1] for p in pairs]
        remove_attribute(node, "auto_pad")
        set_ints(node, "pads", pads)
    return model
