"""The MATLAB door (deepDreamImage) and the Python door (deep_dream_image): values, table, errors."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch

import deepdreamport
from deepdreamport import DeepDreamError, OnnxNetwork, deep_dream_image, deepDreamImage, rng
from deepdreamport.matlab.report import HEADER, RULE, format_row
from deepdreamport.parity import load_case, relative_error

from ..conftest import REFERENCE

MODELS = REFERENCE / "models"
TINY = MODELS / "tinynet.onnx"
TILED = load_case(REFERENCE / "cases" / "tinynet_conv2_tiled.mat")  # double, 2 levels, tiled
SINGLE = load_case(REFERENCE / "cases" / "tinynet_relu2_single_level.mat")


@pytest.fixture(scope="module")
def tiny() -> OnnxNetwork:
    return OnnxNetwork.from_onnx(TINY)


def matlab_call(net, case, *extra):
    rng(case.rng_seed)
    return deepDreamImage(
        net,
        case.layer,
        np.asarray(case.channels),
        "InitialImage",
        case.initial_image,
        "NumIterations",
        case.num_iterations,
        "PyramidLevels",
        case.pyramid_levels,
        "PyramidScale",
        case.pyramid_scale,
        "Precision",
        case.precision,
        *extra,
    )


# -- values ----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", [TILED, SINGLE], ids=lambda c: c.name)
def test_matlab_door_reproduces_parity_case(tiny, case):
    tolerance = 1e-10 if case.precision == "double" else 1e-5
    raw = matlab_call(tiny, case, "OutputScaling", "none", "Verbose", False)
    assert raw.dtype == (np.float64 if case.precision == "double" else np.float32)
    assert raw.ndim == 4 and raw.shape[3] == len(case.channels)
    assert relative_error(raw, case.iraw) <= tolerance
    linear = matlab_call(tiny, case, "verbose", 0)  # OutputScaling 'linear' is the default
    assert relative_error(linear, case.ilinear) <= tolerance


def test_host_side_state_reproduces_the_tiled_case_through_both_doors(tiny):
    raw = matlab_call(tiny, TILED, "OutputScaling", "none", "Verbose", False, "HostState", True)
    assert relative_error(raw, TILED.iraw) <= 1e-10
    python = deep_dream_image(
        tiny,
        TILED.layer,
        np.asarray(TILED.channels) - 1,
        initial_image=TILED.initial_image,
        num_iterations=TILED.num_iterations,
        pyramid_levels=TILED.pyramid_levels,
        pyramid_scale=TILED.pyramid_scale,
        dtype="double",
        random_state=TILED.rng_seed,
        output_scaling="none",
        host_state=True,
    )
    assert relative_error(np.moveaxis(python, 0, -1), TILED.iraw) <= 1e-10


def test_verbose_prints_matlabs_table_row_for_row(tiny, capsys):
    matlab_call(tiny, TILED, "OutputScaling", "none")  # Verbose defaults to true, as in MATLAB
    rows, previous = [], None
    for level, iteration, strength in TILED.activation_log:
        row = format_row(int(iteration), strength, int(level))
        if row != previous:
            rows.append(row)
        previous = row
    expected = "\n".join([*HEADER, *rows, RULE]) + "\n"
    assert capsys.readouterr().out == expected
    assert expected.startswith(
        "|==============================================|\n"
        "|  Iteration  |  Activation  |  Pyramid Level  |\n"
        "|             |   Strength   |                 |\n"
        "|==============================================|\n"
        "|           1 |         0.66 |               1 |\n"
    )


def test_verbose_false_prints_nothing(tiny, capsys):
    matlab_call(tiny, SINGLE, "Verbose", False)
    assert capsys.readouterr().out == ""


def test_both_doors_give_the_same_values(tiny):
    case = TILED
    matlab = matlab_call(tiny, case, "OutputScaling", "none", "Verbose", False)
    python = deep_dream_image(
        TINY,  # a path this time: the door loads it
        case.layer,
        [c - 1 for c in case.channels],
        initial_image=case.initial_image,
        num_iterations=case.num_iterations,
        pyramid_levels=case.pyramid_levels,
        pyramid_scale=case.pyramid_scale,
        output_scaling="none",
        dtype=torch.float64,
        random_state=case.rng_seed,
    )
    assert python.shape == (matlab.shape[3], *matlab.shape[:3])  # K×H×W×C
    np.testing.assert_array_equal(python.transpose(1, 2, 3, 0), matlab)


def test_matlab_door_accepts_proto_and_default_float32(tiny):
    rng(4)
    from_proto = deepDreamImage(
        onnx.load(str(TINY)), "relu1", [2, 2], "NumIterations", 2, "PyramidLevels", 1, "Verbose", False
    )
    rng(4)
    from_net = deepDreamImage(tiny, "relu1", 2 * [2], "NumIter", 2, "PyramidL", 1, "Verb", False)
    assert from_net.dtype == np.float32
    np.testing.assert_array_equal(from_proto, from_net)
    np.testing.assert_array_equal(from_net[..., 0], from_net[..., 1])  # duplicates allowed
    assert from_net.min() == 0 and from_net.max() == 1
    rng(4)
    keywords = deepDreamImage(tiny, "relu1", [2, 2], "NumIterations", 2, PyramidLevels=1, Verbose=0)
    np.testing.assert_array_equal(keywords, from_net)  # MATLAB's Name=Value syntax (R2021a), after the pairs


def test_default_stream_is_the_global_one(tiny):
    image = TILED.initial_image
    args = (
        tiny,
        "conv2",
        1,
        "InitialImage",
        image,
        "NumIterations",
        2,
        "PyramidLevels",
        2,
        "OutputScaling",
        "none",
        "Verbose",
        False,
    )
    rng(7)
    first = deepDreamImage(*args)
    second = deepDreamImage(*args)  # the stream has moved on: other rolls
    rng(7)
    again = deepDreamImage(*args)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, second)


def test_layer_index_is_matlabs_one_based_index(tiny):
    name = tiny.layer_name_at(3)
    common = ("NumIterations", 1, "PyramidLevels", 1, "Verbose", False, "RandomState", 1)
    np.testing.assert_array_equal(deepDreamImage(tiny, 3, 1, *common), deepDreamImage(tiny, name, 1, *common))
    python = deep_dream_image(tiny, 2, 0, num_iterations=1, pyramid_levels=1, random_state=1)  # 0-based
    np.testing.assert_array_equal(python.transpose(1, 2, 3, 0), deepDreamImage(tiny, 3, 1, *common))


def test_python_door_callback_progress_and_layout(tiny):
    calls = []
    images = deep_dream_image(
        tiny,
        "relu2",
        np.array([0, 5]),
        num_iterations=2,
        pyramid_levels=2,
        random_state=0,
        callback=lambda level, iteration, strength: calls.append((level, iteration, strength)),
        progress=True,
    )
    assert [c[:2] for c in calls] == [(1, 1), (1, 2), (2, 1), (2, 2)]
    assert all(isinstance(c[2], float) and c[2] >= 0 for c in calls)
    assert images.shape[0] == 2 and images.shape[3] == 3 and images.dtype == np.float32


class _Net(torch.nn.Module):
    """A small series network whose head would fail on any input but 16×16, and raises if run."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Conv2d(4, 5, 3)
        )
        self.head = torch.nn.Linear(5 * 6 * 6, 2)

    def forward(self, x):
        x = self.features(x)
        if not torch.jit.is_tracing() and getattr(self, "forbid_head", False):
            raise AssertionError("the head ran")
        return self.head(x.flatten(1))


