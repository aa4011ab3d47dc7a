"""The `fold_pad_into_conv` fix-up pass on small hand-made graphs, checked against onnxruntime."""

from __future__ import annotations

import numpy as np
from onnx import helper

from deepdreamport.onnx import passes as fx

from .graphs import W, X, make, run_both


def _pad_conv(pads, conv_pads=(0, 0, 0, 0), value=None):
    inputs = ["x", "p"] + (["v"] if value is not None else [])
    inits = {"p": np.asarray(pads, dtype=np.int64), "w": W}
    if value is not None:
        inits["v"] = np.asarray(value, dtype=np.float32)
    return make(
        [
            helper.make_node("Pad", inputs, ["xp"], mode="constant"),
            helper.make_node("Conv", ["xp", "w"], ["y"], pads=list(conv_pads)),
        ],
        inits,
    )


def test_fold_pad_into_conv_when_symmetric():
    for pads, conv_pads in (([0, 0, 1, 1, 0, 0, 1, 1], (0, 0, 0, 0)), ([0, 0, 2, 1, 0, 0, 2, 1], (1, 0, 1, 0))):
        model = _pad_conv(pads, conv_pads)
        fixed = fx.fold_pad_into_conv(model)
        assert [n.op_type for n in fixed.graph.node] == ["Conv"]
        (conv,) = fixed.graph.node
        assert conv.input[0] == "x"
        assert list(helper.get_attribute_value(next(a for a in conv.attribute if a.name == "pads"))) == [
            pads[2] + conv_pads[0],
            pads[3] + conv_pads[1],
            pads[6] + conv_pads[2],
            pads[7] + conv_pads[3],
        ]
        out, ref = run_both(model, X)
        assert np.abs(out - ref).max() <= 1e-5 * np.abs(ref).max()


def test_fold_pad_into_conv_leaves_what_it_cannot_fold():
    asymmetric = _pad_conv([0, 0, 0, 0, 0, 0, 1, 1])
    nonzero_value = _pad_conv([0, 0, 1, 1, 0, 0, 1, 1], value=1.0)
    channel_pad = _pad_conv([0, 1, 1, 1, 0, 0, 1, 1])
    for model in (asymmetric, nonzero_value):
        assert fx.fold_pad_into_conv(model) is model
        out, ref = run_both(model, X)
        assert np.abs(out - ref).max() <= 1e-5 * np.abs(ref).max()
    assert fx.fold_pad_into_conv(channel_pad) is channel_pad
