"""Degenerate results (issue 18): black or all-equal start images, dead units, NaN networks — said, never silent.

MATLAB's arithmetic is kept: a zero gradient leaves X unchanged (``lapNorm``'s 1e-8 floor:
``0 / 1e-8 = 0``, checked against MATLAB's own ``components.mat``), and ``'linear'`` scaling of a
constant image computes ``1/(max-min) = Inf`` and ``Inf*0`` or ``Inf-Inf`` = NaN. What is new is
the report: a :class:`DegenerateImagesWarning` naming the channels through every door, exit
status 3 (files written) from ``dream``/``demo``, and a refusal (nothing written) from ``parity record``.
"""

from __future__ import annotations

import warnings

import numpy as np
import onnx
import pytest
import scipy.io
import torch
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from deepdreamport import deep_dream_image, deepDreamImage
from deepdreamport.cli import main
from deepdreamport.core.loop import DreamSettings, deep_dream, level_sizes, scale_linear
from deepdreamport.core.pyramid import laplacian_normalized_image
from deepdreamport.doors.degenerate import (
    CONSTANT,
    NOT_FINITE,
    UNCHANGED,
    DegenerateImagesWarning,
    carried_start,
    degenerate_images,
)

from ..conftest import REFERENCE
from ..conftest import TINYNET as TINY

DEAD_FOR_ZEROS = [0, 1, 5]  # tinynet relu2 (0-based): ReLU units whose input is <= 0 on a black image
ALIVE_FOR_ZEROS = [2, 3, 4]


def _degenerate_warnings(record) -> list[DegenerateImagesWarning]:
    return [w.message for w in record if isinstance(w.message, DegenerateImagesWarning)]


# -- MATLAB's arithmetic --------------------------------------------------------------------------


def test_matlabs_lapnorm_of_a_zero_gradient_is_zero():
    """components.mat's last lap entry holds, as its second image, an all-zero gradient (MATLAB's own numbers)."""
    entry = scipy.io.loadmat(REFERENCE / "components.mat")["lap"][0, -1]
    gradient, normalized = entry["A"][0, 0], entry["normalized"][0, 0]
    assert not gradient[..., 1].any() and not normalized[..., 1].any()  # MATLAB: exactly 0
    port = laplacian_normalized_image(torch.from_numpy(np.ascontiguousarray(gradient.transpose(3, 2, 0, 1))))
    assert not port[1].any()


def test_zero_gradient_leaves_the_image_as_its_start_carried_through_the_levels():
    start = torch.full((1, 3, 9, 11), 7.0, dtype=torch.float64)
    zero = lambda x, k: (torch.zeros_like(x), torch.zeros(x.shape[0], dtype=x.dtype))  # noqa: E731
    settings = DreamSettings(2, 3, 1.4, tile_size=12)
    result = deep_dream(start.expand(2, -1, -1, -1), torch.tensor([0, 1]), zero, settings, np.random.RandomState(0))
    sizes = level_sizes(9, 11, 3, 1.4)
    carried = carried_start(start, sizes)
    assert torch.equal(result.images[0], carried[0]) and torch.equal(result.images[1], carried[0])
    # resizeImage pads with zeros, so a constant image stays constant only while no level grows it
    flat = deep_dream(start, torch.tensor([0]), zero, DreamSettings(2, 1, tile_size=12), np.random.RandomState(0))
    scaled = scale_linear(flat.images)
    assert torch.isnan(scaled).all()  # d = 1/(max-min) = Inf; Inf*7 - 7*Inf = NaN, as MATLAB computes
    assert torch.equal(flat.images, start)  # 'none': the constant itself


# -- the pure function (for the atlas as well) ----------------------------------------------------


def test_degenerate_images_names_each_kind():
    noise = torch.randn(1, 3, 5, 6, generator=torch.Generator().manual_seed(1))
    images = torch.cat(
        [
            noise,  # unchanged
            noise + torch.randn(1, 3, 5, 6, generator=torch.Generator().manual_seed(2)),  # a real dream
            torch.zeros(1, 3, 5, 6),  # constant
            torch.where(noise > 1, torch.inf, noise),  # Inf
            noise * (1 + 1e-7),  # unchanged to float32 rounding
        ]
    )
    found = {d.index: d.kinds for d in degenerate_images(images, noise)}
    assert found == {0: (UNCHANGED,), 2: (CONSTANT,), 3: (NOT_FINITE,), 4: (UNCHANGED,)}
    assert {d.index for d in degenerate_images(images)} == {2, 3}  # without the start: only what the images show
    both = degenerate_images(torch.zeros(2, 1, 4, 4), torch.zeros(1, 1, 4, 4))
    assert [d.kinds for d in both] == [(UNCHANGED, CONSTANT)] * 2 and "zero everywhere" in both[0].reason


