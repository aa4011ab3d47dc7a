"""The `opset17_forms` lowering (through `downgrade_opset`): opset-18 operator forms, checked against onnxruntime at 18.

Each graph's reference is onnxruntime running the opset-18 graph as written; ONNX's own
version converter has no 18 → 17 adapter for ``Split``, so these graphs stayed at 18 and
onnx2torch refused them.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from deepdreamport.onnx import passes as fx
from deepdreamport.onnx.convert import prepare, to_torch
from deepdreamport.onnx.graph import default_opset
from deepdreamport.onnx.passes.opset17_forms import opset17_forms

X = np.random.RandomState(3).randn(1, 5, 6, 7).astype(np.float32)


def _model(nodes, inits=None, outputs=("y",)):
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(X.shape))],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in outputs],
        initializer=[numpy_helper.from_array(np.asarray(v), k) for k, v in (inits or {}).items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    return model


def _check(model):
    lowered = fx.downgrade_opset(model)
    assert default_opset(lowered) == 17 and default_opset(model) == 18
    refs = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": X})
    with torch.no_grad():
        outs = to_torch(prepare(model))(torch.from_numpy(X))
    outs = outs if isinstance(outs, (tuple, list)) else [outs]
    assert len(outs) == len(refs)
    for out, ref in zip(outs, refs):
        assert out.shape == ref.shape and np.abs(out.numpy() - ref).max() <= 1e-6 * np.abs(ref).max()


@pytest.mark.parametrize("parts", [5, 2])  # 5 channels in 5 equal parts; in 2 uneven ones (3 + 2)
def test_split_with_num_outputs(parts):
    outputs = [f"s{index}" for index in range(parts)]
    nodes = [helper.make_node("Split", ["x"], outputs, name="split", axis=1, num_outputs=parts)]
    nodes += [
        helper.make_node("Relu", [name], [f"y{index}"], name=f"relu{index}") for index, name in enumerate(outputs)
    ]
    _check(_model(nodes, outputs=[f"y{index}" for index in range(parts)]))


def test_reductions_with_axes_inputs_constant_nodes_and_no_axes():
    axes = helper.make_node(
        "Constant", [], ["axes"], name="axes", value=numpy_helper.from_array(np.array([-1], np.int64))
    )
    nodes = [
        axes,
        helper.make_node("ReduceMean", ["x", "axes"], ["m"], name="mean", keepdims=1),
        helper.make_node("ReduceMax", ["m"], ["all"], name="max_all", keepdims=1),  # no axes: every axis
        helper.make_node("ReduceMin", ["x"], ["same"], name="noop", noop_with_empty_axes=1),  # no axes: identity
        helper.make_node("Add", ["same", "all"], ["y"], name="add"),
    ]
    _check(_model(nodes))


def test_pad_with_axes_and_resize_with_default_opset_18_attributes():
    inits = {"pads": np.array([1, 2, 0, 3], np.int64), "axes": np.array([2, -1], np.int64)}
    inits["scales"] = np.array([1, 1, 2, 2], np.float32)
    nodes = [
        helper.make_node("Pad", ["x", "pads", "", "axes"], ["p"], name="pad", mode="constant"),
        helper.make_node(
            "Resize", ["p", "", "scales"], ["y"], name="resize", mode="nearest", antialias=0,
            keep_aspect_ratio_policy="stretch",
        ),
    ]  # fmt: skip
    _check(_model(nodes, inits))


def test_forms_without_an_opset_17_counterpart_leave_the_graph_at_18():
    axes = helper.make_node("ReduceMean", ["x", "x_axes"], ["y"], name="mean")  # axes computed at run time
    shape = helper.make_node("Shape", ["x"], ["x_axes"], name="shape", start=3)
    assert opset17_forms(_model([shape, axes])) is None
    l2 = _model([helper.make_node("ReduceL2", ["x"], ["y"], name="l2", noop_with_empty_axes=1)])  # |x|: no identity
    assert opset17_forms(l2) is None
    mish = _model([helper.make_node("Mish", ["x"], ["y"], name="mish")])  # new in opset 18
    assert opset17_forms(mish) is None
