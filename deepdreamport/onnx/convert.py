"""Converting a read ONNX model to torch with onnx2torch.

Mirrors the conversion half of MATLAB's ``importONNXNetwork``: apply the graph
fix-ups that onnx2torch needs (:mod:`.passes`), refuse operators no converter
handles (naming every one, like the importer's list of unsupported operators),
and convert to a ``torch.fx.GraphModule`` in inference mode. The port's own
converters (:mod:`.converters`) are registered when this module is imported.

Deviation: MATLAB imports unsupported operators as placeholder layers; the
port refuses the network before converting anything.
"""

from __future__ import annotations

import onnx
import onnx2torch
import torch
from onnx2torch.node_converters import get_converter
from onnx2torch.onnx_graph import OnnxGraph

from ..errors import DeepDreamError, describe
from . import converters
from .passes import apply_fixups

converters.register()


def unsupported_ops(model: onnx.ModelProto) -> dict[str, list[str]]:
    """``{op type: [node names]}`` for every node no onnx2torch converter handles."""
    opsets = {entry.domain: entry.version for entry in model.opset_import}
    found: dict[str, list[str]] = {}
    for node in model.graph.node:
        domain = node.domain if node.domain != "ai.onnx" else ""
        try:
            get_converter(operation_type=node.op_type, version=opsets.get(domain, opsets.get("", 1)), domain=domain)
        except NotImplementedError:
            key = f"{domain}::{node.op_type}" if domain else node.op_type
            found.setdefault(key, []).append(node.name or node.output[0])
    return found


def check_supported(model: onnx.ModelProto) -> onnx.ModelProto:
    """Raise one error naming every unsupported op type and the nodes using it."""
    found = unsupported_ops(model)
    if found:
        parts = []
        for op, nodes in sorted(found.items()):
            shown = ", ".join(nodes[:10]) + (f", ... ({len(nodes)} in all)" if len(nodes) > 10 else "")
            parts.append(f"{op} (nodes {shown})")
        raise DeepDreamError(
            "deepdreamport:onnx:UnsupportedOperator",
            f"net: the network uses operators that cannot be converted: {'; '.join(parts)}.",
        )
    return model


def prepare(model: onnx.ModelProto) -> onnx.ModelProto:
    """Apply the fix-up passes that make a model convertible, then check its operators."""
    return check_supported(apply_fixups(model))


def to_torch(model: onnx.ModelProto) -> torch.fx.GraphModule:
    """Convert a prepared ONNX model with onnx2torch, in inference mode, without grads.

    A converter that refuses a node (an attribute value it does not handle)
    becomes a ``DeepDreamError`` naming the node, its operator and its
    attributes (:func:`conversion_error`).
    """
    try:
        module = onnx2torch.convert(model)
    except Exception as exc:  # onnx2torch raises NotImplementedError, ValueError, KeyError, ...
        raise conversion_error(model, exc) from None
    module.eval()
    module.requires_grad_(False)
    return module


def _attributes(node: onnx.NodeProto) -> str:
    values = []
    for attribute in node.attribute:
        value = onnx.helper.get_attribute_value(attribute)
        text = value.decode(errors="replace") if isinstance(value, bytes) else value
        values.append(f"{attribute.name}={describe(text, 40)}")
    return ", ".join(values) or "none"


def conversion_error(model: onnx.ModelProto, exc: Exception) -> DeepDreamError:
    """The error for a failed conversion: the first node whose converter fails, named with its attributes.

    Each node is converted on its own, in graph order, with the converter
    onnx2torch would use; the first that raises is the culprit.
    """
    reason = f"{type(exc).__name__}: {exc}"
    try:
        graph = OnnxGraph(model.graph)
        opsets = {entry.domain: entry.version for entry in model.opset_import}
        for name, node in graph.nodes.items():
            converter = get_converter(
                domain=node.domain, operation_type=node.operation_type, version=opsets.get(node.domain, 1)
            )
            try:
                converter(node, graph)
            except Exception as node_exc:
                return DeepDreamError(
                    "deepdreamport:onnx:ConversionFailed",
                    f"net: node {node.name or name!r} (operator {node.operation_type}, "
                    f"attributes {_attributes(node.proto)}) "
                    f"cannot be converted to torch: {type(node_exc).__name__}: {node_exc}",
                )
    except Exception:  # the diagnosis itself failed: report the original reason
        pass
    return DeepDreamError("deepdreamport:onnx:ConversionFailed", f"net: cannot be converted to torch ({reason})")
