"""Bad numbers and bad options: one line naming the option and what it takes, exit 2, no usage block.

Every sub-command's parser is a ``CommandParser`` (``deepdreamport.doors.arguments``)
and every numeric option has a typed converter, so a bad value is refused while
the arguments are parsed, before anything is imported or read.
"""

from __future__ import annotations

import argparse

import pytest

from deepdreamport.cli import main
from deepdreamport.doors import arguments

from ..conftest import TINYNET
from .conftest import assert_refused, run

DREAM = ["dream", TINYNET, "--layer", "relu2", "--channels", "1", "--out", "x.png"]
DEMO = ["demo"]
RENDER = ["render", TINYNET, "--objective", "conv2:1", "--out", "x.png"]
RECORD = ["parity", "record", TINYNET, "--layer", "relu2", "--channels", "1", "--out", "cases"]
ATLAS = ["atlas", TINYNET, "--out", "atlas"]

# (command line, the option and the words of its one line)
BAD_NUMBERS = [
    (DREAM + ["--levels", "2.5"], "dream", ["--levels", "integer ≥ 1", "'2.5'"]),
    (DREAM + ["--seed", "abc"], "dream", ["--seed", "0..2^32-1", "'abc'"]),
    (DREAM + ["--seed", "-1"], "dream", ["--seed", "'-1'"]),
    (DREAM + ["--seed", "4294967296"], "dream", ["--seed", "'4294967296'"]),
    (DREAM + ["--iterations", "0"], "dream", ["--iterations", "integer ≥ 1"]),
    (DREAM + ["--scale", "1"], "dream", ["--scale", "> 1"]),
    (DREAM + ["--scale", "nan"], "dream", ["--scale", "finite"]),
    (DREAM + ["--scale", "inf"], "dream", ["--scale", "finite"]),
    (DREAM + ["--max-batch", "0"], "dream", ["--max-batch", "integer ≥ 1"]),
    (DREAM + ["--tile-size", "-3"], "dream", ["--tile-size", "integer ≥ 1"]),
    (DEMO + ["--levels", "two"], "demo", ["--levels", "'two'"]),
    (DEMO + ["--scaling", "log"], "demo", ["--scaling", "invalid choice"]),
    (RENDER + ["--size", "0"], "render", ["--size", "integer ≥ 1", "'0'"]),
    (RENDER + ["--steps", "-1"], "render", ["--steps", "integer ≥ 1"]),
    (RENDER + ["--lr", "nan"], "render", ["--lr", "finite number > 0"]),
    (RENDER + ["--lr", "0"], "render", ["--lr", "> 0"]),
    (RENDER + ["--population", "1"], "render", ["--population", "integer ≥ 2"]),
    (RENDER + ["--input-range", "5,1"], "render", ["--input-range", "LOW < HIGH", "'5,1'"]),
    (RENDER + ["--input-range", "1,1"], "render", ["--input-range", "LOW < HIGH"]),
    (RENDER + ["--input-range", "0,inf"], "render", ["--input-range", "finite"]),
    (RENDER + ["--input-range", "nan,1"], "render", ["--input-range", "finite"]),
    (RENDER + ["--input-range", "0"], "render", ["--input-range", "LOW,HIGH"]),
    (RENDER + ["--seed", "1e3"], "render", ["--seed", "'1e3'"]),
    (RENDER + ["--dtype", "float16"], "render", ["--dtype", "invalid choice"]),
    (RECORD + ["--iterations", "0"], "parity", ["--iterations", "integer ≥ 1"]),
    (RECORD + ["--levels", "x"], "parity", ["--levels", "'x'"]),
    (RECORD + ["--scale", "0.5"], "parity", ["--scale", "> 1"]),
    (RECORD + ["--size", "0x4"], "parity", ["--size", "sides ≥ 1"]),
    (RECORD + ["--size", "big"], "parity", ["--size", "HxW"]),
    (RECORD + ["--seed", "-5"], "parity", ["--seed", "'-5'"]),
    (RECORD + ["--tile-size", "0"], "parity", ["--tile-size", "integer ≥ 1"]),
    (ATLAS + ["--batch", "0"], "atlas", ["--batch", "integer ≥ 1"]),
    (ATLAS + ["--workers", "x"], "atlas", ["--workers", "'x'"]),
    (ATLAS + ["--seed", "-1"], "atlas", ["--seed"]),
    (ATLAS + ["--levels", "0"], "atlas", ["--levels", "integer ≥ 1"]),
    (ATLAS + ["--scale", "1"], "atlas", ["--scale", "> 1"]),
    (ATLAS + ["--size", "0"], "atlas", ["--size", "integer ≥ 1"]),
    (ATLAS + ["--steps", "0"], "atlas", ["--steps"]),
    (ATLAS + ["--max-attempts", "0"], "atlas", ["--max-attempts"]),
    (["serve", ".", "--port", "70000"], "serve", ["--port", "0..65535"]),
]


