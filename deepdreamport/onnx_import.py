"""Reading ONNX files and converting them to torch with onnx2torch.

Mirrors the import half of MATLAB's ``importONNXNetwork``: read and check the
file, apply the graph fix-ups that onnx2torch needs (see :mod:`.onnx_fixups`),
refuse operators no converter handles (naming every one, like the importer's
list of unsupported operators), and convert to a ``torch.fx.GraphModule``.

Deviation: MATLAB imports unsupported operators as placeholder layers; the
port refuses the network before converting anything.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union

import onnx
import torch

from .errors import DeepDreamError

OnnxSource = Union[str, os.PathLike, bytes, onnx.ModelProto]


def _checked(model: onnx.ModelProto, what: str) -> onnx.ModelProto:
    """A parsed protobuf that is not an ONNX model (no graph nodes) is refused."""
    if model.ir_version < 1 or not len(model.graph.node):
        raise DeepDreamError(
            "deepdreamport:onnx:NotONNX", f"net: {what} is not an ONNX model (it has no IR version or no graph nodes)."
        )
    return model


def _parse(data: bytes, what: str) -> onnx.ModelProto:
    try:
        return _checked(onnx.load_from_string(data), what)
    except DeepDreamError:
        raise
    except Exception as exc:  # protobuf raises several unrelated types
        # An ONNX file starts with field 1 (ir_version, varint): byte 0x08.
        if data[:1] == b"\x08" and len(data) > 8:
            raise DeepDreamError(
                "deepdreamport:onnx:CorruptFile",
                f"net: {what} looks like ONNX but cannot be parsed: truncated or corrupted ({exc}).",
            ) from exc
        raise DeepDreamError("deepdreamport:onnx:NotONNX", f"net: {what} is not an ONNX model ({exc}).") from exc


def _load_external_data(model: onnx.ModelProto, base: Path, what: str) -> None:
    from onnx.external_data_helper import _get_all_tensors, load_external_data_for_model, uses_external_data

    missing = []
    for tensor in _get_all_tensors(model):
        if uses_external_data(tensor):
            location = next((e.value for e in tensor.external_data if e.key == "location"), "")
            if not (base / location).is_file():
                missing.append(f"{location} (tensor {tensor.name})")
    if missing:
        raise DeepDreamError(
            "deepdreamport:onnx:MissingExternalData",
            f"net: {what} stores weights in external files that do not exist next to it: {', '.join(missing)}.",
        )
    try:
        load_external_data_for_model(model, str(base))
    except Exception as exc:
        raise DeepDreamError(
            "deepdreamport:onnx:CorruptFile", f"net: cannot read the external data of {what} ({exc})."
        ) from exc


def read_onnx(source: OnnxSource) -> onnx.ModelProto:
    """Read an ONNX model from a path, raw bytes or a ``ModelProto``."""
    if isinstance(source, onnx.ModelProto):
        return source
    if isinstance(source, (bytes, bytearray)):
        return _parse(bytes(source), "the bytes given")
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise DeepDreamError("deepdreamport:onnx:FileNotFound", f"net: ONNX file {str(path)!r} does not exist.")
        what = repr(str(path))
        model = _parse(path.read_bytes(), what)
        _load_external_data(model, path.parent, what)
        return model
    raise DeepDreamError(
        "deepdreamport:onnx:BadSource",
        f"net: expected a path to an ONNX file, ONNX bytes or an onnx.ModelProto; got {type(source).__name__}.",
    )


def unsupported_ops(model: onnx.ModelProto) -> dict[str, list[str]]:
    """``{op type: [node names]}`` for every node no onnx2torch converter handles."""
    from onnx2torch.node_converters import get_converter

    from . import converters  # noqa: F401  (registers the port's converters)

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
    from .onnx_fixups import apply_fixups

    return check_supported(apply_fixups(model))


def to_torch(model: onnx.ModelProto) -> torch.fx.GraphModule:
    """Convert a prepared ONNX model with onnx2torch, in inference mode, without grads."""
    import onnx2torch

    from . import converters  # noqa: F401  (registers the port's converters)

    module = onnx2torch.convert(model)
    module.eval()
    module.requires_grad_(False)
    return module
