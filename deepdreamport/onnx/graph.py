"""Small helpers on ONNX graphs shared by the passes, the converter and the networks.

No MATLAB counterpart: reading attributes, finding the real graph inputs (not
initializers), the tensors that depend on them, shape inference, unique names.
"""

from __future__ import annotations

from typing import Iterable, Optional

import onnx
from onnx import helper


def default_opset(model: onnx.ModelProto) -> int:
    """The model's default-domain opset version (1 when it declares none)."""
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return entry.version
    return 1


def copy_model(model: onnx.ModelProto) -> onnx.ModelProto:
    """A deep copy: passes never modify the model they are given."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    return out


def attribute(node: onnx.NodeProto, name: str, default=None):
    """The value of attribute ``name`` of ``node``, or ``default``."""
    for entry in node.attribute:
        if entry.name == name:
            return helper.get_attribute_value(entry)
    return default


def remove_attribute(node: onnx.NodeProto, name: str) -> None:
    for index, entry in enumerate(node.attribute):
        if entry.name == name:
            del node.attribute[index]
            return


def set_ints(node: onnx.NodeProto, name: str, values: Iterable[int]) -> None:
    remove_attribute(node, name)
    node.attribute.append(helper.make_attribute(name, [int(v) for v in values]))


INSERTED_FOR = "inserted by deepdreamport for: "
"""The ``doc_string`` a fix-up pass gives a node it adds, followed by the layer (node or input name) it serves."""


def mark_inserted(node: onnx.NodeProto, serves: str) -> onnx.NodeProto:
    """Mark ``node`` as added by a pass for the node or graph input named ``serves`` (the layer table folds it there)."""
    node.doc_string = INSERTED_FOR + serves
    return node


def inserted_for(node: onnx.NodeProto) -> Optional[str]:
    """The name of the node or input that a pass added ``node`` for, or ``None`` for the exporter's own nodes."""
    return node.doc_string[len(INSERTED_FOR) :] if node.doc_string.startswith(INSERTED_FOR) else None


def node_name(node: onnx.NodeProto) -> str:
    """A node's name, or its first output for unnamed nodes."""
    return node.name or node.output[0]


