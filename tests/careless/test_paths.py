"""Paths: spaces, ``~`` and ``$NAME``, names that are not UTF-8 or in another Unicode form, names too long,
read-only folders, an output whose parent is a file, symbolic links to case folders.

The rule (``deepdreamport.input_files``): every path of every command and door has a leading
``~`` expanded (as the shell does; so a quoted ``'~/m.onnx'`` and the Python door read as meant),
``$NAME`` is not expanded but a missing path that holds a set variable says so; messages print
paths readably (``\\xff`` for a byte that is not UTF-8, a long name cut in the middle, one line) and
name the argument; nothing is written when a path is refused.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import tempfile
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from deepdreamport import DeepDreamError, deep_dream_image, imwrite, load_network
from deepdreamport.optvis import render

from ..conftest import REFERENCE, REPO, TINYNET
from .conftest import QUICK_DREAM, QUICK_RENDER, assert_refused, run, snapshot

CASES = REFERENCE / "cases"
MODELS = REFERENCE / "models"
CASE = CASES / "tinynet_relu2_single_level.mat"
TOO_LONG = "a" * 300  # a name of 300 bytes: every common file system takes at most 255
NOT_UTF8 = os.fsdecode(b"\xff")  # what a name of the byte 0xff reads as (surrogate escape)
QUICK_PY = dict(num_iterations=1, pyramid_levels=1, random_state=3)


def _dream(model, *extra):
    return ["dream", model, "--layer", "conv2", "--channels", "1", *QUICK_DREAM, *extra]


def _render(model, *extra):
    return ["render", model, "--objective", "conv2:1", *QUICK_RENDER, *extra]


def _record(model, *extra):
    return ["parity", "record", model, "--layer", "conv2", "--channels", "1", "--levels", "1", "--iterations", "1",
            *extra]  # fmt: skip


def _atlas(model, *extra):
    return ["atlas", model, "--layers", "conv2", "--channels", "1", "--recipe", "matlab", "--levels", "1",
            "--iterations", "1", "--no-gallery", "--quiet", "--workers", "1", *extra]  # fmt: skip


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A home folder of its own holding ``tinynet.onnx`` (``~`` is ``$HOME`` to ``os.path.expanduser``)."""
    folder = tmp_path / "home"
    folder.mkdir()
    (folder / "tinynet.onnx").write_bytes(TINYNET.read_bytes())
    monkeypatch.setenv("HOME", str(folder))
    return folder


def test_paths_with_spaces_are_read_and_written_by_every_command(tmp_path, capsys):
    folder = tmp_path / "my models"
    folder.mkdir()
    model = folder / "tiny net.onnx"
    model.write_bytes(TINYNET.read_bytes())
    assert run(capsys, *_dream(model, "--out", folder / "a dream.png"))[0] == 0
    assert run(capsys, *_render(model, "--out", folder / "a render.png"))[0] == 0
    code, out, _ = run(capsys, "layers", model)
    assert code == 0 and "relu2" in out
    assert run(capsys, *_record(model, "--out", folder / "my cases"))[0] == 0
    code, out, _ = run(capsys, "parity", folder / "my cases", "--models", folder, "--json")
    assert code == 0 and json.loads(out)["passed"]
    assert (folder / "a dream.png").is_file() and (folder / "a render.png").is_file()


