"""Data lost: every writer shares one output check (``deepdreamport.doors.outputs``).

Every output of every command: not empty, the extension of the format written,
not an input, not another output, not a folder, its folder exists and is
writable; refused before any work, one line, exit 2, nothing changed on disk.
Written through a temporary file renamed into place at the end.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ..conftest import REFERENCE
from .conftest import QUICK_DREAM, QUICK_RENDER, assert_refused, run, snapshot

CASES = REFERENCE / "cases"
MODELS = REFERENCE / "models"


def _link(tmp_path: Path, name: str, target: Path) -> Path:
    link = tmp_path / name
    os.symlink(target, link)
    return link


def _render(model, *extra):
    return ["render", model, "--objective", "conv2:1", *QUICK_RENDER, *extra]


def _dream(model, *extra):
    return ["dream", model, "--layer", "relu2", "--channels", "1", *QUICK_DREAM, *extra]


def _record(model, *extra):
    return [
        "parity",
        "record",
        model,
        "--layer",
        "relu2",
        "--channels",
        "1",
        "--iterations",
        "1",
        "--levels",
        "1",
        *extra,
    ]


# (command, argv from (tmp_path, model), words of the one line)
REFUSALS = {
    "render --out MODEL": ("render", lambda t, m: _render(m, "--out", m), ["--out", ".png"]),
    "render --npy MODEL": ("render", lambda t, m: _render(m, "--out", t / "r.png", "--npy", m), ["--npy", ".npy"]),
    "render --out r.txt": ("render", lambda t, m: _render(m, "--out", t / "r.txt"), ["--out", "'.txt'"]),
    "render --npy linked to the model": (
        "render",
        lambda t, m: _render(m, "--out", t / "r.png", "--npy", _link(t, "m.npy", m)),
        ["--npy", "is the model"],
    ),
    "render two outputs on one file": (
        "render",
        lambda t, m: _render(m, "--out", t / "a.png", "--npy", _link(t, "a.npy", t / "a.png")),
        ["--out and --npy name the same file"],
    ),
    "render --out a folder": ("render", lambda t, m: _render(m, "--out", t / "sub.png"), ["--out", "is a folder"]),
    "render --out in a missing folder": (
        "render",
        lambda t, m: _render(m, "--out", t / "no" / "r.png"),
        ["--out", "does not exist"],
    ),
    "render --out empty": ("render", lambda t, m: _render(m, "--out", ""), ["--out", "empty"]),
    "dream --mat linked to the model": (
        "dream",
        lambda t, m: _dream(m, "--out", t / "d.png", "--mat", _link(t, "m.mat", m)),
        ["--mat", "is the model"],
    ),
    "demo --out r.txt": ("demo", lambda t, m: ["demo", "--model", m, "--out", t / "r.txt"], ["--out", "'.txt'"]),
    "parity --junit-xml r.txt": (
        "parity",
        lambda t, m: ["parity", CASES, "--models", MODELS, "--junit-xml", t / "r.txt"],
        ["--junit-xml", ".xml"],
    ),
    "parity --junit-xml linked to a case": (
        "parity",
        lambda t, m: ["parity", CASES, "--models", MODELS, "--junit-xml", _link(t, "r.xml", next(CASES.glob("*.mat")))],
        ["--junit-xml", "is the case file"],
    ),
    "parity --junit-xml in a missing folder": (
        "parity",
        lambda t, m: ["parity", CASES, "--models", MODELS, "--junit-xml", t / "no" / "r.xml"],
        ["--junit-xml", "does not exist"],
    ),
    "parity --report the models folder": (
        "parity",
        lambda t, m: ["parity", CASES, "--models", MODELS, "--report", MODELS],
        ["--report", "is the --models folder"],
    ),
    "parity --report a file": (
        "parity",
        lambda t, m: ["parity", CASES, "--models", MODELS, "--report", m],
        ["--report", "is a file, not a folder"],
    ),
    "parity --report under a missing folder": (
        "parity",
        lambda t, m: ["parity", CASES, "--models", MODELS, "--report", t / "no" / "report"],
        ["--report", "does not exist"],
    ),
    "parity record --out an existing file": (
        "parity",
        lambda t, m: _record(m, "--out", t / "existing.txt"),
        ["--out", "is a file, not a folder"],
    ),
    "parity record --out the model": ("parity", lambda t, m: _record(m, "--out", m), ["--out", "is a file"]),
    "parity record --out under a file": (
        "parity",
        lambda t, m: _record(m, "--out", t / "existing.txt" / "cases"),
        ["--out", "existing.txt", "is a file, not a folder"],
    ),
    "parity record --out empty": ("parity", lambda t, m: _record(m, "--out", ""), ["--out", "empty"]),
    "atlas --out the model": ("atlas", lambda t, m: ["atlas", m, "--out", m], ["--out", "is a file, not a folder"]),
    "atlas --out empty": ("atlas", lambda t, m: ["atlas", m, "--out", ""], ["--out", "empty"]),
    "atlas --out under a missing folder": (
        "atlas",
        lambda t, m: ["atlas", m, "--out", t / "no" / "atlas"],
        ["--out", "does not exist"],
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_refused_before_any_work_and_nothing_changes(case, tmp_path, tiny_copy, capsys, monkeypatch):
    command, argv, words = REFUSALS[case]
    (tmp_path / "sub.png").mkdir()
    (tmp_path / "existing.txt").write_text("the user's own file")
    monkeypatch.chdir(tmp_path)
    arguments = argv(tmp_path, tiny_copy)
    before = snapshot(tmp_path)
    code, _, err = run(capsys, *arguments)
    assert_refused(code, err, command, *words)
    assert snapshot(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        {"tinynet.onnx", "sub.png", "existing.txt"}
        | {Path(str(a)).name for a in arguments if Path(str(a)).is_symlink()}
    )


def test_render_writes_jpeg_for_jpg_and_through_temporary_files(tmp_path, capsys):
    out, npy = tmp_path / "r.jpg", tmp_path / "r.npy"
    out.write_bytes(b"the previous montage")
    code, stdout, err = run(capsys, *_render(REFERENCE / "models" / "tinynet.onnx", "--out", out, "--npy", npy))
    assert code == 0, err
    with Image.open(out) as image:
        assert image.format == "JPEG"
    assert np.load(npy).shape == (1, 16, 16, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.jpg", "r.npy"]  # no .part left


def test_record_makes_its_folders_and_removes_them_when_the_run_is_refused(tmp_path, tiny_copy, capsys):
    out = tmp_path / "parity" / "cases"
    code, _, err = run(capsys, *_record(tiny_copy, "--out", out, "--size", "2x2"))  # smaller than relu2's field
    assert code == 2 and "InitialImage" in err and not (tmp_path / "parity").exists(), err
    code, stdout, err = run(capsys, *_record(tiny_copy, "--out", out))
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["tinynet_relu2_double.mat"]
    code, _, err = run(capsys, *_record(tiny_copy, "--out", out))
    assert_refused(code, err, "parity", "--out", "exists; pass --overwrite")
