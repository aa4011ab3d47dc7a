"""Operators the port converts since onnx2torch 1.5 refused them, third set (docs/models.md, "Operators"): ``If`` on a
condition known at conversion time (inlined by the ``inline_static_if`` pass), ``MaxPool``'s ``Indices`` output with
``MaxUnpool``, ``Col2Im``, ``DeformConv``, and quantise–dequantise (QDQ) graphs.

Each is compared with onnxruntime in float32 (within 1e-6 relative: max abs error / max abs reference; indices and
quantised values exactly, QDQ graphs with onnxruntime's graph optimisations off, so that it runs the float pairs as
written rather than fused integer kernels) and in float64 with ONNX's reference evaluator (``Col2Im``, 1e-12; its
``DeformConv`` samples in float32, so 1e-6 there, and onnxruntime's float64 kernel for 1e-12) or with the values that
went in (``MaxUnpool``); gradients by ``torch.autograd.gradcheck`` in float64 (``fast_mode``), the straight-through
gradient of a fake quantisation against onnxruntime's clamping. Real exports where a tool writes the operator:
TorchScript ``nn.LocalResponseNorm`` (``If``, opsets 11–17), ``MaxPool2d(return_indices=True)``, ``F.fold``
(``Col2Im``, 18), ``fake_quantize_per_tensor/per_channel_affine``; dynamo ``F.max_unpool2d`` (a ``ScatterND`` to
``MaxPool``'s indices) and torchvision's ``DeformConv2d`` (19); onnxruntime's ``quantize_static`` in QDQ format.
TorchScript cannot write ``max_unpool2d`` nor ``deform_conv2d``.
"""

from __future__ import annotations

import io

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
import torch.nn.functional as F
import torchvision
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator
from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

from deepdreamport.errors import DeepDreamError
from deepdreamport.nets import OnnxNetwork
from deepdreamport.onnx.convert import prepare, to_torch
from deepdreamport.onnx.graph import extract_subgraph
from tests.onnx.exported_networks import matlab_segnet_custom_unpool

RNG = np.random.RandomState(53)
node = helper.make_node


def _model(nodes, inputs, inits, opset, dtype=np.float32, outputs=("y",)):
    """A graph of ``nodes`` with inputs ``{name: shape}`` of ``dtype`` (float), outputs ``outputs`` (of ``dtype``; int64
    for ``indices``); initializers as given (float ones cast to ``dtype``)."""
    elem = TensorProto.FLOAT if dtype == np.float32 else TensorProto.DOUBLE
    initializers = [numpy_helper.from_array(v.astype(dtype) if v.dtype.kind == "f" else v, k) for k, v in inits.items()]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(name, elem, shape) for name, shape in inputs.items()],
        [
            helper.make_tensor_value_info(name, TensorProto.INT64 if name == "indices" else elem, None)
            for name in outputs
        ],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = min(model.ir_version, 10)
    return model


def _onnxruntime(model: onnx.ModelProto, feeds: dict) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def _relative_error(out: np.ndarray, ref: np.ndarray) -> float:
    assert out.shape == ref.shape
    return float(np.abs(out - ref).max() / np.abs(ref).max())


def _converted(model: onnx.ModelProto) -> torch.nn.Module:
    return to_torch(prepare(model))


def _torchscript_export(module, x, opset) -> onnx.ModelProto:
    buffer = io.BytesIO()
    torch.onnx.export(module.eval(), (x,), buffer, dynamo=False, opset_version=opset, input_names=["x"])
    return onnx.load_from_string(buffer.getvalue())


# ---- If on a condition known at conversion time: the TorchScript export of nn.LocalResponseNorm


class _ConvLRN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 6, 3)
        self.norm = torch.nn.LocalResponseNorm(3, alpha=0.1, beta=0.75, k=1.5)

    def forward(self, x):
        return torch.relu(self.norm(self.conv(x)))


@pytest.mark.parametrize("opset", [11, 12, 13, 14, 15, 16, 17])
def test_torchscript_local_response_norm_writes_an_if_that_is_inlined(opset):
    """``F.local_response_norm`` squeezes an N×1×C×H×W average as ``If(Shape(t)[1] == 1, Squeeze, Identity)``."""
    torch.manual_seed(3)
    x = torch.randn(1, 3, 9, 8)
    model = _torchscript_export(_ConvLRN(), x, opset)
    assert "If" in {n.op_type for n in model.graph.node}
    prepared = prepare(model)
    assert "If" not in {n.op_type for n in prepared.graph.node}
    with torch.no_grad():
        out = to_torch(prepared)(x).numpy()
    assert _relative_error(out, _onnxruntime(model, {"x": x.numpy()})[0]) <= 1e-6


