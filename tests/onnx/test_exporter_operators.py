"""Operators real exporters write that onnx2torch 1.5 did not convert, or converted wrongly (docs/models.md,
"Operators"). Each is a small graph in its exporter's form at the opsets it is written at, converted by the
port's pipeline (``prepare`` → ``to_torch``, as ``deepdream`` loads a network) and compared with onnxruntime:
float32 within 1e-6 relative (max abs error / max abs reference); float64 (``net.double()``, the MATLAB port)
within 1e-12 against ONNX's reference evaluator (``onnx.reference``: onnxruntime has no float64 ``Conv`` and
computes ``GroupNormalization``'s statistics in float32).
Gradients to the input are checked by ``torch.autograd.gradcheck`` in float64.
"""

from __future__ import annotations

import io

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import scipy.special
import torch
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from deepdreamport.cli import main
from deepdreamport.errors import DeepDreamError
from deepdreamport.onnx.convert import prepare, to_torch
from deepdreamport.onnx.graph import default_opset

RNG = np.random.RandomState(51)
CONV = RNG.randn(4, 3, 3, 3)
GROUP_SCALE, GROUP_BIAS = 1 + RNG.rand(2), RNG.randn(2)
CHANNEL_SCALE, CHANNEL_BIAS = 1 + RNG.rand(4), RNG.randn(4)
node = helper.make_node