def test_python_door_accepts_a_torch_module_and_stops_at_the_layer():
    model = _Net()
    model.forbid_head = True
    model.train()
    images = deep_dream_image(
        model, "features.3", [0, 4, 4], tile_size=16, num_iterations=2, pyramid_levels=2, random_state=2
    )
    assert images.shape[0] == 3 and images.shape[3] == 3
    assert model.training  # the caller's mode is restored
    assert all(p.requires_grad and p.grad is None for p in model.parameters())  # flags restored, no weight grads
    double = deep_dream_image(
        model, "features.3", [1], tile_size=16, num_iterations=1, pyramid_levels=1, dtype=torch.float64, random_state=2
    )
    assert double.dtype == np.float64 and next(model.parameters()).dtype == torch.float32  # not converted in place
    with pytest.raises(DeepDreamError) as info:
        deep_dream_image(model, "features.9", [0], tile_size=16)
    assert "features.9" in info.value.message and "features.3" in info.value.message
    with pytest.raises(DeepDreamError) as info:
        deep_dream_image(model, "features.3", [0])
    assert "tile_size" in info.value.message


def test_torch_module_matches_onnx_door():
    import onnx2torch

    module = onnx2torch.convert(onnx.load(str(TINY)))
    image = TILED.initial_image
    common = dict(initial_image=image, num_iterations=2, pyramid_levels=2, output_scaling="none", random_state=3)
    from_module = deep_dream_image(module, "relu2", [0, 3], tile_size=32, **common)
    from_onnx = deep_dream_image(TINY, "relu2", [0, 3], **common)
    np.testing.assert_array_equal(from_module, from_onnx)


