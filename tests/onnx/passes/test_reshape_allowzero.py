"""The `reshape_allowzero` fix-up pass on small hand-made graphs, checked against onnxruntime."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import helper

from deepdreamport.errors import DeepDreamError
from deepdreamport.onnx import passes as fx
from deepdreamport.onnx.convert import prepare
from deepdreamport.onnx.graph import attribute

from .graphs import X, make, run_both


def _reshape(shape, opset=18):
    nodes = [helper.make_node("Reshape", ["x", "s"], ["r"], allowzero=1), helper.make_node("Relu", ["r"], ["y"])]
    return make(nodes, {"s": np.asarray(shape, dtype=np.int64)}, opset=opset, ir=10)


def test_allowzero_dropped_when_the_shape_has_no_zero():
    model = _reshape([1, 98])
    fixed = fx.reshape_allowzero(model)
    assert attribute(fixed.graph.node[0], "allowzero", 0) == 0
    assert attribute(model.graph.node[0], "allowzero", 0) == 1  # the input model is not changed
    out, ref = run_both(model, X)
    assert out.shape == ref.shape == (1, 98) and np.abs(out - ref).max() == 0


def test_allowzero_kept_with_a_zero_and_refused_at_load_naming_the_node():
    model = _reshape([0, 98])
    assert attribute(fx.reshape_allowzero(model).graph.node[0], "allowzero", 0) == 1
    with pytest.raises(DeepDreamError) as info:
        prepare(model)
    assert info.value.identifier == "deepdreamport:onnx:UnsupportedOperator"
    assert "Reshape(allowzero=1)" in str(info.value)


def test_graph_without_allowzero_is_returned_unchanged():
    model = make([helper.make_node("Reshape", ["x", "s"], ["y"])], {"s": np.asarray([1, 98], dtype=np.int64)})
    assert fx.reshape_allowzero(model) is model


def test_allowzero_dropped_when_the_shape_is_computed_at_run_time():
    """A run-time target holds no 0 whenever allowzero=1 succeeds on an image's tensors: both meanings agree."""
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Reshape", ["x", "s"], ["r"], allowzero=1),
        helper.make_node("Relu", ["r"], ["y"]),
    ]
    model = make(nodes, opset=18, ir=10)
    assert attribute(fx.reshape_allowzero(model).graph.node[1], "allowzero", 0) == 0
    out, ref = run_both(model, X)
    assert out.shape == ref.shape == X.shape and np.abs(out - ref).max() == 0
