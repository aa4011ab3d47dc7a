"""The layer a row came from in MATLAB's net.Layers, for networks MATLAB exported; constant-weight networks said.

MATLAB's layer list of the parity network is written in parity/reference/README.md; the synthetic
export below is named as MATLAB names its layers (ResNet-50's ``res2a_branch2a`` ... ``res2a`` block)
and holds a fully connected layer written as two helper-named nodes.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from deepdreamport.cli import main as deepdream_main
from deepdreamport.nets import OnnxNetwork, format_layer_table
from tests.conftest import REPO

PARITY = REPO / "parity" / "reference" / "models"
MATLAB_STYLE_NET_LAYERS = [  # parity/reference/README.md: MATLAB's layer list for matlab_style_net
    "imageinput",
    "conv_1",
    "batchnorm_1",
    "relu_1",
    "maxpool_1",
    "conv_2",
    "batchnorm_2",
    "relu_2",
    "maxpool_2",
    "fc",
    "softmax",
]


def test_matlab_style_net_rows_map_to_matlabs_layer_list():
    network = OnnxNetwork.from_onnx(PARITY / "matlab_style_net.onnx")
    assert [(layer.matlab_index, layer.matlab_name) for layer in network.layers] == list(
        enumerate(MATLAB_STYLE_NET_LAYERS, 1)
    )
    table = format_layer_table(network)
    assert table.splitlines()[0].split()[-2:] == ["MATLAB", "layer"]
    assert table.splitlines()[11].endswith("10 fc") and "name layers rather than numbering them" in table


def _matlab_resnet_export(path):
    """A MATLAB-style export: a ResNet-50 block by MATLAB's names, then fc8 written as fc8_Flatten + fc8_Gemm."""
    rng = np.random.RandomState(0)

    def weight(name, *shape):
        return numpy_helper.from_array(rng.randn(*shape).astype(np.float32), name)

    bn = [weight(f"bn_{k}", 4) for k in ("scale", "bias", "mean")] + [
        numpy_helper.from_array(np.ones(4, np.float32), "bn_var")
    ]
    nodes = [
        helper.make_node("Conv", ["data", "w2a"], ["res2a_branch2a"], name="res2a_branch2a", kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["res2a_branch2a", "bn_scale", "bn_bias", "bn_mean", "bn_var"],
                         ["bn2a_branch2a"], name="bn2a_branch2a"),
        helper.make_node("Relu", ["bn2a_branch2a"], ["res2a_branch2a_relu"], name="res2a_branch2a_relu"),
        helper.make_node("Conv", ["data", "w1"], ["res2a_branch1"], name="res2a_branch1", kernel_shape=[1, 1]),
        helper.make_node("Add", ["res2a_branch2a_relu", "res2a_branch1"], ["res2a"], name="res2a"),
        helper.make_node("Relu", ["res2a"], ["res2a_relu"], name="res2a_relu"),
        helper.make_node("GlobalAveragePool", ["res2a_relu"], ["pool5"], name="pool5"),
        helper.make_node("Flatten", ["pool5"], ["fc8_Flatten"], name="fc8_Flatten", axis=1),
        helper.make_node("Gemm", ["fc8_Flatten", "w8", "b8"], ["fc8_Gemm"], name="fc8_Gemm", transB=1),
        helper.make_node("Softmax", ["fc8_Gemm"], ["prob"], name="prob", axis=1),
    ]  # fmt: skip
    graph = helper.make_graph(
        nodes,
        "matlab_resnet_block",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, [1, 3, 16, 16])],
        [helper.make_tensor_value_info("prob", TensorProto.FLOAT, [1, 5])],
        initializer=[weight("w2a", 4, 3, 3, 3), weight("w1", 4, 3, 1, 1), *bn, weight("w8", 5, 4), weight("b8", 5)],
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 13)],
        producer_name="MATLAB Deep Learning Toolbox Converter for ONNX Model Format",
    )
    onnx.save(model, str(path))
    return path


def test_an_exported_layer_written_as_two_nodes_shifts_the_rows_and_the_column_says_so(tmp_path):
    network = OnnxNetwork.from_onnx(_matlab_resnet_export(tmp_path / "net.onnx"))
    rows = [(layer.index, layer.name, layer.matlab_index, layer.matlab_name) for layer in network.layers]
    assert rows == [
        (1, "data", 1, "data"),
        (2, "res2a_branch2a", 2, "res2a_branch2a"),  # a layer of its own, not a helper of the addition res2a
        (3, "bn2a_branch2a", 3, "bn2a_branch2a"),
        (4, "res2a_branch2a_relu", 4, "res2a_branch2a_relu"),
        (5, "res2a_branch1", 5, "res2a_branch1"),
        (6, "res2a", 6, "res2a"),
        (7, "res2a_relu", 7, "res2a_relu"),
        (8, "pool5", 8, "pool5"),
        (9, "fc8_Flatten", 9, "fc8"),
        (10, "fc8_Gemm", 9, "fc8"),
        (11, "prob", 10, "prob"),  # MATLAB's net.Layers(10) (and 11, its classoutput, is not in the ONNX file)
    ]
    assert network.resolve_layer("res2a_branch2a") == "res2a_branch2a"


@pytest.mark.parametrize(
    "model, constant",
    [
        (REPO / "models" / "onnx-light" / "light_squeezenet.onnx", True),
        (PARITY / "tinynet.onnx", False),
        (REPO / "models" / "mnist" / "opt-mnist.onnx", False),
    ],
)
def test_constant_weights_are_said_by_the_layer_table(model, constant):
    network = OnnxNetwork.from_onnx(model)
    assert network.constant_weights is constant
    table = format_layer_table(network)
    assert ("every channel of a layer dreams the same picture" in table) is constant
    assert "MATLAB layer" not in table


def test_dream_on_a_light_model_says_every_channel_dreams_the_same(tmp_path, capsys):
    model = REPO / "models" / "onnx-light" / "light_squeezenet.onnx"
    argv = ["dream", str(model), "--layer", "10", "--channels", "1:2", "--levels", "1", "--iterations", "1"]
    assert deepdream_main([*argv, "--out", str(tmp_path / "d.png")]) == 0
    assert "deepdream dream: note: every weight tensor of this network holds one value" in capsys.readouterr().err