def test_degenerate_images_in_chunks_gives_the_same_answer(monkeypatch):
    from deepdreamport.doors import degenerate

    images = torch.randn(7, 2, 4, 4, generator=torch.Generator().manual_seed(3))
    images[2] = 0
    images[5, 0, 1, 1] = torch.nan
    whole = degenerate_images(images, images[:1])
    monkeypatch.setattr(degenerate, "CHUNK_ELEMENTS", 40)  # 1 image of 32 elements per chunk
    assert degenerate_images(images, images[:1]) == whole
    assert [d.index for d in whole] == [0, 2, 5]


# -- the doors ------------------------------------------------------------------------------------


def test_python_door_warns_naming_the_channels_of_a_black_start_image():
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        images = deep_dream_image(
            TINY, "relu2", list(range(6)), initial_image=np.zeros((32, 32, 3)), pyramid_levels=1, num_iterations=2
        )
    (warning,) = _degenerate_warnings(record)
    assert warning.identifier == "deepdreamport:deepDreamImage:DegenerateImages"
    assert [f.index for f in warning.findings] == DEAD_FOR_ZEROS
    assert "channels 0..1, 5 (0-based)" in str(warning) and "gradient was zero everywhere" in str(warning)
    assert np.isnan(images[DEAD_FOR_ZEROS]).all() and np.isfinite(images[ALIVE_FOR_ZEROS]).all()
    # the warning points at the caller's line (other warnings, e.g. a finished subprocess collected now, may come too)
    assert [r.filename for r in record if r.message is warning] == [__file__]


def test_matlab_door_warns_in_matlab_numbering_and_none_scaling_keeps_the_constant():
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        image = deepDreamImage(
            TINY, "relu2", [1, 2, 3], "InitialImage", np.zeros((32, 32, 3)), "PyramidLevels", 1,
            "NumIterations", 2, "Verbose", False, "OutputScaling", "none",
        )  # fmt: skip
    (warning,) = _degenerate_warnings(record)
    assert "channels 1..2 (1-based)" in str(warning)
    assert (image[:, :, :, :2] == 0).all() and image[:, :, :, 2].any()  # 'none': the start itself; unit 3 dreamt


def _dead_unit_network(path):
    """conv → ReLU with three units; unit 2 (0-based 1) has zero weights and bias −1: dead for every image."""
    weight = np.random.RandomState(0).randn(3, 3, 3, 3).astype(np.float32)
    weight[1] = 0
    bias = np.array([0.1, -1.0, 0.1], dtype=np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["x", "w", "b"], ["conv"], name="conv", pads=[1, 1, 1, 1]),
            helper.make_node("Relu", ["conv"], ["relu"], name="relu"),
        ],
        "dead",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
        [helper.make_tensor_value_info("relu", TensorProto.FLOAT, [1, 3, 16, 16])],
        initializer=[numpy_helper.from_array(weight, "w"), numpy_helper.from_array(bias, "b")],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return path


def test_a_dead_unit_leaves_a_noise_start_unchanged(tmp_path):
    """Not NaN (the noise has a range) but nothing of the unit: the start image, said so."""
    path = _dead_unit_network(tmp_path / "dead.onnx")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        images = deep_dream_image(path, "relu", [0, 1, 2], pyramid_levels=2, num_iterations=2, random_state=0)
    (warning,) = _degenerate_warnings(record)
    assert [(f.index, f.kinds) for f in warning.findings] == [(1, (UNCHANGED,))]
    assert "channel 1 (0-based): the result is the start image, unchanged" in str(warning)
    assert np.isfinite(images).all()


def _nan_network(path, sign=1.0):
    """A 1×1 convolution (weights ``sign``) and ``Sqrt``: NaN activations and gradients on negative sums."""
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["x", "w"], ["conv"], name="conv"),
            helper.make_node("Sqrt", ["conv"], ["sqrt"], name="sqrt"),
        ],
        "nan",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("sqrt", TensorProto.FLOAT, [1, 2, 8, 8])],
        initializer=[numpy_helper.from_array(np.full((2, 3, 1, 1), sign, np.float32), "w")],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return path


