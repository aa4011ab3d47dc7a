"""Operators onnx2torch 1.5 refused, converted by the port since (docs/models.md, "Operators"): ``GridSample``,
``AffineGrid``, ``LpNormalization``, ``MeanVarianceNormalization``, ``Hardmax``, ``Trilu``, ``Sinh``/``Cosh``/
``Asinh``/``Acosh``/``Atanh``, ``Pad(mode=wrap)``.

Each is a small graph built with ``onnx.helper`` at the opsets it exists at, converted by the port's pipeline
(``prepare`` → ``to_torch``, as ``deepdream`` loads a network) and compared with onnxruntime: float32 within 1e-6
relative (max abs error / max abs reference). float64 (``net.double()``) within 1e-12 of a float64 reference: onnxruntime
where it has a float64 kernel (``GridSample``-20, ``AffineGrid``, ``LpNormalization``, ``Trilu``, ``Pad``), else ONNX's
reference evaluator (the hyperbolic functions), ONNX's function body in numpy (``MeanVarianceNormalization``: the
evaluator runs it with float32 constants), or onnxruntime's float32 one-hot (``Hardmax``: exactly 0 and 1). The
evaluator is not used for the others: its ``GridSample`` and ``AffineGrid`` are float32 inside (3e-7 off onnxruntime's
float64), its cubic ``GridSample`` with ``border`` padding differs from onnxruntime by 6 %, its ``LpNormalization``
with ``p=1`` is wrong, and it reads opset-11 ``Hardmax`` with opset 13's meaning.
Gradients are checked by ``torch.autograd.gradcheck`` in float64, for ``GridSample`` to the image and to the grid.
"""

from __future__ import annotations

import io
import itertools

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from deepdreamport.cli import main
from deepdreamport.errors import DeepDreamError
from deepdreamport.onnx.convert import prepare, to_torch
from deepdreamport.onnx.graph import default_opset

RNG = np.random.RandomState(52)
node = helper.make_node


def _model(nodes, inputs, inits, opset, dtype=np.float32, shape=None):
    """A graph of ``nodes`` with float inputs ``inputs`` (names; the first of ``shape``), output ``y``; float
    initializers in ``dtype``."""
    elem = TensorProto.FLOAT if dtype == np.float32 else TensorProto.DOUBLE
    initializers = [numpy_helper.from_array(v.astype(dtype) if v.dtype.kind == "f" else v, k) for k, v in inits.items()]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(name, elem, shape if i == 0 else None) for i, name in enumerate(inputs)],
        [helper.make_tensor_value_info("y", elem, None)],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = min(model.ir_version, 10)
    return model


def _onnxruntime(model: onnx.ModelProto, feeds: dict) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)[0]


def _relative_error(out: np.ndarray, ref: np.ndarray) -> float:
    assert out.shape == ref.shape
    return float(np.abs(out - ref).max() / np.abs(ref).max())


def _converted(model: onnx.ModelProto) -> torch.nn.Module:
    return to_torch(prepare(model))


# ---- GridSample: opset 16's and opset 20's names, every padding mode, both align_corners; 5-D at opset 20

OPSET_20_NAME = {"bilinear": "linear", "bicubic": "cubic", "nearest": "nearest"}
GRID_CASES = [
    (opset, mode, padding, align, rank)
    for opset, modes in ((16, ("bilinear", "nearest", "bicubic")), (20, ("linear", "nearest", "cubic")))
    for mode, padding, align in itertools.product(modes, ("zeros", "border", "reflection"), (0, 1))
    for rank in ((4,) if opset == 16 or mode == "cubic" else (4, 5))
]


def _grid_sample(opset, mode, padding, align, dtype=np.float32):
    nodes = [node("GridSample", ["x", "grid"], ["y"], mode=mode, padding_mode=padding, align_corners=align)]
    return _model(nodes, ["x", "grid"], {}, opset, dtype)