# ---- MaxPool's Indices output and MaxUnpool: the SegNet pair

POOL_CASES = {
    "2d-k2-s2": ((2, 3, 8, 6), dict(kernel_shape=[2, 2], strides=[2, 2])),
    "2d-k3-s2-pads1": ((2, 3, 9, 7), dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])),
    "2d-asymmetric-pads": ((2, 3, 8, 7), dict(kernel_shape=[3, 2], strides=[2, 2], pads=[0, 1, 2, 1])),
    "2d-column-major": ((2, 3, 8, 6), dict(kernel_shape=[2, 3], strides=[2, 1], storage_order=1)),
    "2d-dilated-ceil": ((1, 2, 9, 9), dict(kernel_shape=[2, 2], strides=[2, 2], dilations=[2, 2], ceil_mode=1)),
    "1d": ((2, 3, 11), dict(kernel_shape=[3], strides=[2], pads=[1, 1])),
    "3d": ((2, 2, 4, 6, 5), dict(kernel_shape=[2, 2, 2], strides=[2, 2, 2])),
}


def _max_pool_model(shape, attributes, opset=13):
    nodes = [node("MaxPool", ["x"], ["y", "indices"], name="pool", **attributes)]
    return _model(nodes, {"x": list(shape)}, {}, opset, outputs=("y", "indices"))


@pytest.mark.parametrize("case", list(POOL_CASES))
def test_max_pool_indices_match_onnxruntime_exactly(case):
    """ONNX's indices: flat over N×C×spatial, padding not counted, column-major within a channel at
    ``storage_order=1``."""
    shape, attributes = POOL_CASES[case]
    model = _max_pool_model(shape, attributes)
    x = RNG.randn(*shape).astype(np.float32)
    with torch.no_grad():
        values, indices = _converted(model)(torch.from_numpy(x))
    ref_values, ref_indices = _onnxruntime(model, {"x": x})
    assert np.array_equal(values.numpy(), ref_values)
    assert indices.dtype == torch.int64 and np.array_equal(indices.numpy(), ref_indices)


def _unpool_model(shape, attributes, output_shape=None, opset=11):
    """MaxPool → Tanh of the values → MaxUnpool with the indices (``output_shape``: ``None``, ``"shape"`` for
    ``Shape(x)`` computed in the graph, or a constant)."""
    pool = dict(attributes)
    pool.pop("storage_order", None)
    unpool = {k: v for k, v in pool.items() if k in ("kernel_shape", "strides", "pads")}
    inputs, inits = ["t", "indices"], {}
    nodes = [node("MaxPool", ["x"], ["p", "indices"], name="pool", **pool), node("Tanh", ["p"], ["t"])]
    if output_shape == "shape":
        nodes.append(node("Shape", ["x"], ["output_shape"]))
        inputs.append("output_shape")
    elif output_shape is not None:
        inits["output_shape"] = np.array(output_shape, np.int64)
        inputs.append("output_shape")
    nodes.append(node("MaxUnpool", inputs, ["y"], name="unpool", **unpool))
    return _model(nodes, {"x": list(shape)}, inits, opset)


UNPOOL_CASES = {
    "2d-k2-s2": ("2d-k2-s2", None),
    "2d-k2-s2-odd-output-shape": ("2d-k2-s2", [2, 3, 9, 7]),
    "2d-k3-s2-pads1-shape": ("2d-k3-s2-pads1", "shape"),
    "2d-asymmetric-pads-shape": ("2d-asymmetric-pads", "shape"),
    "1d": ("1d", "shape"),
    "3d": ("3d", "shape"),
}


