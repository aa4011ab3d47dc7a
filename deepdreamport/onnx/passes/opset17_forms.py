"""Opset 18 → 17, node by node: each operator whose signature changed in opset 18 rewritten to its opset-17 form.

No MATLAB counterpart (MATLAB's importer reads opsets up to its release's).
Called by :func:`~.downgrade_opset.downgrade_opset`. ONNX's version converter has
no 18 → 17 adapter for ``Split`` (and refuses a whole graph for one operator it
cannot lower), so the dynamo exporter's channel split (ShuffleNet's
``x.chunk(2, dim=1)``: ``Split(num_outputs=2)``) kept the whole graph at opset 18,
where onnx2torch converts neither it nor the opset-18 reductions. The rewrites,
each giving the same values:

* ``Reduce{Mean,Max,Min,Prod,L1,L2,LogSum,LogSumExp,SumSquare}(data, axes)``: a
  constant ``axes`` input → the ``axes`` attribute (an empty or absent one with
  ``noop_with_empty_axes=1`` → ``Identity`` where that is the value: not for ``ReduceL2``'s ``|x|``);
* ``Split(num_outputs=n)`` → ``Split`` without a ``split`` input (equal parts) when the
  axis divides evenly or its length is unknown, else with the sizes opset 18 gives
  (``ceil(d / n)`` each, the rest last) as a constant ``split`` input;
* ``Pad(data, pads, value, axes)``: constant ``pads`` and ``axes`` → ``pads`` for every axis;
* ``Resize``, ``LpPool``: the opset-18 attributes at their defaults (``antialias=0``,
  ``keep_aspect_ratio_policy='stretch'``, no ``axes``; ``ceil_mode=0``) dropped;
* ``ScatterElements``, ``ScatterND``: unchanged unless ``reduction`` is ``max``/``min``.

Any other operator new in opset 18 (``GroupNormalization``, ``Mish``, ``Col2Im``, …),
or a form above that cannot be rewritten (axes computed at run time), makes
:func:`opset17_forms` return ``None``: the graph is left to the version converter.
"""

from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np
import onnx
from onnx import defs, helper, numpy_helper

from ..graph import attribute, copy_model, remove_attribute, static_shapes, unique_name

REDUCTIONS = (
    "ReduceL1",
    "ReduceL2",
    "ReduceLogSum",
    "ReduceLogSumExp",
    "ReduceMax",
    "ReduceMean",
    "ReduceMin",
    "ReduceProd",
    "ReduceSumSquare",
)
"""The reductions that took ``axes`` as an input from opset 18 (``ReduceSum`` did from 13)."""
IDENTITY_OVER_NO_AXES = ("ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd", "ReduceLogSumExp")
"""The reductions whose value over no axis (``noop_with_empty_axes=1``) is the input itself (onnxruntime's reading)."""


class _Graph:
    """What a rewrite reads of the model: constants, inferred shapes, fresh names; what it adds: initializers."""

    def __init__(self, model: onnx.ModelProto):
        self.model = model
        self.constants = {init.name: init for init in model.graph.initializer}
        for node in model.graph.node:  # the dynamo exporter writes small constants as Constant nodes
            if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
                self.constants[node.output[0]] = node.attribute[0].t
        self.shapes = static_shapes(model)

    def constant(self, name: str) -> Optional[np.ndarray]:
        tensor = self.constants.get(name)
        return None if tensor is None else numpy_helper.to_array(tensor)

    def add_constant(self, base: str, values: np.ndarray) -> str:
        name = unique_name(self.model, base)
        tensor = numpy_helper.from_array(values, name)
        self.model.graph.initializer.append(tensor)
        self.constants[name] = tensor
        return name