def _grid_inputs(rank, batch=2, dtype=np.float32):
    """An image N×3×5×6 (N×2×4×5×3) and a grid N×4×3×2 (N×2×3×2×3) reaching past [-1, 1] (the padding)."""
    if rank == 4:
        return RNG.randn(batch, 3, 5, 6).astype(dtype), RNG.uniform(-1.25, 1.25, (batch, 4, 3, 2)).astype(dtype)
    return RNG.randn(batch, 2, 4, 5, 3).astype(dtype), RNG.uniform(-1.25, 1.25, (batch, 2, 3, 2, 3)).astype(dtype)


def _grid_id(case):
    opset, mode, padding, align, rank = case
    return f"{opset}-{mode}-{padding}-align{align}-{rank}d"


@pytest.mark.parametrize("case", GRID_CASES, ids=_grid_id)
def test_grid_sample_matches_onnxruntime_in_float32(case):
    opset, mode, padding, align, rank = case
    model = _grid_sample(opset, mode, padding, align)
    x, grid = _grid_inputs(rank)
    with torch.no_grad():
        out = _converted(model)(torch.from_numpy(x), torch.from_numpy(grid)).numpy()
    assert _relative_error(out, _onnxruntime(model, {"x": x, "grid": grid})) <= 1e-6


@pytest.mark.parametrize("case", GRID_CASES, ids=_grid_id)
def test_grid_sample_in_float64_matches_onnxruntime_and_passes_gradients_to_image_and_grid(case):
    """float64 against onnxruntime's float64 kernel, which exists at opset 20 only: an opset-16 node is compared with
    the same node under its opset-20 name (opset 20 renamed the modes and added N-D, nothing else)."""
    opset, mode, padding, align, rank = case
    module = _converted(_grid_sample(opset, mode, padding, align)).double()
    x, grid = _grid_inputs(rank, batch=1, dtype=np.float64)
    with torch.no_grad():
        out = module(torch.from_numpy(x), torch.from_numpy(grid)).numpy()
    assert out.dtype == np.float64
    reference = _grid_sample(20, OPSET_20_NAME.get(mode, mode), padding, align, np.float64)
    assert _relative_error(out, _onnxruntime(reference, {"x": x, "grid": grid})) <= 1e-12
    inputs = (torch.from_numpy(x).requires_grad_(True), torch.from_numpy(grid).requires_grad_(True))
    assert torch.autograd.gradcheck(module, inputs, eps=1e-6, atol=1e-6)


def test_grid_sample_cubic_on_a_5d_input_is_refused_in_one_line():
    """Tricubic sampling (opset 20 ``cubic`` on N×C×D×H×W) has no torch equivalent (onnxruntime refuses it too)."""
    nodes = [node("GridSample", ["x", "grid"], ["y"], name="sample", mode="cubic")]
    model = _model(nodes, ["x", "grid"], {}, 20, shape=[1, 2, 4, 5, 3])
    with pytest.raises(DeepDreamError) as info:
        _converted(model)
    assert "\n" not in info.value.message and "GridSample" in info.value.message and "cubic" in info.value.message


# ---- AffineGrid (opset 20): 2-D and 3-D, both align_corners

AFFINE_CASES = {
    "2d": ((2, 2, 3), [2, 3, 5, 7], 0),
    "2d-align-corners": ((2, 2, 3), [2, 3, 5, 7], 1),
    "3d": ((2, 3, 4), [2, 3, 2, 3, 4], 0),
}


def _affine_grid(size, align, dtype=np.float32):
    nodes = [node("AffineGrid", ["theta", "size"], ["y"], align_corners=align)]
    return _model(nodes, ["theta"], {"size": np.array(size, np.int64)}, 20, dtype)


