"""The `channels_first_input` fix-up pass on small hand-made graphs, checked against onnxruntime."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import torch
from onnx import helper

from deepdreamport.onnx import passes as fx
from deepdreamport.onnx.convert import prepare, to_torch
from deepdreamport.onnx.graph import static_dims

from .graphs import W, make


def _nhwc():
    nodes = [
        helper.make_node("Transpose", ["x"], ["t"], perm=[0, 3, 1, 2]),
        helper.make_node("Conv", ["t", "w"], ["y"], pads=[1, 1, 1, 1]),
    ]
    return make(nodes, {"w": W}, shape=(1, 7, 5, 2))


def test_nhwc_input_becomes_nchw_with_the_same_numbers():
    model = _nhwc()
    fixed = fx.channels_first_input(model)
    assert static_dims(fixed.graph.input[0]) == [1, 2, 7, 5]
    assert [n.op_type for n in fixed.graph.node] == ["Conv"] and fixed.graph.node[0].input[0] == "x"
    x = np.random.RandomState(4).randn(1, 2, 7, 5).astype(np.float32)
    ref = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(
        None, {"x": x.transpose(0, 2, 3, 1)}
    )[0]
    with torch.no_grad():
        out = to_torch(prepare(model))(torch.from_numpy(x)).numpy()
    assert out.shape == ref.shape and np.abs(out - ref).max() <= 1e-5 * np.abs(ref).max()


def test_channels_last_input_read_otherwise_gets_a_transpose_in_front():
    """A Keras ``Rescaling`` (Mul) before the transpose: a transpose back to NHWC goes in front; same numbers."""
    nodes = [
        helper.make_node("Mul", ["x", "s"], ["m"]),
        helper.make_node("Transpose", ["m"], ["t"], perm=[0, 3, 1, 2]),
        helper.make_node("Relu", ["t"], ["y"]),
    ]
    model = make(nodes, {"s": np.float32(1 / 255)}, shape=("N", 7, 5, 3))
    fixed = fx.channels_first_input(model)
    assert static_dims(fixed.graph.input[0]) == [None, 3, 7, 5]
    front = fixed.graph.node[0]
    assert front.op_type == "Transpose" and list(front.attribute[0].ints) == [0, 2, 3, 1] and front.input[0] == "x"
    x = np.random.RandomState(6).rand(2, 3, 7, 5).astype(np.float32) * 255
    ref = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(
        None, {"x": x.transpose(0, 2, 3, 1)}
    )[0]
    with torch.no_grad():
        out = to_torch(prepare(model))(torch.from_numpy(x)).numpy()
    assert out.shape == ref.shape and np.abs(out - ref).max() <= 1e-6 * np.abs(ref).max()


def test_channels_first_input_is_left_alone():
    model = make([helper.make_node("Relu", ["x"], ["y"])], shape=(1, 3, 7, 5))
    assert fx.channels_first_input(model) is model
