"""Small networks that reproduce the export styles of networks people publish (issue 9).

Each builder writes one ONNX file and returns its path. They reproduce a *class*
of exported file, not a particular network: the operators, opsets, layouts and
attributes that MATLAB, tf2onnx/Keras, PyTorch's dynamo exporter and YOLO-style
detectors write. Weights are random (fixed seeds); the corpus tests compare the
conversion with onnxruntime, so no trained weights are needed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def _initializer(name: str, array: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(array, dtype=np.float32), name)


def _save(model: onnx.ModelProto, path: Path) -> Path:
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def matlab_zerocenter(path: Path, size: tuple[int, int] = (20, 24)) -> Path:
    """MATLAB R2019a–R2020b style: opset 8, IR 3, "zerocenter" with an H×W×C average image.

    ``imageinput_Sub`` subtracts a 1×C×H×W mean (MATLAB's ``AverageImage``), then
    conv → BatchNormalization (with the opset-7 ``spatial`` attribute those
    releases wrote) → ReLU → max pool → conv → fully connected (Flatten + Gemm)
    → softmax. Initializers are listed as graph inputs, as IR 3 required.
    """
    rng = np.random.RandomState(90)
    height, width = size
    inits = {
        "imageinput_Mean": rng.rand(1, 3, height, width) * 255,
        "conv_1_W": rng.randn(6, 3, 3, 3) * 0.05,
        "conv_1_B": rng.randn(6) * 0.1,
        "batchnorm_1_scale": 1 + rng.rand(6),
        "batchnorm_1_B": rng.randn(6),
        "batchnorm_1_mean": rng.randn(6),
        "batchnorm_1_var": 0.5 + rng.rand(6),
        "conv_2_W": rng.randn(8, 6, 3, 3) * 0.2,
        "conv_2_B": rng.randn(8) * 0.1,
        "fc_W": rng.randn(5, 8 * (height // 2 - 2) * (width // 2 - 2)) * 0.05,
        "fc_B": rng.randn(5) * 0.1,
    }
    nodes = [
        helper.make_node("Sub", ["imageinput", "imageinput_Mean"], ["imageinput_Sub"], name="imageinput_Sub"),
        helper.make_node(
            "Conv", ["imageinput_Sub", "conv_1_W", "conv_1_B"], ["conv_1"], name="conv_1", pads=[1, 1, 1, 1]
        ),
        helper.make_node(
            "BatchNormalization",
            ["conv_1", "batchnorm_1_scale", "batchnorm_1_B", "batchnorm_1_mean", "batchnorm_1_var"],
            ["batchnorm_1"],
            name="batchnorm_1",
            epsilon=1e-5,
            spatial=1,
        ),
        helper.make_node("Relu", ["batchnorm_1"], ["relu_1"], name="relu_1"),
        helper.make_node("MaxPool", ["relu_1"], ["maxpool_1"], name="maxpool_1", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["maxpool_1", "conv_2_W", "conv_2_B"], ["conv_2"], name="conv_2"),
        helper.make_node("Relu", ["conv_2"], ["relu_2"], name="relu_2"),
        helper.make_node("Flatten", ["relu_2"], ["fc_Flatten"], name="fc_Flatten", axis=1),
        helper.make_node("Gemm", ["fc_Flatten", "fc_W", "fc_B"], ["fc"], name="fc", transB=1),
        helper.make_node("Softmax", ["fc"], ["softmax"], name="softmax", axis=1),
    ]
    tensors = [_initializer(k, v) for k, v in inits.items()]
    graph = helper.make_graph(
        nodes,
        "matlab_zerocenter",
        [helper.make_tensor_value_info("imageinput", TensorProto.FLOAT, [1, 3, height, width])]
        + [helper.make_tensor_value_info(t.name, TensorProto.FLOAT, list(t.dims)) for t in tensors],
        [helper.make_tensor_value_info("softmax", TensorProto.FLOAT, [1, 5])],
        initializer=tensors,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 8)], producer_name="MATLAB")
    model.ir_version = 3
    return _save(model, path)


def matlab_segnet_custom_unpool(path: Path, size: int = 16) -> Path:
    """A MATLAB SegNet-style encoder–decoder whose decoder uses ``com.mathworks::MaxUnpool``.

    Encoder: conv → BN → ReLU → MaxPool (with its indices output) → conv → ReLU;
    decoder: the custom-domain unpooling (no converter exists for it) → conv →
    softmax over the classes. Only layers after the unpooling need it.
    """
    rng = np.random.RandomState(95)
    inits = {
        "conv_1_W": rng.randn(4, 3, 3, 3) * 0.3,
        "conv_1_B": rng.randn(4) * 0.1,
        "bn_1_scale": 1 + rng.rand(4),
        "bn_1_B": rng.randn(4),
        "bn_1_mean": rng.randn(4),
        "bn_1_var": 0.5 + rng.rand(4),
        "conv_2_W": rng.randn(4, 4, 3, 3) * 0.3,
        "conv_2_B": rng.randn(4) * 0.1,
        "conv_3_W": rng.randn(3, 4, 3, 3) * 0.3,
        "conv_3_B": rng.randn(3) * 0.1,
    }
    nodes = [
        helper.make_node("Conv", ["input", "conv_1_W", "conv_1_B"], ["conv_1"], name="conv_1", pads=[1, 1, 1, 1]),
        helper.make_node(
            "BatchNormalization", ["conv_1", "bn_1_scale", "bn_1_B", "bn_1_mean", "bn_1_var"], ["bn_1"], name="bn_1"
        ),
        helper.make_node("Relu", ["bn_1"], ["relu_1"], name="relu_1"),
        helper.make_node(
            "MaxPool", ["relu_1"], ["pool_1", "pool_1_indices"], name="pool_1", kernel_shape=[2, 2], strides=[2, 2]
        ),
        helper.make_node("Conv", ["pool_1", "conv_2_W", "conv_2_B"], ["conv_2"], name="conv_2", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv_2"], ["relu_2"], name="relu_2"),
        helper.make_node(
            "MaxUnpool", ["relu_2", "pool_1_indices"], ["unpool_1"], name="unpool_1", domain="com.mathworks"
        ),
        helper.make_node("Conv", ["unpool_1", "conv_3_W", "conv_3_B"], ["conv_3"], name="conv_3", pads=[1, 1, 1, 1]),
        helper.make_node("Softmax", ["conv_3"], ["softmax"], name="softmax", axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "matlab_segnet",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("softmax", TensorProto.FLOAT, [1, 3, size, size])],
        initializer=[_initializer(k, v) for k, v in inits.items()],
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.mathworks", 1)],
        producer_name="MATLAB",
    )
    model.ir_version = 7
    return _save(model, path)