@pytest.mark.parametrize("case", list(AFFINE_CASES))
def test_affine_grid_matches_onnxruntime_and_passes_gradients_to_theta(case):
    shape, size, align = AFFINE_CASES[case]
    theta = RNG.randn(*shape).astype(np.float32)
    model = _affine_grid(size, align)
    module = _converted(model)
    with torch.no_grad():
        out = module(torch.from_numpy(theta)).numpy()
    assert _relative_error(out, _onnxruntime(model, {"theta": theta})) <= 1e-6
    module = module.double()
    theta64 = theta.astype(np.float64)
    with torch.no_grad():
        out = module(torch.from_numpy(theta64)).numpy()
    assert out.dtype == np.float64
    assert _relative_error(out, _onnxruntime(_affine_grid(size, align, np.float64), {"theta": theta64})) <= 1e-12
    assert torch.autograd.gradcheck(module, (torch.from_numpy(theta64).requires_grad_(True),), eps=1e-6, atol=1e-6)


def test_affine_grid_with_a_size_computed_in_the_graph():
    """``size`` from ``Shape(x)`` (a grid the size of the input image), read when the network runs."""
    nodes = [node("Shape", ["x"], ["size"]), node("AffineGrid", ["theta", "size"], ["y"], align_corners=1)]
    model = _model(nodes, ["theta", "x"], {}, 20)
    theta, x = RNG.randn(2, 2, 3).astype(np.float32), RNG.randn(2, 3, 4, 7).astype(np.float32)
    with torch.no_grad():
        out = _converted(model)(torch.from_numpy(theta), torch.from_numpy(x)).numpy()
    assert _relative_error(out, _onnxruntime(model, {"theta": theta, "x": x})) <= 1e-6


# ---- one-input operators: id → (opset, nodes, initializers, input range, float64 reference)


def _single(op, **attributes):
    return [node(op, ["x"], ["y"], name=op.lower(), **attributes)]


def _mvn_function(axes):
    """ONNX's ``MeanVarianceNormalization`` function body, in float64."""

    def reference(x):
        mean = x.mean(axis=tuple(axes), keepdims=True)
        variance = (x**2).mean(axis=tuple(axes), keepdims=True) - mean**2
        return (x - mean) / (np.sqrt(variance) + 1e-9)

    return reference


ORT, EVALUATOR, ORT_FLOAT32 = "onnxruntime", "evaluator", "onnxruntime-float32"
CASES = {
    "LpNormalization-1-p2-axis1": (1, _single("LpNormalization", axis=1), {}, (-2, 2), ORT),
    "LpNormalization-13-p1": (13, _single("LpNormalization", p=1), {}, (-2, 2), ORT),
    "LpNormalization-22-p2": (22, _single("LpNormalization"), {}, (-2, 2), ORT),
    "MeanVarianceNormalization-9": (9, _single("MeanVarianceNormalization"), {}, (-2, 2), _mvn_function([0, 2, 3])),
    "MeanVarianceNormalization-13-spatial": (
        13,
        _single("MeanVarianceNormalization", axes=[2, 3]),
        {},
        (-2, 2),
        _mvn_function([2, 3]),
    ),
    "MeanVarianceNormalization-13-channels": (
        13,
        _single("MeanVarianceNormalization", axes=[1]),
        {},
        (-2, 2),
        _mvn_function([1]),
    ),
    "Hardmax-13": (13, _single("Hardmax"), {}, (-2, 2), ORT_FLOAT32),
    "Hardmax-13-axis1": (13, _single("Hardmax", axis=1), {}, (-2, 2), ORT_FLOAT32),
    # before 13: over the input seen as 2-D at axis (the upgrade to 13 writes Flatten → Hardmax → Reshape)
    "Hardmax-11": (11, _single("Hardmax"), {}, (-2, 2), ORT_FLOAT32),
    "Hardmax-7-axis2": (7, _single("Hardmax", axis=2), {}, (-2, 2), ORT_FLOAT32),
    "Trilu-14": (14, _single("Trilu"), {}, (-2, 2), ORT),
    "Trilu-14-lower-k-1": (
        14,
        [node("Trilu", ["x", "k"], ["y"], upper=0)],
        {"k": np.array(-1, np.int64)},
        (-2, 2),
        ORT,
    ),
    "Trilu-14-upper-k2": (14, [node("Trilu", ["x", "k"], ["y"])], {"k": np.array(2, np.int64)}, (-2, 2), ORT),
    "Pad-19-wrap": (
        19,
        [node("Pad", ["x", "pads"], ["y"], mode="wrap")],
        {"pads": np.array([0, 0, 2, 1, 0, 0, 1, 3], np.int64)},
        (-2, 2),
        ORT,
    ),
    "Pad-21-wrap-axes": (
        21,
        [node("Pad", ["x", "pads", "", "axes"], ["y"], mode="wrap")],
        {"pads": np.array([1, 3, 2, 0], np.int64), "axes": np.array([-1, 2], np.int64)},
        (-2, 2),
        ORT,
    ),
    **{
        f"{op}-{opset}": (opset, _single(op), {}, domain, EVALUATOR)
        for op, domain in {
            "Sinh": (-3, 3),
            "Cosh": (-3, 3),
            "Asinh": (-3, 3),
            "Acosh": (1.1, 4),
            "Atanh": (-0.9, 0.9),
        }.items()
        for opset in (9, 22)
    },
}


