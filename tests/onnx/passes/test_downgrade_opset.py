"""The `downgrade_opset` fix-up pass: opset-18 reductions (axes as an input) lowered to opset 17 for onnx2torch."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import torch
from onnx import TensorProto, helper, numpy_helper

from deepdreamport.onnx import passes as fx
from deepdreamport.onnx.convert import prepare, to_torch
from deepdreamport.onnx.graph import default_opset


def _mean_model(op="ReduceMean", opset=18):
    graph = helper.make_graph(
        [helper.make_node(op, ["x", "axes"], ["y"], keepdims=0)],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 5, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(np.array([2, 3], dtype=np.int64), "axes")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def test_opset_18_reductions_are_lowered_to_17_with_the_same_numbers():
    for op in ("ReduceMean", "ReduceMax", "ReduceL2"):
        model = _mean_model(op)
        lowered = fx.downgrade_opset(model)
        assert default_opset(lowered) == 17 and default_opset(model) == 18
        x = np.random.RandomState(0).randn(1, 3, 5, 4).astype(np.float32)
        ref = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
        with torch.no_grad():
            out = to_torch(prepare(model))(torch.from_numpy(x)).numpy()
        assert out.shape == ref.shape == (1, 3) and np.abs(out - ref).max() <= 1e-6 * np.abs(ref).max()


def test_a_graph_that_converts_at_its_own_opset_is_left_alone():
    model = _mean_model("ReduceSum")  # ReduceSum took its axes as an input from opset 13: converted at 18
    assert fx.downgrade_opset(model) is model
    opset_13 = _mean_model(opset=13)
    assert fx.downgrade_opset(opset_13) is opset_13  # at most opset 17: never touched
