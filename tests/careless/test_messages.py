"""Messages: each careless path or size named for what it is, in the command's own words, one line.

A folder, a URL or a missing file given where a file is read; Pillow's
decompression-bomb lines before the memory guard's one line; render's memory guard
(there was none) and its advice; the out-of-memory advice naming the options of
the command that ran; onnx2torch's ``Slice`` warning on every call.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import warnings
import zlib
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from deepdreamport import DeepDreamError, deep_dream_image, load_network
from deepdreamport.doors import cli as dream_cli
from deepdreamport.doors import guard as dream_guard
from deepdreamport.doors.commands import HANDLERS
from deepdreamport.onnx.convert import to_torch
from deepdreamport.optvis import cli as render_cli
from deepdreamport.optvis import guard as render_guard
from deepdreamport.optvis.network import OptvisNetwork

from ..conftest import REPO, TINYNET
from .conftest import QUICK_DREAM, QUICK_RENDER, assert_refused, run

LAYERS_HANDLER = HANDLERS["layers"].split(":")[1]

DREAM = ["--layer", "relu2", "--channels", "1", *QUICK_DREAM, "--out", "d.png"]
URL = "https://example.com/models/net.onnx"

# command line with {model} in place of the model path: the command and how the model is named
MODEL_ARGUMENTS = {
    "dream": (["dream", "{model}", *DREAM], "MODEL"),
    "layers": (["layers", "{model}"], "MODEL"),
    "demo": (["demo", "--model", "{model}", "--out", "d.png"], "--model"),
    "render": (["render", "{model}", "--objective", "conv2:1", *QUICK_RENDER, "--out", "r.png"], "MODEL"),
    "parity": (["parity", "record", "{model}", "--layer", "relu2", "--channels", "1", "--out", "cases"], "MODEL"),
    "atlas": (["atlas", "{model}", "--out", "atlas"], "MODEL"),
}
MODEL_PATHS = {
    "a folder": (lambda t: t, "is a folder, not a file ("),
    "a URL": (lambda t: URL, f"{URL!r} is a URL; nothing is downloaded"),
    "missing": (lambda t: t / "absent.onnx", "does not exist"),
    "a device": (lambda t: "/dev/null", "'/dev/null' is not a regular file"),
    "empty": (lambda t: "", "the file name is empty"),
}


@pytest.mark.parametrize("path", list(MODEL_PATHS))
@pytest.mark.parametrize("command", list(MODEL_ARGUMENTS))
def test_a_model_path_is_named_for_what_it_is(command, path, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv, argument = MODEL_ARGUMENTS[command]
    model, words = MODEL_PATHS[path]
    code, _, err = run(capsys, *[str(model(tmp_path)) if a == "{model}" else a for a in argv])
    assert_refused(code, err, command, f"{argument}: ", words)
    assert "default model" not in err and "https:/e" not in err
    assert list(tmp_path.iterdir()) == []


def test_the_python_door_names_a_url_and_a_folder(tmp_path):
    with pytest.raises(DeepDreamError, match="is a URL; nothing is downloaded"):
        deep_dream_image(URL, "relu2", 0)
    with pytest.raises(DeepDreamError, match="is a folder"):
        deep_dream_image(str(tmp_path), "relu2", 0)


@pytest.mark.parametrize(
    "image, words", [("{folder}", "is a folder"), (URL.replace("net.onnx", "cat.png"), "is a URL"), ("no.png", "image")]
)
def test_an_image_path_is_named_for_what_it_is(image, words, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "dream", TINYNET, *DREAM, "--image", str(tmp_path) if image == "{folder}" else image)
    assert_refused(code, err, "dream", "--image: ", words)


def _png_header(path: Path, height: int, width: int) -> Path:
    """A PNG whose header claims ``height``×``width`` RGB pixels (its data is a few bytes: never decoded here)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )
    return path


