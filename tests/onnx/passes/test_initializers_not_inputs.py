"""The `initializers_not_inputs` fix-up pass on small hand-made graphs, checked against onnxruntime."""

from __future__ import annotations

from onnx import TensorProto, helper

from deepdreamport.onnx import passes as fx

from .graphs import W, make


def test_initializers_not_inputs():
    model = make([helper.make_node("Conv", ["x", "w"], ["y"])], {"w": W}, ir=3)
    model.graph.input.append(helper.make_tensor_value_info("w", TensorProto.FLOAT, list(W.shape)))
    fixed = fx.initializers_not_inputs(model)
    assert [v.name for v in fixed.graph.input] == ["x"] and fixed.ir_version >= 7
