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
import torch
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
    return _matlab_series(path, "matlab_zerocenter", inits, size, opset=8, conv_1_pads=[1, 1, 1, 1])


def _matlab_series(
    path: Path, name: str, inits: dict, size: tuple[int, int], opset: int, conv_1_pads: list[int], legacy: bool = False
) -> Path:
    """The series network MATLAB's exporter writes, IR 3 (initializers listed as graph inputs).

    ``imageinput_Sub`` → ``conv_1`` → ``batchnorm_1`` (``spatial=1``) → ``relu_1`` →
    ``maxpool_1`` → ``conv_2`` → ``relu_2`` → ``fc`` (``fc_Flatten`` + ``Gemm``) → ``softmax``.
    ``legacy``: the opset-6 attributes of R2018a (``broadcast=1`` on ``Sub`` and ``Gemm``,
    ``is_test=1`` on the batch normalisation).
    """
    old = {"broadcast": 1} if legacy else {}
    height, width = size
    nodes = [
        helper.make_node("Sub", ["imageinput", "imageinput_Mean"], ["imageinput_Sub"], name="imageinput_Sub", **old),
        helper.make_node(
            "Conv", ["imageinput_Sub", "conv_1_W", "conv_1_B"], ["conv_1"], name="conv_1", pads=conv_1_pads
        ),
        helper.make_node(
            "BatchNormalization",
            ["conv_1", "batchnorm_1_scale", "batchnorm_1_B", "batchnorm_1_mean", "batchnorm_1_var"],
            ["batchnorm_1"],
            name="batchnorm_1",
            epsilon=1e-5,
            spatial=1,
            **({"is_test": 1} if legacy else {}),
        ),
        helper.make_node("Relu", ["batchnorm_1"], ["relu_1"], name="relu_1"),
        helper.make_node("MaxPool", ["relu_1"], ["maxpool_1"], name="maxpool_1", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["maxpool_1", "conv_2_W", "conv_2_B"], ["conv_2"], name="conv_2"),
        helper.make_node("Relu", ["conv_2"], ["relu_2"], name="relu_2"),
        helper.make_node("Flatten", ["relu_2"], ["fc_Flatten"], name="fc_Flatten", axis=1),
        helper.make_node("Gemm", ["fc_Flatten", "fc_W", "fc_B"], ["fc"], name="fc", transB=1, **old),
        helper.make_node("Softmax", ["fc"], ["softmax"], name="softmax", axis=1),
    ]
    tensors = [_initializer(k, v) for k, v in inits.items()]
    classes = int(np.asarray(inits["fc_B"]).shape[0])
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("imageinput", TensorProto.FLOAT, [1, 3, height, width])]
        + [helper.make_tensor_value_info(t.name, TensorProto.FLOAT, list(t.dims)) for t in tensors],
        [helper.make_tensor_value_info("softmax", TensorProto.FLOAT, [1, classes])],
        initializer=tensors,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="MATLAB")
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


