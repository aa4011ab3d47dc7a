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
    sheet = Image.open(out)
    assert sheet.size[0] > 100
    top_left = (images[0, 0, 0] * 255).round().astype(int)  # shown as it is (0–1), not stretched to its range
    assert np.array_equal(np.asarray(sheet.getpixel((4, 4 + 16)))[:3], top_left)
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
        (["--objective", "conv2:99"], "--objective: at column 7: channel 99 of 'conv2' is out of range"),
        (["--objective", "conv2:0"], "--objective: at column 7: expected a channel counted from 1"),
        (["--objective", "nope:1"], "--objective: at column 1: expected a unit LAYER:CHANNEL with a layer of the"),
        (["--objective", "conv2:1 - 1e2*diversty(conv2)"], "expected an objective's name (nearest: diversity"),
        (["--objective", "conv2:1", "--device", "cuda:7"], "device: 'cuda:7' was requested but"),
        (["--objective", "conv2:1", "--optimizer", "ga", "--batch", "2"], "--batch: the gradient-free optimisers"),
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


def test_the_objective_language_and_a_batch(tmp_path, capsys):
    out, npy, direction = tmp_path / "x.png", tmp_path / "x.npy", tmp_path / "d.npy"
    np.save(direction, np.linspace(-1, 1, 6))
    objective = f"0.5*conv2:3 - 1e2*diversity(conv2) + direction(relu2, {direction})"
    argv = ["render", str(TINYNET), "--objective", objective, "--batch", "2", "--steps", "2", "--size", "16"]
    assert _run(argv + ["--transforms", "none", "--out", str(out), "--npy", str(npy), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert np.load(npy).shape == (2, 16, 16, 3) and "wrote" in captured.out
    assert captured.err.strip().splitlines()[0].startswith("deepdream render: running on ")


def test_a_torch_export_file_as_the_model(tmp_path):
    import torch

    module = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Conv2d(4, 5, 3)).eval()
    torch.export.save(torch.export.export(module, (torch.zeros(1, 3, 16, 16),)), tmp_path / "net.pt2")
    out = tmp_path / "x.png"
    argv = ["render", str(tmp_path / "net.pt2"), "--objective", "2:5,neuron(1:2)", "--steps", "1", "--size", "16"]
    assert _run(argv + ["--out", str(out), "--quiet"]) == 0 and out.is_file()
