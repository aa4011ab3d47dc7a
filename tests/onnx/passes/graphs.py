"""Small hand-made graphs for the fix-up pass tests, and running them in onnxruntime and in torch."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import torch
from onnx import TensorProto, helper, numpy_helper

from deepdreamport.onnx.convert import prepare, to_torch


def make(nodes, inits=(), shape=(1, 2, 7, 7), out="y", opset=13, ir=7):
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(np.asarray(v), k) for k, v in dict(inits).items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = ir
    return model


def run_both(model, x):
    ref = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    with torch.no_grad():
        out = to_torch(prepare(model))(torch.from_numpy(x)).numpy()
    return out, ref


X = np.random.RandomState(0).randn(1, 2, 7, 7).astype(np.float32)
W = np.random.RandomState(1).randn(3, 2, 3, 3).astype(np.float32)
