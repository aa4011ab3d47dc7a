"""Fix-up pass: a ``Reshape`` target computed at run time from ``Shape`` → a constant, the batch entry kept free.

PyTorch exports ``x.view(x.size(0), -1)`` (and ``x.view(b, c, -1)``) with the target
computed from the input's shape: ``Shape → Gather/Slice → Concat → Reshape`` (the
TorchScript exporter always, the dynamo exporter when a dimension is dynamic, then
with ``allowzero=1``). Every entry of such a target is, at any image size, either
a constant or the batch size; the pass finds out which by evaluating the shape
arithmetic at three input shapes (batch 1, 2 and 3; the declared spatial size, or
64×64 when it is dynamic, and twice that size for batch 3) with ONNX shape
inference (``data_prop``) and the reference evaluator on the shape nodes only, and
writes the target as an initializer:

* an entry equal to the batch size in all three → ``-1`` when it is the only
  unknown, else ``0`` ("copy the data's dimension", ``allowzero`` removed) when the
  data's dimension at that position is the batch;
* an entry that is the same in all three → that constant.

A target with an entry that depends on the image size (``x.view(b, c, h * w)``), or
that cannot be evaluated, is left computed (it converts as it is; see
:mod:`.reshape_allowzero` for its ``allowzero``), so the network still takes every
pyramid level's size. Shape nodes that only fed a folded target are removed.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import onnx
from onnx import helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from ..graph import attribute, copy_model, graph_inputs, remove_attribute, static_dims, unique_name, weightless

PROBE_BATCHES = (1, 2, 3)
DYNAMIC_SIDE = 64
"""The spatial side probed when the network's input size is dynamic."""
SMALL_CONSTANT = 64
"""Initializers up to this many elements keep their values in the shape-inference copy (shape arithmetic)."""
_SHAPE_OPS = {"Shape", "Size"}


def _shape_values(model: onnx.ModelProto, targets: list[str], shape: tuple[int, int, int, int], input_name: str):
    """The value of each target tensor at the input ``shape`` (``None`` where it cannot be told), and every tensor's shape."""
    try:
        inferred = onnx.shape_inference.infer_shapes(
            weightless(model, SMALL_CONSTANT, (input_name, list(shape))), data_prop=True
        )
    except Exception:  # shape inference is best effort: such a target stays computed
        return {}, {}
    shapes = {}
    for value in (*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output):
        dims = static_dims(value)
        if value.type.tensor_type.HasField("shape") and None not in dims:
            shapes[value.name] = dims
    producers = {output: node for node in model.graph.node for output in node.output}
    constants = {t.name: t for t in model.graph.initializer if int(np.prod(t.dims, dtype=np.int64)) <= SMALL_CONSTANT}
    values: dict[str, Optional[np.ndarray]] = {}
    for target in targets:
        values[target] = _evaluate(target, producers, constants, shapes, model)
    return values, shapes


def _evaluate(target, producers, constants, shapes, model) -> Optional[np.ndarray]:
    """``target`` computed from tensor shapes and small constants only, or ``None``."""
    nodes: list[onnx.NodeProto] = []
    feeds: dict[str, np.ndarray] = {}
    pending, seen = [target], set()
    while pending:
        name = pending.pop()
        if not name or name in seen:
            continue
        seen.add(name)
        if name in constants:
            feeds[name] = numpy_helper.to_array(constants[name])
            continue
        node = producers.get(name)
        if node is None:
            return None  # a graph input or a large weight: not shape arithmetic
        if node.op_type in _SHAPE_OPS and node.domain in ("", "ai.onnx"):
            dims = shapes.get(node.input[0])
            if dims is None:
                return None
            if node.op_type == "Size":
                feeds[name] = np.asarray(int(np.prod(dims, dtype=np.int64)), dtype=np.int64)
            else:
                start, end = attribute(node, "start", 0), attribute(node, "end", None)
                feeds[name] = np.asarray(dims[start:end], dtype=np.int64)
            continue
        if node not in nodes:
            nodes.append(node)
            pending.extend(node.input)
    if not nodes:
        return feeds.get(target)
    order = {id(node): index for index, node in enumerate(model.graph.node)}
    nodes.sort(key=lambda node: order[id(node)])
    produced = {output for node in nodes for output in node.output}
    inputs = [n for n in feeds if n not in produced]
    sub = helper.make_model(
        helper.make_graph(
            nodes,
            "shape",
            [helper.make_tensor_value_info(n, onnx.TensorProto.UNDEFINED, None) for n in inputs],
            [helper.make_tensor_value_info(target, onnx.TensorProto.UNDEFINED, None)],
        ),
        opset_imports=list(model.opset_import),
    )
    try:
        (value,) = ReferenceEvaluator(sub).run(None, {n: feeds[n] for n in inputs})
    except Exception:  # an operator the evaluator lacks: the target stays computed
        return None
    return np.asarray(value).astype(np.int64).reshape(-1)