# -- errors ----------------------------------------------------------------------------------


def expect_error(identifier_prefix, words, call, *args, **kwargs):
    with pytest.raises(DeepDreamError) as info:
        call(*args, **kwargs)
    assert info.value.identifier.startswith(identifier_prefix), info.value.identifier
    for word in words:
        assert word in info.value.message, info.value.message
    return info.value


def test_option_errors_come_before_any_work():
    expect_error(
        "MATLAB:InputParser:ArgumentFailedValidation",
        ["NumIterations"],
        deepDreamImage,
        "missing.onnx",
        "x",
        1,
        "NumIterations",
        0,
    )
    expect_error(
        "nnet_cnn:deepDreamImage:InvalidChannels",
        ["channels"],
        deepDreamImage,
        "missing.onnx",
        "x",
        [],
        "Verbose",
        False,
    )
    expect_error("MATLAB:InputParser:ParamMissingValue", ["Verbose"], deepDreamImage, "missing.onnx", "x", 1, "Verbose")


@pytest.mark.parametrize("index", [1, 10**6], ids=["input-layer", "out-of-range"])
def test_layer_index_errors(tiny, index):
    expect_error("nnet_cnn:deepDreamImage:", ["layer"], deepDreamImage, tiny, index, 1, "Verbose", False)


@pytest.mark.parametrize("layer", [0, -1, 2.5, "", None])
def test_layer_argument_errors(tiny, layer):
    expect_error("nnet_cnn:deepDreamImage:InvalidLayer", ["layer"], deepDreamImage, tiny, layer, 1, "Verbose", False)


def test_unknown_layer_name_lists_valid_names(tiny):
    expect_error(
        "nnet_cnn:deepDreamImage:InvalidLayer",
        ["layer", "relu22", "relu2", "conv1", "fc"],
        deepDreamImage,
        tiny,
        "relu22",
        1,
        "Verbose",
        False,
    )


def test_input_layer_name_is_rejected(tiny):
    expect_error(
        "nnet_cnn:deepDreamImage:InvalidLayer", ["layer", "data"], deepDreamImage, tiny, "data", 1, "Verbose", False
    )


@pytest.mark.parametrize("channels", [7, [1, 7], np.arange(1, 8)], ids=repr)
def test_channels_above_the_layer_count(tiny, channels):
    expect_error(
        "nnet_cnn:deepDreamImage:InvalidChannels",
        ["channels", "6 channels", "7"],
        deepDreamImage,
        tiny,
        "relu2",
        channels,
        "Verbose",
        False,
    )


@pytest.mark.parametrize("channels", [[], 0, 1.5, np.ones((2, 2))], ids=repr)
def test_channels_bad(tiny, channels):
    expect_error(
        "nnet_cnn:deepDreamImage:InvalidChannels",
        ["channels"],
        deepDreamImage,
        tiny,
        "relu2",
        channels,
        "Verbose",
        False,
    )