def test_a_leading_tilde_is_the_home_folder_in_every_command_and_the_python_door(home, capsys):
    assert run(capsys, *_dream("~/tinynet.onnx", "--out", "~/dream.png"))[0] == 0
    assert run(capsys, *_render("~/tinynet.onnx", "--out", "~/render.png"))[0] == 0
    assert run(capsys, "layers", "~/tinynet.onnx")[0] == 0
    assert run(capsys, "demo", "--model", "~/tinynet.onnx", "--layer", "conv2", "--channels", "1", *QUICK_DREAM,
               "--out", "~/demo.png")[0] == 0  # fmt: skip
    assert run(capsys, *_record("~/tinynet.onnx", "--out", "~/cases"))[0] == 0
    code, out, err = run(capsys, "parity", "~/cases", "--models", "~", "--json", "--junit-xml", "~/junit.xml")
    assert code == 0 and json.loads(out)["passed"], err
    for name in ("dream.png", "render.png", "demo.png", "cases/tinynet_conv2_double.mat", "junit.xml"):
        assert (home / name).exists(), name
    images = deep_dream_image("~/tinynet.onnx", "conv2", [0], **QUICK_PY)
    assert imwrite(images[0][:, :, :3], "~/door.png") == home / "door.png"
    assert load_network("~/tinynet.onnx").layers[1].name == "conv1"
    assert render("~/tinynet.onnx", "conv2:0", size=16, steps=1, progress=False).images.shape[0] == 1


def test_a_dollar_variable_is_not_expanded_and_the_message_says_so(home, capsys):
    code, _, err = run(capsys, "layers", "$HOME/tinynet.onnx")
    assert_refused(code, err, "layers", "MODEL: ONNX file '$HOME/tinynet.onnx' does not exist", "$HOME is not expanded")
    with pytest.raises(DeepDreamError, match=r"\$HOME is not expanded"):
        load_network("${HOME}/tinynet.onnx")


def test_names_that_are_not_utf8_are_read_written_and_printed(tmp_path, capsys):
    model = tmp_path / (NOT_UTF8 + ".onnx")
    model.write_bytes(TINYNET.read_bytes())
    out = tmp_path / (NOT_UTF8 + "out.png")
    code, stdout, err = run(capsys, *_dream(model, "--out", out))
    assert code == 0 and out.is_file(), err
    code, _, err = run(capsys, "layers", tmp_path / (NOT_UTF8 + "x.onnx"))
    assert_refused(code, err, "layers", "MODEL: ONNX file", "\\xffx.onnx' does not exist")
    assert "\\udc" not in err
    images = deep_dream_image(str(model), "conv2", [0], **QUICK_PY)
    assert images.shape[0] == 1


