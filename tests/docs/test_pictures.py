"""The scripts that make the documentation's pictures, at small size (the committed ones are their full size).

``docs/optvis/make_gallery.sh`` runs from a fresh shell without the venv on ``PATH`` (it finds
``.venv/bin/python`` itself); ``docs/make_pictures.py`` makes the optvis gallery, the demo montage
and the parity report picture. (``docs/atlas/make_screenshots.py`` is run by
``tests/atlas/test_gallery.py``.)
"""

from __future__ import annotations

import importlib.util
import subprocess

import pytest
from PIL import Image

from ..conftest import REPO
from .code_blocks import make_workspace, workspace_environment

GALLERY = ("fft", "pixel", "laplacian", "maco", "cppn", "cmaes")


def _make_pictures():
    spec = importlib.util.spec_from_file_location("make_pictures", REPO / "docs" / "make_pictures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_pictures_are_there():
    for path in ["docs/pictures/demo.png", "docs/pictures/parity-report.png",
                 *(f"docs/optvis/gallery-{name}.png" for name in GALLERY)]:  # fmt: skip
        with Image.open(REPO / path) as picture:
            assert picture.width >= 256 and picture.height >= 128, path


def test_the_gallery_script_finds_the_venv_itself(tmp_path):
    """``sh docs/optvis/make_gallery.sh`` from a shell without the venv on PATH reaches the picture script
    (``--help``: the script's own options, without a render)."""
    workspace = make_workspace(tmp_path / "workspace")
    done = subprocess.run(
        ["sh", "docs/optvis/make_gallery.sh", "--help"],
        cwd=workspace, env=workspace_environment(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "--small" in done.stdout and "gallery" in done.stdout


@pytest.mark.slow
def test_every_picture_at_small_size(tmp_path, capsys):
    assert _make_pictures().main(["--small", "--out", str(tmp_path)]) == 0
    for name in GALLERY:
        with Image.open(tmp_path / f"gallery-{name}.png") as picture:
            assert min(picture.size) >= 2 * 128  # four labelled units, two by two, each enlarged to 128 px
    with Image.open(tmp_path / "demo.png") as demo:
        assert demo.width > demo.height >= 128  # --small: two channels side by side
    with Image.open(tmp_path / "parity-report.png") as report:
        assert report.height > report.width // 2  # three strips stacked: reference, port, difference
    assert "FAIL (numeric)" in capsys.readouterr().out
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        ["demo.png", "parity-report.png", *(f"gallery-{name}.png" for name in GALLERY)]
    )