def _folded(node, probes, values, shapes) -> Optional[np.ndarray]:
    """The constant target of ``node`` (batch entries as -1 or 0), or ``None`` when an entry depends on the image size."""
    seen = [values[k].get(node.input[1]) for k in range(len(probes))]
    if any(v is None for v in seen) or len({len(v) for v in seen}) != 1:
        return None
    batches = np.array([probe[0] for probe in probes])
    table = np.stack(seen)  # probes × entries
    constant = (table == table[0]).all(axis=0)
    batch = (table == batches[:, None]).all(axis=0) & ~constant
    if not (constant | batch).all():
        return None
    target = table[0].copy()
    zero_allowed = not attribute(node, "allowzero", 0) or not (target[constant] == 0).any()
    if not zero_allowed:
        return None  # a constant 0 under allowzero=1: an empty dimension, left for the converter to refuse
    positions = np.flatnonzero(batch)
    if len(positions) == 1 and not (target[constant] == -1).any():
        target[positions[0]] = -1
        return target
    for position in positions:  # 0 copies the data's dimension at the same position
        data = [shapes[k].get(node.input[0]) for k in range(len(probes))]
        if any(d is None or len(d) <= position or d[position] != probe[0] for d, probe in zip(data, probes)):
            return None
        target[position] = 0
    return target


def static_reshape_targets(model: onnx.ModelProto) -> onnx.ModelProto:
    """Fold run-time ``Reshape`` targets that are constants but for the batch (see the module's description)."""
    initializers = {init.name for init in model.graph.initializer}
    computed = [
        node
        for node in model.graph.node
        if node.op_type == "Reshape"
        and node.domain in ("", "ai.onnx")
        and len(node.input) > 1
        and node.input[1]
        and node.input[1] not in initializers
    ]
    inputs = graph_inputs(model)
    if not computed or len(inputs) != 1 or len(static_dims(inputs[0])) != 4:
        return model
    channels, height, width = static_dims(inputs[0])[1:]
    if channels is None:
        return model
    height, width = (height, width) if None not in (height, width) else (DYNAMIC_SIDE, DYNAMIC_SIDE)
    probes = [(b, channels, height * (1 + (b == 3)), width * (1 + (b == 3))) for b in PROBE_BATCHES]
    targets = [node.input[1] for node in computed]
    evaluated = [_shape_values(model, targets, probe, inputs[0].name) for probe in probes]
    values, shapes = [v for v, _ in evaluated], [s for _, s in evaluated]
    folds = {id(node): _folded(node, probes, values, shapes) for node in computed}
    if all(fold is None for fold in folds.values()):
        return model
    model = copy_model(model)
    replaced = set()
    for node in model.graph.node:
        fold = folds.get(id(_original(node, computed))) if node.op_type == "Reshape" else None
        if fold is None:
            continue
        name = unique_name(model, node.input[1] + "_static")
        model.graph.initializer.append(numpy_helper.from_array(fold.astype(np.int64), name))
        replaced.add(node.input[1])
        node.input[1] = name
        if (fold == 0).any():
            remove_attribute(node, "allowzero")
    _remove_dead_shape_nodes(model, replaced)
    return model


def _original(node: onnx.NodeProto, computed: list[onnx.NodeProto]) -> Optional[onnx.NodeProto]:
    """The node of the model before the copy that ``node`` copies (same name, inputs and outputs)."""
    for candidate in computed:
        if candidate.output == node.output and candidate.input == node.input:
            return candidate
    return None


def _remove_dead_shape_nodes(model: onnx.ModelProto, tensors: set[str]) -> None:
    """Remove the nodes that computed ``tensors``, and the nodes and constants only they used (in place)."""
    outputs = {value.name for value in model.graph.output}
    while True:
        used = {name for node in model.graph.node for name in node.input} | outputs
        dead = [
            node
            for node in model.graph.node
            if any(o in tensors for o in node.output) and not any(o in used for o in node.output if o)
        ]
        if not dead:
            break
        for node in dead:
            tensors.update(node.input)
            model.graph.node.remove(node)
    used = {name for node in model.graph.node for name in node.input} | outputs
    unused = [init for init in model.graph.initializer if init.name in tensors and init.name not in used]
    for init in unused:
        model.graph.initializer.remove(init)
