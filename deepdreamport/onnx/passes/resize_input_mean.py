"""Fix-up pass: ``Sub(input, mean)`` with an H×W mean → resized to the image at run time."""

from __future__ import annotations

import onnx
from onnx import helper

from ..graph import (
    copy_model,
    default_opset,
    graph_input_names,
)

CUSTOM_DOMAIN = "deepdreamport"
RESIZED_MEAN_OP = "SubtractResizedMean"


def resize_input_mean(model: onnx.ModelProto) -> onnx.ModelProto:
    """``Sub(input, mean)`` with an H×W mean (MATLAB's average image) → resized at run time.

    The mean becomes input 1 of a ``deepdreamport::SubtractResizedMean`` node,
    converted by :mod:`.converters` to ``x - resizeImage(mean, size(x))``.
    Per-channel means (spatial size 1×1) are left alone: they broadcast.

    The op is also declared as a model-local ONNX function whose body is the
    plain ``Sub`` (what it computes at the declared input size), so ONNX shape
    inference follows it: converters after it that need their input's rank
    (``BatchNormalization``) keep working, and onnxruntime can run the result.
    """
    inputs = set(graph_input_names(model))
    initializers = {init.name: init for init in model.graph.initializer}

    def spatial_mean(node):
        if node.op_type != "Sub" or node.input[0] not in inputs or node.input[1] not in initializers:
            return False
        dims = list(initializers[node.input[1]].dims)
        return len(dims) >= 2 and (dims[-1] > 1 or dims[-2] > 1)

    if not any(spatial_mean(node) for node in model.graph.node):
        return model
    model = copy_model(model)
    for node in model.graph.node:
        if spatial_mean(node):
            node.op_type = RESIZED_MEAN_OP
            node.domain = CUSTOM_DOMAIN
    if not any(entry.domain == CUSTOM_DOMAIN for entry in model.opset_import):
        model.opset_import.append(helper.make_opsetid(CUSTOM_DOMAIN, 1))
    if not any(f.domain == CUSTOM_DOMAIN and f.name == RESIZED_MEAN_OP for f in model.functions):
        model.functions.append(_declared_size_function(default_opset(model)))
    return model


def _declared_size_function(opset: int) -> onnx.FunctionProto:
    """``SubtractResizedMean(x, mean) = Sub(x, mean)``: its value at the declared input size, for shape inference."""
    return helper.make_function(
        CUSTOM_DOMAIN,
        RESIZED_MEAN_OP,
        ["x", "mean"],
        ["y"],
        [helper.make_node("Sub", ["x", "mean"], ["y"])],
        [helper.make_opsetid("", opset)],
    )
