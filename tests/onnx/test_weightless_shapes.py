"""Shape inference on a weightless copy gives ONNX's own shapes (``onnx.graph.infer_shapes``, ``weightless``).

The reference is ``onnx.shape_inference.infer_shapes`` on the whole model, weights included.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from deepdreamport.onnx.convert import prepare
from deepdreamport.onnx.graph import KEPT_VALUES, infer_shapes, static_shapes, weightless
from deepdreamport.onnx.read import read_onnx
from tests.conftest import REPO


def typed(values) -> dict[str, bytes]:
    return {value.name: value.type.SerializeToString() for value in values}


def assert_same_shapes(model: onnx.ModelProto) -> None:
    reference = onnx.shape_inference.infer_shapes(model)
    ours = infer_shapes(model)
    assert typed(ours.graph.value_info) == typed(reference.graph.value_info)
    assert typed(ours.graph.output) == typed(reference.graph.output)
    assert len(ours.graph.initializer) == len(model.graph.initializer)  # the weights are all still there
    assert ours.graph.initializer[0].SerializeToString() == model.graph.initializer[0].SerializeToString()


def conv_with_big_weights(ir_version: int) -> onnx.ModelProto:
    """A convolution with a 6,912-element weight, then a ``Reshape`` whose target is a small initializer.

    Below IR 4 every initializer is also declared as a graph input, as old exporters wrote them.
    """
    weight = np.random.RandomState(0).randn(64, 3, 6, 6).astype(np.float32)
    assert weight.size > KEPT_VALUES
    initializers = [numpy_helper.from_array(weight, "w"), numpy_helper.from_array(np.array([0, -1]), "target")]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 16, 16])]
    if ir_version < 4:
        inputs += [helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in initializers]
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["x", "w"], ["conv"], name="conv"),
            helper.make_node("Relu", ["conv"], ["relu"], name="relu"),
            helper.make_node("Reshape", ["relu", "target"], ["flat"], name="flat"),
        ],
        "g",
        inputs,
        [helper.make_tensor_value_info("flat", TensorProto.FLOAT, None)],
        initializer=initializers,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)], ir_version=ir_version)


@pytest.mark.parametrize("ir_version", [3, 7])
def test_a_graph_with_big_weights_gets_onnx_shapes(ir_version):
    model = conv_with_big_weights(ir_version)
    assert_same_shapes(model)
    assert static_shapes(model)["flat"] == [None, 64 * 11 * 11]


def test_the_weightless_copy_holds_no_big_weight_and_keeps_small_ones():
    skeleton = weightless(conv_with_big_weights(7))
    assert [t.name for t in skeleton.graph.initializer] == ["target"]
    declared = {value.name: value for value in skeleton.graph.input}
    assert [d.dim_value for d in declared["w"].type.tensor_type.shape.dim] == [64, 3, 6, 6]
    assert skeleton.ByteSize() < 1000


@pytest.mark.parametrize(
    "path",
    [
        REPO / "models" / "efficientnet_lite0.onnx",
        REPO / "models" / "onnx-light" / "light_squeezenet.onnx",
        REPO / "models" / "onnx-light" / "light_resnet50.onnx",
        REPO / "models" / "mnist" / "opt-mnist.onnx",
    ],
    ids=lambda path: path.stem,
)
def test_real_networks_get_onnx_shapes_before_and_after_the_fix_ups(path):
    model = read_onnx(path)
    assert_same_shapes(model)
    assert_same_shapes(prepare(model, check=False))  # the light models' weights are real initializers only here