def _input(case, batch=2, dtype=np.float32):
    low, high = CASES[case][3]
    return RNG.uniform(low, high, (batch, 3, 4, 5)).astype(dtype)


def _case_model(case, dtype=np.float32):
    opset, nodes, inits, _, _ = CASES[case]
    return _model(nodes, ["x"], inits, opset, dtype, shape=["N", 3, 4, 5])


@pytest.mark.parametrize("case", list(CASES))
def test_operator_matches_onnxruntime_in_float32(case):
    model = _case_model(case)
    x = _input(case)
    with torch.no_grad():
        out = _converted(model)(torch.from_numpy(x)).numpy()
    assert _relative_error(out, _onnxruntime(model, {"x": x})) <= 1e-6


def _float64_reference(case, x):
    reference = CASES[case][4]
    if reference == ORT:
        return _onnxruntime(_case_model(case, np.float64), {"x": x})
    if reference == ORT_FLOAT32:
        return _onnxruntime(_case_model(case), {"x": x.astype(np.float32)}).astype(np.float64)
    if reference == EVALUATOR:
        return ReferenceEvaluator(_case_model(case, np.float64)).run(None, {"x": x})[0]
    return reference(x)


@pytest.mark.parametrize("case", list(CASES))
def test_operator_in_float64_matches_its_reference_and_passes_gradients(case):
    module = _converted(_case_model(case)).double()
    # float32 values held in float64: Hardmax's float32 reference picks the same maxima
    x = _input(case, batch=1).astype(np.float64)
    with torch.no_grad():
        out = module(torch.from_numpy(x)).numpy()
    assert out.dtype == np.float64
    assert _relative_error(out, _float64_reference(case, x)) <= 1e-12
    assert torch.autograd.gradcheck(module, (torch.from_numpy(x).requires_grad_(True),), eps=1e-6, atol=1e-6)


# ---- the spatial transformer: a grid computed from the image, in graphs lowered to opset 17


def _warp_nodes(mode):
    """x → conv → tanh → transpose to N×H×W×2 (a flow-like grid computed from the image) → GridSample(x, grid)."""
    return [
        node("Conv", ["x", "w"], ["offsets"], name="offsets", pads=[1, 1, 1, 1]),
        node("Tanh", ["offsets"], ["bounded"], name="tanh"),
        node("Transpose", ["bounded"], ["grid"], name="to_grid", perm=[0, 2, 3, 1]),
        node("GridSample", ["x", "grid"], ["y"], name="sample", mode=mode, padding_mode="border"),
    ]