@pytest.mark.parametrize("case", list(UNPOOL_CASES))
def test_max_unpool_of_max_pool_indices_matches_onnxruntime_and_passes_gradients(case):
    pool_case, output_shape = UNPOOL_CASES[case]
    shape, attributes = POOL_CASES[pool_case]
    if output_shape is not None and output_shape != "shape":
        shape = tuple(output_shape)
    model = _unpool_model(shape, attributes, output_shape)
    x = RNG.randn(*shape).astype(np.float32)
    module = _converted(model)
    with torch.no_grad():
        out = module(torch.from_numpy(x)).numpy()
    ref = _onnxruntime(model, {"x": x})[0]
    assert _relative_error(out, ref) <= 1e-6
    x64 = torch.from_numpy(x.astype(np.float64)).requires_grad_(True)
    module = module.double()
    with torch.no_grad():
        assert _relative_error(module(x64).numpy(), np.tanh(np.where(ref != 0, x.astype(np.float64), 0))) <= 1e-12
    assert torch.autograd.gradcheck(module, (x64,), eps=1e-6, atol=1e-6, fast_mode=True)


class _PoolWithIndices(torch.nn.Module):
    def __init__(self, unpool: bool):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.pool = torch.nn.MaxPool2d(3, 2, padding=1, return_indices=True)
        self.unpool = unpool

    def forward(self, x):
        values, indices = self.pool(self.conv(x))
        if not self.unpool:
            return values, indices
        return F.max_unpool2d(torch.relu(values), indices, 3, 2, 1, output_size=x.shape[-2:])


@pytest.mark.parametrize("opset", [11, 13, 17])
def test_torchscript_max_pool_with_indices_converts_exactly(opset):
    """``MaxPool2d(return_indices=True)``: TorchScript writes ONNX's flat indices minus those of a 1×1 pool (torch's
    per-channel numbering); both outputs as onnxruntime computes them."""
    torch.manual_seed(5)
    x = torch.randn(2, 3, 9, 8)
    module = _PoolWithIndices(unpool=False)
    buffer = io.BytesIO()
    torch.onnx.export(module.eval(), (x,), buffer, dynamo=False, opset_version=opset, input_names=["x"])
    model = onnx.load_from_string(buffer.getvalue())
    with torch.no_grad():
        values, indices = _converted(model)(x)
    ref_values, ref_indices = _onnxruntime(model, {"x": x.numpy()})
    assert _relative_error(values.numpy(), ref_values) <= 1e-6
    assert np.array_equal(indices.numpy(), ref_indices)
    assert np.array_equal(indices.numpy(), module.pool(module.conv(x))[1].numpy())


def test_dynamo_max_pool_and_unpool_convert():
    """The dynamo exporter writes ``F.max_unpool2d`` as a ``ScatterND`` of the pooled values to ``MaxPool``'s indices
    (the TorchScript exporter cannot write it at all)."""
    torch.manual_seed(6)
    x = torch.randn(1, 3, 8, 8)
    model = torch.onnx.export(
        _PoolWithIndices(unpool=True).eval(), (x,), dynamo=True, opset_version=18, input_names=["x"]
    ).model_proto
    assert {"MaxPool", "ScatterND"} <= {n.op_type for n in model.graph.node}
    with torch.no_grad():
        out = _converted(model)(x).numpy()
    assert _relative_error(out, _onnxruntime(model, {"x": x.numpy()})[0]) <= 1e-6


# ---- Col2Im (opset 18): F.fold


COL2IM_CASES = {
    "k3": ([7, 6], [3, 3], {}),
    "k2-s2": ([8, 6], [2, 2], dict(strides=[2, 2])),
    "k3-dilated-pads": ([7, 8], [3, 2], dict(dilations=[2, 1], pads=[1, 2, 1, 2], strides=[1, 2])),
    "asymmetric-pads": ([6, 7], [3, 3], dict(pads=[0, 1, 2, 1])),
}


def _blocks(image, block, attributes):
    dilations, strides = attributes.get("dilations", [1, 1]), attributes.get("strides", [1, 1])
    pads = attributes.get("pads", [0, 0, 0, 0])
    counts = [
        (image[axis] + pads[axis] + pads[axis + 2] - dilations[axis] * (block[axis] - 1) - 1) // strides[axis] + 1
        for axis in range(2)
    ]
    return counts[0] * counts[1]


def _col2im_model(case, dtype=np.float32):
    image, block, attributes = COL2IM_CASES[case]
    inits = {"image_shape": np.array(image, np.int64), "block_shape": np.array(block, np.int64)}
    nodes = [node("Col2Im", ["x", "image_shape", "block_shape"], ["y"], name="col2im", **attributes)]
    shape = [2, 3 * block[0] * block[1], _blocks(image, block, attributes)]
    return _model(nodes, {"x": shape}, inits, 18, dtype), shape


