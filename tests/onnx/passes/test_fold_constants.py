"""The `fold_constants` fix-up pass on small hand-made graphs, checked against onnxruntime."""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from deepdreamport.onnx import passes as fx

from .graphs import W, X, make, run_both


def test_fold_constants_of_shape():
    shape = np.asarray(W.shape, dtype=np.int64)
    fill = helper.make_node(
        "ConstantOfShape", ["s"], ["w"], value=helper.make_tensor("v", TensorProto.FLOAT, [1], [0.5])
    )
    model = make([fill, helper.make_node("Conv", ["x", "w"], ["y"])], {"s": shape})
    fixed = fx.fold_constants(model)
    assert [n.op_type for n in fixed.graph.node] == ["Conv"]
    assert np.all(numpy_helper.to_array(next(i for i in fixed.graph.initializer if i.name == "w")) == 0.5)
    out, ref = run_both(model, X)
    assert np.abs(out - ref).max() <= 1e-5 * np.abs(ref).max()