@pytest.mark.parametrize("opset, mode", [(16, "bilinear"), (20, "cubic")])
def test_gradients_pass_through_the_image_and_the_grid_computed_from_it(opset, mode):
    weights = RNG.randn(2, 3, 3, 3).astype(np.float32) * 0.5
    module = _converted(_model(_warp_nodes(mode), ["x"], {"w": weights}, opset)).double()
    image = torch.from_numpy(RNG.randn(1, 3, 4, 5)).requires_grad_(True)
    assert torch.autograd.gradcheck(module, (image,), eps=1e-6, atol=1e-6)
    # torch's sampling of the same grid held fixed: that gradient misses the grid's share
    grid = torch.tanh(F.conv2d(image, torch.from_numpy(weights).double(), padding=1)).permute(0, 2, 3, 1).detach()
    torch_mode = {"bilinear": "bilinear", "cubic": "bicubic"}[mode]
    sampled = F.grid_sample(image, grid, mode=torch_mode, padding_mode="border", align_corners=False)
    image_only = torch.autograd.grad(sampled.sum(), image)[0]
    through_both = torch.autograd.grad(module(image).sum(), image)[0]
    assert (through_both - image_only).abs().max() > 1e-3


def test_affine_grid_and_grid_sample_survive_the_downgrade_of_the_rest_of_the_graph():
    """Opset 20 (no adapter lowers its GridSample) before an opset-18 ``ReduceMean`` (axes as an input), which
    onnx2torch converts only in its opset-17 form: lowered to 17, AffineGrid and GridSample kept in the port's domain."""
    nodes = [
        node("AffineGrid", ["theta", "size"], ["grid"], name="affine"),
        node("GridSample", ["x", "grid"], ["sampled"], name="sample", mode="linear", padding_mode="reflection"),
        node("ReduceMean", ["sampled", "axes"], ["y"], name="mean"),
    ]
    inits = {
        "theta": np.array([[[0.9, 0.2, 0.1], [-0.1, 1.1, -0.2]]] * 2),
        "size": np.array([2, 3, 7, 5], np.int64),
        "axes": np.array([1], np.int64),
    }
    model = _model(nodes, ["x"], inits, 20)
    prepared = prepare(model)
    assert default_opset(prepared) == 17
    assert {n.domain for n in prepared.graph.node if n.op_type in ("AffineGrid", "GridSample")} == {"deepdreamport"}
    x = RNG.randn(2, 3, 6, 6).astype(np.float32)
    with torch.no_grad():
        out = to_torch(prepared)(torch.from_numpy(x)).numpy()
    assert _relative_error(out, _onnxruntime(model, {"x": x})) <= 1e-6


# ---- real torch exports, random weights


class _SpatialTransformer(torch.nn.Module):
    """A localisation net (conv → mean → linear) → θ (2×3, near the identity) → ``F.affine_grid`` → ``F.grid_sample``
    → conv."""

    def __init__(self, mode="bilinear", padding_mode="zeros"):
        super().__init__()
        self.localisation = torch.nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.theta = torch.nn.Linear(4, 6)
        self.conv = torch.nn.Conv2d(3, 5, 3, padding=1)
        self.mode, self.padding_mode = mode, padding_mode

    def forward(self, x):
        identity = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
        theta = self.theta(self.localisation(x).mean((2, 3))).view(-1, 2, 3) + identity
        grid = F.affine_grid(theta, [x.shape[0], 3, 10, 12], align_corners=False)
        return self.conv(F.grid_sample(x, grid, mode=self.mode, padding_mode=self.padding_mode, align_corners=False))


class _FlowWarp(torch.nn.Module):
    """Optical-flow-like warping: a grid of the identity plus offsets computed from the image (no ``affine_grid``:
    TorchScript writes ``AffineGrid`` from opset 20 only)."""

    def __init__(self, mode="bicubic", padding_mode="border"):
        super().__init__()
        self.flow = torch.nn.Conv2d(3, 2, 3, padding=1)
        self.mode, self.padding_mode = mode, padding_mode

    def forward(self, x):
        ys = torch.linspace(-1, 1, x.shape[2]).view(1, -1, 1, 1).expand(1, x.shape[2], x.shape[3], 1)
        xs = torch.linspace(-1, 1, x.shape[3]).view(1, 1, -1, 1).expand(1, x.shape[2], x.shape[3], 1)
        grid = torch.cat([xs, ys], 3) + 0.2 * torch.tanh(self.flow(x)).permute(0, 2, 3, 1)
        return F.grid_sample(x, grid, mode=self.mode, padding_mode=self.padding_mode, align_corners=True)