@pytest.mark.parametrize("side", [12_000, 20_000])  # Pillow warns above 89 million pixels, refuses above 179 million
def test_a_huge_image_is_the_guards_one_line_without_pillows_warnings(side, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(dream_guard, "available_bytes", lambda device: 8 * 2**30)  # 8 GiB free, whatever the machine
    image = _png_header(tmp_path / "huge.png", side, side)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, _, err = run(capsys, "dream", TINYNET, *DREAM[:-1], tmp_path / "d.png", "--image", image)
    assert_refused(code, err, "dream", "this run needs about", f"{side}×{side}×3", "--no-memory-check")
    assert not [w for w in caught if "DecompressionBomb" in type(w.message).__name__], caught
    assert "DecompressionBomb" not in err and sorted(p.name for p in tmp_path.iterdir()) == ["huge.png"]


def test_render_has_a_memory_guard_in_its_own_words(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(render_guard, "available_bytes", lambda device: 64 * 2**20)  # 64 MiB free
    out = ["--out", tmp_path / "r.png"]
    code, _, err = run(capsys, "render", TINYNET, "--objective", "conv2:1", "--size", "3000", "--steps", "1", *out)
    assert_refused(code, err, "render", "needs about", "3000×3000", "64 MiB is available", "--size", "--objective")
    assert "--max-batch" not in err and list(tmp_path.iterdir()) == []
    code, _, err = run(capsys, "render", TINYNET, "--objective", "conv2:1", "--size", "1000", "--optimizer", "ga", *out)
    assert_refused(code, err, "render", "needs about", "16 image(s)", "--population")
    monkeypatch.setattr(render_guard, "available_bytes", lambda device: 1)
    code, _, err = run(capsys, "render", TINYNET, "--objective", "conv2:1", *QUICK_RENDER, *out, "--no-memory-check")
    assert code == 0, err


def test_render_estimate_grows_with_size_and_units():
    network = OptvisNetwork.from_onnx(str(TINYNET))
    options = dict(device=torch.device("cpu"), dtype=torch.float32)
    per_pixel = render_guard.gradient_per_pixel(network, [("conv2", 0)], 256, options)
    # the parametrisation, the transforms and conv2 keep tens of elements per pixel (docs/optvis.md: within 0.66-1.36)
    assert 30 < per_pixel < 200
    one = render_guard.check_render_memory(per_pixel, 1, 1000, torch.float32, torch.device("cpu"), "", limit=2**62)
    two = render_guard.check_render_memory(per_pixel, 2, 2000, torch.float32, torch.device("cpu"), "", limit=2**62)
    assert two.peak_bytes == pytest.approx(8 * one.peak_bytes, rel=1e-6)


def test_render_refuses_a_size_the_network_cannot_take(tmp_path, capsys):
    out = ["--out", tmp_path / "r.png"]
    code, _, err = run(capsys, "render", TINYNET, "--objective", "fc:1", "--size", "64", "--steps", "1", *out)
    assert_refused(code, err, "render", "--size: the network cannot compute 'fc' on 64×64 images", "--transforms none")
    code, _, err = run(capsys, "render", TINYNET, "--objective", "conv2:1", "--size", "4", "--optimizer", "ga", *out)
    assert_refused(code, err, "render", "--size", "4×4")


@pytest.mark.parametrize(
    "command, target, argv, words, not_words",
    [
        ("dream", (dream_cli, "dream_images"), ["dream", TINYNET, *DREAM], ["--max-batch", "--levels"], ["--size"]),
        (
            "render",
            (render_cli, "_render"),
            ["render", TINYNET, "--objective", "conv2:1", *QUICK_RENDER, "--out", "r.png"],
            ["--size", "--objective", "--population"],
            ["--max-batch"],
        ),
    ],
)
def test_out_of_memory_advice_names_the_commands_own_options(
    command, target, argv, words, not_words, tmp_path, capsys, monkeypatch
):
    def exhausted(*_args, **_kwargs):
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 10 GB")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(*target, exhausted)
    code, _, err = run(capsys, *argv)
    assert_refused(code, err, command, "out of memory", *words)
    assert not [w for w in not_words if w in err] and list(tmp_path.iterdir()) == []


def test_yolo_slices_give_no_warning_and_onnxruntimes_values(exported_network):
    network = load_network(str(exported_network("yolo_focus")))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # onnx2torch's Slice warned "non-tuple sequence" on every call
        images = deep_dream_image(network, network.layers[-1].name, 0, num_iterations=1, pyramid_levels=1)
    assert np.isfinite(images).all()  # its values against onnxruntime: tests/onnx/test_model_corpus.py


def test_tuple_slices_match_onnxruntime_with_flips_and_negative_axes():
    """Steps -2 on the last axis (a flip in onnx2torch's slices) and a leading-axis slice, from initializers."""
    starts, ends, axes, steps = ([6, 1], [-9, 7], [-1, 2], [-2, 1])
    graph = helper.make_graph(
        [helper.make_node("Slice", ["x", "starts", "ends", "axes", "steps"], ["y"], name="crop")],
        "slices",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 10])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.array(v, np.int64), n) for v, n in zip((starts, ends, axes, steps), NAMES)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    x = np.random.RandomState(0).rand(1, 3, 8, 10).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = to_torch(model)(torch.from_numpy(x)).numpy()
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_array_equal(result, session.run(None, {"x": x})[0])


