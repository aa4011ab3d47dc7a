"""Fix-up pass: a graph output that is one of several outputs of a node → an ``Identity`` of it.

onnx2torch builds a graph output from the torch node of the ONNX node that produces it, so
an output of a node with several (``MaxPool``'s values beside its ``Indices``, ``TopK``,
``Split``) came back as the whole tuple. The node's output is renamed (and every reader
follows) and an ``Identity`` gives the graph output its name again: the network's outputs,
their names and order are unchanged.
"""

from __future__ import annotations

import onnx
from onnx import helper

from ..graph import copy_model, mark_inserted, unique_name


def _shared(node: onnx.NodeProto) -> bool:
    return sum(1 for output in node.output if output) > 1


def split_multi_output_results(model: onnx.ModelProto) -> onnx.ModelProto:
    """Give each graph output computed by a multi-output node an ``Identity`` of its own."""
    outputs = {value.name for value in model.graph.output}
    if not any(_shared(node) and outputs & set(node.output) for node in model.graph.node):
        return model
    model = copy_model(model)
    renamed: dict[str, str] = {}
    nodes = []
    for node in model.graph.node:
        node.input[:] = [renamed.get(name, name) for name in node.input]
        nodes.append(node)
        if not _shared(node):
            continue
        for position, name in enumerate(node.output):
            if name in outputs:
                renamed[name] = unique_name(model, f"{name}_result")
                node.output[position] = renamed[name]
                nodes.append(
                    mark_inserted(
                        helper.make_node("Identity", [renamed[name]], [name], name=renamed[name]), node.name or name
                    )
                )
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return model
