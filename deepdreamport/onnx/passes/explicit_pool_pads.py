"""Fix-up pass: asymmetric ``AveragePool`` pads → ``Pad`` + unpadded pool."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

from ..graph import (
    attribute,
    copy_model,
    mark_inserted,
    remove_attribute,
    set_ints,
    unique_name,
)


def explicit_pool_pads(model: onnx.ModelProto) -> onnx.ModelProto:
    """Asymmetric ``AveragePool`` pads → an explicit zero ``Pad`` and an unpadded pool.

    With ``count_include_pad=1`` that is exact as is. With the default
    ``count_include_pad=0`` the padded sum is divided by the pooled mask of
    valid pixels (a ones tensor padded the same way), which is ONNX's
    definition: padded positions do not count.
    """

    def asymmetric(node):
        if node.op_type != "AveragePool":
            return False
        pads = list(attribute(node, "pads", []) or [])
        half = len(pads) // 2
        return bool(pads) and pads[:half] != pads[half:]

    if not any(asymmetric(node) for node in model.graph.node):
        return model
    model = copy_model(model)
    nodes = []
    for node in model.graph.node:
        if not asymmetric(node):
            nodes.append(node)
            continue
        pads = list(attribute(node, "pads"))
        half = len(pads) // 2
        onnx_pads = [0, 0] + pads[:half] + [0, 0] + pads[half:]
        base = node.name or node.output[0]
        pads_name = unique_name(model, base + "_explicit_pads")
        model.graph.initializer.append(numpy_helper.from_array(np.asarray(onnx_pads, dtype=np.int64), pads_name))
        padded = unique_name(model, base + "_padded")
        nodes.append(
            mark_inserted(
                helper.make_node("Pad", [node.input[0], pads_name], [padded], name=padded, mode="constant"), base
            )
        )
        pool = onnx.NodeProto()
        pool.CopyFrom(node)
        set_ints(pool, "pads", [0] * len(pads))
        remove_attribute(pool, "count_include_pad")
        pool.input[0] = padded
        if attribute(node, "count_include_pad", 0):
            nodes.append(pool)
            continue
        pooled = unique_name(model, base + "_sum")
        pool.output[0] = pooled
        nodes.append(pool)
        names = {k: unique_name(model, f"{base}_{k}") for k in ("shape", "ones", "ones_padded", "count")}
        nodes += [
            helper.make_node("Shape", [node.input[0]], [names["shape"]], name=names["shape"]),
            helper.make_node(
                "ConstantOfShape",
                [names["shape"]],
                [names["ones"]],
                name=names["ones"],
                value=helper.make_tensor("one", onnx.TensorProto.FLOAT, [1], [1.0]),
            ),
            helper.make_node(
                "Pad", [names["ones"], pads_name], [names["ones_padded"]], name=names["ones_padded"], mode="constant"
            ),
        ]
        count = onnx.NodeProto()
        count.CopyFrom(pool)
        count.input[0] = names["ones_padded"]
        count.output[0] = names["count"]
        count.name = names["count"]
        nodes.append(count)
        nodes.append(
            mark_inserted(helper.make_node("Div", [pooled, names["count"]], [node.output[0]], name=node.name), base)
        )
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    del model.graph.value_info[:]
    return model
