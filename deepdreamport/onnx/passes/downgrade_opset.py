"""Fix-up pass: opset > 17 → 17 (``onnx.version_converter``) when onnx2torch lacks a converter at the model's opset.

PyTorch's dynamo exporter writes opset 18 by default. Opset 18 changed the
signatures of the reductions (``ReduceMean``, ``ReduceMax``, ...: ``axes`` became an
input), ``Pad``, ``Resize`` and ``Split``; onnx2torch has converters for their
opset-17 forms only, so ``x.mean((2, 3))`` (a global average pool) made a dynamo
export unconvertible. ONNX's version converter rewrites these nodes to their
opset-17 forms (a constant ``axes`` input becomes the attribute) with the same
results. A graph onnx2torch converts at its own opset, or one the converter
cannot lower, is returned unchanged (an operator that stays unsupported is named
when the network is loaded).

The converter has no 18 → 17 adapter for ``Split`` (the dynamo exporter's
``Split(num_outputs=2)`` of a ShuffleNet channel split), so an opset-18 graph is
first lowered node by node (:func:`~.opset17_forms.opset17_forms`); a newer
opset is first converted to 18. The version converter is the fallback.

Operators newer than opset 17 that the port converts itself (``GroupNormalization``,
``Mish``, ``Gelu``, ``AffineGrid``, and opset 20's ``GridSample``, which ONNX's converter
cannot lower: :mod:`deepdreamport.onnx.converters`) have no opset-17 form; before
lowering they move to the port's domain (``deepdreamport::GroupNormalization``, same
inputs and attributes), which neither lowering touches, so they no longer keep the
rest of the graph at its opset. Their outputs keep the shapes ONNX inferred for them
(as ``value_info``), so shape inference goes on past them at opset 17.

A graph with a dilated ``AveragePool`` (opset 19) is left at its opset: the converter
drops the dilations (a pool of another size, silently); its operators are named as
unsupported instead.
"""

from __future__ import annotations

from typing import Optional

import onnx
from onnx import defs, version_converter
from onnx2torch.node_converters import get_converter

from ..graph import attribute, copy_model, default_opset, weightless
from .opset17_forms import opset17_forms
from .resize_input_mean import CUSTOM_DOMAIN

MAX_OPSET = 17
"""The newest default-domain opset whose operators onnx2torch 1.5 converts."""
PORT_DOMAIN_VERSION = 1
"""The version of the port's own domain (``deepdreamport``) its converters are registered at."""


def _converts(node: onnx.NodeProto, opset: int) -> bool:
    try:
        get_converter(operation_type=node.op_type, version=opset, domain="")
    except NotImplementedError:
        return False
    return True


def downgrade_opset(model: onnx.ModelProto) -> onnx.ModelProto:
    """Lower the default-domain opset to :data:`MAX_OPSET` when that makes an operator convertible."""
    opset = default_opset(model)
    if opset <= MAX_OPSET:
        return model
    default = [node for node in model.graph.node if node.domain in ("", "ai.onnx")]
    missing = [node for node in default if not _converts(node, opset)]
    if not missing or not any(_converts(node, MAX_OPSET) for node in missing) or _dilated_average_pool(default):
        return model
    lowered = _lowered(_newer_operators_to_port_domain(model), opset)
    if lowered is None:
        return model
    lowered.functions.extend(f for f in model.functions if f not in lowered.functions)
    return lowered


def _lowered(model: onnx.ModelProto, opset: int) -> Optional[onnx.ModelProto]:
    """``model`` at :data:`MAX_OPSET`, node by node from 18 and else by ONNX's converter; ``None`` when neither can."""
    at_18 = model
    if opset > 18:
        try:
            at_18 = version_converter.convert_version(model, 18)
        except Exception:  # no adapter for some operator: try the converter all the way below
            at_18 = None
    lowered = opset17_forms(at_18) if at_18 is not None else None
    if lowered is not None:
        return lowered
    try:
        return version_converter.convert_version(model, MAX_OPSET)
    except Exception:  # no adapter for some operator: keep the model, its operators are named at load time
        return None


def _dilated_average_pool(nodes: list[onnx.NodeProto]) -> bool:
    """An ``AveragePool`` with ``dilations`` (opset 19): ONNX's converter would drop them on the way to 17."""
    return any(
        node.op_type == "AveragePool" and any(d != 1 for d in attribute(node, "dilations", [])) for node in nodes
    )


def _newer_than_17(node: onnx.NodeProto, opset: int) -> bool:
    """The node's operator at ``opset`` is a version newer than 17 (a new operator, or a new form of one)."""
    try:
        return defs.get_schema(node.op_type, opset, "").since_version > MAX_OPSET
    except Exception:  # no schema at all: not an operator to move
        return False


def _port_converts(op_type: str) -> bool:
    try:
        get_converter(operation_type=op_type, version=PORT_DOMAIN_VERSION, domain=CUSTOM_DOMAIN)
    except NotImplementedError:
        return False
    return True


def _newer_operators_to_port_domain(model: onnx.ModelProto) -> onnx.ModelProto:
    """``model`` (a copy) with every default-domain node newer than opset 17 that the port converts in its domain."""
    opset = default_opset(model)
    moved = [
        index
        for index, node in enumerate(model.graph.node)
        if node.domain in ("", "ai.onnx") and _newer_than_17(node, opset) and _port_converts(node.op_type)
    ]
    if not moved:
        return model
    try:
        inferred = onnx.shape_inference.infer_shapes(weightless(model))
    except Exception:  # shape inference is best effort: the converters need no shapes
        inferred = model
    types = {value.name: value for value in inferred.graph.value_info}
    model = copy_model(model)
    known = {value.name for value in (*model.graph.value_info, *model.graph.output)}
    for index in moved:
        node = model.graph.node[index]
        node.domain = CUSTOM_DOMAIN
        model.graph.value_info.extend(types[name] for name in node.output if name in types and name not in known)
    if not any(entry.domain == CUSTOM_DOMAIN for entry in model.opset_import):
        model.opset_import.append(onnx.helper.make_opsetid(CUSTOM_DOMAIN, PORT_DOMAIN_VERSION))
    return model
