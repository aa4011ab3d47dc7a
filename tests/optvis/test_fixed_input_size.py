"""render on a network whose input size is fixed and not square (an ONNX graph of input 1×3×32×48).

Reference: onnxruntime runs the graph only at its declared 32×48; a rendered image must be one it takes. A size
the fully connected layer cannot take is refused in one line naming ``--size``/``size=`` and the expected 32×48.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch

from deepdreamport.cli import main
from deepdreamport.errors import DeepDreamError
from deepdreamport.optvis import render
from deepdreamport.optvis.gradient_free import render_gradient_free


class _Wide(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.fc = torch.nn.Linear(4 * 32 * 48, 5)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).flatten(1))


@pytest.fixture(scope="module")
def wide_graph(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("wide") / "wide.onnx"
    torch.onnx.export(_Wide().eval(), torch.rand(1, 3, 32, 48), str(path), opset_version=17, dynamo=False)
    return str(path)


def _runs_in_onnxruntime(path: str, images: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(path)
    pixels = images.transpose(0, 3, 1, 2).astype(np.float32) * 255  # the graph takes 0–255 (no input mean)
    return session.run(None, {session.get_inputs()[0].name: pixels})[0]


def _one_line(message: str, *words: str) -> None:
    assert "\n" not in message.strip(), message
    for word in words:
        assert word in message, (word, message)


def test_the_default_size_is_refused_naming_the_networks_height_and_width(wide_graph):
    with pytest.raises(DeepDreamError) as refused:
        render(wide_graph, "/fc/Gemm:1", steps=1, progress=False, device="cpu")
    _one_line(str(refused.value), "128×128", "32×48", "size=(32, 48)", "--size 32x48", "'/fc/Gemm'")
    with pytest.raises(DeepDreamError) as refused:  # the size, but the transforms change it
        render(wide_graph, "/fc/Gemm:1", size=(32, 48), steps=1, progress=False, device="cpu")
    _one_line(str(refused.value), "32×48 images transformed by --transforms standard", "transforms='none'")
    with pytest.raises(DeepDreamError) as refused:
        render_gradient_free(wide_graph, "/fc/Gemm:1", population=4, generations=1)
    _one_line(str(refused.value), "64×64", "size=(32, 48)")


def test_the_networks_size_renders_images_it_takes(wide_graph):
    result = render(wide_graph, "/fc/Gemm:1", size=(32, 48), transforms="none", steps=3, progress=False, device="cpu")
    assert result.images.shape == (1, 32, 48, 3)
    assert _runs_in_onnxruntime(wide_graph, result.images).shape == (1, 5)
    free = render_gradient_free(wide_graph, "/fc/Gemm:2", size=(32, 48), frequencies=2, population=4, generations=2)
    assert free.images.shape == (1, 32, 48, 3)
    assert _runs_in_onnxruntime(wide_graph, free.images).shape == (1, 5)
    # the convolution takes any size: the default square still renders it
    assert render(wide_graph, "/conv/Conv:0", size=16, steps=1, progress=False, device="cpu").images.shape[1:3] == (
        16,
        16,
    )


def test_the_command_line_takes_height_x_width(wide_graph, tmp_path, capsys):
    common = ["render", wide_graph, "--objective", "/fc/Gemm:2", "--steps", "2", "--quiet", "--device", "cpu"]
    code = main([*common, "--out", str(tmp_path / "a.png")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    _one_line(err, "deepdream render: error: --size", "32×48", "--size 32x48 --transforms none")
    assert list(tmp_path.iterdir()) == []
    npy = tmp_path / "b.npy"
    argv = [*common, "--size", "32x48", "--transforms", "none", "--out", str(tmp_path / "b.png"), "--npy", str(npy)]
    code = main(argv)
    out = capsys.readouterr().out
    assert code == 0 and "images of 32x48" in out, out
    images = np.load(npy)
    assert images.shape == (1, 32, 48, 3)
    assert _runs_in_onnxruntime(wide_graph, images).shape == (1, 5)
    code = main(
        [*common, "--size", "32x48", "--optimizer", "cmaes", "--population", "4", "--out", str(tmp_path / "c.png")]
    )
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()
    for bad in ("0x48", "32x", "32x48x3"):
        code = main([*common, "--size", bad, "--out", str(tmp_path / "d.png")])
        err = capsys.readouterr().err.strip()
        assert code == 2 and len(err.splitlines()) == 1 and "--size" in err and "HEIGHTxWIDTH" in err, err
