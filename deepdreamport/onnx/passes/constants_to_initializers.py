"""Fix-up pass: ``Constant`` nodes → initializers (Paddle and MATLAB style weights)."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

from ...errors import DeepDreamError
from ..graph import (
    copy_model,
)


def _constant_value(node: onnx.NodeProto) -> np.ndarray:
    attribute = node.attribute[0]
    value = helper.get_attribute_value(attribute)
    if attribute.name in ("value", "sparse_value"):
        return numpy_helper.to_array(value)
    dtypes = {"value_float": np.float32, "value_floats": np.float32, "value_int": np.int64, "value_ints": np.int64}
    if attribute.name in dtypes:
        return np.asarray(value, dtype=dtypes[attribute.name])
    raise DeepDreamError(
        "deepdreamport:onnx:UnsupportedConstant",
        f"net: Constant node {node.name or node.output[0]!r} uses attribute {attribute.name!r}.",
    )


def constants_to_initializers(model: onnx.ModelProto) -> onnx.ModelProto:
    """``Constant`` nodes (weights in Paddle and MATLAB exports) → initializers."""
    if not any(node.op_type == "Constant" for node in model.graph.node):
        return model
    model = copy_model(model)
    outputs = {value.name for value in model.graph.output}
    kept = []
    for node in model.graph.node:
        if node.op_type == "Constant" and node.output[0] not in outputs:
            model.graph.initializer.append(numpy_helper.from_array(_constant_value(node), node.output[0]))
        else:
            kept.append(node)
    del model.graph.node[:]
    model.graph.node.extend(kept)
    return model
