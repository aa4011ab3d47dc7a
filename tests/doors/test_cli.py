"""The ``deepdream`` command: dream, layers, demo, --help, errors and atomic outputs."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import scipy.io
from PIL import Image

from deepdreamport import deep_dream_image
from deepdreamport.cli import main
from deepdreamport.doors import cli, outputs

from ..conftest import REFERENCE

TINY = REFERENCE / "models" / "tinynet.onnx"


def deepdream(*args, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "deepdreamport", *map(str, args)], capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.slow
def test_dream_writes_montage_mat_and_npy(tmp_path):
    out, mat, npy = tmp_path / "dream.png", tmp_path / "dream.mat", tmp_path / "dream.npy"
    done = deepdream(
        "dream",
        TINY,
        "--layer",
        "relu2",
        "--channels",
        "1:2:5",
        "--levels",
        2,
        "--iterations",
        2,
        "--seed",
        3,
        "--verbose",
        "--out",
        out,
        "--mat",
        mat,
        "--npy",
        npy,
    )
    assert done.returncode == 0, done.stderr
    assert "|  Iteration  |  Activation  |  Pyramid Level  |" in done.stdout
    expected = deep_dream_image(TINY, "relu2", [0, 2, 4], num_iterations=2, pyramid_levels=2, random_state=3)
    array = np.load(npy)
    assert array.shape == expected.transpose(1, 2, 3, 0).shape  # H×W×C×K, MATLAB layout
    np.testing.assert_array_equal(array, expected.transpose(1, 2, 3, 0))
    record = scipy.io.loadmat(mat)
    np.testing.assert_array_equal(record["I"], array)
    np.testing.assert_array_equal(record["channels"], [[1, 3, 5]])
    with Image.open(out) as image:
        assert image.format == "PNG" and image.mode == "RGB" and image.width > 128
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dream.mat", "dream.npy", "dream.png"]  # no temp files


@pytest.mark.slow
def test_failing_run_leaves_no_partial_output(tmp_path):
    out, npy = tmp_path / "dream.png", tmp_path / "dream.npy"
    out.write_bytes(b"previous")
    done = deepdream("dream", TINY, "--layer", "relu2", "--channels", "1,7", "--out", out, "--npy", npy)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert (
        len(lines) == 1
        and lines[0].startswith("deepdream dream: error:")
        and "channels" in lines[0]
        and "7" in lines[0]
    )
    assert "Traceback" not in done.stderr
    assert out.read_bytes() == b"previous" and not npy.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dream.png"]


@pytest.mark.slow
def test_help_on_every_command():
    done = deepdream("--help")
    assert done.returncode == 0 and all(c in done.stdout for c in ("dream", "layers", "demo", "parity"))
    for command in ("dream", "layers", "demo", "parity"):
        assert main([command, "--help"]) == 0


@pytest.mark.parametrize(
    "args, words",
    [
        (["--channels", "1:x"], ["--channels"]),
        (["--channels", "3:1"], ["empty"]),
        (["--channels", "0:2"], ["channels", "1-based"]),
        (["--layer", "nope"], ["layer", "nope", "relu2"]),
        (["--iterations", "0"], ["--iterations"]),
        (["--scale", "1"], ["--scale", "> 1"]),
        (["--image", "missing.png"], ["--image"]),
        (["--out", "no/such/folder/x.png"], ["--out", "does not exist"]),
    ],
)
def test_bad_input_one_line_error(tmp_path, capsys, args, words):
    base = {"--layer": "relu2", "--channels": "1", "--out": str(tmp_path / "x.png")}
    for flag, value in zip(args[::2], args[1::2]):
        base[flag] = value
    argv = ["dream", str(TINY), "--levels", "1", "--iterations", "1"] + [a for pair in base.items() for a in pair]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("deepdream dream: error:")
    for word in words:
        assert word in err
    assert not (tmp_path / "x.png").exists()


def test_missing_model_is_one_line_error(tmp_path, capsys):
    assert (
        main(
            ["dream", str(tmp_path / "none.onnx"), "--layer", "a", "--channels", "1", "--out", str(tmp_path / "o.png")]
        )
        == 2
    )
    assert "does not exist" in capsys.readouterr().err


def test_initial_image_from_png(tmp_path, capsys):
    source = tmp_path / "in.png"
    Image.fromarray(np.random.RandomState(0).randint(0, 255, (20, 24, 3), dtype=np.uint8)).save(source)
    assert (
        main(
            [
                "dream",
                str(TINY),
                "--layer",
                "relu1",
                "--channels",
                "2",
                "--image",
                str(source),
                "--levels",
                "1",
                "--iterations",
                "1",
                "--npy",
                str(tmp_path / "o.npy"),
                "--out",
                str(tmp_path / "o.png"),
            ]
        )
        == 0
    )
    assert np.load(tmp_path / "o.npy").shape == (20, 24, 3, 1)
    assert "wrote" in capsys.readouterr().out


def test_demo_without_the_default_model(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "default_model", lambda: tmp_path / "absent.onnx")
    assert main(["demo", "--out", str(tmp_path / "demo.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "./dev setup" in err


def test_demo_runs_the_main_job(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "default_model", lambda: TINY)
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--layer", "relu2", "--channels", "1:3"]) == 0  # makes its default folder out/
    assert (tmp_path / "out" / "demo.png").is_file()


@pytest.mark.parametrize("command", ["demo", "dream"])
def test_demo_and_dream_refuse_a_missing_folder_alike(tmp_path, monkeypatch, capsys, command):
    monkeypatch.setattr(cli, "default_model", lambda: TINY)
    out = tmp_path / "sub" / "demo.png"
    model = [str(TINY)] if command == "dream" else []
    argv = [command, *model, "--layer", "relu2", "--channels", "1:3", "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--out" in err and "does not exist" in err
    assert not (tmp_path / "sub").exists()


@pytest.mark.slow
def test_layers_prints_the_layer_table():
    done = deepdream("layers", TINY)
    assert done.returncode == 0, done.stderr
    for name in ("conv1", "relu2", "fc"):
        assert name in done.stdout


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("1:8", list(range(1, 9))),
        ("1:2:9", [1, 3, 5, 7, 9]),
        ("1,3,5", [1, 3, 5]),
        ("1:3,7", [1, 2, 3, 7]),
        ("5:-2:1", [5, 3, 1]),
        ("4", [4]),
        (" 2, 2 ", [2, 2]),
    ],
)
def test_parse_channels(spec, expected):
    assert cli.parse_channels(spec) == expected


@pytest.mark.parametrize("spec", ["", "a", "1:", "1:2:3:4", "1:0:5", "5:1", "1.5"])
def test_parse_channels_rejects(spec):
    with pytest.raises(cli.CommandError):
        cli.parse_channels(spec)


def test_write_atomic_never_leaves_half_a_file(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")

    def broken(handle):
        handle.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        outputs.write_atomic(target, broken)
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["out.bin"]
    outputs.write_atomic(target, lambda handle: handle.write(b"new"))
    assert target.read_bytes() == b"new" and [p.name for p in tmp_path.iterdir()] == ["out.bin"]