NAMES = ("starts", "ends", "axes", "steps")


def _patch_tokens_network(path: Path) -> Path:
    """A ViT's first layers: a 4×4-patch convolution, its patches as tokens (N×16×6), a layer normalisation."""
    rng = np.random.RandomState(7)
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["patches"], name="conv_proj", kernel_shape=[4, 4], strides=[4, 4]),
        helper.make_node("Reshape", ["patches", "flat"], ["flat_patches"], name="flatten_patches"),
        helper.make_node("Transpose", ["flat_patches"], ["tokens"], name="tokens", perm=[0, 2, 1]),
        helper.make_node("LayerNormalization", ["tokens", "scale", "bias"], ["normed"], name="ln_1", axis=-1),
    ]
    inits = {"w": rng.randn(6, 3, 4, 4), "flat": np.array([1, 6, 16]), "scale": 1 + rng.rand(6), "bias": rng.randn(6)}
    graph = helper.make_graph(
        nodes,
        "vit_start",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
        [helper.make_tensor_value_info("normed", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(v.astype(np.int64 if k == "flat" else np.float32), k) for k, v in inits.items()],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_a_transformers_token_layer_is_refused_in_one_line_and_listed(tmp_path, capsys, monkeypatch):
    """Token layers (N×tokens×features) are listed by `layers` and refused by `dream` naming the shape and what to
    choose; the patch convolution before them dreams."""
    monkeypatch.chdir(tmp_path)
    model = _patch_tokens_network(tmp_path / "vit_start.onnx")
    code, out, err = run(capsys, "layers", model)
    assert code == 0 and "ln_1" in out and "16×6" in out, err
    code, _, err = run(capsys, "dream", model, "--layer", "ln_1", "--channels", "1", *QUICK_DREAM, "--out", "d.png")
    assert_refused(code, err, "dream", "'ln_1'", "(1, 16, 6)", "transformer's token layer", "choose a convolution")
    assert list(tmp_path.iterdir()) == [model]
    code, _, err = run(
        capsys, "dream", model, "--layer", "conv_proj", "--channels", "1", *QUICK_DREAM, "--out", "d.png"
    )
    assert code == 0, err


@pytest.mark.parametrize("argv", [["layers", TINYNET], ["dream", "--help"], ["parity", "--help"]])
def test_output_into_a_pipe_whose_reader_left_ends_quietly(argv):
    """`deepdream layers M | head -1`: a reader that leaves early is not an error (no 'error: Broken pipe', no
    'Exception ignored' at exit); the command ends as a C program stopped by SIGPIPE would (141), or 0 when it had
    nothing left to write."""
    process = subprocess.Popen(
        [sys.executable, "-m", "deepdreamport", *map(str, argv)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    process.stdout.close()  # the reader is gone before the first line is written
    err = process.stderr.read().decode()
    status = process.wait(timeout=120)
    assert err == "", err
    assert status in (0, 141), status


def test_a_broken_pipe_that_is_not_standard_output_is_still_reported(capsys, monkeypatch):
    """Only a gone stdout reader is quiet: a broken pipe elsewhere (a worker's connection) is one line, exit 2."""

    def broken(_args):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(dream_cli, LAYERS_HANDLER, broken)
    code, _, err = run(capsys, "layers", TINYNET)
    assert code == 2 and "error: Broken pipe" in err, err
