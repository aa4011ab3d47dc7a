"""Every corpus network converts and matches onnxruntime (issue 3)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import version_converter

from deepdreamport.errors import DeepDreamError
from deepdreamport.nets import OnnxNetwork
from deepdreamport.onnx.convert import prepare, to_torch
from deepdreamport.onnx.graph import attribute, default_opset, extract_subgraph
from deepdreamport.onnx.read import read_onnx
from tests.conftest import REPO
from tests.onnx.exported_networks import BUILDERS

MODELS = REPO / "models"
PARITY_MODELS = REPO / "parity" / "reference" / "models"
TOLERANCE = 1e-4

CORPUS = {
    "mnist": MODELS / "mnist" / "opt-mnist.onnx",
    **{p.stem: p for p in sorted((MODELS / "onnx-light").glob("light_*.onnx"))},
    "paddle_cls": MODELS / "paddle" / "ch_ppocr_mobile_v2.0_cls_infer.onnx",
    **{p.stem: p for p in sorted(PARITY_MODELS.glob("*.onnx"))},
}
# dynamic spatial size: test at the size the model was trained for
SIZES = {
    "paddle_cls": (48, 192),
    "yolo_focus_dynamic": (32, 40),
    "paddle_detector_dynamic": (32, 48),
    "torch_dynamo_runtime_reshape": (20, 28),
}
PIXEL_INPUT = (
    "mnist",
    "efficientnet",
    "matlab_zerocenter",
    "keras_nhwc_rescaling",
    "matlab_r2018a",
)  # networks that expect 0-255 pixels


def relative_error(out: np.ndarray, ref: np.ndarray) -> float:
    return float(np.abs(out - ref).max() / max(np.abs(ref).max(), 1e-30))


def onnxruntime_runnable(model: onnx.ModelProto) -> onnx.ModelProto:
    """``model`` as onnxruntime runs it: below opset 7 (MATLAB R2018a's opset 6), onnx's own conversion to opset 7.

    onnxruntime has no kernels for opset-6 ``Sub``/``Add`` (broadcasting by attribute);
    the conversion to 7 only turns those attributes into numpy-style broadcasting.
    """
    return version_converter.convert_version(model, 7) if default_opset(model) < 7 else model


def compare(
    path: Path,
    extra_outputs: tuple[str, ...] = (),
    size=None,
    seed: int = 0,
    memory_format: torch.memory_format = torch.contiguous_format,
) -> dict[str, float]:
    """Max relative error vs onnxruntime at the final output (and ``extra_outputs``), the module in ``memory_format``.

    A channels-last (N×H×W×C) input that the conversion turns channels-first gets
    the same image in each layout.
    """
    model = onnx.load(str(path))
    initializers = {init.name for init in model.graph.initializer}
    value = next(v for v in model.graph.input if v.name not in initializers)
    dims = [d.dim_value if d.dim_value > 0 else None for d in value.type.tensor_type.shape.dim]
    names = [o.name for o in model.graph.output]
    # the logits before a final Softmax: onnx's "light" models have constant weights,
    # so their softmax is uniform whatever the input
    producers = {o: n for n in model.graph.node for o in n.output}
    for name in list(names):
        if producers.get(name) is not None and producers[name].op_type == "Softmax":
            extra_outputs = extra_outputs + (producers[name].input[0],)
    for name in extra_outputs:
        if name not in names:
            model.graph.output.append(onnx.helper.make_empty_tensor_value_info(name))
            names.append(name)
    prepared = prepare(read_onnx(model))
    taken = next(v for v in prepared.graph.input if v.name == value.name).type.tensor_type.shape.dim
    taken = [d.dim_value if d.dim_value > 0 else None for d in taken]
    channels_last = dims[1:] == [taken[2], taken[3], taken[1]] != taken[1:]  # an NHWC input made NCHW
    shape = [1, taken[1], *(size or taken[2:])]
    rng = np.random.RandomState(seed)
    x = rng.rand(*shape) * 255 if any(k in path.name for k in PIXEL_INPUT) else rng.randn(*shape)
    x = x.astype(np.float32)
    session = ort.InferenceSession(onnxruntime_runnable(model).SerializeToString(), providers=["CPUExecutionProvider"])
    refs = session.run(names, {value.name: x.transpose(0, 2, 3, 1) if channels_last else x})
    module = to_torch(prepared).to(memory_format=memory_format)
    with torch.no_grad():
        outs = module(torch.from_numpy(x).contiguous(memory_format=memory_format))
    outs = outs if isinstance(outs, (tuple, list)) else [outs]
    assert len(outs) == len(refs)
    errors = {}
    for name, out, ref in zip(names, outs, refs):
        assert tuple(out.shape) == ref.shape, name
        errors[name] = relative_error(out.numpy(), ref)
    return errors


SLOW_LOADS = {"light_bvlc_alexnet", "light_vgg19", "light_zfnet512"}  # 100-400 MB of filled weights each


@pytest.mark.parametrize(
    "name", [pytest.param(name, marks=pytest.mark.slow) if name in SLOW_LOADS else name for name in sorted(CORPUS)]
)
def test_converts_and_matches_onnxruntime(name):
    errors = compare(CORPUS[name], size=SIZES.get(name))
    assert max(errors.values()) <= TOLERANCE, errors


@pytest.mark.parametrize(
    "name", [pytest.param(name, marks=pytest.mark.slow) if name in SLOW_LOADS else name for name in sorted(CORPUS)]
)
def test_channels_last_matches_onnxruntime(name):
    """The layout the port runs float32 networks in (``nets.base.preferred_memory_format``) converts every op.

    Softmax outputs are left out here (their logits are checked): the "light" models' logits are
    equal in exact arithmetic and ~1e5 large, so rounding at 1e-7 relative (the other layout's
    summation order) already makes their softmax non-uniform.
    """
    errors = compare(CORPUS[name], size=SIZES.get(name), memory_format=torch.channels_last)
    model = onnx.load(str(CORPUS[name]), load_external_data=False)
    softmax_outputs = {n.output[0] for n in model.graph.node if n.op_type == "Softmax"}
    checked = {output: error for output, error in errors.items() if output not in softmax_outputs}
    assert checked and max(checked.values()) <= TOLERANCE, errors


@pytest.fixture(scope="module")
def efficientnet_path() -> Path:
    from tools.export_efficientnet import DEFAULT_PATH, export_efficientnet_lite0

    return export_efficientnet_lite0(DEFAULT_PATH)


def test_efficientnet_lite0_final_output_and_block_adds(efficientnet_path):
    model = onnx.load(str(efficientnet_path))
    adds = tuple(n.output[0] for n in model.graph.node if n.name.startswith("_blocks/") and n.name.endswith("/Add"))
    assert len(adds) == 9
    for memory_format in (torch.contiguous_format, torch.channels_last):
        errors = compare(efficientnet_path, extra_outputs=adds, memory_format=memory_format)
        assert len(errors) == 10
        assert max(errors.values()) <= TOLERANCE, (memory_format, errors)


def test_efficientnet_lite0_truncated_at_block_add(efficientnet_path):
    """``extract_subgraph`` at ``_blocks/4/Add`` equals onnxruntime on the same truncation."""
    model = onnx.load(str(efficientnet_path))
    output = next(n.output[0] for n in model.graph.node if n.name == "_blocks/4/Add")
    truncated = extract_subgraph(prepare(model), "input", output)
    x = np.random.RandomState(1).rand(1, 3, 224, 224).astype(np.float32) * 255
    ref = ort.InferenceSession(
        extract_subgraph(model, "input", output).SerializeToString(), providers=["CPUExecutionProvider"]
    ).run(None, {"input": x})[0]
    with torch.no_grad():
        out = to_torch(truncated)(torch.from_numpy(x)).numpy()
    assert relative_error(out, ref) <= TOLERANCE


def test_efficientnet_lite0_is_trained_with_pixel_input(efficientnet_path):
    """The normalisation is inside the graph: a leading Sub(127) and Div(128) on 0–255 pixels."""
    model = onnx.load(str(efficientnet_path))
    first = model.graph.node[:4]
    assert [n.op_type for n in first if n.op_type in ("Sub", "Div")] == ["Sub", "Div"]
    dims = [d.dim_value or d.dim_param for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims[1:] == [3, 224, 224]


# -- networks as people export them (issue 9): built at test time by tests/onnx/exported_networks.py --
SLOW_EXPORTS = {
    "torch_dynamo_opset18",
    "yolo_focus_dynamo_opset18",
    "torch_dynamo_runtime_reshape",
}  # the dynamo exporter takes about 20 s the first time
COMPARED_EXPORTS = sorted(set(BUILDERS) - {"matlab_segnet_custom_unpool"})  # onnxruntime lacks com.mathworks ops


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_EXPORTS else n for n in COMPARED_EXPORTS]
)
def test_exported_network_converts_and_matches_onnxruntime(name, exported_network):
    errors = compare(exported_network(name), size=SIZES.get(name))
    assert max(errors.values()) <= TOLERANCE, errors


@pytest.mark.slow
def test_dynamo_export_is_opset_18_with_allowzero_reshape(exported_network):
    """The class of issue 9's dynamo export: IR 10, opset 18, a ``Reshape(allowzero=1)`` feeding the fc layer."""
    model = onnx.load(str(exported_network("torch_dynamo_opset18")))
    assert model.ir_version == 10 and default_opset(model) == 18
    reshapes = [n for n in model.graph.node if n.op_type == "Reshape"]
    assert reshapes and all(attribute(n, "allowzero", 0) == 1 for n in reshapes)


def test_segnet_encoder_matches_onnxruntime_despite_custom_decoder(exported_network):
    """Only the truncated subgraph must convert: the encoder of a network whose decoder uses com.mathworks::MaxUnpool."""
    path = exported_network("matlab_segnet_custom_unpool")
    model = onnx.load(str(path))
    x = np.random.RandomState(3).randn(2, 3, 16, 16).astype(np.float32)
    encoder = extract_subgraph(model, "input", "relu_2")
    session = ort.InferenceSession(encoder.SerializeToString(), providers=["CPUExecutionProvider"])
    ref = np.concatenate([session.run(None, {"input": x[k : k + 1]})[0] for k in range(2)])
    module = OnnxNetwork.from_onnx(path).truncated("relu_2").module
    with torch.no_grad():
        out = module(torch.from_numpy(x)).numpy()
    assert out.shape == ref.shape and relative_error(out, ref) <= TOLERANCE


SLOW_LAYER_TABLES = SLOW_LOADS | {"light_inception_v1"}


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_LAYER_TABLES else n for n in sorted(CORPUS)]
)
def test_corpus_network_lists_its_layers(name):
    """``deepdream layers`` works on every corpus network (issue 9: SqueezeNet and GoogLeNet failed)."""
    path = CORPUS[name]
    layers = OnnxNetwork.from_onnx(path).layers
    model = onnx.load(str(path))
    computing = [n for n in model.graph.node if n.op_type in ("Conv", "Gemm", "MatMul")]
    assert layers[0].type == "Image Input" and len(layers) > len(computing)
    convolutions = [layer for layer in layers if layer.type == "Convolution"]
    assert convolutions and all(layer.output_size[-1] for layer in convolutions)  # channels are always known
    if None not in layers[0].output_size:  # a fixed input size gives every convolution's size
        assert all(None not in layer.output_size for layer in convolutions)


