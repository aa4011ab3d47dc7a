"""The `resize_input_mean` fix-up pass on small hand-made graphs, checked against onnxruntime."""

from __future__ import annotations

import numpy as np
import onnx
import torch
from onnx import helper

from deepdreamport.core.resize import resize_image
from deepdreamport.onnx import passes as fx
from deepdreamport.onnx.convert import prepare, to_torch

from .graphs import X, make, run_both


def test_resize_input_mean_uses_resize_image():
    mean = np.random.RandomState(2).rand(1, 2, 7, 7).astype(np.float32)
    model = make([helper.make_node("Sub", ["x", "m"], ["y"])], {"m": mean}, shape=("N", 2, "H", "W"))
    fixed = fx.resize_input_mean(model)
    assert fixed.graph.node[0].op_type == fx.RESIZED_MEAN_OP
    module = to_torch(prepare(model))
    small = np.random.RandomState(3).randn(1, 2, 5, 6).astype(np.float32)
    with torch.no_grad():
        out = module(torch.from_numpy(small)).numpy()
    expected = small - resize_image(torch.from_numpy(mean), (5, 6)).numpy()
    assert np.allclose(out, expected, atol=1e-6)
    with torch.no_grad():
        same = module(torch.from_numpy(X)).numpy()
    assert np.allclose(same, X - mean, atol=1e-6)


def test_resized_mean_keeps_shapes_inferable_for_batch_norm():
    """MATLAB's "zerocenter" average image before a BatchNormalization (opset 8, as R2019a–R2020b export)."""
    rng = np.random.RandomState(5)
    mean = rng.rand(1, 2, 7, 7).astype(np.float32)
    stats = {k: (1 + rng.rand(2)).astype(np.float32) for k in ("scale", "b", "m", "v")}
    nodes = [
        helper.make_node("Sub", ["x", "mean"], ["c"]),
        helper.make_node("BatchNormalization", ["c", "scale", "b", "m", "v"], ["y"]),
    ]
    model = make(nodes, {"mean": mean, **stats}, opset=8, ir=4)
    fixed = prepare(model)
    inferred = onnx.shape_inference.infer_shapes(fixed)
    assert any(v.name == "c" and len(v.type.tensor_type.shape.dim) == 4 for v in inferred.graph.value_info)
    out, ref = run_both(model, X)
    assert np.abs(out - ref).max() <= 1e-5 * np.abs(ref).max()
