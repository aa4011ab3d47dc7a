"""Issue 9, errors: one clear, bounded line, early; no raw traceback; numbering as each door promises."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from deepdreamport import DeepDreamError, OnnxNetwork, activations, deep_dream_image, deepDreamImage
from deepdreamport.cli import main
from deepdreamport.doors import cli
from deepdreamport.doors.run import ieee_float32
from deepdreamport.errors import MESSAGE_LIMIT, describe_numbers

from ..conftest import TINYNET

QUICK = dict(num_iterations=1, pyramid_levels=1, random_state=3)
MATLAB_QUICK = ("NumIterations", 1, "PyramidLevels", 1, "Verbose", False, "RandomState", 3)


@pytest.fixture(scope="module")
def tiny() -> OnnxNetwork:
    return OnnxNetwork.from_onnx(TINYNET)


def error_of(call, *args, **kwargs) -> DeepDreamError:
    with pytest.raises(DeepDreamError) as info:
        call(*args, **kwargs)
    message = info.value.message
    assert "\n" not in message and len(message) <= MESSAGE_LIMIT
    return info.value


def run_cli(capsys, *argv) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


# -- the command line: one line, exit 2; a bug: one line that says so, exit 1 ----------------


def test_internal_bug_is_one_line_exit_1_and_traceback_only_with_debug(tmp_path, capsys, monkeypatch):
    def broken(*_args, **_kwargs):
        raise TypeError("an internal mistake")

    monkeypatch.setattr(cli, "load_network", broken)
    argv = ["dream", TINYNET, "--layer", "relu2", "--channels", "1", "--out", tmp_path / "x.png"]
    code, err = run_cli(capsys, *argv)
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "internal error" in lines[0] and "TypeError: an internal mistake" in lines[0]
    assert "--debug" in lines[0] and "Traceback" not in err
    code, err = run_cli(capsys, "--debug", *argv)
    assert code == 1 and "Traceback" in err and "internal error" in err.strip().splitlines()[-1]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "failure",
    [
        MemoryError(),
        torch.OutOfMemoryError("CUDA out of memory"),
        RuntimeError("DefaultCPUAllocator: can't allocate memory"),
    ],
    ids=["MemoryError", "cuda", "cpu-allocator"],
)
def test_running_out_of_memory_is_a_clear_error_not_a_bug(tmp_path, capsys, monkeypatch, failure):
    def exhausted(*_args, **_kwargs):
        raise failure

    monkeypatch.setattr(cli, "load_network", exhausted)
    argv = ["dream", TINYNET, "--layer", "relu2", "--channels", "1", "--out", tmp_path / "x.png"]
    code, err = run_cli(capsys, *argv)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "out of memory" in err and "--max-batch" in err
    assert "internal error" not in err and list(tmp_path.iterdir()) == []


def test_bad_input_with_debug_keeps_exit_2_and_adds_the_traceback(tmp_path, capsys):
    code, err = run_cli(
        capsys, "--debug", "dream", TINYNET, "--layer", "nope", "--channels", "1", "--out", tmp_path / "x.png"
    )
    assert code == 2 and "Traceback" in err and err.strip().splitlines()[-1].startswith("deepdream dream: error:")


# -- bounded messages --------------------------------------------------------------------------


def test_huge_channel_range_gives_a_short_line(tmp_path, capsys):
    code, err = run_cli(
        capsys, "dream", TINYNET, "--layer", "relu2", "--channels", "1:100000000", "--out", tmp_path / "x.png"
    )
    assert code == 2 and len(err.strip().splitlines()) == 1 and len(err) < 300
    assert "100000000 channels" in err and "--channels" in err


def test_out_of_range_channels_are_summarised(tiny, tmp_path, capsys):
    code, err = run_cli(
        capsys, "dream", TINYNET, "--layer", "relu2", "--channels", "1:5000", "--out", tmp_path / "x.png"
    )
    assert code == 2 and len(err) < 300 and "7..5000" in err and "1..6" in err
    error = error_of(deep_dream_image, tiny, "relu2", np.arange(3, 200000), **QUICK)
    assert "6..199999" in error.message and "0..5" in error.message and "0-based" in error.message


def test_describe_numbers_makes_runs_and_stops():
    assert describe_numbers([5, 1, 2, 3, 9]) == "1..3, 5, 9"
    text = describe_numbers(range(0, 10**5, 2))
    assert text.startswith("0, 2, 4") and "50000 values in all" in text and len(text) < 80


def test_error_messages_are_cut_to_one_bounded_line():
    error = DeepDreamError("x:y", "first line\nsecond " + "z" * 10**6)
    assert "\n" not in error.message and len(error.message) == MESSAGE_LIMIT
    assert error.message.startswith("first line second") and "characters in all" in error.message


# -- layer numbering -------------------------------------------------------------------------


def test_cli_layer_number_is_the_layer_tables_row(tmp_path, capsys):
    by_number, by_name = tmp_path / "n.npy", tmp_path / "m.npy"
    common = ["--channels", "2", "--levels", "1", "--iterations", "1", "--seed", "4"]
    assert (
        main(
            ["dream", str(TINYNET), "--layer", "3", *common, "--out", str(tmp_path / "n.png"), "--npy", str(by_number)]
        )
        == 0
    )
    assert (
        main(
            [
                "dream",
                str(TINYNET),
                "--layer",
                "relu1",
                *common,
                "--out",
                str(tmp_path / "m.png"),
                "--npy",
                str(by_name),
            ]
        )
        == 0
    )
    np.testing.assert_array_equal(np.load(by_number), np.load(by_name))
    code, err = run_cli(capsys, "dream", TINYNET, "--layer", "1", *common, "--out", tmp_path / "o.png")
    assert code == 2 and "2..9" in err and "1 is the input layer" in err


def test_python_door_messages_count_from_zero(tiny):
    error = error_of(deep_dream_image, tiny, 0, 0, **QUICK)
    assert "1..8" in error.message and "0 is the input layer 'data'" in error.message
    error = error_of(deep_dream_image, tiny, 9, 0, **QUICK)
    assert "index 9" in error.message and "1..8" in error.message
    error = error_of(deep_dream_image, tiny, "relu2", 6, **QUICK)
    assert "0..5" in error.message and "out-of-range 6" in error.message
    error = error_of(deepDreamImage, tiny, "relu2", 7, *MATLAB_QUICK)
    assert "1..6" in error.message and "out-of-range 7" in error.message


def test_last_layer_same_by_index_and_by_name(tiny):
    last = tiny.layers[-1].name
    assert last == "fc"
    np.testing.assert_array_equal(
        deepDreamImage(tiny, 9, 2, *MATLAB_QUICK), deepDreamImage(tiny, "fc", 2, *MATLAB_QUICK)
    )
    np.testing.assert_array_equal(deep_dream_image(tiny, 8, 1, **QUICK), deep_dream_image(tiny, "fc", 1, **QUICK))


# -- devices ---------------------------------------------------------------------------------


@pytest.mark.parametrize("device", ["cuda:0", torch.device("cuda"), "cuda:7", torch.device("cuda", 3)], ids=str)
def test_cuda_devices_without_a_gpu(tiny, monkeypatch, device):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    error = error_of(deep_dream_image, tiny, "relu2", 0, device=device, **QUICK)
    assert error.identifier.startswith("parallel:gpu:") and "cuda" in error.message and "no CUDA GPU" in error.message


@pytest.mark.parametrize("device", ["meta", torch.device("meta")], ids=str)
def test_meta_device_is_refused_and_the_network_still_works(device):
    network = OnnxNetwork.from_onnx(TINYNET)
    before = deep_dream_image(network, "relu2", [0, 1], **QUICK)
    error = error_of(deep_dream_image, network, "relu2", [0, 1], device=device, **QUICK)
    assert "meta" in error.message and error.identifier == "deepdreamport:BadDevice"
    np.testing.assert_array_equal(deep_dream_image(network, "relu2", [0, 1], **QUICK), before)


def test_unknown_device_type_is_refused(tiny):
    error = error_of(deep_dream_image, tiny, "relu2", 0, device="mps", **QUICK)
    assert "'mps'" in error.message and "not available" in error.message


# -- sizes -----------------------------------------------------------------------------------


def test_tile_size_smaller_than_the_receptive_field(tiny):
    error = error_of(deepDreamImage, tiny, "relu2", 1, "TileSize", 4, *MATLAB_QUICK)  # field 8×8
    assert error.identifier == "deepdreamport:deepDreamImage:TileSizeTooSmall"
    assert "TileSize" in error.message and "8×8" in error.message and "relu2" in error.message
    error = error_of(deep_dream_image, tiny, "fc", 0, tile_size=16, **QUICK)  # the fc layer sees all 32×32
    assert "32×32" in error.message


def test_tile_size_the_fully_connected_layer_cannot_take(tiny):
    error = error_of(deep_dream_image, tiny, "fc", 0, tile_size=40, **QUICK)
    assert error.identifier == "deepdreamport:deepDreamImage:TileSizeNotAccepted"
    assert "40×40" in error.message and "'fc'" in error.message


def test_activations_of_a_fully_connected_layer_need_the_input_size(tiny):
    error = error_of(activations, tiny, np.zeros((40, 40, 3, 1), np.float32), "fc")
    assert error.identifier == "nnet_cnn:activations:InvalidImageSize"
    assert "40×40" in error.message and "32×32" in error.message


def test_activations_on_another_size_say_what_they_do(tiny):
    X = np.random.RandomState(1).rand(40, 36, 3, 1).astype(np.float32) * 255
    with pytest.warns(UserWarning, match="MATLAB refuses them.*40×36"):
        result = activations(tiny, X, "conv2")
    model = onnx.load(str(TINYNET))  # the reference: onnxruntime on the graph with a free spatial size
    for dim in model.graph.input[0].type.tensor_type.shape.dim[2:]:
        dim.dim_param = "free"
    keep = [n.name for n in model.graph.node].index("conv2") + 1
    del model.graph.node[keep:]
    del model.graph.output[:]
    conv2 = model.graph.node[-1]
    model.graph.output.extend([onnx.helper.make_tensor_value_info(conv2.output[0], onnx.TensorProto.FLOAT, None)])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    reference = session.run([conv2.output[0]], {"data": X.transpose(3, 2, 0, 1)})[0]
    assert result.shape == reference.transpose(2, 3, 1, 0).shape
    np.testing.assert_allclose(result, reference.transpose(2, 3, 1, 0), rtol=1e-4, atol=1e-3)


# -- missing external data: named once -------------------------------------------------------


def test_missing_external_data_is_named_once(tmp_path):
    path = tmp_path / "ext.onnx"
    onnx.save_model(
        onnx.load(str(TINYNET)),
        str(path),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="weights.bin",
        size_threshold=0,
    )
    (tmp_path / "weights.bin").unlink()
    error = error_of(deep_dream_image, str(path), "relu2", 0, **QUICK)
    assert error.identifier == "deepdreamport:onnx:MissingExternalData"
    assert error.message.count("weights.bin") == 1 and "tensors" in error.message


def test_matlab_door_check_memory_option_is_validated(tiny):
    error = error_of(deepDreamImage, tiny, "relu2", 1, "CheckMemory", "maybe")
    assert "CheckMemory" in error.message


# -- converter failures ----------------------------------------------------------------------


def test_an_unsupported_attribute_is_named_with_node_and_operator(tmp_path):
    """Found when the layer is built, like an unsupported operator (onnx2torch would refuse it converting)."""
    weights = numpy_helper.from_array(np.ones((2, 3, 3, 3), np.float32) / 27, "w")
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["data", "w"], ["c"], name="conv", kernel_shape=[3, 3]),
            helper.make_node("Reshape", ["c", "target"], ["p"], name="zero_sized_reshape", allowzero=1),
        ],
        "g",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, [1, 3, 16, 16])],
        [helper.make_tensor_value_info("p", TensorProto.FLOAT, None)],
        [weights, numpy_helper.from_array(np.asarray([1, 2, 0, 196], np.int64), "target")],
    )
    path = tmp_path / "pool.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    error = error_of(deep_dream_image, str(path), "zero_sized_reshape", 0, **QUICK)
    assert error.identifier == "deepdreamport:onnx:UnsupportedOperator"
    for words in ("zero_sized_reshape", "Reshape", "allowzero=1"):
        assert words in error.message, error.message


def test_a_tile_smaller_than_a_kernel_of_a_dynamic_network(tmp_path):
    weights = numpy_helper.from_array(np.ones((2, 3, 5, 5), np.float32) / 75, "w")
    graph = helper.make_graph(
        [helper.make_node("Conv", ["data", "w"], ["c"], name="wide", kernel_shape=[5, 5])],
        "g",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, [1, 3, "height", "width"])],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, None)],
        [weights],
    )
    path = tmp_path / "dynamic.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    error = error_of(deep_dream_image, str(path), "wide", 0, tile_size=3, **QUICK)
    assert "'wide'" in error.message and "3×3" in error.message and "tile" in error.message
    assert deep_dream_image(str(path), "wide", 0, tile_size=8, **QUICK).shape == (1, 5, 5, 3)
    error = error_of(deep_dream_image, str(path), "wide", 0, tile_size=100000, **QUICK)  # 120 GB to probe
    assert "100000×100000" in error.message and "smaller tile size" in error.message


def test_cuda_runs_in_ieee_float32_and_the_setting_is_restored():
    """cuDNN's default TF32 convolutions would miss single-precision parity; the flags are set only for the run."""
    before = torch.backends.cudnn.conv.fp32_precision, torch.backends.cuda.matmul.fp32_precision
    with ieee_float32(torch.device("cuda")):
        assert (torch.backends.cudnn.conv.fp32_precision, torch.backends.cuda.matmul.fp32_precision) == ("ieee",) * 2
    assert (torch.backends.cudnn.conv.fp32_precision, torch.backends.cuda.matmul.fp32_precision) == before
    with ieee_float32(torch.device("cpu")):
        assert (torch.backends.cudnn.conv.fp32_precision, torch.backends.cuda.matmul.fp32_precision) == before