@pytest.mark.slow
def test_dynamo_runtime_reshape_is_folded_with_a_free_batch(exported_network, tmp_path):
    """Issue 18's dynamo class: ``Shape → Concat → Reshape(allowzero=1)``, opset-18 ``ReduceMean``, external data."""
    path = exported_network("torch_dynamo_runtime_reshape")
    assert path.with_name(path.name + ".data").is_file()  # the weights are external data
    model = onnx.load(str(path))
    assert default_opset(model) == 18 and any(n.op_type == "Shape" for n in model.graph.node)
    view = next(n for n in model.graph.node if n.op_type == "Reshape")
    assert attribute(view, "allowzero", 0) == 1 and view.input[1] not in {i.name for i in model.graph.initializer}
    prepared = prepare(read_onnx(path))
    view = next(n for n in prepared.graph.node if n.op_type == "Reshape")
    target = {i.name: onnx.numpy_helper.to_array(i) for i in prepared.graph.initializer}[view.input[1]]
    assert target.tolist() == [0, 8, -1] and not any(n.op_type == "Shape" for n in prepared.graph.node)
    module, session = to_torch(prepared), ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for shape in ((1, 3, 16, 16), (3, 3, 20, 28)):  # the batch and the image size stay free
        x = np.random.RandomState(4).randn(*shape).astype(np.float32)
        with torch.no_grad():
            out = module(torch.from_numpy(x)).numpy()
        assert relative_error(out, session.run(None, {"x": x})[0]) <= TOLERANCE
    alone = tmp_path / path.name  # the same file without its data file: one clear error
    alone.write_bytes(path.read_bytes())
    with pytest.raises(DeepDreamError) as info:
        read_onnx(alone)
    assert info.value.identifier == "deepdreamport:onnx:MissingExternalData" and ".data" in str(info.value)
