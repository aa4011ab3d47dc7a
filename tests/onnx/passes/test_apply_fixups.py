"""The `apply_fixups` fix-up pass on small hand-made graphs, checked against onnxruntime."""

from __future__ import annotations

from onnx import helper

from deepdreamport.onnx import passes as fx

from .graphs import make


def test_passes_leave_other_graphs_unchanged():
    model = make([helper.make_node("Relu", ["x"], ["y"], name="relu")])  # named: unique_node_names names the unnamed
    for fixup in fx.PASSES:
        if fixup is not fx.free_batch_dimension:
            assert fixup(model) is model, fixup.__name__