def _model(nodes, inits, opset, dtype=np.float32, shape=("N", 3, 6, 6)):
    """``x`` (N×3×H×W) → a 3×3 convolution to 4 channels → ``nodes`` → ``y``; float weights in ``dtype``."""
    elem = TensorProto.FLOAT if dtype == np.float32 else TensorProto.DOUBLE
    nodes = [node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]), *nodes]
    arrays = {"w": CONV, **inits}
    # float32 values in either dtype: a float32 network run in float64 is compared with the same weights in float64
    initializers = [
        numpy_helper.from_array(
            np.asarray(v, np.float32).astype(dtype) if np.asarray(v).dtype.kind == "f" else np.asarray(v), k
        )
        for k, v in arrays.items()
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", elem, list(shape))],
        [helper.make_tensor_value_info("y", elem, None)],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = min(model.ir_version, 10)
    return model


def _group_norm(scale, bias, num_groups=2):
    return [node("GroupNormalization", ["c", "s", "b"], ["y"], name="gn", num_groups=num_groups, epsilon=1e-3)], {
        "s": scale,
        "b": bias,
    }


def _single(op, **attributes):
    return [node(op, ["c"], ["y"], name=op.lower(), **attributes)], {}


# id: (opset, (nodes, initializers))
CASES = {
    # torch.onnx: GroupNormalization per group (opset 18, deprecated in 21) and per channel (21: dynamo's nn.GroupNorm)
    "GroupNormalization-18": (18, _group_norm(GROUP_SCALE, GROUP_BIAS)),
    "GroupNormalization-18-at-20": (20, _group_norm(GROUP_SCALE, GROUP_BIAS)),
    "GroupNormalization-21": (21, _group_norm(CHANNEL_SCALE, CHANNEL_BIAS)),
    "GroupNormalization-21-one-group": (21, _group_norm(CHANNEL_SCALE, CHANNEL_BIAS, 1)),
    "GroupNormalization-22": (22, _group_norm(CHANNEL_SCALE, CHANNEL_BIAS)),
    "Mish-18": (18, _single("Mish")),
    "Mish-22": (22, _single("Mish")),
    "Gelu-20": (20, _single("Gelu")),
    "Gelu-20-tanh": (20, _single("Gelu", approximate="tanh")),
    "Gelu-21": (21, _single("Gelu")),
    # dynamo: a mask compared with <= (nn.Hardshrink, nn.Threshold); CastLike for a scalar constant
    "LessOrEqual-18": (
        18,
        (
            [node("LessOrEqual", ["c", "t"], ["m"]), node("Where", ["m", "zero", "c"], ["y"])],
            {"t": [0.1], "zero": [0.0]},
        ),
    ),
    "GreaterOrEqual-17": (
        17,
        (
            [node("GreaterOrEqual", ["c", "t"], ["m"]), node("Where", ["m", "c", "zero"], ["y"])],
            {"t": [0.1], "zero": [0.0]},
        ),
    ),
    "CastLike-18": (
        18,
        ([node("CastLike", ["half", "c"], ["h"]), node("Mul", ["c", "h"], ["y"])], {"half": np.array(0.5, np.float32)}),
    ),
    # tf2onnx: TensorFlow's space_to_depth / depth_to_space (DCR), Keras ThresholdedReLU; torch's shrink form
    "SpaceToDepth-13": (13, _single("SpaceToDepth", blocksize=2)),
    "DepthToSpace-DCR-13": (13, _single("DepthToSpace", blocksize=2)),
    "DepthToSpace-CRD-13": (13, _single("DepthToSpace", blocksize=2, mode="CRD")),
    "ThresholdedRelu-13": (13, _single("ThresholdedRelu", alpha=0.3)),
    "Shrink-13": (13, _single("Shrink", lambd=0.4, bias=0.1)),
    # MATLAB globalMaxPooling2dLayer, GlobalLpPool
    "GlobalMaxPool-13": (13, _single("GlobalMaxPool")),
    "GlobalLpPool-13": (13, _single("GlobalLpPool", p=3)),
    # x.cumsum(dim) as torch writes it (no reverse attribute); and with reverse and exclusive
    "CumSum-13": (13, ([node("CumSum", ["c", "axis"], ["y"])], {"axis": np.array(1, np.int64)})),
    "CumSum-13-reverse-exclusive": (
        13,
        ([node("CumSum", ["c", "axis"], ["y"], reverse=1, exclusive=1)], {"axis": np.array(2, np.int64)}),
    ),
    # MATLAB / older exporters' Upsample (opsets 7, 9), TF1 resize_bilinear via tf2onnx (asymmetric linear Resize)
    "Upsample-linear-7": (7, _single("Upsample", mode="linear", scales=[1.0, 1.0, 2.0, 2.0])),
    "Upsample-linear-9": (
        9,
        ([node("Upsample", ["c", "scales"], ["y"], mode="linear")], {"scales": np.array([1, 1, 2, 2], np.float32)}),
    ),
    "Upsample-nearest-9-by-1.5": (
        9,
        (
            [node("Upsample", ["c", "scales"], ["y"], mode="nearest")],
            {"scales": np.array([1, 1, 1.5, 1.5], np.float32)},
        ),
    ),
    "Resize-linear-asymmetric-13": (
        13,
        (
            [node("Resize", ["c", "", "scales"], ["y"], mode="linear", coordinate_transformation_mode="asymmetric")],
            {"scales": np.array([1, 1, 2, 1.5], np.float32)},
        ),
    ),
}

FLOAT64_CASES = [case for case in CASES if case != "GlobalLpPool-13" and not case.startswith("Upsample")]
"""ONNX's reference evaluator has no ``GlobalLpPool`` nor linear ``Upsample``; onnxruntime no float64 ``Conv``
(the asymmetric linear sampling is checked in float64 on ``Resize-linear-asymmetric-13``)."""
SQRT_2_OVER_PI = np.sqrt(2 / np.pi)
GELU_IN_FLOAT64 = {
    "Gelu-20": lambda c: 0.5 * c * (1 + scipy.special.erf(c / np.sqrt(2))),
    "Gelu-21": lambda c: 0.5 * c * (1 + scipy.special.erf(c / np.sqrt(2))),
    "Gelu-20-tanh": lambda c: 0.5 * c * (1 + np.tanh(SQRT_2_OVER_PI * (c + 0.044715 * c**3))),
}
"""``Gelu`` by ONNX's formulas in float64: the reference evaluator runs ONNX's function body, whose constants
(√2, √(2/π)) are float32."""


def _float64_reference(case: str, x: np.ndarray) -> np.ndarray:
    """ONNX's reference evaluator on the float64 graph; ``stash_type`` float64 for ``GroupNormalization`` (its
    default computes the statistics in float32)."""
    opset, (nodes, inits) = CASES[case]
    if case in GELU_IN_FLOAT64:
        convolved = ReferenceEvaluator(_model([], {}, opset, np.float64)).run(["c"], {"x": x})[0]
        return GELU_IN_FLOAT64[case](convolved)
    nodes = [onnx.NodeProto.FromString(n.SerializeToString()) for n in nodes]
    for entry in nodes:
        if entry.op_type == "GroupNormalization" and opset >= 21:
            entry.attribute.append(helper.make_attribute("stash_type", TensorProto.DOUBLE))
    return ReferenceEvaluator(_model(nodes, inits, opset, np.float64)).run(None, {"x": x})[0]


def _reference(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


def _relative_error(out: np.ndarray, ref: np.ndarray) -> float:
    assert out.shape == ref.shape
    return float(np.abs(out - ref).max() / np.abs(ref).max())


@pytest.mark.parametrize("case", list(CASES))
def test_operator_matches_onnxruntime_in_float32(case):
    opset, (nodes, inits) = CASES[case]
    model = _model(nodes, inits, opset)
    x = RNG.randn(2, 3, 6, 6).astype(np.float32)
    with torch.no_grad():
        out = to_torch(prepare(model))(torch.from_numpy(x)).numpy()
    assert _relative_error(out, _reference(model, x)) <= 1e-6


@pytest.mark.parametrize("case", FLOAT64_CASES)
def test_operator_in_float64_matches_its_reference_and_passes_gradients(case):
    """``net.double()``: float64 end to end; the gradient to the input checked against finite differences."""
    opset, (nodes, inits) = CASES[case]
    module = to_torch(prepare(_model(nodes, inits, opset))).double()
    x = RNG.randn(1, 3, 6, 6)
    with torch.no_grad():
        out = module(torch.from_numpy(x)).numpy()
    assert out.dtype == np.float64
    assert _relative_error(out, _float64_reference(case, x)) <= 1e-12
    image = torch.from_numpy(x).requires_grad_(True)
    assert torch.autograd.gradcheck(module, (image,), eps=1e-6, atol=1e-6)


def test_newer_operators_survive_the_downgrade_of_the_rest_of_the_graph():
    """Opset 21: GroupNormalization, Mish, Gelu beside an opset-18 ``ReduceMean`` (axes as an input), which onnx2torch
    converts only in its opset-17 form: the graph is lowered to 17, the newer operators kept in the port's domain."""
    nodes = [
        node("GroupNormalization", ["c", "s", "b"], ["g"], name="gn", num_groups=2),
        node("Mish", ["g"], ["m"], name="mish"),
        node("Gelu", ["m"], ["e"], name="gelu", approximate="tanh"),
        node("ReduceMean", ["e", "axes"], ["y"], name="mean"),
    ]
    inits = {"s": CHANNEL_SCALE, "b": CHANNEL_BIAS, "axes": np.array([2, 3], np.int64)}
    model = _model(nodes, inits, 21)
    prepared = prepare(model)
    assert default_opset(prepared) == 17
    assert {n.domain for n in prepared.graph.node if n.op_type in ("GroupNormalization", "Mish", "Gelu")} == {
        "deepdreamport"
    }
    x = RNG.randn(2, 3, 6, 6).astype(np.float32)
    with torch.no_grad():
        out = to_torch(prepared)(torch.from_numpy(x)).numpy()
    assert _relative_error(out, _reference(model, x)) <= 1e-6


@pytest.mark.parametrize(
    "opset, nodes, named",
    [
        (13, _single("Det")[0], "Det (nodes det)"),
        # ONNX's converter would drop the dilations on the way to opset 17: the graph stays at 22, refused
        (22, _single("AveragePool", kernel_shape=[2, 2], dilations=[2, 2])[0], "AveragePool (nodes averagepool)"),
    ],
)
def test_an_operator_left_unsupported_is_refused_in_one_line(opset, nodes, named):
    with pytest.raises(DeepDreamError) as info:
        prepare(_model(nodes, {}, opset))
    assert "\n" not in info.value.message and named in info.value.message


def _cli_model(path) -> str:
    """Dynamo's opset-21 forms: conv → GroupNormalization → Mish → conv → Gelu."""
    nodes = [
        node("GroupNormalization", ["c", "s", "b"], ["g"], name="gn", num_groups=2),
        node("Mish", ["g"], ["m"], name="mish"),
        node("Conv", ["m", "w2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
        node("Gelu", ["c2"], ["y"], name="gelu"),
    ]
    inits = {"s": CHANNEL_SCALE, "b": CHANNEL_BIAS, "w2": RNG.randn(5, 4, 3, 3)}
    onnx.save(_model(nodes, inits, 21, shape=(1, 3, 16, 16)), str(path))
    return str(path)


def test_layers_and_dream_run_on_the_newer_operators(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = _cli_model(tmp_path / "newer.onnx")
    assert main(["layers", model]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in ("gn", "mish", "conv2", "gelu")), listed
    assert "Group Normalization" in listed and "GELU" in listed
    for layer in ("gn", "gelu"):
        argv = ["dream", model, "--layer", layer, "--channels", "1:2", "--levels", "1", "--iterations", "2"]
        assert main([*argv, "--out", f"{layer}.png"]) == 0, capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["gelu.png", "gn.png"], list(tmp_path.iterdir())


class _Exported(torch.nn.Module):
    """conv → GroupNorm(2) → Mish → conv → GELU (exact) → GELU (tanh)."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.norm = torch.nn.GroupNorm(2, 8)
        self.conv2 = torch.nn.Conv2d(8, 6, 3, padding=1)

    def forward(self, x):
        x = torch.nn.functional.mish(self.norm(self.conv(x)))
        return torch.nn.functional.gelu(torch.nn.functional.gelu(self.conv2(x)), approximate="tanh")


@pytest.mark.parametrize("dynamo, opset", [(False, 20), (True, 18), (True, 21)])
def test_real_torch_exports_convert(dynamo, opset):
    """torch.onnx.export of nn.GroupNorm, Mish, GELU: dynamo at 18 writes Mish, at 21 GroupNormalization and Gelu;
    TorchScript at 20 writes Gelu. Random weights; nothing downloaded."""
    torch.manual_seed(7)
    module = _Exported().eval()
    with torch.no_grad():
        module.norm.weight.uniform_(0.5, 1.5)
        module.norm.bias.normal_()
    x = torch.randn(1, 3, 12, 12)
    if dynamo:
        model = torch.onnx.export(module, (x,), dynamo=True, opset_version=opset, input_names=["x"]).model_proto
    else:
        buffer = io.BytesIO()
        torch.onnx.export(module, (x,), buffer, dynamo=False, opset_version=opset, input_names=["x"])
        model = onnx.load_from_string(buffer.getvalue())
    written = {n.op_type for n in model.graph.node}
    assert {"Mish", "GroupNormalization", "Gelu"} & written
    with torch.no_grad():
        out = to_torch(prepare(model))(x).numpy()
    assert _relative_error(out, _reference(model, x.numpy())) <= 1e-6