def test_a_name_that_is_not_utf8_is_printed_by_a_process_with_a_strict_utf8_output(tmp_path):
    """Python's UTF-8 output refuses surrogate escapes: the 'wrote' line would fail after the work (exit 1)."""
    name = b"\xffout.png"
    environment = dict(os.environ, PYTHONPATH=str(REPO), PYTHONIOENCODING="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "deepdreamport", *_dream(str(TINYNET), "--out", os.fsdecode(name))],
        cwd=tmp_path, env=environment, capture_output=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().startswith("wrote \\xffout.png (1 images of ")
    assert os.listdir(os.fsencode(tmp_path)) == [name]


def test_a_name_in_another_unicode_form_is_pointed_at(tmp_path, capsys):
    stored = unicodedata.normalize("NFD", "café.onnx")  # as macOS and some archives store it
    (tmp_path / stored).write_bytes(TINYNET.read_bytes())
    typed = tmp_path / unicodedata.normalize("NFC", "café.onnx")
    code, _, err = run(capsys, *_dream(typed, "--out", tmp_path / "o.png"))
    assert_refused(code, err, "dream", "MODEL: ONNX file", "another Unicode normalisation (NFC/NFD)")
    with pytest.raises(DeepDreamError, match="another Unicode normalisation"):
        load_network(str(typed))
    assert sorted(os.listdir(tmp_path)) == [stored]


def _too_long_cases(tmp_path: Path) -> list[tuple[str, list, str]]:
    long = tmp_path / TOO_LONG
    model = tmp_path / "tinynet.onnx"
    return [
        ("dream", _dream(long.with_suffix(".onnx"), "--out", tmp_path / "o.png"), "MODEL"),
        ("dream", _dream(model, "--out", long.with_suffix(".png")), "--out"),
        ("dream", _dream(model, "--out", tmp_path / "o.png", "--mat", long.with_suffix(".mat")), "--mat"),
        ("dream", _dream(model, "--out", tmp_path / "o.png", "--image", long.with_suffix(".png")), "--image"),
        ("demo", ["demo", "--model", long.with_suffix(".onnx")], "--model"),
        ("render", _render(model, "--out", long.with_suffix(".png")), "--out"),
        ("render", _render(long.with_suffix(".onnx"), "--out", tmp_path / "o.png"), "MODEL"),
        ("layers", ["layers", long.with_suffix(".onnx")], "MODEL"),
        ("atlas", _atlas(model, "--out", long, "--no-examples"), "--out"),
        ("atlas", _atlas(model, "--out", tmp_path / "atlas", "--examples", long), "--examples"),
        ("atlas", ["atlas", "--verify", long], "--verify"),
        ("serve", ["serve", long], "DIR"),
        ("parity", ["parity", long, "--models", MODELS], "PATH"),
        ("parity", ["parity", CASE, "--models", long], "--models"),
        ("parity", ["parity", CASE, "--models", MODELS, "--junit-xml", long.with_suffix(".xml")], "--junit-xml"),
        ("parity", ["parity", CASE, "--models", MODELS, "--report", long], "--report"),
        ("parity", _record(model, "--out", long), "--out"),
        ("parity", ["parity", "record", "--batch", long.with_suffix(".toml"), "--out", tmp_path / "c"], "--batch"),
    ]


def test_a_name_too_long_is_refused_naming_the_argument_in_every_command(tmp_path, capsys):
    (tmp_path / "tinynet.onnx").write_bytes(TINYNET.read_bytes())
    before = snapshot(tmp_path)
    for command, argv, argument in _too_long_cases(tmp_path):
        code, _, err = run(capsys, *argv)
        assert_refused(code, err, command, f"{argument}: ", "longer than the file system allows", "characters)")
        assert len(err) < 400, err  # the name is cut in the middle
        assert snapshot(tmp_path) == before and sorted(os.listdir(tmp_path)) == ["tinynet.onnx"], argv


def test_a_name_too_long_in_the_python_door_and_the_export_sweep(tmp_path, capsys):
    from benchmarks.export_sweep import main as export_sweep

    with pytest.raises(DeepDreamError, match="net: cannot use .* longer than the file system allows"):
        deep_dream_image(str(tmp_path / f"{TOO_LONG}.onnx"), "conv2", [0], **QUICK_PY)
    deep = "/".join(["b" * 200] * 30)  # every name fits, the path does not
    with pytest.raises(DeepDreamError, match="net: cannot use .* the path is longer than the system allows"):
        load_network(str(tmp_path / f"{deep}.onnx"))
    with pytest.raises(DeepDreamError, match="filename: cannot use .* longer than the file system allows"):
        imwrite(np.zeros((4, 4)), tmp_path / f"{TOO_LONG}.png")
    assert export_sweep([str(tmp_path / TOO_LONG), "resnet18_l17"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("export_sweep: error: OUT: cannot use") and "longer than the file system" in err
    assert os.listdir(tmp_path) == []


def test_an_output_name_near_the_limit_is_written(tmp_path, capsys):
    """Its temporary file keeps a prefix of the name: ``.NAME.<random>.part`` would pass the limit."""
    out = tmp_path / ("b" * 250 + ".png")
    code, _, err = run(capsys, *_dream(TINYNET, "--out", out))
    assert code == 0 and out.is_file(), err
    assert os.listdir(tmp_path) == [out.name]


@pytest.fixture
def read_only(tmp_path, monkeypatch) -> Path:
    """A folder no file can be created in: mode 0555 and, since root ignores modes, creating a file there fails
    as the kernel fails it for a user (EACCES)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    real_mkstemp = tempfile.mkstemp

    def mkstemp(*args, dir=None, **kwargs):
        if dir is not None and Path(dir).resolve() == folder.resolve():
            raise PermissionError(errno.EACCES, "Permission denied", str(Path(dir) / "x"))
        return real_mkstemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    folder.chmod(0o555)
    yield folder
    folder.chmod(0o755)


def test_a_read_only_output_folder_is_refused_before_any_work_in_every_command(tmp_path, read_only, capsys):
    from benchmarks.export_sweep import main as export_sweep

    cases = [
        ("dream", _dream(TINYNET, "--out", read_only / "o.png"), "--out: cannot write into the folder"),
        ("demo", ["demo", "--model", TINYNET, "--layer", "conv2", "--out", read_only / "o.png"], "--out: cannot"),
        ("render", _render(TINYNET, "--out", read_only / "o.png"), "--out: cannot write into the folder"),
        ("atlas", _atlas(TINYNET, "--out", read_only / "atlas", "--no-examples"), "--out: "),
        ("parity", ["parity", CASE, "--models", MODELS, "--report", read_only / "r"], "--report: "),
        ("parity", ["parity", CASE, "--models", MODELS, "--junit-xml", read_only / "j.xml"], "--junit-xml: cannot"),
        ("parity", _record(TINYNET, "--out", read_only), "--out: "),
    ]
    for command, argv, words in cases:
        code, _, err = run(capsys, *argv)
        assert_refused(code, err, command, words, "Permission denied")
        assert os.listdir(read_only) == [], argv
    assert export_sweep([str(read_only), "resnet18_l17"]) == 2
    assert "OUT: " in capsys.readouterr().err
    with pytest.raises(DeepDreamError, match="filename: cannot write into the folder .*Permission denied"):
        imwrite(np.zeros((4, 4)), read_only / "i.png")


def test_an_output_whose_parent_is_a_file_is_refused_in_every_command(tmp_path, capsys):
    model = tmp_path / "tinynet.onnx"
    model.write_bytes(TINYNET.read_bytes())
    inside = model / "x"  # the model file as a folder
    cases = [
        ("dream", _dream(model, "--out", inside / "o.png")),
        ("dream", _dream(model, "--out", tmp_path / "o.png", "--npy", inside / "o.npy")),
        ("render", _render(model, "--out", inside / "o.png")),
        ("atlas", _atlas(model, "--out", inside, "--no-examples")),
        ("parity", ["parity", CASE, "--models", MODELS, "--report", inside]),
        ("parity", ["parity", CASE, "--models", MODELS, "--junit-xml", inside / "j.xml"]),
        ("parity", _record(model, "--out", inside / "cases")),
    ]
    before = snapshot(tmp_path)
    for command, argv in cases:
        code, _, err = run(capsys, *argv)
        assert_refused(code, err, command, f"{str(model)!r} in ", "is a file, not a folder")
        assert snapshot(tmp_path) == before, argv
    code, _, err = run(capsys, "layers", inside / "m.onnx")
    assert_refused(code, err, "layers", "cannot exist:", f"{str(model)!r} is a file, not a folder")
    with pytest.raises(DeepDreamError, match="is a file, not a folder"):
        imwrite(np.zeros((4, 4)), inside / "i.png")
    assert snapshot(tmp_path) == before


def test_symlinked_folders_in_a_cases_folder_are_searched_once(tmp_path, capsys):
    """``cases/shared -> elsewhere`` is searched (``Path.rglob`` skipped it); two links to one folder list its
    cases once; a link back up the tree (above the cases folder too) is not followed."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "linked.mat").write_bytes(CASE.read_bytes())
    cases = tmp_path / "cases"
    cases.mkdir()
    (cases / "own.mat").write_bytes(CASE.read_bytes())
    (cases / "shared").symlink_to(elsewhere)
    (cases / "shared_again").symlink_to(elsewhere)
    (cases / "up").symlink_to("..")
    code, out, err = run(capsys, "parity", cases, "--models", MODELS, "--json")
    assert code == 0, err
    found = [json.loads(line)["case"] for line in out.splitlines()]
    assert found == ["own", "linked"]  # cases/own.mat and cases/shared/linked.mat, each once

    from deepdreamport.parity import find_cases

    assert find_cases([cases]) == [cases / "own.mat", cases / "shared" / "linked.mat"]
