"""Reading ONNX files and converting them to torch with onnx2torch.

Mirrors the import half of MATLAB's ``importONNXNetwork``: read and check the
file, apply the graph fix-ups that onnx2torch needs (see :mod:`.onnx_fixups`),
and convert to a ``torch.fx.GraphModule``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union

import onnx
import torch

from .errors import DeepDreamError

OnnxSource = Union[str, os.PathLike, bytes, onnx.ModelProto]


def read_onnx(source: OnnxSource) -> onnx.ModelProto:
    """Read an ONNX model from a path, raw bytes or a ``ModelProto``."""
    if isinstance(source, onnx.ModelProto):
        return source
    if isinstance(source, (bytes, bytearray)):
        try:
            return onnx.load_from_string(bytes(source))
        except Exception as exc:  # protobuf raises several unrelated types
            raise DeepDreamError(
                "deepdreamport:onnx:NotONNX", f"net: the bytes given are not an ONNX model ({exc})."
            ) from exc
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise DeepDreamError("deepdreamport:onnx:FileNotFound", f"net: ONNX file {str(path)!r} does not exist.")
        try:
            return onnx.load(str(path))
        except Exception as exc:
            raise DeepDreamError(
                "deepdreamport:onnx:NotONNX", f"net: {str(path)!r} is not a readable ONNX model ({exc})."
            ) from exc
    raise DeepDreamError(
        "deepdreamport:onnx:BadSource",
        f"net: expected a path to an ONNX file, ONNX bytes or an onnx.ModelProto; got {type(source).__name__}.",
    )


def prepare(model: onnx.ModelProto) -> onnx.ModelProto:
    """Apply the fix-up passes that make a model convertible."""
    from .onnx_fixups import apply_fixups

    return apply_fixups(model)


def to_torch(model: onnx.ModelProto) -> torch.fx.GraphModule:
    """Convert a prepared ONNX model with onnx2torch, in inference mode, without grads."""
    import onnx2torch

    module = onnx2torch.convert(model)
    module.eval()
    module.requires_grad_(False)
    return module