def _export(module, x, dynamo, opset) -> onnx.ModelProto:
    if dynamo:
        return torch.onnx.export(module, (x,), dynamo=True, opset_version=opset, input_names=["x"]).model_proto
    buffer = io.BytesIO()
    torch.onnx.export(module, (x,), buffer, dynamo=False, opset_version=opset, input_names=["x"])
    return onnx.load_from_string(buffer.getvalue())


@pytest.mark.parametrize(
    "network, dynamo, opset, written",
    [
        ("flow", False, 16, {"GridSample"}),
        ("flow", False, 17, {"GridSample"}),
        ("stn", False, 20, {"AffineGrid", "GridSample"}),
        ("stn", True, 18, {"GridSample"}),
        ("stn-bicubic", True, 20, {"GridSample"}),
    ],
)
def test_real_torch_exports_convert(network, dynamo, opset, written):
    """torch.onnx.export of ``F.grid_sample``/``F.affine_grid``: TorchScript at 16, 17 (``GridSample``) and 20 (also
    ``AffineGrid``), dynamo at 18 and 20 (``affine_grid`` as arithmetic). Within 1e-5, not 1e-6: the grid is computed
    by the network, and a float32 rounding of a grid coordinate (1e-7) moves the sample by that times the image's slope
    in pixels per normalised unit (half the image's width)."""
    torch.manual_seed(11)
    module = {
        "flow": lambda: _FlowWarp(),
        "stn": lambda: _SpatialTransformer(),
        "stn-bicubic": lambda: _SpatialTransformer("bicubic", "reflection"),
    }[network]().eval()
    x = torch.randn(1, 3, 16, 16)
    model = _export(module, x, dynamo, opset)
    assert written <= {n.op_type for n in model.graph.node}
    with torch.no_grad():
        out = _converted(model)(x).numpy()
    assert _relative_error(out, _onnxruntime(model, {"x": x.numpy()})) <= 1e-5


# ---- the command line on a spatial transformer


def _stn_model(path) -> str:
    """conv (localisation) → global mean → Gemm → θ (2×3, identity bias) → AffineGrid → GridSample → conv → relu."""
    nodes = [
        node("Conv", ["x", "wl"], ["loc"], name="localisation", pads=[1, 1, 1, 1], strides=[2, 2]),
        node("GlobalAveragePool", ["loc"], ["pooled"], name="pool"),
        node("Flatten", ["pooled"], ["flat"], name="flatten"),
        node("Gemm", ["flat", "fc", "identity"], ["flat_theta"], name="fc", transB=1),
        node("Reshape", ["flat_theta", "theta_shape"], ["theta"], name="theta"),
        node("AffineGrid", ["theta", "size"], ["grid"], name="affine"),
        node("GridSample", ["x", "grid"], ["warped"], name="sample", mode="linear"),
        node("Conv", ["warped", "w2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
        node("Relu", ["c2"], ["y"], name="relu"),
    ]
    inits = {
        "wl": RNG.randn(4, 3, 3, 3),
        "fc": RNG.randn(6, 4) * 0.1,
        "identity": np.array([1.0, 0, 0, 0, 1, 0]),
        "theta_shape": np.array([-1, 2, 3], np.int64),
        "size": np.array([1, 3, 16, 16], np.int64),
        "w2": RNG.randn(5, 3, 3, 3),
    }
    model = _model(nodes, ["x"], inits, 20, shape=[1, 3, 16, 16])
    onnx.save(model, str(path))
    return str(path)


def test_layers_and_dream_run_on_a_spatial_transformer(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = _stn_model(tmp_path / "stn.onnx")
    assert main(["layers", model]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in ("affine", "sample", "conv2")), listed
    assert "Grid Sample" in listed and "Affine Grid" in listed
    for layer in ("sample", "conv2"):
        argv = ["dream", model, "--layer", layer, "--channels", "1:2", "--levels", "1", "--iterations", "2"]
        assert main([*argv, "--out", f"{layer}.png"]) == 0, capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["conv2.png", "sample.png"], list(tmp_path.iterdir())
