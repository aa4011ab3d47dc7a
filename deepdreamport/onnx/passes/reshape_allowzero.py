"""Fix-up pass: ``Reshape(allowzero=1)`` to a constant shape without a 0 → ``allowzero=0``."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import numpy_helper

from ..graph import (
    attribute,
    copy_model,
    remove_attribute,
)


def reshape_allowzero(model: onnx.ModelProto) -> onnx.ModelProto:
    """Drop ``allowzero=1`` from ``Reshape`` nodes whose target shape is constant and has no 0.

    PyTorch's dynamo exporter (opset ≥ 14) writes ``allowzero=1`` on every
    ``Reshape`` (``view``, ``flatten``); onnx2torch refuses the attribute. It
    only changes what a 0 in the target shape means (a zero-sized dimension
    instead of "copy the input's"), so without a 0 both meanings give the same
    result. A ``Reshape`` whose shape is computed at run time, or has a 0,
    keeps the attribute and is refused when the network is loaded.
    """
    initializers = {init.name: init for init in model.graph.initializer}

    def harmless(node: onnx.NodeProto) -> bool:
        if node.op_type != "Reshape" or node.domain not in ("", "ai.onnx") or not attribute(node, "allowzero", 0):
            return False
        if len(node.input) < 2 or node.input[1] not in initializers:
            return False
        return not np.any(numpy_helper.to_array(initializers[node.input[1]]) == 0)

    if not any(harmless(node) for node in model.graph.node):
        return model
    model = copy_model(model)
    for node in model.graph.node:
        if harmless(node):
            remove_attribute(node, "allowzero")
    return model
