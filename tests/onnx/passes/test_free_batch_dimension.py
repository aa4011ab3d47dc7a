"""The `free_batch_dimension` fix-up pass on small hand-made graphs, checked against onnxruntime."""

from __future__ import annotations

import numpy as np
import torch
from onnx import helper, numpy_helper

from deepdreamport.onnx import passes as fx
from deepdreamport.onnx.convert import prepare, to_torch

from .graphs import X, make


def test_free_batch_dimension():
    model = make(
        [helper.make_node("Reshape", ["x", "s"], ["r"]), helper.make_node("Relu", ["r"], ["y"])],
        {"s": np.asarray([1, 98], dtype=np.int64)},
    )
    fixed = fx.free_batch_dimension(model)
    shape = numpy_helper.to_array(next(i for i in fixed.graph.initializer if i.name == fixed.graph.node[0].input[1]))
    assert shape.tolist() == [-1, 98]
    assert fixed.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "N"
    batch = np.concatenate([X, X * 2])
    with torch.no_grad():
        out = to_torch(prepare(model))(torch.from_numpy(batch))
    assert tuple(out.shape) == (2, 98)
