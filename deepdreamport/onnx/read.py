"""Reading ONNX files: a path, bytes or a ``ModelProto``, with external data.

Mirrors the reading half of MATLAB's ``importONNXNetwork``: the file must
exist, parse as ONNX and have its external weight files next to it; each
failure is one :class:`~deepdreamport.errors.DeepDreamError` naming the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, Union

import onnx
from onnx.external_data_helper import load_external_data_for_model, uses_external_data

from ..errors import DeepDreamError
from ..input_files import check_input_file

OnnxSource = Union[str, os.PathLike, bytes, onnx.ModelProto]


def check_onnx_path(path: Union[str, os.PathLike], argument: str = "net") -> Path:
    """The path of an ONNX file to read, refused in one line naming ``argument`` if it cannot be one
    (a URL: nothing is downloaded; a folder; a missing path; not a regular file)."""
    return check_input_file(path, argument, "ONNX file", "deepdreamport:onnx:FileNotFound")


def _checked(model: onnx.ModelProto, what: str) -> onnx.ModelProto:
    """A parsed protobuf that is not an ONNX model (no graph nodes) is refused."""
    if model.ir_version < 1 or not len(model.graph.node):
        raise DeepDreamError(
            "deepdreamport:onnx:NotONNX", f"net: {what} is not an ONNX model (it has no IR version or no graph nodes)."
        )
    return model


GIT_LFS_POINTER = b"version https://git-lfs.github.com/spec/"
"""How a Git LFS pointer file starts (what a checkout without LFS leaves in place of a large file)."""


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
        if data.startswith(GIT_LFS_POINTER):
            raise DeepDreamError(
                "deepdreamport:onnx:GitLfsPointer",
                f"net: {what} is a Git LFS pointer, not the model: fetch the file (git lfs pull; in GitHub Actions "
                "actions/checkout with lfs: true).",
            ) from None
        raise DeepDreamError("deepdreamport:onnx:NotONNX", f"net: {what} is not an ONNX model ({exc}).") from exc


def _graph_tensors(graph: onnx.GraphProto) -> Iterator[onnx.TensorProto]:
    """Every tensor stored in ``graph``: initializers and tensor attributes, subgraphs included."""
    yield from graph.initializer
    for node in graph.node:
        for entry in node.attribute:
            if entry.HasField("t"):
                yield entry.t
            yield from entry.tensors
            if entry.HasField("g"):
                yield from _graph_tensors(entry.g)
            for subgraph in entry.graphs:
                yield from _graph_tensors(subgraph)


def _load_external_data(model: onnx.ModelProto, base: Path, what: str) -> None:
    missing: dict[str, list[str]] = {}  # file -> tensors stored in it
    for tensor in _graph_tensors(model.graph):
        if uses_external_data(tensor):
            location = next((e.value for e in tensor.external_data if e.key == "location"), "")
            if not (base / location).is_file():
                missing.setdefault(location, []).append(tensor.name)
    if missing:
        files = ", ".join(
            f"{location!r} ({len(tensors)} tensors, e.g. {tensors[0]!r})" for location, tensors in missing.items()
        )
        raise DeepDreamError(
            "deepdreamport:onnx:MissingExternalData",
            f"net: {what} stores weights in external files that do not exist next to it: {files}.",
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
        path = check_onnx_path(source)
        what = repr(str(path))
        model = _parse(path.read_bytes(), what)
        _load_external_data(model, path.parent, what)
        return model
    raise DeepDreamError(
        "deepdreamport:onnx:BadSource",
        f"net: expected a path to an ONNX file, ONNX bytes or an onnx.ModelProto; got {type(source).__name__}.",
    )
