"""Fix-up pass: ``Reshape(allowzero=1)`` to a constant shape without a 0, or to a run-time shape → ``allowzero=0``."""

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
    """Drop ``allowzero=1`` from ``Reshape`` nodes whose target shape has no constant 0.

    PyTorch's dynamo exporter (opset ≥ 14) writes ``allowzero=1`` on every
    ``Reshape`` (``view``, ``flatten``); onnx2torch refuses the attribute. It
    only changes what a 0 in the target shape means (a zero-sized dimension
    instead of "copy the input's"), so without a 0 both meanings give the same
    result. A target computed at run time (one that depends on the image size,
    which :mod:`.static_reshape_targets` cannot fold) holds no 0 either whenever
    ``allowzero=1`` succeeds: a 0 there makes the output empty, which a tensor
    computed from an image (every side at least 1) is not, so the reshape would
    fail; with ``allowzero=0`` the results of every successful run are the same.
    A constant target with a 0 keeps the attribute and is refused when the
    network is loaded (it only works on empty tensors).
    """
    initializers = {init.name: init for init in model.graph.initializer}

    def harmless(node: onnx.NodeProto) -> bool:
        if node.op_type != "Reshape" or node.domain not in ("", "ai.onnx") or not attribute(node, "allowzero", 0):
            return False
        if len(node.input) < 2:
            return False
        if node.input[1] not in initializers:
            return True  # computed at run time (see above)
        return not np.any(numpy_helper.to_array(initializers[node.input[1]]) == 0)

    if not any(harmless(node) for node in model.graph.node):
        return model
    model = copy_model(model)
    for node in model.graph.node:
        if harmless(node):
            remove_attribute(node, "allowzero")
    return model
