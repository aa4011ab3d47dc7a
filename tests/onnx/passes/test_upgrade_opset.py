"""The `upgrade_opset` fix-up pass on small hand-made graphs, checked against onnxruntime."""

from __future__ import annotations

from onnx import helper

from deepdreamport.onnx import passes as fx
from deepdreamport.onnx.graph import default_opset

from .graphs import make


def test_upgrade_opset():
    model = make([helper.make_node("Relu", ["x"], ["y"])], opset=8, ir=3)
    assert default_opset(fx.upgrade_opset(model)) == 13
    assert fx.upgrade_opset(make([helper.make_node("Relu", ["x"], ["y"])])).opset_import[0].version == 13
