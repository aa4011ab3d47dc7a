"""Fix-up pass: the graph input's batch 1 → symbolic ``N``; ``Reshape`` shapes with a hard-coded leading 1 → ``-1`` / ``0``."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import numpy_helper

from ..graph import (
    attribute,
    copy_model,
    graph_input_names,
    input_dependent,
    unique_name,
)


def free_batch_dimension(model: onnx.ModelProto) -> onnx.ModelProto:
    """Let the batch size vary: input dim 0 → ``N``; ``Reshape`` leading 1 → -1 or 0.

    A Reshape of an image-dependent tensor to a constant shape that starts with
    1 hard-codes the batch (CNTK and Caffe2 exports). The leading 1 becomes -1
    when the shape has no other -1, otherwise 0 (copy the input's batch).
    """
    model = copy_model(model)
    changed = False
    inputs = set(graph_input_names(model))
    for value in [v for v in model.graph.input if v.name in inputs] + list(model.graph.output):
        dims = value.type.tensor_type.shape.dim
        if len(dims) and dims[0].HasField("dim_value") and dims[0].dim_value == 1:
            dims[0].dim_param = "N"
            changed = True
    dependent = input_dependent(model)
    initializers = {init.name: init for init in model.graph.initializer}
    consumers: dict[str, int] = {}
    for node in model.graph.node:
        for name in node.input:
            consumers[name] = consumers.get(name, 0) + 1
    for node in model.graph.node:
        if node.op_type != "Reshape" or node.input[0] not in dependent or node.input[1] not in initializers:
            continue
        if attribute(node, "allowzero", 0):
            continue
        shape = numpy_helper.to_array(initializers[node.input[1]]).astype(np.int64)
        if shape.ndim != 1 or len(shape) < 2 or shape[0] != 1:
            continue
        shape = shape.copy()
        shape[0] = 0 if (shape[1:] == -1).any() else -1
        name = unique_name(model, node.input[1] + "_batch_free")
        tensor = numpy_helper.from_array(shape, name)
        model.graph.initializer.append(tensor)
        initializers[name] = tensor
        node.input[1] = name
        changed = True
    if not changed:
        return model
    del model.graph.value_info[:]  # stale batch sizes
    return model
