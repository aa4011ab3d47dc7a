"""The `static_reshape_targets` fix-up pass: run-time ``Reshape`` targets folded, the batch kept free (issue 18)."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import torch
from onnx import TensorProto, helper, numpy_helper

from deepdreamport.onnx import passes as fx
from deepdreamport.onnx.convert import prepare, to_torch
from deepdreamport.onnx.graph import attribute


def _model(shape_nodes, target, allowzero=0, opset=13, dims=("N", 2, "H", "W")):
    """``x`` (N×2×H×W) → Relu → Reshape to ``target`` (computed by ``shape_nodes``) → Relu."""
    reshape = helper.make_node("Reshape", ["r", target], ["v"], name="view", **({"allowzero": 1} if allowzero else {}))
    graph = helper.make_graph(
        [
            helper.make_node("Relu", ["x"], ["r"], name="relu"),
            *shape_nodes,
            reshape,
            helper.make_node("Relu", ["v"], ["y"]),
        ],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(dims))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[
            numpy_helper.from_array(np.array([0], dtype=np.int64), "zero"),
            numpy_helper.from_array(np.array([1], dtype=np.int64), "one"),
            numpy_helper.from_array(np.array([2], dtype=np.int64), "two"),
            numpy_helper.from_array(np.array([3], dtype=np.int64), "three"),
            numpy_helper.from_array(np.array([5], dtype=np.int64), "five"),
            numpy_helper.from_array(np.array([-1], dtype=np.int64), "minus_one"),
            numpy_helper.from_array(np.array([2], dtype=np.int64), "channels"),
        ],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _agrees_with_onnxruntime(model, *shapes):
    module = to_torch(prepare(model))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    for shape in shapes:
        x = np.random.RandomState(0).randn(*shape).astype(np.float32)
        with torch.no_grad():
            out = module(torch.from_numpy(x)).numpy()
        ref = session.run(None, {"x": x})[0]
        assert out.shape == ref.shape and np.abs(out - ref).max() == 0, shape


def _target(model):
    view = next(node for node in model.graph.node if node.op_type == "Reshape")
    values = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    return view, values.get(view.input[1])


def test_torchscript_view_batch_minus_one_is_folded_to_copy_the_batch():
    """PyTorch ≤ 1.x ``x.view(x.size(0), -1)``: ``Shape → Gather(0) → Unsqueeze → Concat(-1)`` → ``[0, -1]``."""
    nodes = [
        helper.make_node("Shape", ["r"], ["shape"]),
        helper.make_node("Gather", ["shape", "zero"], ["batch"], axis=0),
        helper.make_node("Concat", ["batch", "minus_one"], ["target"], axis=0),
    ]
    model = _model(nodes, "target")
    fixed = fx.static_reshape_targets(model)
    view, target = _target(fixed)
    assert target.tolist() == [0, -1] and not any(
        node.op_type in ("Shape", "Gather", "Concat") for node in fixed.graph.node
    )
    assert sum(node.op_type == "Shape" for node in model.graph.node) == 1  # the input model is not changed
    _agrees_with_onnxruntime(model, (1, 2, 6, 5), (3, 2, 6, 5), (2, 2, 9, 4))


def test_dynamo_batch_channels_rest_with_allowzero_is_folded_and_allowzero_dropped():
    """``x.view(x.size(0), x.size(1), -1)`` at opset 18: ``Shape(start=0, end=1)`` → ``Concat([N], [2], [-1])``."""
    nodes = [
        helper.make_node("Shape", ["x"], ["batch"], start=0, end=1),
        helper.make_node("Concat", ["batch", "channels", "minus_one"], ["target"], axis=0),
    ]
    model = _model(nodes, "target", allowzero=1, opset=18)
    view, target = _target(fx.static_reshape_targets(model))
    assert target.tolist() == [0, 2, -1] and attribute(view, "allowzero", 0) == 0
    _agrees_with_onnxruntime(model, (1, 2, 6, 5), (2, 2, 8, 8))


def test_a_single_batch_entry_becomes_minus_one():
    nodes = [
        helper.make_node("Shape", ["x"], ["batch"], start=0, end=1),
        helper.make_node("Concat", ["batch", "channels", "three", "five", "two"], ["target"], axis=0),
    ]
    model = _model(nodes, "target", opset=15, dims=("N", 2, 6, 5))
    assert _target(fx.static_reshape_targets(model))[1].tolist() == [-1, 2, 3, 5, 2]
    _agrees_with_onnxruntime(model, (1, 2, 6, 5), (3, 2, 6, 5))


def test_a_target_that_depends_on_the_image_size_stays_computed_and_converts():
    """``x.view(b, c, h * w)``: the last entry changes with the image, so folding it would break other sizes."""
    nodes = [
        helper.make_node("Shape", ["r"], ["shape"]),
        helper.make_node("Slice", ["shape", "zero", "two"], ["batch_channels"]),
        helper.make_node("Slice", ["shape", "two", "three"], ["height"]),
        helper.make_node("Slice", ["shape", "three", "minus_one"], ["unused"]),
        helper.make_node("Gather", ["shape", "three"], ["width"], axis=0),
        helper.make_node("Mul", ["height", "width"], ["area"]),
        helper.make_node("Concat", ["batch_channels", "area"], ["target"], axis=0),
    ]
    model = _model(nodes, "target", allowzero=1, opset=18)
    assert fx.static_reshape_targets(model) is model
    prepared = prepare(model)  # reshape_allowzero drops allowzero of a run-time target: it converts
    assert attribute(next(n for n in prepared.graph.node if n.op_type == "Reshape"), "allowzero", 0) == 0
    _agrees_with_onnxruntime(model, (1, 2, 6, 5), (2, 2, 7, 3))


def test_graph_without_a_computed_target_is_returned_unchanged():
    model = _model([], "minus_one")
    assert fx.static_reshape_targets(model) is model
