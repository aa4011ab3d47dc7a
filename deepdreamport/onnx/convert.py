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
import onnx2torch.converter
import torch
from onnx2torch.node_converters import get_converter
from onnx2torch.onnx_graph import OnnxGraph
from onnx2torch.utils.safe_shape_inference import safe_shape_inference

from ..errors import DeepDreamError, describe
from . import converters
from .graph import attribute, infer_shapes, node_name
from .passes import apply_fixups
from .static_pads import static_pads
from .tuple_scatter_nd import tuple_scatter_nd
from .tuple_slices import tuple_slices

converters.register()


def _shape_inference_without_weights(model_or_path, **options):
    """onnx2torch's shape inference, on a weightless copy for a model in memory (:func:`.graph.infer_shapes`).

    The same shapes, without serialising the weights twice (4 s of a VGG-19's
    6 s conversion); a path goes to onnx2torch's own function.
    """
    if isinstance(model_or_path, onnx.ModelProto):
        return infer_shapes(model_or_path, **options)
    return safe_shape_inference(model_or_path, **options)


onnx2torch.converter.safe_shape_inference = _shape_inference_without_weights


def _unsupported_attribute(node: onnx.NodeProto) -> str:
    """The attribute or output of ``node`` that onnx2torch refuses or gets wrong, or ``""``."""
    if node.domain not in ("", "ai.onnx"):
        return ""
    if node.op_type == "Reshape" and attribute(node, "allowzero", 0):
        return "allowzero=1"  # the harmless cases are removed by the reshape_allowzero pass
    if node.op_type == "Pad" and (attribute(node, "mode", b"constant") or b"constant") not in _PAD_MODES:
        return f"mode={attribute(node, 'mode').decode()}"
    return ""


_PAD_MODES = (b"constant", b"reflect", b"edge", b"wrap")
"""The ``Pad`` modes onnx2torch converts (``wrap``: through :mod:`.converters.pad_wrap`)."""


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


OPSET_TOO_NEW = "deepdreamport:onnx:OpsetTooNew"


def check_opsets(model: onnx.ModelProto) -> onnx.ModelProto:
    """Refuse a model that imports an opset newer than the installed ``onnx`` knows, in one line.

    Such a model cannot be lowered (ONNX's version converter has no adapters for it) and
    onnx2torch finds no converter for even its oldest operators, so without this check the
    first node (a ``Conv``) would be named as the operator that cannot be converted. The
    highest opset is the installed onnx's (``onnx.defs``); domains onnx does not define
    (``com.microsoft``, the port's own) are left to the operator check.
    """
    known = onnx.defs.C.schema_version_map()  # domain -> (lowest, highest) opset
    for entry in model.opset_import:
        domain = "" if entry.domain == "ai.onnx" else entry.domain
        if domain in known and entry.version > known[domain][1]:
            highest = known[domain][1]
            raise DeepDreamError(
                OPSET_TOO_NEW,
                f"net: the network is at opset {entry.version} of domain {domain or 'ai.onnx'!r}, newer than "
                f"the highest this installation supports, {highest} (onnx {onnx.__version__}): re-export it at "
                f"opset ≤ {highest} (torch.onnx.export(..., opset_version=17) converts most directly)",
            )
    return model


def prepare(model: onnx.ModelProto, check: bool = True) -> onnx.ModelProto:
    """Refuse opsets newer than onnx knows, apply the fix-up passes that make a model convertible, then
    (``check``) check its operators."""
    model = apply_fixups(check_opsets(model))
    return check_supported(model) if check else model


def to_torch(model: onnx.ModelProto) -> torch.fx.GraphModule:
    """Convert a prepared ONNX model with onnx2torch, in inference mode, without grads.

    ``Pad`` nodes with constant pads become static pad modules (:mod:`.static_pads`:
    no data-dependent reads, so ``torch.compile`` sees one graph); ``Slice`` and ``ScatterND`` modules
    index with tuples (:mod:`.tuple_slices`, :mod:`.tuple_scatter_nd`: no deprecation warning on every
    call). A converter that refuses a node (an attribute value it does not handle)
    becomes a ``DeepDreamError`` naming the node, its operator and its
    attributes (:func:`conversion_error`).
    """
    try:
        module = onnx2torch.convert(model)
    except Exception as exc:  # onnx2torch raises NotImplementedError, ValueError, KeyError, ...
        raise conversion_error(model, exc) from None
    module = tuple_scatter_nd(tuple_slices(static_pads(module)))
    module.eval()
    module.requires_grad_(False)
    return module


def _attributes(node: onnx.NodeProto) -> str:
    values = []
    for entry in node.attribute:
        value = onnx.helper.get_attribute_value(entry)
        text = value.decode(errors="replace") if isinstance(value, bytes) else value
        values.append(f"{entry.name}={describe(text, 40)}")
    return ", ".join(values) or "none"


def conversion_error(model: onnx.ModelProto, exc: Exception) -> DeepDreamError:
    """The error for a failed conversion: the first node whose converter fails, named with its attributes.

    Each node is converted on its own, in graph order, with the converter
    onnx2torch would use, on the graph with the shapes onnx2torch infers before
    converting (without them every converter that reads its input's rank, such
    as ``MaxPool``, would fail first and be blamed); the first that raises is the culprit.
    """
    reason = f"{type(exc).__name__}: {exc}"
    try:
        graph = OnnxGraph(infer_shapes(model).graph)
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
