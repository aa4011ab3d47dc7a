"""Receptive-field size of a layer, by the Deep Learning Toolbox's rule.

Mirrors the toolbox's receptive-field helper used by ``deepDreamImage``: walk
the layers from the input in order and compose Convolution, MaxPooling and
AveragePooling layers (kernel, dilation, stride) and fully connected layers
(which see their layer's whole input); every other layer leaves the field
unchanged, except a ``Slice`` with steps on the image axes (a YOLO ``Focus``),
which strides like a 1×1 pooling. The result is the largest extent over output positions, so it never
exceeds the network's input size. It sizes the default initial image and is
the smallest ``InitialImage`` accepted.

Deviation: MATLAB walks a series layer list; for DAG graphs this walks the ONNX
graph and takes, per tensor, the largest field over its inputs.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import numpy_helper

from ..onnx.graph import attribute

_WINDOW_OPS = {"Conv", "ConvTranspose", "MaxPool", "AveragePool", "LpPool"}
_WHOLE_INPUT_OPS = {"Gemm", "MatMul", "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool", "Flatten"}


def _kernel(node: onnx.NodeProto, initializers: dict[str, onnx.TensorProto]) -> list[int]:
    kernel = attribute(node, "kernel_shape", None)
    if kernel is None and node.op_type in ("Conv", "ConvTranspose") and node.input[1] in initializers:
        kernel = list(initializers[node.input[1]].dims[2:])
    return list(kernel or [1, 1])


def _slice_steps(node: onnx.NodeProto, initializers: dict[str, onnx.TensorProto]) -> tuple[int, int]:
    """``(step_h, step_w)`` of a ``Slice`` (opset ≥ 10) on an N×C×H×W tensor; 1 where unknown or not sliced."""
    if len(node.input) < 5 or node.input[4] not in initializers:
        return 1, 1
    steps = numpy_helper.to_array(initializers[node.input[4]]).astype(np.int64).tolist()
    if len(node.input) > 3 and node.input[3]:
        if node.input[3] not in initializers:
            return 1, 1
        axes = numpy_helper.to_array(initializers[node.input[3]]).astype(np.int64).tolist()
    else:
        axes = list(range(len(steps)))
    by_axis = {axis % 4: abs(step) for axis, step in zip(axes, steps)}
    return by_axis.get(2, 1), by_axis.get(3, 1)


def receptive_fields(
    model: onnx.ModelProto, input_name: str, input_size: tuple[int, int], stop_at: str | None = None
) -> dict[str, tuple[int, int]]:
    """Receptive field ``(height, width)`` of every tensor fed by ``input_name``."""
    initializers = {init.name: init for init in model.graph.initializer}
    # per tensor: (extent_h, extent_w, jump_h, jump_w); only tensors fed by the image
    field: dict[str, tuple[float, float, float, float]] = {input_name: (1, 1, 1, 1)}
    whole = (float(input_size[0]), float(input_size[1]))
    for node in model.graph.node:
        inputs = [field[name] for name in node.input if name in field]
        if not inputs:
            continue
        extent_h = max(i[0] for i in inputs)
        extent_w = max(i[1] for i in inputs)
        jump_h = max(i[2] for i in inputs)
        jump_w = max(i[3] for i in inputs)
        if node.op_type in _WINDOW_OPS:
            kernel = _kernel(node, initializers)
            strides = list(attribute(node, "strides", [1, 1]))
            dilations = list(attribute(node, "dilations", [1, 1]))
            extent_h += (kernel[0] - 1) * dilations[0] * jump_h
            extent_w += (kernel[-1] - 1) * dilations[-1] * jump_w
            jump_h *= strides[0]
            jump_w *= strides[-1]
        elif node.op_type == "Slice":
            step_h, step_w = _slice_steps(node, initializers)
            jump_h *= step_h
            jump_w *= step_w
        elif node.op_type in _WHOLE_INPUT_OPS:
            extent_h, extent_w = whole
        state = (min(extent_h, whole[0]), min(extent_w, whole[1]), jump_h, jump_w)
        for output in node.output:
            field[output] = state
        if stop_at is not None and stop_at in node.output:
            break
    return {name: (int(value[0]), int(value[1])) for name, value in field.items()}


def receptive_field(
    model: onnx.ModelProto, input_name: str, output_name: str, input_size: tuple[int, int]
) -> tuple[int, int]:
    """Receptive field ``(height, width)`` of tensor ``output_name`` in pixels."""
    fields = receptive_fields(model, input_name, input_size, stop_at=output_name)
    if output_name not in fields:
        raise KeyError(f"tensor {output_name!r} does not depend on the input {input_name!r}")
    return fields[output_name]
