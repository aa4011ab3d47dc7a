"""Fix-up pass: opset < 13 → 13 with ``onnx.version_converter``."""

from __future__ import annotations

import onnx
from onnx import version_converter

from ...errors import DeepDreamError
from ..graph import (
    default_opset,
)

MIN_OPSET = 13


def upgrade_opset(model: onnx.ModelProto, target: int = MIN_OPSET) -> onnx.ModelProto:
    """Raise the default-domain opset to at least ``target``."""
    if default_opset(model) >= target:
        return model
    try:
        return version_converter.convert_version(model, target)
    except Exception as exc:  # the converter raises RuntimeError / ConvertError
        raise DeepDreamError(
            "deepdreamport:onnx:OpsetUpgradeFailed",
            f"net: cannot upgrade the model from opset {default_opset(model)} to {target} ({exc}).",
        ) from exc
