"""Each ONNX fix-up pass on a small hand-made graph, checked against onnxruntime."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import TensorProto, helper, numpy_helper

from deepdreamport import onnx_fixups as fx
from deepdreamport.onnx_import import prepare, to_torch


def make(nodes, inits=(), shape=(1, 2, 7, 7), out="y", opset=13, ir=7):
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(np.asarray(v), k) for k, v in dict(inits).items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = ir
    return model


def run_both(model, x):
    ref = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    with torch.no_grad():
        out = to_torch(prepare(model))(torch.from_numpy(x)).numpy()
    return out, ref


X = np.random.RandomState(0).randn(1, 2, 7, 7).astype(np.float32)
W = np.random.RandomState(1).randn(3, 2, 3, 3).astype(np.float32)


def test_upgrade_opset():
    model = make([helper.make_node("Relu", ["x"], ["y"])], opset=8, ir=3)
    assert fx.default_opset(fx.upgrade_opset(model)) == 13
    assert fx.upgrade_opset(make([helper.make_node("Relu", ["x"], ["y"])])).opset_import[0].version == 13


def test_initializers_not_inputs():
    model = make([helper.make_node("Conv", ["x", "w"], ["y"])], {"w": W}, ir=3)
    model.graph.input.append(helper.make_tensor_value_info("w", TensorProto.FLOAT, list(W.shape)))
    fixed = fx.initializers_not_inputs(model)
    assert [v.name for v in fixed.graph.input] == ["x"] and fixed.ir_version >= 7


def test_constants_to_initializers():
    const = helper.make_node("Constant", [], ["w"], value=numpy_helper.from_array(W))
    model = make([const, helper.make_node("Conv", ["x", "w"], ["y"])])
    fixed = fx.constants_to_initializers(model)
    assert [n.op_type for n in fixed.graph.node] == ["Conv"]
    out, ref = run_both(model, X)
    assert np.abs(out - ref).max() <= 1e-5 * np.abs(ref).max()


def test_fold_constants_of_shape():
    shape = np.asarray(W.shape, dtype=np.int64)
    fill = helper.make_node("ConstantOfShape", ["s"], ["w"], value=helper.make_tensor("v", TensorProto.FLOAT, [1], [0.5]))
    model = make([fill, helper.make_node("Conv", ["x", "w"], ["y"])], {"s": shape})
    fixed = fx.fold_constants(model)
    assert [n.op_type for n in fixed.graph.node] == ["Conv"]
    assert np.all(numpy_helper.to_array(next(i for i in fixed.graph.initializer if i.name == "w")) == 0.5)
    out, ref = run_both(model, X)
    assert np.abs(out - ref).max() <= 1e-5 * np.abs(ref).max()


def test_dropout_to_identity_drops_mask():
    model = make([helper.make_node("Dropout", ["x"], ["d", "mask"]), helper.make_node("Relu", ["d"], ["y"])])
    fixed = fx.dropout_to_identity(model)
    assert [n.op_type for n in fixed.graph.node] == ["Identity", "Relu"]
    out, ref = run_both(model, X)
    assert np.array_equal(out, ref)


def test_explicit_auto_pad_same_upper_and_lower():
    for mode in ("SAME_UPPER", "SAME_LOWER", "VALID"):
        model = make([helper.make_node("Conv", ["x", "w"], ["y"], auto_pad=mode, strides=[2, 2])], {"w": W})
        fixed = fx.explicit_auto_pad(model)
        attrs = {a.name for a in fixed.graph.node[0].attribute}
        assert "auto_pad" not in attrs and "pads" in attrs
        out, ref = run_both(model, X)
        assert out.shape == ref.shape and np.abs(out - ref).max() <= 1e-5 * np.abs(ref).max(), mode
    assert fx.same_padding(7, 4, 1, 1, True) == (1, 2) and fx.same_padding(7, 4, 1, 1, False) == (2, 1)


def test_free_batch_dimension():
    model = make(
        [helper.make_node("Reshape", ["x", "s"], ["r"]), helper.make_node("Relu", ["r"], ["y"])],
        {"s": np.asarray([1, 98], dtype=np.int64)},
    )
    fixed = fx.free_batch_dimension(model)
    shape = numpy_helper.to_array(next(i for i in fixed.graph.initializer if i.name == fixed.graph.node[0].input[1]))
    assert shape.tolist() == [-1, 98]
    assert fixed.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "N"
    batch = np.concatenate([X, X * 2])
    with torch.no_grad():
        out = to_torch(prepare(model))(torch.from_numpy(batch))
    assert tuple(out.shape) == (2, 98)


def test_explicit_pool_pads_both_count_modes():
    for include in (0, 1):
        pool = helper.make_node(
            "AveragePool", ["x"], ["y"], kernel_shape=[3, 3], pads=[0, 0, 1, 2], strides=[2, 2], count_include_pad=include
        )
        model = make([pool])
        fixed = fx.explicit_pool_pads(model)
        assert "Pad" in [n.op_type for n in fixed.graph.node]
        out, ref = run_both(model, X)
        assert out.shape == ref.shape and np.abs(out - ref).max() <= 1e-6 * np.abs(ref).max(), include


def test_resize_input_mean_uses_resize_image():
    from deepdreamport.resize import resize_image

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


def test_passes_leave_other_graphs_unchanged():
    model = make([helper.make_node("Relu", ["x"], ["y"])])
    for fixup in fx.PASSES:
        if fixup is not fx.free_batch_dimension:
            assert fixup(model) is model, fixup.__name__


def _pad_conv(pads, conv_pads=(0, 0, 0, 0), value=None):
    inputs = ["x", "p"] + (["v"] if value is not None else [])
    inits = {"p": np.asarray(pads, dtype=np.int64), "w": W}
    if value is not None:
        inits["v"] = np.asarray(value, dtype=np.float32)
    return make(
        [helper.make_node("Pad", inputs, ["xp"], mode="constant"),
         helper.make_node("Conv", ["xp", "w"], ["y"], pads=list(conv_pads))],
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
            pads[2] + conv_pads[0], pads[3] + conv_pads[1], pads[6] + conv_pads[2], pads[7] + conv_pads[3]
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
