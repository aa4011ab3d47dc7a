"""Fix-up pass: the graph input's batch 1 → symbolic ``N``; ``Reshape`` shapes with a hard-coded leading 1 → ``-1`` / ``0``."""

from __future__ import annotations

from typing import Optional

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


def _free_leading_one(shape: np.ndarray, others: np.ndarray) -> Optional[np.ndarray]:
    """``shape`` (a constant target, or the first constant part of one) with its leading 1 made the free batch.

    -1 when no other entry (``shape``'s own or ``others``, the target's other
    constant parts) is -1, else 0 ("copy the data's batch"); ``None`` when ``shape``
    does not start with 1.
    """
    if shape.ndim != 1 or not len(shape) or shape[0] != 1:
        return None
    shape = shape.astype(np.int64)
    shape[0] = 0 if (shape[1:] == -1).any() or (others == -1).any() else -1
    return shape


def free_batch_dimension(model: onnx.ModelProto) -> onnx.ModelProto:
    """Let the batch size vary: input dim 0 → ``N``; ``Reshape`` leading 1 → -1 or 0.

    A Reshape of an image-dependent tensor to a constant shape that starts with
    1 hard-codes the batch (CNTK and Caffe2 exports). The leading 1 becomes -1
    when the shape has no other -1, otherwise 0 (copy the input's batch). A target
    built at run time by a ``Concat`` whose first part is the constant 1 (the
    TorchScript exporter's ``x.view(1, 2, c // 2, h, w)`` with a dynamic image size:
    the other parts come from ``Shape``) gets the same change in that first part,
    when the ``Concat`` feeds nothing but ``Reshape`` targets.
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
    producers = {output: node for node in model.graph.node for output in node.output}
    readers: dict[str, list[tuple[onnx.NodeProto, int]]] = {}
    for node in model.graph.node:
        for position, name in enumerate(node.input):
            readers.setdefault(name, []).append((node, position))

    def constant(name: str) -> Optional[np.ndarray]:
        return numpy_helper.to_array(initializers[name]).astype(np.int64) if name in initializers else None

    def replace(node: onnx.NodeProto, position: int, values: np.ndarray) -> None:
        name = unique_name(model, node.input[position] + "_batch_free")
        tensor = numpy_helper.from_array(values, name)
        model.graph.initializer.append(tensor)
        initializers[name] = tensor
        node.input[position] = name

    for node in model.graph.node:
        if node.op_type != "Reshape" or node.input[0] not in dependent or attribute(node, "allowzero", 0):
            continue
        shape = constant(node.input[1])
        if shape is not None:
            if len(shape) < 2 or (freed := _free_leading_one(shape, np.zeros(0))) is None:
                continue
            replace(node, 1, freed)
            changed = True
            continue
        concat = producers.get(node.input[1])
        if concat is None or concat.op_type != "Concat" or not concat.input or _concat_readers_differ(concat, readers):
            continue
        parts = [constant(name) for name in concat.input]
        first = parts[0]
        others = np.concatenate([part.reshape(-1) for part in parts[1:] if part is not None] or [np.zeros(0)])
        if first is None or (freed := _free_leading_one(first.reshape(-1), others)) is None:
            continue
        replace(concat, 0, freed)
        changed = True
    if not changed:
        return model
    del model.graph.value_info[:]  # stale batch sizes
    return model


def _concat_readers_differ(concat: onnx.NodeProto, readers: dict) -> bool:
    """Whether ``concat``'s output feeds anything but the targets of ``Reshape`` nodes without ``allowzero``."""
    return any(
        reader.op_type != "Reshape" or position != 1 or attribute(reader, "allowzero", 0)
        for reader, position in readers.get(concat.output[0], [])
    )
