"""The `dropout_to_identity` fix-up pass on small hand-made graphs, checked against onnxruntime."""

from __future__ import annotations

import numpy as np
from onnx import helper

from deepdreamport.onnx import passes as fx

from .graphs import X, make, run_both


def test_dropout_to_identity_drops_mask():
    model = make([helper.make_node("Dropout", ["x"], ["d", "mask"]), helper.make_node("Relu", ["d"], ["y"])])
    fixed = fx.dropout_to_identity(model)
    assert [n.op_type for n in fixed.graph.node] == ["Identity", "Relu"]
    out, ref = run_both(model, X)
    assert np.array_equal(out, ref)