def keras_nhwc(path: Path, size: int = 24, rescaling: bool = False, channels: int = 3) -> Path:
    """A tf2onnx/Keras export: an N×H×W×C input (``input_1``, batch ``unk__6``) and ``Transpose(perm=[0,3,1,2])``.

    ``channels=1`` (a grey network): tf2onnx's optimiser writes that transpose as a
    ``Reshape`` to [-1, 1, H, W], which is the same for one channel.

    ``rescaling``: Keras ``Rescaling`` and ``Normalization`` layers first, in
    the channels-last layout (``Mul`` by 1/255, ``Sub`` of a per-channel mean of
    shape [3]), then the transpose. Then conv (``auto_pad=SAME_UPPER``) → ReLU → max pool → strided conv (SAME_UPPER) →
    ReLU → ``Transpose(perm=[0,2,3,1])`` back to NHWC → Reshape → MatMul + Add (Dense) → softmax,
    as tf2onnx writes Keras ``Conv2D``/``Flatten``/``Dense``.
    """
    rng = np.random.RandomState(92)
    flat = 8 * (size // 4) * (size // 4)
    inits = {
        "conv2d/kernel": rng.randn(6, channels, 3, 3) * 0.3,
        "conv2d/bias": rng.randn(6) * 0.1,
        "conv2d_1/kernel": rng.randn(8, 6, 3, 3) * 0.2,
        "conv2d_1/bias": rng.randn(8) * 0.1,
        "dense/kernel": rng.randn(flat, 5) * 0.05,
        "dense/bias": rng.randn(5) * 0.1,
    }
    tensors = [_initializer(k, v) for k, v in inits.items()]
    tensors.append(numpy_helper.from_array(np.array([-1, flat], dtype=np.int64), "flatten/shape"))
    tensors.append(numpy_helper.from_array(np.array([-1, 1, size, size], dtype=np.int64), "const_fold_opt__12"))
    nodes = [
        helper.make_node("Transpose", ["input_1"], ["input_1_nchw"], name="Transpose__6", perm=[0, 3, 1, 2])
        if channels != 1
        else helper.make_node("Reshape", ["input_1", "const_fold_opt__12"], ["input_1_nchw"], name="Transpose__6"),
        helper.make_node(
            "Conv", ["input_1_nchw", "conv2d/kernel", "conv2d/bias"], ["conv2d"], name="conv2d", auto_pad="SAME_UPPER"
        ),
        helper.make_node("Relu", ["conv2d"], ["conv2d/Relu"], name="conv2d/Relu"),
        helper.make_node(
            "MaxPool", ["conv2d/Relu"], ["max_pooling2d"], name="max_pooling2d", kernel_shape=[2, 2], strides=[2, 2]
        ),
        helper.make_node(
            "Conv",
            ["max_pooling2d", "conv2d_1/kernel", "conv2d_1/bias"],
            ["conv2d_1"],
            name="conv2d_1",
            auto_pad="SAME_UPPER",
            strides=[2, 2],
            kernel_shape=[3, 3],
        ),
        helper.make_node("Relu", ["conv2d_1"], ["conv2d_1/Relu"], name="conv2d_1/Relu"),
        helper.make_node("Transpose", ["conv2d_1/Relu"], ["nhwc"], name="Transpose__12", perm=[0, 2, 3, 1]),
        helper.make_node("Reshape", ["nhwc", "flatten/shape"], ["flatten"], name="flatten"),
        helper.make_node("MatMul", ["flatten", "dense/kernel"], ["dense/MatMul"], name="dense/MatMul"),
        helper.make_node("Add", ["dense/MatMul", "dense/bias"], ["dense"], name="dense/BiasAdd"),
        helper.make_node("Softmax", ["dense"], ["dense/Softmax"], name="dense/Softmax", axis=1),
    ]
    if rescaling:
        tensors.append(_initializer("rescaling/scale", np.array(1 / 255)))
        tensors.append(_initializer("normalization/mean", rng.rand(3)))
        nodes[0].input[0] = "normalization/sub"
        nodes[:0] = [
            helper.make_node("Mul", ["input_1", "rescaling/scale"], ["rescaling/mul"], name="rescaling/mul"),
            helper.make_node(
                "Sub", ["rescaling/mul", "normalization/mean"], ["normalization/sub"], name="normalization/sub"
            ),
        ]
    graph = helper.make_graph(
        nodes,
        "tf2onnx",
        [helper.make_tensor_value_info("input_1", TensorProto.FLOAT, ["unk__6", size, size, channels])],
        [helper.make_tensor_value_info("dense/Softmax", TensorProto.FLOAT, ["unk__7", 5])],
        initializer=tensors,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="tf2onnx")
    model.ir_version = 7
    return _save(model, path)


class SmallClassifier(torch.nn.Module):
    """conv → BN → ReLU → max pool → conv → ReLU → flatten → fully connected (a ``view`` + ``Linear``)."""

    def __init__(self, size: int = 16):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 6, 3, padding=1)
        self.bn1 = torch.nn.BatchNorm2d(6)
        self.conv2 = torch.nn.Conv2d(6, 8, 3, padding=1)
        self.fc = torch.nn.Linear(8 * (size // 2) ** 2, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.nn.functional.max_pool2d(torch.relu(self.bn1(self.conv1(x))), 2)
        x = torch.relu(self.conv2(x))
        return self.fc(x.view(x.shape[0], -1))


def _random_batch_norm(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    generator = torch.Generator().manual_seed(seed)
    for child in module.modules():
        if isinstance(child, torch.nn.BatchNorm2d):
            child.running_mean.copy_(torch.randn(child.num_features, generator=generator))
            child.running_var.copy_(0.5 + torch.rand(child.num_features, generator=generator))
    return module.eval()


def torch_dynamo_opset18(path: Path, size: int = 16) -> Path:
    """``torch.onnx.export(..., dynamo=True, opset_version=18)`` (IR 10): ``Reshape(allowzero=1)`` before the fc."""
    torch.manual_seed(93)
    model = _random_batch_norm(SmallClassifier(size), 93)
    torch.onnx.export(
        model, (torch.randn(1, 3, size, size),), str(path), dynamo=True, opset_version=18, input_names=["x"]
    )
    return path


class RuntimeViewClassifier(torch.nn.Module):
    """conv → ReLU → max pool → conv → ReLU → ``x.view(x.size(0), x.size(1), -1).mean(2)`` → fully connected.

    With a dynamic batch and image size the dynamo exporter computes the ``view``'s target
    from ``Shape`` at run time (``Reshape(allowzero=1)``), and the mean is an opset-18
    ``ReduceMean`` (axes as an input).
    """

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 6, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(6, 8, 3, padding=1)
        self.fc = torch.nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.nn.functional.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = torch.relu(self.conv2(x))
        return self.fc(x.view(x.size(0), x.size(1), -1).mean(2))


def torch_dynamo_runtime_reshape(path: Path, size: int = 16) -> Path:
    """PyTorch 2.x ``torch.onnx.export(dynamo=True, opset 18)``, batch and image size dynamic, weights as external data.

    The class of issue 18's PyTorch 2.9 export: ``Shape → Concat → Reshape(allowzero=1)``
    (the batch entry computed at run time), weights in ``<name>.onnx.data`` next to the file.
    """
    torch.manual_seed(96)
    batch, height, width = (torch.export.Dim(name, min=2, max=1024) for name in ("batch", "height", "width"))
    torch.onnx.export(
        RuntimeViewClassifier().eval(),
        (torch.randn(2, 3, size, size),),
        str(path),
        dynamo=True,
        opset_version=18,
        input_names=["x"],
        dynamic_shapes={"x": {0: batch, 2: height, 3: width}},
        external_data=True,
    )
    return path


def matlab_r2018a_opset6(path: Path, size: tuple[int, int] = (28, 28)) -> Path:
    """MATLAB R2018a's ``exportONNXNetwork``: opset 6, IR 3, broadcasting by attribute, ``is_test`` batch norm.

    ``imageinput_Sub`` (``Sub`` with ``broadcast=1``) of a per-channel mean, conv →
    BatchNormalization (``is_test=1``, ``spatial=1``) → ReLU → max pool → conv → ReLU →
    fully connected (Flatten + ``Gemm`` with ``broadcast=1``) → softmax; initializers
    listed as graph inputs.
    """
    rng = np.random.RandomState(98)
    height, width = size
    inits = {
        "imageinput_Mean": rng.rand(3, 1, 1) * 255,
        "conv_1_W": rng.randn(4, 3, 5, 5) * 0.02,
        "conv_1_B": rng.randn(4) * 0.1,
        "batchnorm_1_scale": 1 + rng.rand(4),
        "batchnorm_1_B": rng.randn(4),
        "batchnorm_1_mean": rng.randn(4),
        "batchnorm_1_var": 0.5 + rng.rand(4),
        "conv_2_W": rng.randn(6, 4, 3, 3) * 0.2,
        "conv_2_B": rng.randn(6) * 0.1,
        "fc_W": rng.randn(10, 6 * (height // 2 - 4) * (width // 2 - 4)) * 0.05,
        "fc_B": rng.randn(10) * 0.1,
    }
    return _matlab_series(path, "matlab_r2018a", inits, size, opset=6, conv_1_pads=[0, 0, 0, 0], legacy=True)


def paddle_detector_dynamic(path: Path) -> Path:
    """paddle2onnx of a small detector: input ``x`` of N×3×?×? (batch -1), weights in ``Constant`` nodes, opset 11.

    conv (stride 2) + BN → ReLU → conv (stride 2) → ReLU → ``Resize`` (nearest, scales 2,
    paddle's ``nearest_interp_v2``) → ``Add`` with the stride-2 feature (an FPN) → 1×1
    head → ``Sigmoid``; node names as paddle2onnx writes them (``Conv@0``), tensors named
    ``conv2d_1.tmp_0``. Height and width must be multiples of 4.
    """
    rng = np.random.RandomState(99)
    weights = {
        "conv1_weights": rng.randn(8, 3, 3, 3) * 0.2,
        "conv1_bn_scale": 1 + rng.rand(8),
        "conv1_bn_offset": rng.randn(8) * 0.1,
        "conv1_bn_mean": rng.randn(8) * 0.1,
        "conv1_bn_variance": 0.5 + rng.rand(8),
        "conv2_weights": rng.randn(8, 8, 3, 3) * 0.2,
        "conv2_bias": rng.randn(8) * 0.1,
        "head_weights": rng.randn(6, 8, 1, 1) * 0.3,
        "head_bias": rng.randn(6) * 0.1,
        "Constant@0": np.array([], dtype=np.float32),
        "Constant@1": np.array([1, 1, 2, 2], dtype=np.float32),
    }
    constants = [
        helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.asarray(value, np.float32), name))
        for name, value in weights.items()
    ]
    nodes = constants + [
        helper.make_node(
            "Conv", ["x", "conv1_weights"], ["conv2d_0.tmp_0"], name="Conv@0", pads=[1, 1, 1, 1], strides=[2, 2]
        ),
        helper.make_node(
            "BatchNormalization",
            ["conv2d_0.tmp_0", "conv1_bn_scale", "conv1_bn_offset", "conv1_bn_mean", "conv1_bn_variance"],
            ["batch_norm_0.tmp_2"],
            name="BatchNormalization@0",
            epsilon=1e-5,
            momentum=0.9,
        ),
        helper.make_node("Relu", ["batch_norm_0.tmp_2"], ["relu_0.tmp_0"], name="Relu@0"),
        helper.make_node(
            "Conv",
            ["relu_0.tmp_0", "conv2_weights", "conv2_bias"],
            ["conv2d_1.tmp_0"],
            name="Conv@1",
            pads=[1, 1, 1, 1],
            strides=[2, 2],
        ),
        helper.make_node("Relu", ["conv2d_1.tmp_0"], ["relu_1.tmp_0"], name="Relu@1"),
        helper.make_node(
            "Resize",
            ["relu_1.tmp_0", "Constant@0", "Constant@1"],
            ["nearest_interp_v2_0.tmp_0"],
            name="Resize@0",
            mode="nearest",
            coordinate_transformation_mode="asymmetric",
            nearest_mode="floor",
        ),
        helper.make_node("Add", ["nearest_interp_v2_0.tmp_0", "relu_0.tmp_0"], ["tmp_0"], name="Add@0"),
        helper.make_node("Conv", ["tmp_0", "head_weights", "head_bias"], ["conv2d_2.tmp_0"], name="Conv@2"),
        helper.make_node("Sigmoid", ["conv2d_2.tmp_0"], ["sigmoid_0.tmp_0"], name="Sigmoid@0"),
    ]
    dims = [-1, 3, "?", "?"]
    value = helper.make_tensor_value_info("x", TensorProto.FLOAT, None)
    for dim in dims:
        entry = value.type.tensor_type.shape.dim.add()
        if isinstance(dim, int):
            entry.dim_value = dim  # paddle2onnx writes -1 for a dynamic batch
        else:
            entry.dim_param = dim
    graph = helper.make_graph(
        nodes, "paddle", [value], [helper.make_tensor_value_info("sigmoid_0.tmp_0", TensorProto.FLOAT, None)]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)], producer_name="PaddlePaddle")
    model.ir_version = 7
    onnx.save(model, str(path))  # the checker refuses paddle2onnx's dim_value -1, as onnx does for these files
    return path


def torch12_numeric_names(path: Path, size: tuple[int, int] = (40, 56)) -> Path:
    """PyTorch 1.2's TorchScript exporter (opset 9, IR 4): unnamed nodes, numeric tensor names, a non-square input.

    Every node is unnamed, so its name is its output's number (``"23"``); the input is
    ``"input.1"``; ``x.view(x.size(0), -1)`` is exported as
    ``Shape → Gather(0) → Unsqueeze → Concat(-1) → Reshape`` with ``Constant`` indices.
    """
    rng = np.random.RandomState(100)
    height, width = size
    flat = 8 * (height // 4) * (width // 4)
    inits = {
        "conv1.weight": rng.randn(6, 3, 3, 3) * 0.3,
        "conv1.bias": rng.randn(6) * 0.1,
        "conv2.weight": rng.randn(8, 6, 3, 3) * 0.2,
        "conv2.bias": rng.randn(8) * 0.1,
        "fc.weight": rng.randn(5, flat) * 0.02,
        "fc.bias": rng.randn(5) * 0.1,
    }

    def constant(name, value):
        return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.asarray(value), name))

    nodes = [
        helper.make_node("Conv", ["input.1", "conv1.weight", "conv1.bias"], ["13"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["13"], ["14"]),
        helper.make_node("MaxPool", ["14"], ["15"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["15", "conv2.weight", "conv2.bias"], ["16"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["16"], ["17"]),
        helper.make_node("MaxPool", ["17"], ["18"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Shape", ["18"], ["19"]),
        constant("20", np.array(0, dtype=np.int64)),
        helper.make_node("Gather", ["19", "20"], ["21"], axis=0),
        helper.make_node("Unsqueeze", ["21"], ["22"], axes=[0]),
        constant("23", np.array([-1], dtype=np.int64)),
        helper.make_node("Concat", ["22", "23"], ["24"], axis=0),
        helper.make_node("Reshape", ["18", "24"], ["25"]),
        helper.make_node("Gemm", ["25", "fc.weight", "fc.bias"], ["26"], alpha=1.0, beta=1.0, transB=1),
    ]
    tensors = [_initializer(k, v) for k, v in inits.items()]
    graph = helper.make_graph(
        nodes,
        "torch-jit-export",
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, height, width])]
        + [helper.make_tensor_value_info(t.name, TensorProto.FLOAT, list(t.dims)) for t in tensors],
        [helper.make_tensor_value_info("26", TensorProto.FLOAT, [1, 5])],
        initializer=tensors,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 9)], producer_name="pytorch")
    model.producer_version = "1.2"
    model.ir_version = 4
    return _save(model, path)


