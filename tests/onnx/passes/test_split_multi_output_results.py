"""The `split_multi_output_results` fix-up pass: graph outputs of a multi-output node, checked against onnxruntime."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import torch
from onnx import TensorProto, helper

from deepdreamport.onnx import passes as fx
from deepdreamport.onnx.convert import prepare, to_torch

from .graphs import X


def test_both_halves_of_a_split_come_back_as_separate_outputs():
    nodes = [
        helper.make_node("Split", ["x"], ["left", "right"], name="split", axis=1),
        helper.make_node("Relu", ["left"], ["relu"]),
    ]
    outputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in ("relu", "right", "left")]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 7, 7])], outputs
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    fixed = fx.split_multi_output_results(model)
    assert [n.op_type for n in fixed.graph.node] == ["Split", "Identity", "Identity", "Relu"]
    assert [v.name for v in fixed.graph.output] == ["relu", "right", "left"]
    references = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": X})
    with torch.no_grad():
        outs = to_torch(prepare(model))(torch.from_numpy(X))
    assert len(outs) == 3
    for out, ref in zip(outs, references):
        assert np.array_equal(out.numpy(), ref)
