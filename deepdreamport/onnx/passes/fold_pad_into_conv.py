"""Fix-up pass: a static zero ``Pad`` feeding only ``Conv`` nodes → their symmetric ``pads``."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import onnx
from onnx import numpy_helper

from ..graph import (
    attribute,
    copy_model,
    set_ints,
)


class _Fold(NamedTuple):
    """A ``Pad`` node to remove: its input, and the ``pads`` of each convolution it feeds, in graph order."""

    source: str
    conv_pads: list[list[int]]


def fold_pad_into_conv(model: onnx.ModelProto) -> onnx.ModelProto:
    """A constant zero ``Pad`` feeding only ``Conv`` nodes → the convolutions' own ``pads``.

    Exporters that write TensorFlow-style 'same' padding (EfficientNet's
    ``static_padding``) put an explicit ``Pad`` before each convolution; as a
    separate module it costs a copy of the activations forward and backward.
    Folded only where the result is symmetric (what ``torch.nn.Conv2d`` pads
    itself) and the pads are static, spatial and non-negative; the numbers are
    the same zero-padded convolution. MATLAB's importer likewise folds padding
    into its convolution layers.
    """
    initializers = {init.name: init for init in model.graph.initializer}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    outputs = {value.name for value in model.graph.output}
    folds: dict[str, _Fold] = {}  # keyed by the Pad output
    for node in model.graph.node:
        if node.op_type != "Pad" or len(node.input) < 2 or len(node.input) > 3 or node.output[0] in outputs:
            continue
        if (attribute(node, "mode", b"constant") or b"constant") != b"constant" or node.input[1] not in initializers:
            continue
        if len(node.input) == 3 and node.input[2]:
            if node.input[2] not in initializers or np.any(numpy_helper.to_array(initializers[node.input[2]]) != 0):
                continue
        pads = numpy_helper.to_array(initializers[node.input[1]]).astype(np.int64).tolist()
        if len(pads) != 8 or any(pads[i] for i in (0, 1, 4, 5)) or min(pads) < 0:
            continue
        users = consumers.get(node.output[0], [])
        if not users or any(u.op_type != "Conv" or u.input[0] != node.output[0] for u in users):
            continue
        if any((attribute(u, "auto_pad", b"NOTSET") or b"NOTSET") != b"NOTSET" for u in users):
            continue
        begin, end = pads[2:4], pads[6:8]
        merged = [[b + c for b, c in zip(begin + end, list(attribute(u, "pads", [0, 0, 0, 0])))] for u in users]
        if any(m[:2] != m[2:] for m in merged):
            continue
        folds[node.output[0]] = _Fold(node.input[0], merged)
    if not folds:
        return model
    model = copy_model(model)
    nodes = []
    for node in model.graph.node:
        if node.op_type == "Pad" and node.output[0] in folds:
            continue
        nodes.append(node)
    users_seen: dict[str, int] = {}
    for node in nodes:
        if node.op_type == "Conv" and node.input[0] in folds:
            fold = folds[node.input[0]]
            index = users_seen.get(node.input[0], 0)
            users_seen[node.input[0]] = index + 1
            set_ints(node, "pads", fold.conv_pads[index])
            node.input[0] = fold.source
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return model
