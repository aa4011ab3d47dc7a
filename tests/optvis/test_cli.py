"""``deepdream render`` (channels counted from 1 on the command line, 0 in the Python API)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from deepdreamport.cli import main
from deepdreamport.optvis.rendering import render

from .conftest import TINYNET


def _run(argv):
    return main(argv)


def test_render_writes_montage_and_npy(tmp_path, capsys):
    out, npy = tmp_path / "x.png", tmp_path / "x.npy"
    code = _run(
        [
            "render",
            str(TINYNET),
            "--objective",
            "conv2:1,conv2:3",
            "--steps",
            "3",
            "--size",
            "24",
            "--out",
            str(out),
            "--npy",
            str(npy),
            "--quiet",
        ]
    )
    assert code == 0
    images = np.load(npy)
    assert images.shape == (2, 24, 24, 3)
    assert Image.open(out).size[0] > 100
    assert "wrote" in capsys.readouterr().out
    # conv2:1 and conv2:3 on the command line are channels 0 and 2 of the Python API, element by element
    expected = render(str(TINYNET), "conv2:0,conv2:2", steps=3, size=24).images
    np.testing.assert_array_equal(images, expected)


def test_gradient_free_from_the_command_line(tmp_path):
    out = tmp_path / "x.png"
    assert (
        _run(
            [
                "render",
                str(TINYNET),
                "--objective",
                "conv2:1",
                "--optimizer",
                "ga",
                "--steps",
                "2",
                "--population",
                "4",
                "--size",
                "24",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    assert out.is_file()


def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    cases = [
        (["--objective", "conv2:99"], "--objective: channel 99 of 'conv2' is out of range; it has channels 1..6"),
        (["--objective", "conv2:0"], "--objective: channel 0 in 'conv2:0' is not a channel"),
        (["--objective", "nope:1"], "objective: the network has no layer named 'nope'"),
        (["--objective", "conv2:1", "--steps", "0"], "--steps: expected an integer ≥ 1; got '0'"),
        (["--objective", "conv2:1", "--transforms", "spin"], "transforms: unknown transform 'spin'"),
        (["--objective", "conv2:1", "--input-range", "0"], "--input-range: expected LOW,HIGH"),
    ]
    for extra, message in cases:
        code = _run(["render", str(TINYNET), *extra, "--size", "16", "--out", str(tmp_path / "y.png"), "--quiet"])
        error = capsys.readouterr().err.strip()
        assert code == 2 and message in error and "\n" not in error, error
    assert not (tmp_path / "y.png").exists()
    assert _run(["render", str(tmp_path / "missing.onnx"), "--objective", "a:1", "--out", "z.png"]) == 2