@pytest.mark.parametrize("case", list(COL2IM_CASES))
def test_col2im_matches_onnxruntime_and_the_reference_evaluator_and_passes_gradients(case):
    model, shape = _col2im_model(case)
    x = RNG.randn(*shape).astype(np.float32)
    module = _converted(model)
    with torch.no_grad():
        out = module(torch.from_numpy(x)).numpy()
    assert _relative_error(out, _onnxruntime(model, {"x": x})[0]) <= 1e-6
    x64 = x.astype(np.float64)
    reference = ReferenceEvaluator(_col2im_model(case, np.float64)[0]).run(None, {"x": x64})[0]
    module = module.double()
    with torch.no_grad():
        assert _relative_error(module(torch.from_numpy(x64)).numpy(), reference) <= 1e-12
    assert torch.autograd.gradcheck(
        module, (torch.from_numpy(x64).requires_grad_(True),), eps=1e-6, atol=1e-6, fast_mode=True
    )


class _FoldBack(torch.nn.Module):
    """Unfold → a 1×1 mix of the blocks → fold: the overlap-add that TorchScript writes as ``Col2Im``."""

    def __init__(self):
        super().__init__()
        self.mix = torch.nn.Conv1d(2 * 9, 2 * 9, 1)

    def forward(self, x):
        blocks = F.unfold(x, 3, padding=1, stride=2)
        folded = F.fold(self.mix(blocks), (9, 7), 3, padding=1, stride=2)
        return folded - folded.mean((2, 3), keepdim=True)


def test_torchscript_fold_export_converts():
    """At opset 18 with an opset-18 ``ReduceMean`` (``axes`` an input): the graph is lowered to 17, ``Col2Im`` in the
    port's domain."""
    torch.manual_seed(7)
    x = torch.randn(1, 2, 9, 7)
    model = _torchscript_export(_FoldBack(), x, 18)
    assert {"Col2Im", "ReduceMean"} <= {n.op_type for n in model.graph.node}
    prepared = prepare(model)
    assert [(n.domain, n.op_type) for n in prepared.graph.node if n.op_type == "Col2Im"] == [
        ("deepdreamport", "Col2Im")
    ]
    with torch.no_grad():
        out = _converted(model)(x).numpy()
    assert _relative_error(out, _onnxruntime(model, {"x": x.numpy()})[0]) <= 1e-6


# ---- DeformConv (opset 19): torchvision.ops.deform_conv2d

DEFORM_CASES = {
    "k3": dict(kernel_shape=[3, 3]),
    "k3-pads-bias-mask": dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1], bias=True, mask=True),
    "k2x3-strides-dilations-mask": dict(kernel_shape=[2, 3], strides=[2, 1], dilations=[1, 2], mask=True),
    "groups-offset-groups-bias": dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=2, offset_group=2, bias=True),
}


