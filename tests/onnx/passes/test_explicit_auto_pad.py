"""The `explicit_auto_pad` fix-up pass on small hand-made graphs, checked against onnxruntime."""

from __future__ import annotations

import numpy as np
from onnx import helper

from deepdreamport.onnx import passes as fx

from .graphs import W, X, make, run_both


def test_explicit_auto_pad_same_upper_and_lower():
    for mode in ("SAME_UPPER", "SAME_LOWER", "VALID"):
        model = make([helper.make_node("Conv", ["x", "w"], ["y"], auto_pad=mode, strides=[2, 2])], {"w": W})
        fixed = fx.explicit_auto_pad(model)
        attrs = {a.name for a in fixed.graph.node[0].attribute}
        assert "auto_pad" not in attrs and "pads" in attrs
        out, ref = run_both(model, X)
        assert out.shape == ref.shape and np.abs(out - ref).max() <= 1e-5 * np.abs(ref).max(), mode
    assert fx.same_padding(7, 4, 1, 1, True) == (1, 2) and fx.same_padding(7, 4, 1, 1, False) == (2, 1)