def test_python_door_channels_are_zero_based(tiny):
    expect_error(
        "nnet_cnn:deepDreamImage:InvalidChannels", ["channels", "0-based"], deep_dream_image, tiny, "relu2", -1
    )
    expect_error(
        "nnet_cnn:deepDreamImage:InvalidChannels", ["channels", "6 channels"], deep_dream_image, tiny, "relu2", 6
    )


IMAGE_ID = "nnet_cnn:deepDreamImage:InitialImageNotValidImage"


@pytest.mark.parametrize(
    "image, words",
    [
        (np.zeros((16, 16, 1)), ["InitialImage", "3"]),
        (np.zeros((16, 16, 4)), ["InitialImage", "3"]),
        (np.zeros((16, 16)), ["InitialImage", "3"]),
        (np.zeros((5, 16, 3)), ["InitialImage", "at least 1×1", "5×16", "Heights that work near it: 6, 7, 8"]),
        (np.zeros((16, 5, 3)), ["InitialImage", "at least 1×1", "widths: 6, 7, 8"]),
        (np.full((16, 16, 3), np.nan), ["InitialImage", "NaN"]),
        (np.full((16, 16, 3), -np.inf), ["InitialImage", "Inf"]),
        (np.zeros((16, 16, 3), dtype=complex), ["InitialImage", "complex"]),
        ("peppers.png", ["InitialImage"]),
        ({"a": 1}, ["InitialImage"]),
    ],
    ids=["1-channel", "4-channel", "2-d", "short", "narrow", "nan", "inf", "complex", "text", "dict"],
)
def test_initial_image_errors(tiny, image, words):
    expect_error(IMAGE_ID, words, deepDreamImage, tiny, "relu2", 1, "InitialImage", image, "Verbose", False)
    expect_error(IMAGE_ID, words, deep_dream_image, tiny, "relu2", 0, initial_image=image)


def test_initial_image_smaller_than_the_receptive_field_is_dreamt_as_in_r2019b(tiny):
    """relu2's receptive field is 8×8, but 6×6 still gives it a 1×1 output: R2019b+ accepts it (2017 did not)."""
    image = np.random.RandomState(0).rand(6, 7, 3) * 255
    assert tiny.truncated("relu2").receptive_field == (8, 8)
    matlab = deepDreamImage(
        tiny, "relu2", 3, "InitialImage", image, "PyramidLevels", 1, "NumIterations", 1, "Verbose", 0
    )
    python = deep_dream_image(tiny, "relu2", 2, initial_image=image, pyramid_levels=1, num_iterations=1)
    assert matlab.shape == (6, 7, 3, 1) and np.array_equal(matlab[..., 0], python[0])


def test_gpu_without_a_gpu(tiny, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    expect_error(
        "parallel:gpu:",
        ["ExecutionEnvironment", "gpu"],
        deepDreamImage,
        tiny,
        "relu2",
        1,
        "ExecutionEnvironment",
        "gpu",
    )
    expect_error("parallel:gpu:", ["gpu"], deep_dream_image, tiny, "relu2", 0, device="gpu")


@pytest.mark.parametrize(
    "keyword, value",
    [
        ("num_iterations", 0),
        ("pyramid_levels", 1.5),
        ("pyramid_scale", 1),
        ("output_scaling", "log"),
        ("verbose", float("nan")),
        ("dtype", torch.int32),
        ("random_state", -1),
        ("max_batch", -2),
        ("tile_size", 0),
        ("device", "tpu"),
        ("callback", 3),
    ],
)
def test_python_door_bad_keywords_name_the_argument(tiny, keyword, value):
    expect_error("MATLAB:", [keyword], deep_dream_image, tiny, "relu2", 0, **{keyword: value})


def test_package_exports():
    for name in ("deepDreamImage", "deep_dream_image", "rng", "activations", "DeepDreamError", "VisualNetwork"):
        assert hasattr(deepdreamport, name) and name in deepdreamport.__all__