def _deform_inputs(case, dtype=np.float32):
    """X 1×4×7×9, W (an initializer), offsets (up to ±2 pixels: some taps land outside the image), B, mask in [0, 1]."""
    attributes = dict(DEFORM_CASES[case])
    bias, mask = attributes.pop("bias", False), attributes.pop("mask", False)
    kh, kw = attributes["kernel_shape"]
    strides, dilations = attributes.get("strides", [1, 1]), attributes.get("dilations", [1, 1])
    pads, group, offset_group = (
        attributes.get("pads", [0] * 4),
        attributes.get("group", 1),
        attributes.get("offset_group", 1),
    )
    oh = (7 + pads[0] + pads[2] - dilations[0] * (kh - 1) - 1) // strides[0] + 1
    ow = (9 + pads[1] + pads[3] - dilations[1] * (kw - 1) - 1) // strides[1] + 1
    feeds = {
        "x": RNG.randn(1, 4, 7, 9),
        "w": RNG.randn(4, 4 // group, kh, kw),
        "offset": RNG.uniform(-2, 2, (1, offset_group * kh * kw * 2, oh, ow)),
    }
    if bias:
        feeds["b"] = RNG.randn(4)
    if mask:
        feeds["mask"] = RNG.uniform(0, 1, (1, offset_group * kh * kw, oh, ow))
    return {k: v.astype(dtype) for k, v in feeds.items()}, attributes, bias, mask


def _deform_model(feeds, attributes, bias, mask, dtype=np.float32):
    """The graph: feeds' ``w`` is an initializer (a weight), the others are inputs."""
    names = ["x", "w", "offset", "b" if bias else "", *(["mask"] if mask else [])]
    nodes = [node("DeformConv", names, ["y"], name="deform", **attributes)]
    inputs = {k: list(v.shape) for k, v in feeds.items() if k != "w"}
    return _model(nodes, inputs, {"w": feeds["w"]}, 19, dtype)


@pytest.mark.parametrize("case", list(DEFORM_CASES))
def test_deform_conv_matches_onnxruntime_and_the_reference_evaluator_and_passes_gradients(case):
    """float32 and float64 against onnxruntime (1e-6, 1e-12); the offsets' layout and the mask's meaning also against
    ONNX's reference evaluator (1e-6: it samples through its ``GridSample``, float32 inside)."""
    feeds, attributes, bias, mask = _deform_inputs(case, np.float64)
    model64 = _deform_model(feeds, attributes, bias, mask, np.float64)
    module = _converted(model64)
    weight = feeds.pop("w")
    tensors = [torch.from_numpy(v) for v in feeds.values()]
    with torch.no_grad():
        out = module(*tensors).numpy()
    assert out.dtype == np.float64
    assert _relative_error(out, _onnxruntime(model64, feeds)[0]) <= 1e-12
    assert _relative_error(out, ReferenceEvaluator(model64).run(None, feeds)[0]) <= 1e-6
    feeds32 = {k: v.astype(np.float32) for k, v in feeds.items()}
    model32 = _deform_model({**feeds32, "w": weight}, attributes, bias, mask)
    with torch.no_grad():
        out32 = _converted(model32)(*[torch.from_numpy(v) for v in feeds32.values()]).numpy()
    assert _relative_error(out32, _onnxruntime(model32, feeds32)[0]) <= 1e-6
    inputs = [t.clone().requires_grad_(True) for t in tensors]
    assert torch.autograd.gradcheck(module, tuple(inputs), eps=1e-6, atol=1e-5, fast_mode=True)


# ---- quantise–dequantise (QDQ) graphs


def _onnxruntime_unoptimised(model: onnx.ModelProto, feeds: dict) -> list[np.ndarray]:
    """onnxruntime without graph optimisations: QDQ pairs as written (not fused into integer kernels)."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def _qdq_conv_model(per_axis: bool, zero_point_type=np.uint8):
    """x → Q/DQ (uint8 or int8) → Conv with int8 weights (per tensor or per output channel) and int32 bias, each
    behind a DequantizeLinear → Relu → Q/DQ: what onnxruntime's ``quantize_static`` writes in QDQ format."""
    weights = RNG.randint(-127, 128, (4, 3, 3, 3)).astype(np.int8)
    weight_scale = (RNG.uniform(0.002, 0.01, 4) if per_axis else np.array(0.004)).astype(np.float32)
    input_scale = np.array(0.03, np.float32)
    zero = np.array(128 if zero_point_type == np.uint8 else 3, zero_point_type)
    bias = RNG.randint(-500, 500, 4).astype(np.int32)
    inits = {
        "w_q": weights,
        "w_scale": weight_scale,
        "w_zero": np.zeros(weight_scale.shape, np.int8),
        "b_q": bias,
        "b_scale": (input_scale * weight_scale).astype(np.float32),
        "x_scale": input_scale,
        "x_zero": zero,
        "y_scale": np.array(0.02, np.float32),
        "y_zero": zero,
    }
    nodes = [
        node("QuantizeLinear", ["x", "x_scale", "x_zero"], ["x_q"]),
        node("DequantizeLinear", ["x_q", "x_scale", "x_zero"], ["x_dq"]),
        node("DequantizeLinear", ["w_q", "w_scale", "w_zero"], ["w"], axis=0),
        node("DequantizeLinear", ["b_q", "b_scale"], ["b"], axis=0),
        node("Conv", ["x_dq", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        node("Relu", ["c"], ["r"]),
        node("QuantizeLinear", ["r", "y_scale", "y_zero"], ["y_q"]),
        node("DequantizeLinear", ["y_q", "y_scale", "y_zero"], ["y"]),
    ]
    return _model(nodes, {"x": [1, 3, 8, 9]}, inits, 13)


@pytest.mark.parametrize("per_axis", [False, True], ids=["per-tensor", "per-axis"])
@pytest.mark.parametrize("zero_point_type", [np.uint8, np.int8], ids=["uint8", "int8"])
def test_qdq_conv_folds_its_weights_and_matches_onnxruntime_exactly(per_axis, zero_point_type):
    model = _qdq_conv_model(per_axis, zero_point_type)
    prepared = prepare(model)
    initializers = {init.name for init in prepared.graph.initializer}
    conv = next(n for n in prepared.graph.node if n.op_type == "Conv")
    assert conv.input[1] in initializers and conv.input[2] in initializers  # weights and bias folded to float
    assert [n.op_type for n in prepared.graph.node].count("DequantizeLinear") == 2
    x = RNG.uniform(-3, 5, (1, 3, 8, 9)).astype(np.float32)  # past the uint8 range of x_scale 0.03: clamped
    with torch.no_grad():
        out = to_torch(prepared)(torch.from_numpy(x)).numpy()
    assert np.array_equal(out, _onnxruntime_unoptimised(model, {"x": x})[0])


FAKE_CASES = {
    "uint8-per-tensor": (np.array(0.5, np.float32), np.array(100, np.uint8), 1),
    "int8-per-tensor-no-offset": (np.array(0.25, np.float32), np.array(0, np.int8), 1),
    "int8-per-axis-1": (np.array([0.5, 0.25, 0.125], np.float32), np.array([0, 5, -7], np.int8), 1),
    "uint8-per-axis-3": (np.array([0.5, 1.0, 0.25, 2.0, 0.75], np.float32), np.array([0, 1, 2, 3, 255], np.uint8), 3),
    "int16-per-tensor": (np.array(0.001, np.float32), np.array(-20, np.int16), 1),
}


def _fake_quantize(case):
    scale, zero, axis = FAKE_CASES[case]
    nodes = [
        node("QuantizeLinear", ["x", "scale", "zero"], ["q"], axis=axis),
        node("DequantizeLinear", ["q", "scale", "zero"], ["y"], axis=axis),
    ]
    return _model(nodes, {"x": [2, 3, 4, 5]}, {"scale": scale, "zero": zero}, 21 if zero.dtype == np.int16 else 13)


@pytest.mark.parametrize("case", list(FAKE_CASES))
def test_fake_quantisation_is_exact_and_passes_a_straight_through_gradient(case):
    """Values on ties (half a step: rounded to even), inside and past the integer range; the gradient is 1 where
    onnxruntime's quantised value is not clamped, 0 where it is."""
    scale, zero, axis = FAKE_CASES[case]
    model = _fake_quantize(case)
    info = np.iinfo(zero.dtype)
    span = int(1.2 * (int(info.max) - int(info.min) + 1))  # a fifth of the values past the range
    steps = RNG.randint(-span, span, (2, 3, 4, 5)) + RNG.choice([0.0, 0.5, 0.3], (2, 3, 4, 5))
    shape = [1] * 4
    shape[axis] = -1
    x = (steps * (scale.reshape(shape) if scale.size > 1 else scale)).astype(np.float32)
    module = _converted(model)
    tensor = torch.from_numpy(x).requires_grad_(True)
    out = module(tensor)
    assert np.array_equal(out.detach().numpy(), _onnxruntime_unoptimised(model, {"x": x})[0])
    out.sum().backward()
    quantise = _model([model.graph.node[0]], {"x": [2, 3, 4, 5]}, {"scale": scale, "zero": zero}, 21, outputs=("q",))
    quantise.graph.output[0].type.tensor_type.elem_type = helper.np_dtype_to_tensor_dtype(zero.dtype)
    quantised = _onnxruntime_unoptimised(quantise, {"x": x})[0].astype(np.int64)
    inside = (quantised > info.min) & (quantised < info.max)
    assert np.array_equal(tensor.grad.numpy()[inside], np.ones(inside.sum(), np.float32))
    offset = zero.reshape(shape).astype(np.float64) if zero.size > 1 else float(zero)
    beyond = (steps + offset > info.max + 0.5) | (steps + offset < info.min - 0.5)
    assert beyond.any() and (tensor.grad.numpy()[beyond] == 0).all()
    assert set(np.unique(tensor.grad.numpy())) <= {0.0, 1.0}


class _FakeQuantised(torch.nn.Module):
    """A convolution with per-channel fake-quantised weights and per-tensor fake-quantised activations (QAT)."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)

    def forward(self, x):
        x = torch.fake_quantize_per_tensor_affine(x, 0.05, 10, 0, 255)
        weight = torch.fake_quantize_per_channel_affine(
            self.conv.weight, torch.full((4,), 0.01), torch.zeros(4, dtype=torch.int32), 0, -128, 127
        )
        y = F.conv2d(x, weight, self.conv.bias)
        return torch.fake_quantize_per_tensor_affine(torch.relu(y), 0.02, 0, 0, 255)


@pytest.mark.parametrize("opset", [13, 17])
def test_torchscript_fake_quantisation_export_converts_exactly(opset):
    torch.manual_seed(9)
    x = torch.randn(1, 3, 8, 7) * 3
    model = _torchscript_export(_FakeQuantised(), x, opset)
    assert {"QuantizeLinear", "DequantizeLinear"} <= {n.op_type for n in model.graph.node}
    with torch.no_grad():
        out = _converted(model)(x).numpy()
    assert _relative_error(out, _onnxruntime_unoptimised(model, {"x": x.numpy()})[0]) <= 1e-6


def test_a_quantize_linear_output_of_the_graph_is_its_integer_type():
    nodes = [node("QuantizeLinear", ["x", "scale", "zero"], ["q"])]
    inits = {"scale": np.array(0.1, np.float32), "zero": np.array(-3, np.int8)}
    model = _model(nodes, {"x": [1, 3, 4, 5]}, inits, 13, outputs=("q",))
    model.graph.output[0].type.tensor_type.elem_type = TensorProto.INT8
    x = RNG.uniform(-20, 20, (1, 3, 4, 5)).astype(np.float32)
    with torch.no_grad():
        out = _converted(model)(torch.from_numpy(x)).numpy()
    assert out.dtype == np.int8 and np.array_equal(out, _onnxruntime(model, {"x": x})[0])


class _DeformableBlock(torch.nn.Module):
    """A DCN block: a convolution computes the offsets (and the DCN v2 mask) of a ``DeformConv2d``."""

    def __init__(self, with_mask: bool):
        super().__init__()
        self.offsets = torch.nn.Conv2d(3, 18, 3, padding=1)
        self.mask = torch.nn.Conv2d(3, 9, 3, padding=1) if with_mask else None
        self.deform = torchvision.ops.DeformConv2d(3, 4, 3, padding=1)

    def forward(self, x):
        mask = torch.sigmoid(self.mask(x)) if self.mask is not None else None
        return self.deform(x, self.offsets(x), mask)


@pytest.mark.parametrize("with_mask", [False, True], ids=["v1", "v2-mask"])
def test_dynamo_deformable_convolution_export_converts(with_mask):
    """torchvision's ``DeformConv2d`` exported by dynamo at opset 19 (TorchScript cannot write it). Within 1e-5: the
    offsets are computed by the network, and a float32 rounding of one moves a sample by that times the slope."""
    torch.manual_seed(12)
    x = torch.randn(1, 3, 8, 9)
    module = _DeformableBlock(with_mask).eval()
    model = torch.onnx.export(module, (x,), dynamo=True, opset_version=19, input_names=["x"]).model_proto
    assert "DeformConv" in {n.op_type for n in model.graph.node}
    with torch.no_grad():
        out = _converted(model)(x).numpy()
    assert _relative_error(out, _onnxruntime(model, {"x": x.numpy()})[0]) <= 1e-5


# ---- what stays refused, in one line naming the node


REFUSED = {
    "Col2Im-3d": (
        18,
        node("Col2Im", ["x", "image", "block"], ["y"], name="fold_3d"),
        {"image": np.array([4, 4, 4], np.int64), "block": np.array([2, 2, 2], np.int64)},
        {"x": [1, 8, 27]},
        "2-D",
    ),
    "DeformConv-asymmetric-pads": (
        19,
        node("DeformConv", ["x", "w", "offset"], ["y"], name="deform_pads", pads=[0, 0, 1, 1]),
        {"w": RNG.randn(2, 3, 2, 2)},
        {"x": [1, 3, 5, 6], "offset": [1, 8, 5, 6]},
        "asymmetric pads",
    ),
    "QuantizeLinear-blocked": (
        21,
        node("QuantizeLinear", ["x", "scale", "zero"], ["y"], name="blocked", axis=1, block_size=2),
        {"scale": np.ones((1, 2, 5, 6), np.float32), "zero": np.zeros((1, 2, 5, 6), np.uint8)},
        {"x": [1, 4, 5, 6]},
        "block_size=2",
    ),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_what_torch_cannot_do_is_refused_in_one_line_naming_the_node(case):
    opset, refused, inits, inputs, reason = REFUSED[case]
    model = _model([refused], inputs, inits, opset)
    with pytest.raises(DeepDreamError) as info:
        _converted(model)
    message = info.value.message
    assert "\n" not in message and refused.name in message and refused.op_type in message and reason in message


def test_a_segnet_decoder_layer_after_onnx_max_unpool_runs_as_onnxruntime_and_passes_gradients(tmp_path):
    """MATLAB's SegNet-style network with ONNX's own ``MaxUnpool`` (``output_shape`` from ``Shape`` of the pooled
    tensor) in place of ``com.mathworks::MaxUnpool``: the decoder layer ``conv_3`` is truncated, converted, run on
    a batch of 2 (the batch freed) as onnxruntime runs each image, and its gradient reaches the image."""
    model = onnx.load(str(matlab_segnet_custom_unpool(tmp_path / "segnet.onnx")))
    unpool = next(n for n in model.graph.node if n.op_type == "MaxUnpool")
    unpool.domain = ""
    unpool.input.append("pool_1_input_shape")
    unpool.attribute.extend([helper.make_attribute("kernel_shape", [2, 2]), helper.make_attribute("strides", [2, 2])])
    model.graph.node.insert(3, node("Shape", ["relu_1"], ["pool_1_input_shape"], name="pool_1_input_shape"))
    del model.opset_import[1:]
    path = tmp_path / "segnet_onnx_unpool.onnx"
    onnx.save(model, str(path))
    x = RNG.randn(2, 3, 16, 16).astype(np.float32)
    decoder = extract_subgraph(model, "input", "conv_3")
    ref = np.concatenate([_onnxruntime(decoder, {"input": x[k : k + 1]})[0] for k in range(2)])
    module = OnnxNetwork.from_onnx(path).truncated("conv_3").module
    image = torch.from_numpy(x).requires_grad_(True)
    out = module(image)
    assert _relative_error(out.detach().numpy(), ref) <= 1e-6
    out.square().sum().backward()
    assert torch.isfinite(image.grad).all() and image.grad.abs().sum() > 0


class _SmallClassifier(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv_1 = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.conv_2 = torch.nn.Conv2d(8, 4, 3)
        self.fc = torch.nn.Linear(4, 5)

    def forward(self, x):
        return self.fc(torch.relu(self.conv_2(torch.relu(self.conv_1(x)))).mean((2, 3)))


class _Calibration:
    """Four random images for onnxruntime's calibration (its ``CalibrationDataReader`` protocol)."""

    def __init__(self):
        self.images = iter([{"x": np.random.RandomState(k).randn(1, 3, 12, 12).astype(np.float32)} for k in range(4)])

    def get_next(self):
        return next(self.images, None)


@pytest.mark.parametrize("per_channel", [False, True], ids=["per-tensor", "per-channel"])
def test_onnxruntime_quantize_static_qdq_export_converts_exactly(tmp_path, per_channel):
    """onnxruntime's own quantisation tool in QDQ format (uint8 activations, int8 weights, int32 biases)."""
    torch.manual_seed(13)
    float_path, quantised_path = tmp_path / "float.onnx", tmp_path / "qdq.onnx"
    torch.onnx.export(
        _SmallClassifier().eval(),
        (torch.randn(1, 3, 12, 12),),
        str(float_path),
        dynamo=False,
        opset_version=13,
        input_names=["x"],
    )
    quantize_static(
        str(float_path),
        str(quantised_path),
        _Calibration(),
        quant_format=QuantFormat.QDQ,
        per_channel=per_channel,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
    )
    model = onnx.load(str(quantised_path))
    prepared = prepare(model)
    initializers = {init.name for init in prepared.graph.initializer}
    assert all(n.input[1] in initializers for n in prepared.graph.node if n.op_type in ("Conv", "Gemm"))
    x = RNG.randn(1, 3, 12, 12).astype(np.float32)
    with torch.no_grad():
        out = to_torch(prepared)(torch.from_numpy(x)).numpy()
    assert np.array_equal(out, _onnxruntime_unoptimised(model, {"x": x})[0])
