"""Fix-up pass: an ``If`` whose condition is known at conversion time → the nodes of the branch it takes.

The TorchScript exporter writes a rank or size test as ``If`` on a condition computed from
``Shape``/``Size`` of a tensor (``nn.LocalResponseNorm``'s ``squeeze(1)`` of an N×1×C×H×W
tensor becomes ``If(Shape(t)[1] == 1, Squeeze, Identity)``). onnx2torch has no ``If``
converter; MATLAB's importer evaluates such tests while building its layers. Here the
condition is evaluated from the constants and the static shapes of the graph (a small
partial evaluator: ``Shape`` of a tensor gives the dims shape inference knows, ``Gather``
and ``Slice`` of it the known entries, ``Size`` the product when every dim is known, any
other default-domain node its value when all its inputs are known), and the taken branch
is inlined: its nodes renamed ``<If node>/<node>`` (and its tensors ``<If node>/<tensor>``)
so nothing clashes, its initializers and ``Constant`` nodes moved to the graph's
initializers, its outputs mapped to the ``If``'s outputs. Nested ``If`` nodes are handled
as they appear (the pass repeats until no condition is left to evaluate); the inlined nodes'
constant parts are then folded (:func:`.fold_constants.fold_constants`).

Deviation (none in value): the graph inputs' batch and spatial sizes are treated as
unknown (only the channel axis, axis 1, keeps its declared size), since the port runs a
network at any batch and image size; a test on them, or on data, keeps its ``If``, which is
then refused as unsupported, naming the node.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import onnx
from onnx import helper, numpy_helper

from ..graph import copy_model, evaluate_node, graph_input_names, static_shapes, unique_name
from .constants_to_initializers import _constant_value
from .fold_constants import fold_constants

PartialVector = list[Optional[int]]
"""A 1-D int64 tensor (a shape, or part of one) with ``None`` where an entry is unknown."""

_RANDOM = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli"}


def _shapes_at_any_size(model: onnx.ModelProto) -> dict[str, list[Optional[int]]]:
    """:func:`static_shapes`, with every graph-input axis but axis 1 made symbolic."""
    free = copy_model(model)
    inputs = set(graph_input_names(free))
    for value in free.graph.input:
        if value.name not in inputs:
            continue
        for axis, dim in enumerate(value.type.tensor_type.shape.dim):
            if axis != 1:
                dim.dim_param = f"{value.name}_axis{axis}"
    del free.graph.value_info[:]
    return static_shapes(free)


def _has_subgraph(node: onnx.NodeProto) -> bool:
    return any(entry.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for entry in node.attribute)


class _PartialEvaluator:
    """Values of the tensors that do not depend on data nor on the input's free sizes."""

    def __init__(self, model: onnx.ModelProto):
        self.shapes = _shapes_at_any_size(model)
        self.opset = [entry for entry in model.opset_import if entry.domain in ("", "ai.onnx")]
        inputs = set(graph_input_names(model))
        self.initializers = {init.name: init for init in model.graph.initializer if init.name not in inputs}
        self.known: dict[str, np.ndarray] = {}
        self.partial: dict[str, PartialVector] = {}

    def value(self, name: str) -> Optional[np.ndarray]:
        """The value of ``name`` if known (an initializer is read when first asked for: weights rarely are)."""
        if name not in self.known and name in self.initializers:
            self.known[name] = numpy_helper.to_array(self.initializers[name])
        return self.known.get(name)

    def _has(self, name: str) -> bool:
        return name in self.known or name in self.initializers

    def _vector(self, name: str) -> Optional[PartialVector]:
        if name in self.partial:
            return self.partial[name]
        value = self.value(name)
        if value is not None and value.ndim == 1 and value.dtype.kind in "iu":
            return [int(v) for v in value]
        return None

    def _store(self, name: str, vector: PartialVector) -> None:
        if all(entry is not None for entry in vector):
            self.known[name] = np.array(vector, dtype=np.int64)
        else:
            self.partial[name] = vector

    def _shape_node(self, node: onnx.NodeProto) -> None:
        dims = self.shapes.get(node.input[0])
        if dims is None:
            return
        attributes = {entry.name: helper.get_attribute_value(entry) for entry in node.attribute}
        rank = len(dims)
        start, end = attributes.get("start", 0), attributes.get("end", rank)
        start, end = (max(0, min(rank, v + rank if v < 0 else v)) for v in (start, end))
        self._store(node.output[0], list(dims[start:end]))

    def _gather(self, node: onnx.NodeProto) -> None:
        vector, indices = self._vector(node.input[0]), self.value(node.input[1])
        axis = next((helper.get_attribute_value(e) for e in node.attribute if e.name == "axis"), 0)
        if (
            vector is None
            or indices is None
            or axis != 0
            or not all(-len(vector) <= i < len(vector) for i in indices.flat)
        ):
            return
        picked = [vector[int(i)] for i in indices.reshape(-1)]
        if indices.ndim == 0:
            if picked[0] is not None:
                self.known[node.output[0]] = np.array(picked[0], dtype=np.int64)
            return
        if indices.ndim == 1:
            self._store(node.output[0], picked)

    def _slice(self, node: onnx.NodeProto) -> None:
        vector = self._vector(node.input[0])
        parts = [self.value(name) if name else None for name in list(node.input[1:]) + [""] * 4]
        starts, ends, axes, steps = parts[:4]
        if vector is None or starts is None or ends is None or (axes is not None and list(axes) not in ([0], [-1])):
            return
        step = int(steps[0]) if steps is not None else 1
        big = np.iinfo(np.int64).max
        start, end = (None if abs(int(v[0])) >= big // 2 else int(v[0]) for v in (starts, ends))
        self._store(node.output[0], vector[slice(start, end, step)])

    def _concat(self, node: onnx.NodeProto) -> None:
        vectors = [self._vector(name) for name in node.input]
        if all(vector is not None for vector in vectors):
            self._store(node.output[0], [entry for vector in vectors for entry in vector])

    def visit(self, node: onnx.NodeProto) -> None:
        if node.domain not in ("", "ai.onnx") or node.op_type in _RANDOM or _has_subgraph(node):
            return
        if node.op_type == "Constant":
            self.known[node.output[0]] = _constant_value(node)
            return
        if all(not name or self._has(name) for name in node.input):
            feeds = {name: self.value(name) for name in node.input if name}
            try:
                values = evaluate_node(node, feeds, self.opset)
            except Exception:  # an operator the reference evaluator lacks: its outputs stay unknown
                return
            for name, value in zip([o for o in node.output if o], values):
                self.known[name] = value
        elif node.op_type == "Shape" and node.input[0] in self.partial:  # the shape of a shape: its length
            self.known[node.output[0]] = np.array([len(self.partial[node.input[0]])], dtype=np.int64)
        elif node.op_type == "Size" and node.input[0] in self.partial:
            self.known[node.output[0]] = np.array(len(self.partial[node.input[0]]), dtype=np.int64)
        elif node.op_type == "Shape":
            self._shape_node(node)
        elif node.op_type == "Size" and None not in self.shapes.get(node.input[0], [None]):
            self.known[node.output[0]] = np.array(int(np.prod(self.shapes[node.input[0]])), dtype=np.int64)
        elif node.op_type == "Gather":
            self._gather(node)
        elif node.op_type == "Slice":
            self._slice(node)
        elif node.op_type == "Concat":
            self._concat(node)

    def condition(self, name: str) -> Optional[bool]:
        value = self.value(name)
        return None if value is None or value.size != 1 else bool(value.reshape(-1)[0])


def _rename_inputs(graph: onnx.GraphProto, renamed: dict[str, str]) -> None:
    """Rename the outer-scope tensors that the nodes of a nested ``graph`` read (its own names shadow them)."""
    own = {init.name for init in graph.initializer} | {value.name for value in graph.input}
    own |= {output for node in graph.node for output in node.output}
    visible = {old: new for old, new in renamed.items() if old not in own}
    for node in graph.node:
        for position, name in enumerate(node.input):
            if name in visible:
                node.input[position] = visible[name]
        for entry in node.attribute:
            for sub in [entry.g] if entry.type == onnx.AttributeProto.GRAPH else list(entry.graphs):
                _rename_inputs(sub, visible)
    for value in graph.output:
        if value.name in visible:
            value.name = visible[value.name]


def _inline(model: onnx.ModelProto, node: onnx.NodeProto, branch: onnx.GraphProto) -> list[onnx.NodeProto]:
    """The nodes that replace ``node`` by ``branch``; branch initializers and constants go to ``model``."""
    prefix = node.name or node.output[0]
    produced_once = {}
    for inner in branch.node:
        for output in inner.output:
            produced_once[output] = output not in produced_once
    outputs = [value.name for value in branch.output]
    renamed: dict[str, str] = {}
    for inner_output, outer_output in zip(outputs, node.output):
        if inner_output in produced_once and outputs.count(inner_output) == 1 and outer_output:
            renamed[inner_output] = outer_output
    for init in branch.initializer:
        renamed.setdefault(init.name, unique_name(model, f"{prefix}/{init.name}"))
        tensor = onnx.TensorProto()
        tensor.CopyFrom(init)
        tensor.name = renamed[init.name]
        model.graph.initializer.append(tensor)
    nodes = []
    for inner in branch.node:
        for output in inner.output:
            if output and output not in renamed:
                renamed[output] = unique_name(model, f"{prefix}/{output}")
        copy = onnx.NodeProto()
        copy.CopyFrom(inner)
        copy.input[:] = [renamed.get(name, name) for name in inner.input]
        copy.output[:] = [renamed.get(name, name) for name in inner.output]
        for entry in copy.attribute:
            for sub in [entry.g] if entry.type == onnx.AttributeProto.GRAPH else list(entry.graphs):
                _rename_inputs(sub, renamed)
        if copy.op_type == "Constant" and copy.domain in ("", "ai.onnx"):
            model.graph.initializer.append(numpy_helper.from_array(_constant_value(copy), copy.output[0]))
            continue
        copy.name = unique_name(model, f"{prefix}/{inner.name or inner.output[0]}")
        model.graph.node.append(copy)  # reserves its names for unique_name; the order is set by the caller
        nodes.append(copy)
    for inner_output, outer_output in zip(outputs, node.output):
        if outer_output and renamed.get(inner_output) != outer_output:
            identity = helper.make_node(
                "Identity", [renamed.get(inner_output, inner_output)], [outer_output], name=f"{prefix}/output"
            )
            identity.name = unique_name(model, identity.name)
            nodes.append(identity)
    return nodes


def _inline_once(model: onnx.ModelProto) -> Optional[onnx.ModelProto]:
    """``model`` with every ``If`` of known condition inlined, or ``None`` when there is none."""
    if not any(node.op_type == "If" for node in model.graph.node):
        return None
    evaluator = _PartialEvaluator(model)
    taken: dict[int, onnx.GraphProto] = {}
    for index, node in enumerate(model.graph.node):
        if node.op_type == "If" and node.domain in ("", "ai.onnx"):
            condition = evaluator.condition(node.input[0])
            if condition is not None:
                branches = {entry.name: entry.g for entry in node.attribute}
                taken[index] = branches["then_branch" if condition else "else_branch"]
                continue
        evaluator.visit(node)
    if not taken:
        return None
    model = copy_model(model)
    original = list(model.graph.node)
    order = []
    for index, node in enumerate(original):
        order.extend(_inline(model, node, taken[index]) if index in taken else [node])
    conditions = {original[index].input[0] for index in taken}
    del model.graph.node[:]
    model.graph.node.extend(_without_unread_tests(order, conditions, model))
    return model


def _reads(node: onnx.NodeProto) -> set[str]:
    """The tensors ``node`` reads, its branches' outer reads included."""
    names = set(node.input)
    for entry in node.attribute:
        for sub in [entry.g] if entry.type == onnx.AttributeProto.GRAPH else list(entry.graphs):
            for inner in sub.node:
                names |= _reads(inner)
            names |= {value.name for value in sub.output}
    return names


def _without_unread_tests(
    nodes: list[onnx.NodeProto], conditions: set[str], model: onnx.ModelProto
) -> list[onnx.NodeProto]:
    """``nodes`` without the ones that computed only the inlined conditions (``Shape`` → ``Gather`` → ``Equal``)."""
    producers = {output: node for node in nodes for output in node.output if output}
    candidates: set[int] = set()
    pending = [producers[name] for name in conditions if name in producers]
    while pending:
        node = pending.pop()
        if id(node) not in candidates:
            candidates.add(id(node))
            pending.extend(producers[name] for name in node.input if name in producers)
    read = {value.name for value in model.graph.output}
    kept = []
    for node in reversed(nodes):
        if id(node) in candidates and not any(output in read for output in node.output):
            continue
        read |= _reads(node)
        kept.append(node)
    return kept[::-1]


def inline_static_if(model: onnx.ModelProto) -> onnx.ModelProto:
    """Replace each ``If`` whose condition the constants and static shapes decide by its taken branch."""
    changed = False
    while (inlined := _inline_once(model)) is not None:
        model, changed = inlined, True
    return fold_constants(model) if changed else model
