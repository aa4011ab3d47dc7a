"""Issue 9, nothing lost, nothing eaten: output paths checked before any work; --image read as imread."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from deepdreamport import deep_dream_image
from deepdreamport.cli import main

from ..conftest import TINYNET

QUICK = ["--levels", "1", "--iterations", "1", "--seed", "2"]


def dream(
    capsys, tmp_path, *extra, model=TINYNET, layer="relu2", channels="3"
):  # unit 3 responds to the default start (1 is dead there: exit 3)
    argv = ["dream", str(model), "--layer", layer, "--channels", channels, *QUICK, *map(str, extra)]
    code = main(argv)
    return code, capsys.readouterr().err.strip()


def assert_refused(code, err, *words):
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("deepdream dream: error:"), err
    for word in words:
        assert word in err, err


def write_png16(path: Path, array: np.ndarray) -> None:
    """A 16-bit PNG written by hand (Pillow cannot write 16-bit colour): grey or RGB."""
    array = np.asarray(array, dtype=">u2")
    height, width = array.shape[:2]
    colour = 0 if array.ndim == 2 else 2
    raw = b"".join(b"\x00" + array[row].tobytes() for row in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 16, colour, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def grey_net(tmp_path_factory) -> Path:
    """A one-channel network (Conv 1→2, 3×3, ReLU) on 16×16 images."""
    weights = np.random.RandomState(0).randn(2, 1, 3, 3).astype(np.float32) / 1000
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["data", "w"], ["c"], name="conv", kernel_shape=[3, 3]),
            helper.make_node("Relu", ["c"], ["r"], name="relu"),
        ],
        "grey",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, [1, 1, 16, 16])],
        [helper.make_tensor_value_info("r", TensorProto.FLOAT, [1, 2, 14, 14])],
        [numpy_helper.from_array(weights, "w")],
    )
    path = tmp_path_factory.mktemp("grey") / "grey.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return path


# -- output paths ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "option, name, words",
    [
        ("--out", "x.npy", ["--out", ".png", "'.npy'"]),
        ("--out", "x", ["--out", "no extension"]),
        ("--npy", "x.png", ["--npy", ".npy"]),
        ("--mat", "x.txt", ["--mat", ".mat"]),
    ],
)
def test_output_extension_must_match_the_format(tmp_path, capsys, option, name, words):
    extra = {"--out": tmp_path / "o.png", option: tmp_path / name}
    code, err = dream(capsys, tmp_path, *[a for pair in extra.items() for a in pair])
    assert_refused(code, err, *words)
    assert list(tmp_path.iterdir()) == []


def test_empty_out_is_refused(tmp_path, capsys):
    code, err = dream(capsys, tmp_path, "--out", "")
    assert_refused(code, err, "--out", "empty")


def test_output_equal_to_the_model_is_refused(tmp_path, capsys):
    model = tmp_path / "net.png"  # an ONNX file with a name that passes the extension check
    model.write_bytes(TINYNET.read_bytes())
    code, err = dream(capsys, tmp_path, "--out", tmp_path / "." / "net.png", model=model)
    assert_refused(code, err, "--out", "is the model")
    assert model.read_bytes() == TINYNET.read_bytes()


def test_output_equal_to_the_image_is_refused(tmp_path, capsys):
    image = tmp_path / "in.png"
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(image)
    before = image.read_bytes()
    code, err = dream(capsys, tmp_path, "--image", image, "--out", image)
    assert_refused(code, err, "--out", "--image")
    assert image.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["in.png"]


def test_two_outputs_naming_one_file_are_refused(tmp_path, capsys):
    (tmp_path / "a.npy").write_bytes(b"keep")
    (tmp_path / "b.mat").symlink_to(tmp_path / "a.npy")
    code, err = dream(
        capsys, tmp_path, "--out", tmp_path / "o.png", "--npy", tmp_path / "a.npy", "--mat", tmp_path / "b.mat"
    )
    assert_refused(code, err, "--mat", "--npy", "same file")
    assert (tmp_path / "a.npy").read_bytes() == b"keep"


def test_unwritable_folder_is_refused_before_any_work(tmp_path, capsys):
    code, err = dream(capsys, tmp_path, "--out", "/sys/deepdream-test.png")
    assert_refused(code, err, "--out", "cannot write")


def test_a_folder_as_output_is_refused(tmp_path, capsys):
    (tmp_path / "d.png").mkdir()
    code, err = dream(capsys, tmp_path, "--out", tmp_path / "d.png")
    assert_refused(code, err, "--out", "is a folder")


def test_failed_run_removes_its_reserved_files(tmp_path, capsys):
    code, err = dream(capsys, tmp_path, "--out", tmp_path / "o.png", "--npy", tmp_path / "o.npy", channels="9")
    assert_refused(code, err, "channels")
    assert list(tmp_path.iterdir()) == []


def test_jpg_out_is_written_as_jpeg(tmp_path, capsys):
    code, err = dream(capsys, tmp_path, "--out", tmp_path / "o.jpg")
    assert code == 0, err
    with Image.open(tmp_path / "o.jpg") as written:
        assert written.format == "JPEG"
    assert [p.name for p in tmp_path.iterdir()] == ["o.jpg"]


# -- --image as MATLAB's imread -----------------------------------------------------------------


def test_16_bit_grey_png_keeps_its_values(tmp_path, capsys, grey_net):
    pixels = (np.random.RandomState(5).rand(16, 16) * 65535).astype(np.uint16)
    write_png16(tmp_path / "in.png", pixels)
    code, err = dream(
        capsys, tmp_path, "--image", tmp_path / "in.png", "--out", tmp_path / "o.png", "--npy", tmp_path / "o.npy",
        "--scaling", "none", model=grey_net, layer="relu", channels="1",
    )  # fmt: skip
    assert code == 0, err
    expected = deep_dream_image(
        str(grey_net), "relu", 0, initial_image=pixels[:, :, None].astype(np.float64),
        num_iterations=1, pyramid_levels=1, random_state=2, output_scaling="none",
    )  # fmt: skip
    written = np.load(tmp_path / "o.npy")
    np.testing.assert_array_equal(written[..., 0], expected[0])
    assert written.max() > 20000  # not saturated at 255


def test_16_bit_colour_png_is_refused_not_reduced(tmp_path, capsys):
    write_png16(tmp_path / "in.png", (np.arange(32 * 32 * 3).reshape(32, 32, 3) * 61 % 65536).astype(np.uint16))
    code, err = dream(capsys, tmp_path, "--image", tmp_path / "in.png", "--out", tmp_path / "o.png")
    assert_refused(code, err, "--image", "8 bits", ".npy")


def test_npy_image_keeps_uint16(tmp_path, capsys):
    pixels = (np.random.RandomState(6).rand(32, 32, 3) * 65535).astype(np.uint16)
    np.save(tmp_path / "in.npy", pixels)
    code, err = dream(
        capsys, tmp_path, "--image", tmp_path / "in.npy", "--out", tmp_path / "o.png", "--npy", tmp_path / "o.npy",
        "--scaling", "none",
    )  # fmt: skip
    assert code == 0, err
    expected = deep_dream_image(
        str(TINYNET), "relu2", 2, initial_image=pixels.astype(np.float64),
        num_iterations=1, pyramid_levels=1, random_state=2, output_scaling="none",
    )  # fmt: skip
    np.testing.assert_array_equal(np.load(tmp_path / "o.npy")[..., 0], expected[0])


def test_grey_image_for_an_rgb_network_is_refused(tmp_path, capsys):
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(tmp_path / "g.png")
    code, err = dream(capsys, tmp_path, "--image", tmp_path / "g.png", "--out", tmp_path / "o.png")
    assert_refused(code, err, "--image", "3 channel", "has 1")


def test_rgba_image_drops_alpha_as_imread(tmp_path, capsys):
    rgba = np.random.RandomState(7).randint(0, 256, (32, 32, 4)).astype(np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    Image.fromarray(rgba[:, :, :3], "RGB").save(tmp_path / "b.png")
    assert (
        dream(
            capsys,
            tmp_path,
            "--image",
            tmp_path / "a.png",
            "--out",
            tmp_path / "a_out.png",
            "--npy",
            tmp_path / "a.npy",
        )[0]
        == 0
    )
    assert (
        dream(
            capsys,
            tmp_path,
            "--image",
            tmp_path / "b.png",
            "--out",
            tmp_path / "b_out.png",
            "--npy",
            tmp_path / "b.npy",
        )[0]
        == 0
    )
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy"))