def graph_inputs(model: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    """Graph inputs that are not initializers (the real inputs)."""
    initializers = {init.name for init in model.graph.initializer}
    return [value for value in model.graph.input if value.name not in initializers]


def graph_input_names(model: onnx.ModelProto) -> list[str]:
    return [value.name for value in graph_inputs(model)]


def static_dims(value: onnx.ValueInfoProto) -> list[Optional[int]]:
    """A value's dimensions, ``None`` where it is symbolic or unknown."""
    return [
        d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in value.type.tensor_type.shape.dim
    ]


def input_dependent(model: onnx.ModelProto) -> set[str]:
    """Tensors whose value depends on a graph input."""
    dependent = set(graph_input_names(model))
    for node in model.graph.node:
        if any(name in dependent for name in node.input):
            dependent.update(o for o in node.output if o)
    return dependent


def unique_name(model: onnx.ModelProto, base: str) -> str:
    """``base``, or ``base_1``, ``base_2``, … : a name no tensor or node of ``model`` uses."""
    taken = {init.name for init in model.graph.initializer}
    for node in model.graph.node:
        taken.update(node.output)
        taken.add(node.name)
    taken.update(v.name for v in model.graph.input)
    name, counter = base, 1
    while name in taken:
        name, counter = f"{base}_{counter}", counter + 1
    return name


KEPT_VALUES = 4096
"""Initializers up to this many elements keep their values in a :func:`weightless` copy (shape arithmetic reads them)."""


def _elements(tensor: onnx.TensorProto) -> int:
    count = 1
    for dim in tensor.dims:
        count *= dim
    return count


def weightless(
    model: onnx.ModelProto, kept_values: int = KEPT_VALUES, input_shape: Optional[tuple[str, list[int]]] = None
) -> onnx.ModelProto:
    """``model`` with every initializer above ``kept_values`` elements replaced by a graph input of its type and shape.

    ONNX shape inference reads only the types and shapes of weights, but it
    serialises the whole model and parses it back (seconds for a VGG-19, and
    impossible above protobuf's 2 GB); on this copy it sees the same graph
    without the bytes. The model's functions are kept, and its ``value_info``
    unless ``input_shape`` (name, dims) fixes one graph input's shape (the
    declared shapes may be for another size).
    """
    inputs = []
    for value in model.graph.input:
        if input_shape is not None and value.name == input_shape[0]:
            value = helper.make_tensor_value_info(value.name, value.type.tensor_type.elem_type, list(input_shape[1]))
        inputs.append(value)
    graph = helper.make_graph(
        list(model.graph.node),
        model.graph.name,
        inputs,
        list(model.graph.output),
        value_info=model.graph.value_info if input_shape is None else None,
    )
    declared = {value.name for value in graph.input}
    for tensor in model.graph.initializer:
        if _elements(tensor) <= kept_values:
            graph.initializer.append(tensor)
        elif tensor.name not in declared:  # below IR 4 an initializer is also declared as an input
            graph.input.append(helper.make_tensor_value_info(tensor.name, tensor.data_type, list(tensor.dims)))
    skeleton = helper.make_model(graph, opset_imports=list(model.opset_import), ir_version=model.ir_version)
    skeleton.functions.extend(model.functions)
    return skeleton


def infer_shapes(model: onnx.ModelProto, **options) -> onnx.ModelProto:
    """``onnx.shape_inference.infer_shapes(model, **options)``, inferred on a :func:`weightless` copy.

    Returns a copy of ``model`` (weights included) with the inferred
    ``value_info`` and output types; raises what ONNX's shape inference raises.
    onnx2torch's conversion uses it too (:mod:`.convert`).
    """
    inferred = onnx.shape_inference.infer_shapes(weightless(model), **options)
    out = copy_model(model)
    del out.graph.value_info[:]
    out.graph.value_info.extend(inferred.graph.value_info)
    for declared, typed in zip(out.graph.output, inferred.graph.output):
        declared.CopyFrom(typed)
    return out


def evaluate_node(node: onnx.NodeProto, feeds: dict, opset_imports: list) -> list:
    """``node``'s outputs (numpy arrays, its empty outputs left out) on ``feeds`` ({input name: array}), by ONNX's
    reference evaluator on a one-node model at ``opset_imports``."""
    import numpy as np
    from onnx.reference import ReferenceEvaluator  # imported here: only the constant-folding passes need it

    model = helper.make_model(
        helper.make_graph(
            [node],
            "evaluate",
            [helper.make_tensor_value_info(name, onnx.TensorProto.UNDEFINED, None) for name in feeds],
            [helper.make_tensor_value_info(name, onnx.TensorProto.UNDEFINED, None) for name in node.output if name],
        ),
        opset_imports=opset_imports,
    )
    return [np.asarray(value) for value in ReferenceEvaluator(model).run(None, feeds)]


def static_shapes(model: onnx.ModelProto) -> dict[str, list[Optional[int]]]:
    """Every tensor's shape that ONNX shape inference can tell (``None`` for unknown dims)."""
    try:
        inferred = onnx.shape_inference.infer_shapes(weightless(model))
    except Exception:  # shape inference is best effort here
        inferred = model
    shapes = {}
    for value in (*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output):
        if value.type.tensor_type.HasField("shape"):
            shapes[value.name] = static_dims(value)
    return shapes


def extract_subgraph(model: onnx.ModelProto, input_name: str, output_name: str | list[str]) -> onnx.ModelProto:
    """``output_name`` (one tensor or several) and the nodes it depends on, as a model of its own."""
    outputs = [output_name] if isinstance(output_name, str) else list(output_name)
    try:
        inferred = infer_shapes(model)
    except Exception:  # the extraction only needs the outputs' value infos, added below
        inferred = copy_model(model)
    known = {v.name for v in (*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output)}
    for name in outputs:
        if name not in known:
            inferred.graph.value_info.append(onnx.helper.make_empty_tensor_value_info(name))
    return drop_unused_outputs(onnx.utils.Extractor(inferred).extract_model([input_name], outputs))


def drop_unused_outputs(model: onnx.ModelProto) -> onnx.ModelProto:
    """Remove trailing node outputs nothing reads (a ``MaxPool``'s indices once its unpooling is cut off).

    onnx2torch converts a ``MaxPool`` to a one-output module; a listed but
    unused indices output would make it take the pooled tensor's first
    element as the first output. Works in place and returns ``model``.
    """
    used = {name for node in model.graph.node for name in node.input} | {v.name for v in model.graph.output}
    for node in model.graph.node:
        while len(node.output) > 1 and node.output[-1] not in used:
            node.output.pop()
    return model
