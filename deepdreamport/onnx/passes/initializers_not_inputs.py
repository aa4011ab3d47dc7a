"""Fix-up pass: initializers listed as graph inputs (IR < 4) → removed from the inputs; IR ≥ 7."""

from __future__ import annotations

import onnx

from ..graph import (
    copy_model,
)


def initializers_not_inputs(model: onnx.ModelProto) -> onnx.ModelProto:
    """Drop initializers from ``graph.input`` and raise the IR version to 7 (opset 13's).

    Before IR 4 every initializer had to be listed as a graph input; the
    initializers the later passes add are not, which breaks shape inference
    on such old graphs.
    """
    initializers = {init.name for init in model.graph.initializer}
    if model.ir_version >= 7 and not any(v.name in initializers for v in model.graph.input):
        return model
    model = copy_model(model)
    kept = [v for v in model.graph.input if v.name not in initializers]
    del model.graph.input[:]
    model.graph.input.extend(kept)
    model.ir_version = max(model.ir_version, 7)
    return model
