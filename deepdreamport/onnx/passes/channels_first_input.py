"""Fix-up pass: an N×H×W×C input read only through ``Transpose(perm=[0,3,1,2])`` → an N×C×H×W input."""

from __future__ import annotations

import onnx

from ..graph import (
    attribute,
    copy_model,
    graph_inputs,
)

TO_CHANNELS_FIRST = [0, 3, 1, 2]


def _transposes_to_channels_first(model: onnx.ModelProto, name: str) -> list[onnx.NodeProto]:
    """The nodes reading ``name``, if every one is ``Transpose(perm=[0,3,1,2])``; else ``[]``."""
    readers = [node for node in model.graph.node if name in node.input]
    if readers and all(
        node.op_type == "Transpose"
        and node.domain in ("", "ai.onnx")
        and list(attribute(node, "perm", [])) == TO_CHANNELS_FIRST
        for node in readers
    ):
        return readers
    return []


def channels_first_input(model: onnx.ModelProto) -> onnx.ModelProto:
    """A channels-last (NHWC) image input that the graph transposes first → a channels-first (NCHW) input.

    tf2onnx and Keras exports take N×H×W×C images and start with
    ``Transpose(perm=[0,3,1,2])``. The transposes are removed and the input
    declared N×C×H×W under the same name, so the network takes images like any
    other (layer table, receptive fields, activations, dream). The numbers are
    unchanged: the removed transposes only reordered the axes. An NHWC input
    read in any other way is left alone (and refused by the network, which
    names the layout).
    """
    targets = {value.name for value in graph_inputs(model) if len(value.type.tensor_type.shape.dim) == 4}
    outputs = {value.name for value in model.graph.output}
    targets = {
        name
        for name in targets
        if _transposes_to_channels_first(model, name)
        and not any(node.output[0] in outputs for node in _transposes_to_channels_first(model, name))
    }
    if not targets:
        return model
    model = copy_model(model)
    for value in model.graph.input:
        if value.name not in targets:
            continue
        dims = value.type.tensor_type.shape.dim
        reordered = [onnx.TensorShapeProto.Dimension() for _ in range(4)]
        for new, old in zip(reordered, TO_CHANNELS_FIRST):
            new.CopyFrom(dims[old])
        del dims[:]
        dims.extend(reordered)
    renamed: dict[str, str] = {}
    kept = []
    for node in model.graph.node:
        if node.op_type == "Transpose" and node.input and node.input[0] in targets:
            renamed[node.output[0]] = node.input[0]
            continue
        kept.append(node)
    for node in kept:
        for index, name in enumerate(node.input):
            if name in renamed:
                node.input[index] = renamed[name]
    del model.graph.node[:]
    model.graph.node.extend(kept)
    del model.graph.value_info[:]
    return model