def _reduction(node: onnx.NodeProto, graph: _Graph) -> bool:
    axes_name = node.input[1] if len(node.input) > 1 else ""
    axes = graph.constant(axes_name) if axes_name else np.zeros(0, np.int64)
    if axes is None:
        return False  # axes computed at run time: no opset-17 form
    noop = attribute(node, "noop_with_empty_axes", 0)
    if not axes.size and noop and node.op_type not in IDENTITY_OVER_NO_AXES:
        return False  # a reduction over no axis that is not the input (|x|, x², log x): no opset-17 node
    remove_attribute(node, "noop_with_empty_axes")
    del node.input[1:]
    if not axes.size and noop:
        node.op_type = "Identity"
        del node.attribute[:]
    elif axes.size:
        node.attribute.append(helper.make_attribute("axes", [int(a) for a in axes.reshape(-1)]))
    return True


def _split(node: onnx.NodeProto, graph: _Graph) -> bool:
    parts = attribute(node, "num_outputs")
    if parts is None:
        return True  # a split input (or none): the opset-13 form already
    remove_attribute(node, "num_outputs")
    axis = attribute(node, "axis", 0)
    dims = graph.shapes.get(node.input[0])
    length = dims[axis] if dims is not None and -len(dims) <= axis < len(dims) else None
    if length is None or length % parts == 0:
        return True  # equal parts (an unknown length must divide evenly in opset 13 too)
    size = math.ceil(length / parts)
    sizes = np.array([size] * (parts - 1) + [length - size * (parts - 1)], dtype=np.int64)
    node.input.append(graph.add_constant(f"{node.name or node.output[0]}_split", sizes))
    return True


def _pad(node: onnx.NodeProto, graph: _Graph) -> bool:
    if len(node.input) < 4 or not node.input[3]:
        return True
    pads, axes = graph.constant(node.input[1]), graph.constant(node.input[3])
    dims = graph.shapes.get(node.input[0])
    if pads is None or axes is None or dims is None:
        return False
    rank = len(dims)
    full = np.zeros(2 * rank, dtype=np.int64)
    for index, axis in enumerate(int(a) % rank for a in axes.reshape(-1)):
        full[axis], full[rank + axis] = pads[index], pads[len(axes) + index]
    node.input[1] = graph.add_constant(f"{node.name or node.output[0]}_pads", full)
    del node.input[3:]
    return True


def _defaults_only(**defaults) -> Callable[[onnx.NodeProto, _Graph], bool]:
    """A rewrite that drops the opset-18 attributes ``defaults`` when they hold their default values."""

    def rewrite(node: onnx.NodeProto, graph: _Graph) -> bool:
        for name, default in defaults.items():
            if attribute(node, name, default) != default:
                return False
            remove_attribute(node, name)
        return True

    return rewrite


def _scatter(node: onnx.NodeProto, graph: _Graph) -> bool:
    return attribute(node, "reduction", b"none") not in (b"max", b"min")


REWRITES: dict[str, Callable[[onnx.NodeProto, _Graph], bool]] = {
    **dict.fromkeys(REDUCTIONS, _reduction),
    "Split": _split,
    "Pad": _pad,
    "Resize": _defaults_only(antialias=0, keep_aspect_ratio_policy=b"stretch", axes=None),
    "LpPool": _defaults_only(ceil_mode=0),
    "ScatterElements": _scatter,
    "ScatterND": _scatter,
}
"""The rewrite of each operator whose opset-18 signature differs from opset 17's; ``False``: none possible."""


def _changed_in_18(node: onnx.NodeProto) -> bool:
    try:
        return defs.get_schema(node.op_type, 18, "").since_version == 18
    except Exception:  # an operator ONNX does not know: nothing to lower
        return False


def opset17_forms(model: onnx.ModelProto) -> Optional[onnx.ModelProto]:
    """The opset-18 ``model`` at opset 17 (a copy), or ``None`` when one of its operators has no opset-17 form."""
    model = copy_model(model)
    graph = _Graph(model)
    for node in model.graph.node:
        if node.domain not in ("", "ai.onnx") or not _changed_in_18(node):
            continue
        rewrite = REWRITES.get(node.op_type)
        if rewrite is None or not rewrite(node, graph):
            return None
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            entry.version = 17
    return model
