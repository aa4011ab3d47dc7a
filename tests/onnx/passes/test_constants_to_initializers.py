"""The `constants_to_initializers` fix-up pass on small hand-made graphs, checked against onnxruntime."""

from __future__ import annotations

import numpy as np
from onnx import helper, numpy_helper

from deepdreamport.onnx import passes as fx

from .graphs import W, X, make, run_both


def test_constants_to_initializers():
    const = helper.make_node("Constant", [], ["w"], value=numpy_helper.from_array(W))
    model = make([const, helper.make_node("Conv", ["x", "w"], ["y"])])
    fixed = fx.constants_to_initializers(model)
    assert [n.op_type for n in fixed.graph.node] == ["Conv"]
    out, ref = run_both(model, X)
    assert np.abs(out - ref).max() <= 1e-5 * np.abs(ref).max()
