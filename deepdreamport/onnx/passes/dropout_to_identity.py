"""Fix-up pass: inference-mode ``Dropout`` (and its mask output) → ``Identity``."""

from __future__ import annotations

import onnx
from onnx import helper

from ..graph import (
    copy_model,
    unique_name,
)


def dropout_to_identity(model: onnx.ModelProto) -> onnx.ModelProto:
    """Inference-mode ``Dropout`` is the identity; its mask output is dropped.

    A Dropout with a mask output converts in onnx2torch to a module returning
    a tuple, which can feed the wrong tensor downstream. A mask that something
    reads is replaced by a constant all-true mask of the same shape.
    """
    if not any(node.op_type == "Dropout" for node in model.graph.node):
        return model
    model = copy_model(model)
    used = {name for node in model.graph.node for name in node.input} | {v.name for v in model.graph.output}
    nodes = []
    for node in model.graph.node:
        if node.op_type != "Dropout":
            nodes.append(node)
            continue
        nodes.append(helper.make_node("Identity", [node.input[0]], [node.output[0]], name=node.name))
        if len(node.output) > 1 and node.output[1] and node.output[1] in used:
            shape = unique_name(model, node.output[1] + "_shape")
            nodes.append(helper.make_node("Shape", [node.input[0]], [shape], name=shape))
            nodes.append(
                helper.make_node(
                    "ConstantOfShape",
                    [shape],
                    [node.output[1]],
                    name=node.output[1],
                    value=helper.make_tensor("one", onnx.TensorProto.BOOL, [1], [True]),
                )
            )
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return model
