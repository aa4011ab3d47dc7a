"""Fix-up pass: a channels-last (N×H×W×C) image input → a channels-first (N×C×H×W) input."""

from __future__ import annotations

from typing import Optional

import onnx
from onnx import helper

from ..graph import (
    attribute,
    copy_model,
    graph_inputs,
    mark_inserted,
    static_dims,
    unique_name,
)

TO_CHANNELS_FIRST = [0, 3, 1, 2]
TO_CHANNELS_LAST = [0, 2, 3, 1]
IMAGE_CHANNELS = (1, 3, 4)
"""Channel counts of images (grey, RGB, RGBA)."""


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


def looks_channels_last(dims: list[Optional[int]]) -> bool:
    """An N×H×W×C image: the last axis has an image's channel count, axis 1 does not."""
    return len(dims) == 4 and dims[3] in IMAGE_CHANNELS and (dims[1] is None or dims[1] not in IMAGE_CHANNELS)


def channels_first_input(model: onnx.ModelProto) -> onnx.ModelProto:
    """A channels-last (NHWC) image input → a channels-first (NCHW) input, with the same numbers.

    tf2onnx and Keras exports take N×H×W×C images; ONNX convolutions work on
    N×C×H×W, so these graphs transpose the input (``Transpose(perm=[0,3,1,2])``),
    at once or after a few element-wise steps (a ``Rescaling``). The input is
    declared N×C×H×W under the same name, so the network takes images like any
    other (layer table, receptive fields, activations, dream):

    * read only through ``Transpose(perm=[0,3,1,2])`` (the layout is then certain):
      the transposes are removed;
    * otherwise, when the input looks channels-last (its last axis is 1, 3 or 4
      and axis 1 is not): a ``Transpose(perm=[0,2,3,1])`` back to N×H×W×C is
      put in front of the graph, which then computes exactly what it did.
    """
    outputs = {value.name for value in model.graph.output}
    direct, inserted = set(), set()
    for value in graph_inputs(model):
        dims = static_dims(value)
        if len(dims) != 4:
            continue
        readers = _transposes_to_channels_first(model, value.name)
        if readers and not any(node.output[0] in outputs for node in readers):
            direct.add(value.name)
        elif looks_channels_last(dims) and value.name not in outputs:
            inserted.add(value.name)
    if not direct and not inserted:
        return model
    model = copy_model(model)
    for value in model.graph.input:
        if value.name in direct | inserted:
            dims = value.type.tensor_type.shape.dim
            reordered = [onnx.TensorShapeProto.Dimension() for _ in range(4)]
            for new, old in zip(reordered, TO_CHANNELS_FIRST):
                new.CopyFrom(dims[old])
            del dims[:]
            dims.extend(reordered)
    renamed: dict[str, str] = {name: unique_name(model, name + "_channels_last") for name in inserted}
    front = [
        mark_inserted(
            helper.make_node("Transpose", [name], [renamed[name]], name=renamed[name], perm=TO_CHANNELS_LAST), name
        )
        for name in sorted(inserted)
    ]
    nodes = []
    for node in model.graph.node:
        if node.op_type == "Transpose" and node.input and node.input[0] in direct:
            renamed[node.output[0]] = node.input[0]
            continue
        nodes.append(node)
    for node in nodes:
        for index, name in enumerate(node.input):
            if name in renamed:
                node.input[index] = renamed[name]
    nodes = front + nodes
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    del model.graph.value_info[:]
    return model
