"""ONNX → ONNX passes that make exported graphs convertible by onnx2torch.

Each pass is a pure function ``ModelProto -> ModelProto`` that leaves a graph it
does not apply to unchanged. :func:`apply_fixups` runs them in order.
"""

from __future__ import annotations

import onnx
from onnx import version_converter

MIN_OPSET = 13


def default_opset(model: onnx.ModelProto) -> int:
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return entry.version
    return 1


def upgrade_opset(model: onnx.ModelProto, target: int = MIN_OPSET) -> onnx.ModelProto:
    """Raise the default-domain opset to at least ``target``."""
    if default_opset(model) >= target:
        return model
    return version_converter.convert_version(model, target)


PASSES = (upgrade_opset,)


def apply_fixups(model: onnx.ModelProto) -> onnx.ModelProto:
    for fixup in PASSES:
        model = fixup(model)
    return model
