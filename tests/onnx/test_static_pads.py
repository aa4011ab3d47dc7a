"""Constant ``Pad`` inputs made static after conversion (:mod:`deepdreamport.onnx.static_pads`), against onnxruntime."""

from __future__ import annotations

import numpy as np
import torch
from onnx import helper
from onnx2torch.node_converters.pad import OnnxPadDynamic, OnnxPadStatic

from deepdreamport.onnx.convert import prepare, to_torch

from .passes.graphs import X, make, run_both


def _pad(pads, mode="constant", value=None):
    inputs = ["x", "p"] + (["v"] if value is not None else [])
    inits = {"p": np.asarray(pads, dtype=np.int64)}
    if value is not None:
        inits["v"] = np.asarray(value, dtype=np.float32)
    return make([helper.make_node("Pad", inputs, ["y"], mode=mode)], inits)


def _pad_modules(module):
    return [m for m in module.modules() if isinstance(m, (OnnxPadDynamic, OnnxPadStatic))]


def test_constant_pads_become_static_and_keep_their_numbers():
    cases = (
        _pad([0, 0, 0, 0, 0, 0, 1, 1]),  # EfficientNet's stride-2 'same' padding
        _pad([0, 0, 2, 1, 0, 0, 0, 3], value=-1.5),
        _pad([0, 0, 1, 2, 0, 0, 2, 1], mode="reflect"),
        _pad([0, 0, 1, 0, 0, 0, 0, 2], mode="edge"),
    )
    for model in cases:
        (pad,) = _pad_modules(to_torch(prepare(model)))
        assert isinstance(pad, OnnxPadStatic)
        out, ref = run_both(model, X)
        assert out.shape == ref.shape
        assert np.array_equal(out, ref)


def test_pads_computed_in_the_graph_stay_dynamic():
    # pads = the initializer doubled at run time: not a constant the converter can read
    model = make(
        [
            helper.make_node("Add", ["p", "p"], ["p2"]),
            helper.make_node("Pad", ["x", "p2"], ["y"], mode="constant"),
        ],
        {"p": np.asarray([0, 0, 1, 0, 0, 0, 0, 1], dtype=np.int64)},
    )
    module = to_torch(model)  # unprepared: fold_constants would make p2 an initializer
    (pad,) = _pad_modules(module)
    assert isinstance(pad, OnnxPadDynamic)
    out, ref = run_both(model, X)
    assert np.array_equal(out, ref)


def test_static_pads_leave_no_graph_break():
    model = make(
        [
            helper.make_node("Pad", ["x", "p"], ["xp"], mode="constant"),
            helper.make_node("Relu", ["xp"], ["y"]),
        ],
        {"p": np.asarray([0, 0, 0, 0, 0, 0, 1, 1], dtype=np.int64)},
    )
    module = to_torch(prepare(model))
    explained = torch._dynamo.explain(module)(torch.from_numpy(X))
    assert explained.graph_break_count == 0
