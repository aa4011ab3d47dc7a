"""Shared pieces of the careless-input tests (issue 18): the command in process, one-line checks, a numbered network.

Each test file holds one class of careless input, for every command (and the
Python and MATLAB doors where they apply); docs/reliability.md's table counts
them. Commands run in process (``deepdreamport.cli.main``) unless the class needs a
real process (signals).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from deepdreamport.cli import main

from ..atlas.conftest import counting_recipes  # noqa: F401 - a fixture, for the atlas refusals
from ..conftest import REPO, TINYNET

QUICK_DREAM = ["--levels", "1", "--iterations", "1"]
QUICK_RENDER = ["--size", "16", "--steps", "1", "--quiet"]


def run(capsys, *argv) -> tuple[int, str, str]:
    """``deepdream ARGV`` in this process: (exit status, stdout, stderr)."""
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_refused(code: int, err: str, command: str, *words: str) -> None:
    """Exit 2 and one line on stderr, ``deepdream COMMAND: error: ...``, containing every word."""
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"deepdream {command}: error: "), err
    assert "Traceback" not in err and "usage:" not in err
    for word in words:
        assert word in lines[0], (word, lines[0])


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes: 'nothing changed on disk' is equality of two snapshots."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def deepdream_process(*argv, cwd: Path) -> subprocess.Popen:
    """``python -m deepdreamport ARGV`` as a real process (for signals); its output goes to ``cwd/stdout``, ``cwd/stderr``."""
    environment = dict(os.environ, PYTHONPATH=str(REPO))
    with open(cwd / "stdout", "wb") as stdout, open(cwd / "stderr", "wb") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "deepdreamport", *map(str, argv)],
            cwd=cwd,
            env=environment,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,  # its own process group: kill_group() also ends the workers it started
        )


def kill_group(process: subprocess.Popen) -> None:
    """End a :func:`deepdream_process` and every process it started (an atlas's workers), if still running."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def build_numbered_network(path: Path) -> Path:
    """Nodes named by numbers, as older PyTorch exports name them, on a non-square 20×28 input.

    Layer table (``deepdream layers``): 1 data, 2 ``11`` (Conv), 3 ``3`` (ReLU: its name is its own
    row), 4 ``2`` (Conv: its name is row 2's number), 5 ``265`` (ReLU: no row 265), 6 ``pool``.
    """
    state = np.random.RandomState(0)
    weights = [
        numpy_helper.from_array((state.randn(4, 3, 3, 3) / 9).astype(np.float32), "w1"),
        numpy_helper.from_array((state.randn(5, 4, 3, 3) / 12).astype(np.float32), "w2"),
    ]
    nodes = [
        helper.make_node("Conv", ["data", "w1"], ["t11"], name="11", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["t11"], ["t3"], name="3"),
        helper.make_node("Conv", ["t3", "w2"], ["t2"], name="2", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["t2"], ["t265"], name="265"),
        helper.make_node("MaxPool", ["t265"], ["tp"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
    ]
    graph = helper.make_graph(
        nodes,
        "numbered",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, [1, 3, 20, 28])],
        [helper.make_tensor_value_info("tp", TensorProto.FLOAT, [1, 5, 10, 14])],
        weights,
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return path


@pytest.fixture(scope="session")
def numbered(tmp_path_factory) -> Path:
    return build_numbered_network(tmp_path_factory.mktemp("numbered") / "numbered.onnx")


@pytest.fixture
def tiny_copy(tmp_path) -> Path:
    """A private copy of tinynet in ``tmp_path`` (outputs may be aimed at it)."""
    target = tmp_path / "tinynet.onnx"
    target.write_bytes(TINYNET.read_bytes())
    return target
