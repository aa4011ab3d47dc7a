"""One numbering on the command line: channels (and layer rows) count from 1 in every command; 0 in the Python API.

``render --objective LAYER:C`` counted from 0 while ``dream``, ``atlas``, ``parity record``
and the README counted from 1: the same number rendered another unit. Now every
command reads 1-based channels, says so in its messages, help and montage labels.
"""

from __future__ import annotations

import numpy as np
import pytest

from deepdreamport import DeepDreamError
from deepdreamport.optvis import cli as render_cli
from deepdreamport.optvis.rendering import render

from ..conftest import TINYNET
from .conftest import QUICK_DREAM, QUICK_RENDER, assert_refused, run

REFUSED = [
    (["render", TINYNET, "--objective", "conv2:0", *QUICK_RENDER], "render", ["channel", "counted from 1", "got 0"]),
    (["render", TINYNET, "--objective", "conv2:-1", *QUICK_RENDER], "render", ["channel", "from 1", "'-1'"]),
    (["render", TINYNET, "--objective", "conv2:1,conv2:7", *QUICK_RENDER], "render", ["channel 7", "1..6"]),
    (["render", TINYNET, "--objective", "input:4", *QUICK_RENDER], "render", ["channel 4 of 'input'", "1..3"]),
    (["dream", TINYNET, "--layer", "relu2", "--channels", "0", *QUICK_DREAM], "dream", ["1-based", "0"]),
    (["dream", TINYNET, "--layer", "relu2", "--channels", "7", *QUICK_DREAM], "dream", ["1..6", "7"]),
    (["atlas", TINYNET, "--layers", "conv2", "--channels", "0"], "atlas", ["--channels", "1-based"]),
    (["parity", "record", TINYNET, "--layer", "relu2", "--channels", "0"], "parity", ["--channels", "1-based"]),
]


@pytest.mark.parametrize("argv, command, words", REFUSED, ids=[" ".join(map(str, a[2:4])) for a, _, _ in REFUSED])
def test_channel_numbers_below_one_or_past_the_layer_are_refused_in_1_based_words(
    argv, command, words, tmp_path, capsys
):
    code, _, err = run(capsys, *argv, "--out", tmp_path / ("out" if command in ("atlas", "parity") else "x.png"))
    assert_refused(code, err, command, *words)
    assert list(tmp_path.iterdir()) == []


def test_render_channel_1_is_the_python_apis_channel_0(tmp_path, capsys, monkeypatch):
    labels = []
    original = render_cli.montage
    monkeypatch.setattr(
        render_cli,
        "montage",
        lambda images, names, **style: (labels.extend(names), original(images, names, **style))[1],
    )
    code, _, err = run(capsys, "render", TINYNET, "--objective", "conv2:1", *QUICK_RENDER, "--npy", tmp_path / "r.npy",
                       "--out", tmp_path / "r.png")  # fmt: skip
    assert code == 0, err
    assert labels == ["conv2 ch 1"]
    np.testing.assert_array_equal(np.load(tmp_path / "r.npy"), render(str(TINYNET), "conv2:0", size=16, steps=1).images)
    with pytest.raises(DeepDreamError, match="0..5"):  # the Python API stays 0-based
        render(str(TINYNET), "conv2:6", size=16, steps=1)


def test_help_says_channels_count_from_1(capsys):
    from deepdreamport.cli import main

    for command in ("render", "dream", "atlas", "parity"):
        assert main([command, "--help"]) == 0
        text = " ".join(capsys.readouterr().out.split())
        assert "1-based" in text or "count from 1" in text, command


def test_the_atlas_prints_1_based_render_commands():
    """The gallery's "reproduce this unit" line for the lucid recipe: channel 3 of the atlas is conv2:3 to render."""
    from deepdreamport.atlas.recipes import get_recipe

    recipe = get_recipe("lucid")
    line = recipe.command_line("m.onnx", "conv2", 3, recipe.parameters({}), 0)
    assert "--objective conv2:3" in line and "unit_3.png" in line
