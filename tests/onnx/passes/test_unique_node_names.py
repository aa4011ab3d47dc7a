"""The `unique_node_names` fix-up pass: repeated and empty node names, checked against onnxruntime.

onnxruntime refuses a graph with a repeated node name, so its reference runs the
same graph with every node renamed ``n0``, ``n1``, … (names never change values).
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import helper

from deepdreamport.nets import OnnxNetwork
from deepdreamport.onnx import passes as fx
from deepdreamport.onnx.convert import prepare, to_torch

from .graphs import W, X, make

W2 = np.random.RandomState(2).randn(3, 3, 3, 3).astype(np.float32)


def _named(names: list[str]) -> onnx.ModelProto:
    """conv → relu → conv → relu, the nodes named ``names`` ("" for no name)."""
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["y"]),
    ]
    for node, name in zip(nodes, names):
        node.name = name
    return make(nodes, {"w": W, "w2": W2})


def _reference(model: onnx.ModelProto) -> np.ndarray:
    renamed = onnx.ModelProto()
    renamed.CopyFrom(model)
    for index, node in enumerate(renamed.graph.node):
        node.name = f"n{index}"
    session = ort.InferenceSession(renamed.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": X})[0]


def test_repeated_names_convert_and_match_onnxruntime():
    """``a, a, a_1``: onnx2torch's own counter would name the second ``a`` ``a_1`` too, losing an input."""
    model = _named(["a", "a", "a_1", ""])
    with torch.no_grad():
        out = to_torch(prepare(model))(torch.from_numpy(X)).numpy()
    ref = _reference(model)
    assert np.abs(out - ref).max() <= 1e-5 * np.abs(ref).max()


def test_every_node_is_a_layer_of_its_own_with_stable_names():
    model = _named(["a", "a", "a_1", ""])
    fixed = fx.unique_node_names(model)
    assert [node.name for node in fixed.graph.node] == ["a", "a_2", "a_1", "y"]
    assert [node.name for node in fx.unique_node_names(model).graph.node] == ["a", "a_2", "a_1", "y"]
    assert [node.name for node in model.graph.node] == ["a", "a", "a_1", ""]  # a copy: the input is untouched
    rows = OnnxNetwork.from_onnx(model).layers
    assert [(row.name, row.type) for row in rows[1:]] == [
        ("a", "Convolution"),
        ("a_2", "ReLU"),
        ("a_1", "Convolution"),
        ("y", "ReLU"),
    ]


def test_names_onnx2torch_would_read_alike_are_repeats():
    """``a.b`` and ``a/b`` are both the module ``a/b`` in onnx2torch; an empty name whose output is taken is suffixed."""
    fixed = fx.unique_node_names(_named(["a.b", "a/b", "", "c1"]))
    assert [node.name for node in fixed.graph.node] == ["a.b", "a/b_2", "c2", "c1"]
    fixed = fx.unique_node_names(_named(["", "c1", "", ""]))
    assert [node.name for node in fixed.graph.node] == ["c1_2", "c1", "c2", "y"]


def test_unique_names_are_left_alone():
    model = _named(["conv1", "relu1", "conv2", "relu2"])
    assert fx.unique_node_names(model) is model