def test_a_network_that_computes_nan_is_reported(tmp_path):
    """Sqrt of the (partly negative) noise pixels."""
    path = _nan_network(tmp_path / "nan.onnx")
    with pytest.warns(DegenerateImagesWarning, match=r"channels 0\.\.1 .*NaN or Inf"):
        deep_dream_image(path, "sqrt", [0, 1], pyramid_levels=1, num_iterations=1, random_state=0)


# -- the command line -----------------------------------------------------------------------------


def _black_png(path, size=(32, 32)):
    Image.fromarray(np.zeros((*size, 3), np.uint8)).save(path)
    return path


def test_dream_writes_its_files_and_exits_3_with_one_line(tmp_path, capsys):
    out, npy = tmp_path / "d.png", tmp_path / "d.npy"
    argv = ["dream", str(TINY), "--layer", "relu2", "--channels", "1:6", "--levels", "1", "--iterations", "2"]
    status = main(argv + ["--image", str(_black_png(tmp_path / "black.png")), "--out", str(out), "--npy", str(npy)])
    captured = capsys.readouterr()
    assert status == 3
    (line,) = captured.err.strip().splitlines()
    assert line.startswith("deepdream dream: warning: 3 of 6 images are degenerate. channels 1..2, 6 (1-based)")
    assert "wrote" in captured.out and out.is_file()
    array = np.load(npy)  # H×W×C×K, MATLAB's numbers: NaN where MATLAB's 'linear' scaling gives NaN
    assert np.isnan(array[..., [0, 1, 5]]).all() and np.isfinite(array[..., [2, 3, 4]]).all()


def test_demo_on_an_all_equal_image_exits_3(tmp_path, monkeypatch, capsys):
    from deepdreamport.doors import cli

    monkeypatch.setattr(cli, "default_model", lambda: TINY)
    grey = tmp_path / "grey.png"
    Image.fromarray(np.full((32, 32, 3), 128, np.uint8)).save(grey)
    argv = ["demo", "--layer", "relu2", "--channels", "1", "--levels", "1", "--iterations", "1"]
    assert main(argv + ["--image", str(grey), "--out", str(tmp_path / "demo.png")]) == 3
    assert "channel 1 (1-based)" in capsys.readouterr().err
    argv[4] = "3"  # a unit that responds to the default start image (noise of its receptive field)
    assert main(argv + ["--out", str(tmp_path / "noise.png")]) == 0
    assert capsys.readouterr().err == ""


def test_parity_record_refuses_a_degenerate_case_and_writes_nothing(tmp_path, capsys):
    black = _black_png(tmp_path / "black.png")
    out = tmp_path / "cases"
    argv = ["parity", "record", str(TINY), "--layer", "relu2", "--channels", "1:3", "--image", str(black)]
    assert main(argv + ["--iterations", "1", "--levels", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "channels 1..2 (1-based)" in err and "nothing was written" in err
    assert not out.exists()
    batch = tmp_path / "cases.toml"
    batch.write_text(
        f'[defaults]\nmodel = "{TINY}"\nlayer = "relu2"\niterations = 1\nlevels = 1\n'
        '[[case]]\nname = "fine"\nchannels = "3"\n'
        '[[case]]\nname = "black"\nchannels = "1"\nimage = "black.png"\n'
    )
    assert main(["parity", "record", "--batch", str(batch), "--out", str(out)]) == 2
    assert "'black'" in capsys.readouterr().err and not out.exists()  # the good case is not written either


def test_render_writes_and_exits_3_on_nan_images(tmp_path, capsys):
    """``deepdream render`` writes images too: a network that computes NaN (sqrt of negative sums) is said."""
    path = _nan_network(tmp_path / "nan.onnx", sign=-1.0)
    out = tmp_path / "r.png"
    argv = ["render", str(path), "--objective", "sqrt:1", "--size", "8", "--steps", "2", "--quiet", "--out", str(out)]
    assert main(argv) == 3
    line = capsys.readouterr().err.strip().splitlines()[-1]  # after the device line
    assert line.startswith("deepdream render: warning: 1 of 1 images are degenerate.") and "NaN or Inf" in line
    assert out.is_file()
