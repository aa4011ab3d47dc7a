"""The `explicit_pool_pads` fix-up pass on small hand-made graphs, checked against onnxruntime."""

from __future__ import annotations

import numpy as np
from onnx import helper

from deepdreamport.onnx import passes as fx

from .graphs import X, make, run_both


def test_explicit_pool_pads_both_count_modes():
    for include in (0, 1):
        pool = helper.make_node(
            "AveragePool",
            ["x"],
            ["y"],
            kernel_shape=[3, 3],
            pads=[0, 0, 1, 2],
            strides=[2, 2],
            count_include_pad=include,
        )
        model = make([pool])
        fixed = fx.explicit_pool_pads(model)
        assert "Pad" in [n.op_type for n in fixed.graph.node]
        out, ref = run_both(model, X)
        assert out.shape == ref.shape and np.abs(out - ref).max() <= 1e-6 * np.abs(ref).max(), include
