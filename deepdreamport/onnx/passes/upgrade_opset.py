"""Fix-up pass: opset < 13 → 13 with ``onnx.version_converter``.

Corrects one adapter of the converter: ``Upsample`` (opsets 7–9: MATLAB's and older
exporters' upsampling) and ``Resize`` at opset 10 sample at ``x_out / scale``
(asymmetric coordinates, the nearest neighbour by ``floor``); the converter rewrites
them as opset-11 ``Resize`` nodes without a ``coordinate_transformation_mode``,
which then defaults to ``half_pixel`` (nearest: ``round_prefer_floor``): a bilinear
upsampling shifted by a quarter pixel (more than 40 % relative error against
onnxruntime on the original graph). The rewritten nodes are given
``coordinate_transformation_mode='asymmetric'`` and, for ``nearest``,
``nearest_mode='floor'``: onnxruntime's values for the original nodes.

And supplies one it lacks: ``Hardmax`` before opset 13 takes its maximum over the input
seen as 2-D (``[prod(shape[:axis]), prod(shape[axis:])]``, ``axis`` default 1), at 13 along
``axis`` only; the converter keeps the node as it is (a hardmax along the last axis, wrong
for a rank above 2). It becomes ``Flatten(axis) → Hardmax(axis=-1) → Reshape(Shape(x))``,
what the converter writes for ``Softmax`` and ``LogSoftmax``.
"""

from __future__ import annotations

import onnx
from onnx import helper, version_converter

from ...errors import DeepDreamError
from ..graph import attribute, default_opset, remove_attribute

MIN_OPSET = 13
ASYMMETRIC_BEFORE = 11
"""The opset from which ``Resize`` has a ``coordinate_transformation_mode`` (before it: asymmetric only)."""


def upgrade_opset(model: onnx.ModelProto, target: int = MIN_OPSET) -> onnx.ModelProto:
    """Raise the default-domain opset to at least ``target``."""
    opset = default_opset(model)
    if opset >= target:
        return model
    asymmetric = set()
    if opset < ASYMMETRIC_BEFORE:
        asymmetric = {node.output[0] for node in model.graph.node if node.op_type in ("Upsample", "Resize")}
    try:
        upgraded = version_converter.convert_version(model, target)
    except Exception as exc:  # the converter raises RuntimeError / ConvertError
        raise DeepDreamError(
            "deepdreamport:onnx:OpsetUpgradeFailed",
            f"net: cannot upgrade the model from opset {default_opset(model)} to {target} ({exc}).",
        ) from exc
    for node in upgraded.graph.node:
        if node.op_type == "Resize" and node.output[0] in asymmetric:
            _sample_asymmetrically(node)
    if any(node.op_type == "Hardmax" for node in upgraded.graph.node):
        _hardmax_over_flattened(upgraded)
    return upgraded


def _hardmax_over_flattened(model: onnx.ModelProto) -> None:
    """Replace every ``Hardmax`` (an upgraded one: opset < 13 semantics) by its opset-13 form, in place."""
    nodes = []
    for node in model.graph.node:
        if node.op_type != "Hardmax":
            nodes.append(node)
            continue
        x, y, name = node.input[0], node.output[0], node.name or node.output[0]
        nodes += [
            helper.make_node("Shape", [x], [f"{y}__shape"], name=f"{name}__shape"),
            helper.make_node("Flatten", [x], [f"{y}__flat"], name=f"{name}__flatten", axis=attribute(node, "axis", 1)),
            helper.make_node("Hardmax", [f"{y}__flat"], [f"{y}__hard"], name=name, axis=-1),
            helper.make_node("Reshape", [f"{y}__hard", f"{y}__shape"], [y], name=f"{name}__reshape"),
        ]
    del model.graph.node[:]
    model.graph.node.extend(nodes)


def _sample_asymmetrically(node: onnx.NodeProto) -> None:
    remove_attribute(node, "coordinate_transformation_mode")
    node.attribute.append(helper.make_attribute("coordinate_transformation_mode", "asymmetric"))
    if (attribute(node, "mode", b"nearest") or b"nearest") == b"nearest":
        remove_attribute(node, "nearest_mode")
        node.attribute.append(helper.make_attribute("nearest_mode", "floor"))