@pytest.mark.parametrize(
    "argv, command, words", BAD_NUMBERS, ids=[" ".join(map(str, a[-2:])) for a, _, _ in BAD_NUMBERS]
)
def test_a_bad_number_is_one_line_naming_the_option(argv, command, words, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, *argv)
    assert_refused(code, err, command, *words)
    assert f"see `deepdream {command} --help`" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "argv, prog, words",
    [
        ([], "deepdream", ["required", "command"]),
        (["dreem"], "deepdream", ["invalid choice", "'dreem'"]),
        (["dream", TINYNET], "deepdream dream", ["required", "--layer", "--channels", "--out"]),
        (DREAM + ["--levle", "2"], "deepdream dream", ["unrecognized arguments", "did you mean --levels?"]),
        (RENDER + ["--sise", "3"], "deepdream render", ["did you mean --size?"]),
        (["atlas", "--verify", "x", "--wokers", "2"], "deepdream atlas", ["did you mean --workers?"]),
        (DREAM + ["--size", "64"], "deepdream dream", ["--size: did you mean --tile-size?"]),
        (["atlas", "--verify", "x", "--units", "2"], "deepdream atlas", ["unrecognized arguments: --units (see"]),
        (["layers", TINYNET, "--out", "x"], "deepdream layers", ["unrecognized arguments: --out x (see"]),
    ],
)
def test_usage_mistakes_are_one_line(argv, prog, words, capsys):
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith(f"{prog}: error: "), err
    assert "usage:" not in err
    for word in words:
        assert word in err, (word, err)


def test_help_still_prints_usage_and_exits_0(capsys):
    assert main(["render", "--help"]) == 0
    assert "usage: deepdream render" in capsys.readouterr().out


def test_the_stand_alone_entries_share_the_one_line_errors(capsys):
    from deepdreamport.atlas.__main__ import main as atlas_main
    from deepdreamport.parity.cli import main as parity_main

    assert parity_main(["record", str(TINYNET), "--levels", "2.5"]) == 2
    assert capsys.readouterr().err.strip().startswith("deepdream parity: error: --levels: expected an integer ≥ 1")
    assert atlas_main(["atlas", str(TINYNET), "--out", "x", "--batch", "0"]) == 2
    assert capsys.readouterr().err.strip().startswith("deepdream atlas: error: --batch: expected an integer ≥ 1")


@pytest.mark.parametrize(
    "convert, good, bad",
    [
        (arguments.positive_int, {"1": 1, " 7 ": 7}, ["0", "-1", "2.5", "", "1e3"]),
        (arguments.seed, {"0": 0, "4294967295": 4294967295}, ["-1", "4294967296", "x"]),
        (arguments.scale_above_one, {"1.4": 1.4}, ["1", "0.5", "nan", "inf", "x"]),
        (arguments.positive_float, {"0.05": 0.05}, ["0", "-1", "nan", "inf"]),
        (arguments.number_pair, {"0,255": (0.0, 255.0), "-1,1": (-1.0, 1.0)}, ["5,1", "1,1", "0,nan", "1", "a,b"]),
        (arguments.image_size, {"64x32": (64, 32), "5,6": (5, 6)}, ["0x4", "4", "axb"]),
        (arguments.port, {"0": 0, "65535": 65535}, ["-1", "65536"]),
    ],
)
def test_the_converters(convert, good, bad):
    for text, value in good.items():
        assert convert(text) == value
    for text in bad:
        with pytest.raises(argparse.ArgumentTypeError, match="expected"):
            convert(text)


@pytest.mark.parametrize("extra", [["--scale", "1e308"], ["--levels", "100000000"]], ids=["scale 1e308", "levels 1e8"])
def test_a_pyramid_no_memory_could_hold_is_refused_not_overflowed(extra, capsys, tmp_path):
    """Well-formed but absurd numbers: the level sizes would overflow (an internal error before)."""
    code, _, err = run(capsys, *DREAM[:-1], tmp_path / "x.png", "--iterations", "1", *extra)
    assert_refused(code, err, "dream", "PyramidLevels, PyramidScale: the last of", "pixels on a side")
    from deepdreamport import DeepDreamError, deep_dream_image

    with pytest.raises(DeepDreamError, match="pixels on a side"):
        deep_dream_image(str(TINYNET), "relu2", 0, num_iterations=1, pyramid_scale=1e308)
