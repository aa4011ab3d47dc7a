"""What the ``deepdream`` command and ``import deepdreamport`` import (functional checks, no timings).

Parsing arguments and every ``--help`` must not import torch (2 s) or onnx2torch (1.7 s);
``deepdream demo`` must import only the dream path. The public names of each lazy package
(:mod:`deepdreamport._lazy`) must resolve to the objects their modules define.
"""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from deepdreamport.atlas.commands import BUILT_IN_RECIPES
from tests.conftest import REPO

HEAVY = ("torch", "torchvision", "onnx", "onnx2torch", "onnxruntime", "scipy", "skimage", "jinja2", "sympy")
LAZY_PACKAGES = ("deepdreamport", "deepdreamport.atlas", "deepdreamport.optvis", "deepdreamport.parity")


def _modules_after(code: str) -> set[str]:
    """The top-level names in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("argv", [["--help"], ["demo", "--help"], ["dream", "--help"], ["layers", "--help"],
                                  ["render", "--help"], ["parity", "--help"], ["atlas", "--help"],
                                  ["serve", "--help"]])  # fmt: skip
def test_help_imports_no_heavy_dependency(argv):
    code = (
        "from deepdreamport.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit as exit:\n"
        "    assert exit.code == 0, exit.code\n"
    )
    assert not _modules_after(code) & set(HEAVY)


def test_deepdream_help_from_the_command_line_imports_no_torch():
    """``python -X importtime -m deepdreamport --help`` (the entry point's path) lists no torch."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "deepdreamport", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "demo" in done.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "deepdreamport.cli" in imported
    assert not imported & set(HEAVY)


def test_import_deepdreamport_imports_no_torch():
    assert not _modules_after("import deepdreamport") & set(HEAVY)


@pytest.mark.slow
def test_dream_handler_imports_only_the_dream_path():
    """Importing what ``deepdream demo`` runs brings torch and onnx2torch, nothing of the atlas, optvis, parity."""
    code = (
        "from deepdreamport.doors.commands import HANDLERS\n"
        "from deepdreamport._lazy import load\n"
        "load(HANDLERS['demo'])\n"
    )
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    modules = set(json.loads(done.stdout.strip().splitlines()[-1]))
    tops = {m.split(".")[0] for m in modules}
    assert {"torch", "onnx2torch"} <= tops  # the dream path itself
    assert not tops & {"scipy", "skimage", "jinja2", "onnxruntime"}, tops & {
        "scipy",
        "skimage",
        "jinja2",
        "onnxruntime",
    }
    ours = {m for m in modules if m.startswith("deepdreamport.")}
    for package in ("atlas", "optvis", "parity"):
        assert {m for m in ours if m.startswith(f"deepdreamport.{package}.")} <= {f"deepdreamport.{package}.commands"}


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_lazy_names_resolve_and_match_the_type_checking_imports(package):
    """Every name of ``__all__`` resolves to what its module defines; the TYPE_CHECKING imports list the same names."""
    module = importlib.import_module(package)
    exports = set(module.__all__)
    tree = ast.parse(Path(module.__file__).read_text())
    typed = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING"
        for statement in node.body
        if isinstance(statement, ast.ImportFrom)
        for alias in statement.names
    }
    assert typed == exports
    for name in exports:
        value = getattr(module, name)
        assert name in dir(module)
        if hasattr(value, "__module__") and not isinstance(value, type(module)):
            defining = importlib.import_module(value.__module__)
            assert getattr(defining, value.__name__) is value
    with pytest.raises(AttributeError):
        module.no_such_name  # noqa: B018


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_no_exported_name_is_also_a_submodule(package):
    """Importing a submodule named like an export would rebind the export (see deepdreamport._lazy)."""
    module = importlib.import_module(package)
    folder = Path(module.__file__).parent
    submodules = {p.stem for p in folder.glob("*.py")} | {
        p.name for p in folder.iterdir() if (p / "__init__.py").exists()
    }
    names = set(module.__all__)
    lazily_submodules = {name for name in names if isinstance(getattr(module, name), type(module))}
    assert not (names - lazily_submodules) & submodules


@pytest.mark.slow
def test_atlas_help_lists_every_built_in_recipe():
    done = subprocess.run(
        [sys.executable, "-c", "from deepdreamport.atlas.recipes import RECIPES; print(' '.join(sorted(RECIPES)))"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(BUILT_IN_RECIPES) == done.stdout.split()
