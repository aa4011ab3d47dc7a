"""Fix-up pass: nodes whose inputs are all constant (the ``ConstantOfShape`` weights of the "light" models, the
``DequantizeLinear`` int8 weights of QDQ graphs) → initializers."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

from ..graph import copy_model, evaluate_node, graph_input_names

_NOT_FOLDED = {"Constant", "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial"}
_EVALUATED_FROM = {"QuantizeLinear": 19, "DequantizeLinear": 19}
"""Operators ONNX's reference evaluator implements from a later opset only, evaluated there: opset 19 added the float8
types to the quantisation operators, nothing changed for the integer ones (the int8/uint8 weights of QDQ graphs)."""
_SUBGRAPHS = {"If", "Loop", "Scan"}
"""Their branches read outer tensors that are not among their inputs: an ``If`` on a constant condition is
inlined by :mod:`.inline_static_if`, the others are refused."""


def fold_constants(model: onnx.ModelProto) -> onnx.ModelProto:
    """Evaluate nodes whose inputs are all initializers and store the results.

    onnx2torch reads convolution and Gemm weights from initializers only; the
    "light" model-zoo graphs compute theirs with ``ConstantOfShape``.
    """

    initializers = {init.name: init for init in model.graph.initializer}
    inputs = set(graph_input_names(model))
    outputs = {value.name for value in model.graph.output}

    def foldable(node: onnx.NodeProto) -> bool:
        return (
            node.domain in ("", "ai.onnx")
            and node.op_type not in _NOT_FOLDED | _SUBGRAPHS
            and all(not name or (name in initializers and name not in inputs) for name in node.input)
            and not any(o in outputs for o in node.output)
        )

    if not any(foldable(node) for node in model.graph.node):
        return model
    model = copy_model(model)
    opset = [entry for entry in model.opset_import if entry.domain in ("", "ai.onnx")]
    kept = []
    arrays: dict[str, np.ndarray] = {}
    for node in model.graph.node:
        if not foldable(node):
            kept.append(node)
            continue
        feeds = {}
        for name in node.input:
            if name and name not in arrays:
                arrays[name] = numpy_helper.to_array(initializers[name])
            if name:
                feeds[name] = arrays[name]
        version = max([entry.version for entry in opset] + [_EVALUATED_FROM.get(node.op_type, 1)])
        results = evaluate_node(node, feeds, [helper.make_opsetid("", version)])
        for name, value in zip([o for o in node.output if o], results):
            arrays[name] = value
            tensor = numpy_helper.from_array(value, name)
            model.graph.initializer.append(tensor)
            initializers[name] = tensor
    del model.graph.node[:]
    model.graph.node.extend(kept)
    used = {name for node in model.graph.node for name in node.input} | outputs
    live = [init for init in model.graph.initializer if init.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(live)
    return model