class Focus(torch.nn.Module):
    """YOLOv5's ``Focus``: the four 2×2 phases of the image stacked as channels (needs even sizes)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x[..., ::2, ::2], x[..., 1::2, ::2], x[..., ::2, 1::2], x[..., 1::2, 1::2]], 1)


class TinyDetector(torch.nn.Module):
    """A YOLO-style backbone: Focus, then stages concatenating a strided conv and a max pool of the same input.

    A stride-2 conv (kernel 3, pad 1) gives ``ceil(n/2)``, a 2×2 max pool
    ``floor(n/2)``: they concatenate only at even sizes, so the image sides must
    be multiples of 8 (Focus, then two such stages); 1×1 detection head.
    """

    def __init__(self):
        super().__init__()
        self.focus = Focus()
        self.stem = torch.nn.Conv2d(12, 8, 3, padding=1)
        self.down1 = torch.nn.Conv2d(8, 8, 3, stride=2, padding=1)
        self.down2 = torch.nn.Conv2d(16, 8, 3, stride=2, padding=1)
        self.mix = torch.nn.Conv2d(24, 12, 3, padding=1)
        self.head = torch.nn.Conv2d(12, 9, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.stem(self.focus(x)))
        x = torch.cat([torch.relu(self.down1(x)), torch.nn.functional.max_pool2d(x, 2)], 1)
        x = torch.cat([torch.relu(self.down2(x)), torch.nn.functional.max_pool2d(x, 2)], 1)
        return self.head(torch.relu(self.mix(x)))


def yolo_focus(path: Path, size: int = 32, dynamic: bool = False, dynamo: bool = False) -> Path:
    """A YOLO-style detector: TorchScript exporter at opset 13, or (``dynamo``) the dynamo exporter at opset 18.

    ``dynamic``: batch, height and width all dynamic (TorchScript exporter).
    """
    torch.manual_seed(94)
    if dynamo:
        torch.onnx.export(
            TinyDetector().eval(), (torch.randn(1, 3, size, size),), str(path), dynamo=True, opset_version=18
        )
        return path
    axes = (
        {"images": {0: "batch", 2: "height", 3: "width"}, "output": {0: "batch", 2: "h", 3: "w"}} if dynamic else None
    )
    torch.onnx.export(
        TinyDetector().eval(),
        (torch.randn(1, 3, size, size),),
        str(path),
        dynamo=False,
        opset_version=13,
        input_names=["images"],
        output_names=["output"],
        dynamic_axes=axes,
    )
    return path


BUILDERS = {
    "matlab_zerocenter": matlab_zerocenter,
    "keras_nhwc": keras_nhwc,
    "keras_nhwc_rescaling": lambda path: keras_nhwc(path, rescaling=True),
    "torch_dynamo_opset18": torch_dynamo_opset18,
    "yolo_focus": yolo_focus,
    "yolo_focus_dynamic": lambda path: yolo_focus(path, dynamic=True),
    "yolo_focus_dynamo_opset18": lambda path: yolo_focus(path, dynamo=True),
    "matlab_segnet_custom_unpool": matlab_segnet_custom_unpool,
    "torch_dynamo_runtime_reshape": torch_dynamo_runtime_reshape,
    "tf2onnx_grey_nhwc": lambda path: keras_nhwc(path, size=48, channels=1),
    "matlab_r2018a_opset6": matlab_r2018a_opset6,
    "paddle_detector_dynamic": paddle_detector_dynamic,
    "torch12_numeric_names": torch12_numeric_names,
}
"""Every exported-network class, by the name its file gets (``<name>.onnx``)."""
