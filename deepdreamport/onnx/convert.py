"""Converting a read ONNX model to torch with onnx2torch.

Mirrors the conversion half of MATLAB's ``importONNXNetwork``: apply the graph
fix-ups that onnx2torch needs (:mod:`.passes`), refuse operators no converter
handles (naming every one, like the importer's list of unsupported operators),
and convert to a ``torch.fx.GraphModule`` in inference mode. The port's own
converters (:mod:`.converters`) are registered when this module is imported.

Deviation: MATLAB imports unsupported operators as placeholder layers; the
port refuses a graph that contains one before converting anything. A network
is refused only for the part that is used: :func:`prepare` with
``check=False`` keeps the whole graph, and each truncation is checked on its
own (:func:`check_supported`), so an unsupported decoder does not stop
dreaming on its encoder.
"""

from __future__ import annotations

import onnx
import onnx2torch
import torch
from onnx2torch.node_converters import get_converter
from onnx2torch.onnx_graph import OnnxGraph

from ..errors import DeepDreamError
from . import converters
from .graph import attribute, node_name
from .passes import apply_fixups

converters.register()


def _unsupported_attribute(node: onnx.NodeProto) -> str:
    """The attribute or output of ``node`` that onnx2torch refuses or gets wrong, or ``""``."""
    if node.domain not in ("", "ai.onnx"):
        return ""
    if node.op_type == "Reshape" and attribute(node, "allowzero", 0):
        return "allowzero=1"  # the harmless cases are removed by the reshape_allowzero pass
    if node.op_type == "MaxPool" and len(node.output) > 1 and node.output[1]:
        return "Indices output"  # converted as a one-output pool; unused indices are dropped on extraction
    if node.op_type == "MaxPool" and attribute(node, "storage_order", 0):
        return f"storage_order={attribute(node, 'storage_order')}"
    if node.op_type == "Pad" and (attribute(node, "mode", b"constant") or b"constant") not in _PAD_MODES:
        return f"mode={attribute(node, 'mode').decode()}"
    if node.op_type == "DepthToSpace" and (attribute(node, "mode", b"DCR") or b"DCR") != b"CRD":
        return f"mode={(attribute(node, 'mode', b'DCR') or b'DCR').decode()}"
    return ""


_PAD_MODES = (b"constant", b"reflect", b"edge")
"""The ``Pad`` modes onnx2torch converts."""


def unsupported_ops(model: onnx.ModelProto) -> dict[str, list[str]]:
    """``{op type: [node names]}`` for every node no onnx2torch converter handles.

    An op type with an attribute the converter refuses is listed as
    ``Op(attribute=value)``.
    """
    opsets = {entry.domain: entry.version for entry in model.opset_import}
    found: dict[str, list[str]] = {}
    for node in model.graph.node:
        domain = node.domain if node.domain != "ai.onnx" else ""
        key = f"{domain}::{node.op_type}" if domain else node.op_type
        try:
            get_converter(operation_type=node.op_type, version=opsets.get(domain, opsets.get("", 1)), domain=domain)
        except NotImplementedError:
            found.setdefault(key, []).append(node_name(node))
            continue
        refused = _unsupported_attribute(node)
        if refused:
            found.setdefault(f"{key}({refused})", []).append(node_name(node))
    return found


def check_supported(model: onnx.ModelProto, what: str = "the network") -> onnx.ModelProto:
    """Raise one error naming every unsupported op type (or attribute) and the nodes using it."""
    found = unsupported_ops(model)
    if found:
        parts = []
        for op, nodes in sorted(found.items()):
            shown = ", ".join(nodes[:10]) + (f", ... ({len(nodes)} in all)" if len(nodes) > 10 else "")
            parts.append(f"{op} (nodes {shown})")
        raise DeepDreamError(
            "deepdreamport:onnx:UnsupportedOperator",
            f"net: {what} uses operators that cannot be converted: {'; '.join(parts)}.",
        )
    return model


def convertible_tensors(model: onnx.ModelProto) -> set[str]:
    """Tensors computed only by nodes that can be converted (every ancestor is supported)."""
    bad = {name for nodes in unsupported_ops(model).values() for name in nodes}
    blocked: set[str] = set()
    for node in model.graph.node:
        if node_name(node) in bad or any(name in blocked for name in node.input):
            blocked.update(node.output)
    return {output for node in model.graph.node for output in node.output if output and output not in blocked}


def prepare(model: onnx.ModelProto, check: bool = True) -> onnx.ModelProto:
    """Apply the fix-up passes that make a model convertible, then (``check``) check its operators."""
    model = apply_fixups(model)
    return check_supported(model) if check else model


def _failing_node(model: onnx.ModelProto) -> str:
    """``node 'name' (Op)``: the first node whose onnx2torch converter raises, or ``""``."""
    try:
        graph = OnnxGraph(onnx.shape_inference.infer_shapes(model).graph)
    except Exception:  # a graph onnx2torch cannot even read: nothing more precise to say
        return ""
    opsets = {entry.domain: entry.version for entry in model.opset_import}
    for node in graph.nodes.values():
        domain = node.domain if node.domain != "ai.onnx" else ""
        try:
            converter = get_converter(
                operation_type=node.operation_type, version=opsets.get(domain, opsets.get("", 1)), domain=domain
            )
            converter(node, graph)
        except Exception as exc:
            shown = (int, float, str, bytes, list, tuple)
            attributes = ", ".join(f"{k}={v!r}" for k, v in node.attributes.items() if isinstance(v, shown))
            detail = f"{type(exc).__name__}: {exc}"[:300]
            return f"node {node.name or node.unique_name!r} ({node.operation_type}{', ' + attributes if attributes else ''}): {detail}"
    return ""


def to_torch(model: onnx.ModelProto) -> torch.fx.GraphModule:
    """Convert a prepared ONNX model with onnx2torch, in inference mode, without grads.

    A converter failure is a :class:`DeepDreamError` naming the node, its operator and attributes.
    """
    try:
        module = onnx2torch.convert(model)
    except Exception as exc:
        where = _failing_node(model) or f"{type(exc).__name__}: {exc}"
        raise DeepDreamError(
            "deepdreamport:onnx:ConversionFailed", f"net: the network cannot be converted to torch: {where}."
        ) from exc
    module.eval()
    module.requires_grad_(False)
    return module
