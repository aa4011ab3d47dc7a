"""Layer table (net.Layers), numeric layer indices and activations()."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from deepdreamport.errors import DeepDreamError
from deepdreamport.matlab.activations import activations
from deepdreamport.nets import OnnxNetwork, format_layer_table
from tests.conftest import REPO
from tests.nets.test_matlab_layers import MATLAB_STYLE_NET_LAYERS

PARITY = REPO / "parity" / "reference" / "models"


@pytest.fixture(scope="module")
def matlab_net():
    return OnnxNetwork.from_onnx(PARITY / "matlab_style_net.onnx")


def test_matlab_style_net_lists_matlab_layers(matlab_net):
    names = [layer.name for layer in matlab_net.layers]
    assert names == MATLAB_STYLE_NET_LAYERS  # parity/reference/README.md
    assert [layer.index for layer in matlab_net.layers] == list(range(1, 12))
    conv = matlab_net.layers[1]
    assert conv.type == "Convolution" and conv.output_size == (32, 32, 6) and conv.receptive_field == (3, 3)
    assert "conv_1_Pad" in conv.nodes
    assert "imageinput_Sub" in matlab_net.layers[0].nodes
    assert matlab_net.layers[9].type == "Fully Connected" and matlab_net.layers[9].output_size == (1, 1, 4)
    assert matlab_net.layers[4].output_size == (16, 16, 6)


def test_layer_name_at(matlab_net):
    assert matlab_net.layer_name_at(2) == "conv_1"
    assert matlab_net.layer_name_at(10) == "fc"
    assert matlab_net.layer_name_at(11) == "softmax"  # the last row: allowed, as by name
    assert matlab_net.layer_name_at(10, base=0) == "softmax"
    for bad in (1, 0, 12):
        with pytest.raises(DeepDreamError) as info:
            matlab_net.layer_name_at(bad)
        assert info.value.identifier == "nnet_cnn:deepDreamImage:InvalidLayer" and "2..11" in str(info.value)
    with pytest.raises(DeepDreamError, match=r"1\.\.10 .*0 is the input layer"):
        matlab_net.layer_name_at(11, base=0)


def test_format_layer_table(matlab_net):
    text = format_layer_table(matlab_net)
    lines = text.splitlines()
    assert len(lines) == 15 and "batchnorm_2" in lines[8] and "8×8" in lines[7]  # 13 rows, a blank line, the note
    assert lines[14].startswith("MATLAB layer: ")
    assert format_layer_table(PARITY / "tinynet.onnx").count("\n") == 10


def test_tinynet_receptive_fields_and_sizes():
    layers = OnnxNetwork.from_onnx(PARITY / "tinynet.onnx").layers
    table = {layer.name: layer for layer in layers}
    assert [layer.name for layer in layers][0] == "data" and "data_Sub" in layers[0].nodes
    assert table["pool1"].output_size == (16, 16, 8) and table["pool1"].receptive_field == (4, 4)
    assert table["fc"].type == "Fully Connected" and table["fc"].output_size == (1, 1, 5)


def test_activations_matlab_layout_matches_onnxruntime():
    path = PARITY / "tinynet.onnx"
    X = np.random.RandomState(0).rand(32, 32, 3, 2).astype(np.float32) * 255
    conv = activations(path, X, "conv2")
    fc = activations(path, X, 9)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ref_fc = np.concatenate([session.run(None, {"data": X[..., k : k + 1].transpose(3, 2, 0, 1)})[0] for k in range(2)])
    assert conv.shape == (14, 14, 6, 2)
    assert fc.shape == (1, 1, 5, 2)
    assert np.abs(fc[0, 0] - ref_fc.T).max() <= 1e-4 * np.abs(ref_fc).max()
    net = OnnxNetwork.from_onnx(path)
    relu = activations(net, X, "relu2")
    assert np.array_equal(relu, np.maximum(conv, 0))
    double = activations(net, X.astype(np.float64), "conv2")
    assert double.dtype == np.float64 and np.allclose(double, conv, rtol=1e-4, atol=1e-3)


def test_activations_rejects_bad_input():
    net = OnnxNetwork.from_onnx(PARITY / "tinynet.onnx")
    with pytest.raises(DeepDreamError):
        activations(net, np.zeros((8, 8, 1, 1)), "conv1")
    with pytest.raises(DeepDreamError):
        activations(net, np.zeros((8, 8, 3, 1)), 42)


def test_nodes_a_pass_adds_are_not_layers(tmp_path):
    """An asymmetric ``AveragePool`` (count_include_pad=0) becomes Pad + pool + Div: one row, the pool, dreamt as such."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = np.random.RandomState(2).randn(4, 3, 3, 3).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["x", "w"], ["conv"], name="conv", pads=[1, 1, 1, 1]),
            helper.make_node("AveragePool", ["conv"], ["pool"], name="pool", kernel_shape=[3, 3], pads=[0, 0, 1, 1]),
            helper.make_node("Relu", ["pool"], ["relu"], name="relu"),
        ],
        "asymmetric_pool",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 12, 12])],
        [helper.make_tensor_value_info("relu", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(weight, "w")],
    )
    path = tmp_path / "pool.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    net = OnnxNetwork.from_onnx(path)
    assert [(layer.name, layer.type) for layer in net.layers] == [
        ("x", "Image Input"), ("conv", "Convolution"), ("pool", "Average Pooling"), ("relu", "ReLU"),
    ]  # fmt: skip
    assert len(net.layers[2].nodes) == 3 and net.layers[2].output_size == (11, 11, 4)
    x = np.random.RandomState(3).randn(1, 3, 12, 12).astype(np.float32)
    reference = onnx.load(str(path))
    reference.graph.output.append(helper.make_tensor_value_info("pool", TensorProto.FLOAT, None))
    session = ort.InferenceSession(reference.SerializeToString(), providers=["CPUExecutionProvider"])
    import torch

    with torch.no_grad():
        out = net.truncated("pool").module(torch.from_numpy(x)).numpy()  # the average, not the pass's sum
    ref = session.run(["pool"], {"x": x})[0]
    assert out.shape == ref.shape and np.abs(out - ref).max() <= 1e-5 * np.abs(ref).max()
