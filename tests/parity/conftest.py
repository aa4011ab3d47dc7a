"""Fixtures for the parity kit: recorded cases, altered models, subprocess runners."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from deepdreamport.parity.record import RecordSpec, record_case

from ..conftest import REFERENCE, REPO

TINYNET = REFERENCE / "models" / "tinynet.onnx"
EFFICIENTNET = REPO / "models" / "efficientnet_lite0.onnx"
PLUGIN_ARGS = [
    "-p",
    "no:deepdream_parity",
    "-p",
    "deepdreamport.parity.plugin",
]  # with or without the entry point installed


def run_python(*args: str, cwd: Path | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """``python ARGS`` with this checkout first on the import path."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env)


def run_parity(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``deepdream parity ARGS`` through ``python -m deepdreamport.parity``."""
    return run_python("-m", "deepdreamport.parity", *map(str, args), cwd=cwd)


def run_pytest_plugin(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """pytest with only the parity plugin's items (run in an empty folder)."""
    return run_python("-m", "pytest", *PLUGIN_ARGS, "-p", "no:cacheprovider", *map(str, args), cwd=cwd)


def perturb_one_weight(source: Path, target: Path, initializer: str, delta: float = 1e-3) -> None:
    """Copy an ONNX model with the first element of one weight tensor changed by ``delta``."""
    model = onnx.load(str(source))
    for tensor in model.graph.initializer:
        if tensor.name == initializer:
            values = numpy_helper.to_array(tensor).copy()
            values.flat[0] += delta
            tensor.CopyFrom(numpy_helper.from_array(values, tensor.name))
            break
    else:
        raise KeyError(initializer)
    target.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(target))


def reexport(source: Path, target: Path) -> None:
    """Copy an ONNX model with different file bytes but the same graph and weights."""
    model = onnx.load(str(source))
    model.producer_name = "re-exported"
    model.doc_string = "re-exported: same graph, same weights"
    target.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(target))


def first_conv_weight(path: Path) -> str:
    """Name of the weight of the first Conv node (it feeds every later layer)."""
    model = onnx.load(str(path), load_external_data=False)
    conv = next(node for node in model.graph.node if node.op_type == "Conv")
    return conv.input[1]


TINYNET_SPEC = dict(layer="relu2", channels=(1, 3), iterations=2, levels=2, size=(40, 36), seed=3)


@pytest.fixture(scope="session")
def tinynet_models(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("models")
    shutil.copy(TINYNET, folder / "tinynet.onnx")
    return folder


@pytest.fixture(scope="session")
def recorded_tinynet(tmp_path_factory, tinynet_models) -> Path:
    """tinynet recorded by the port in float64 and float32 (tiled at level 2)."""
    folder = tmp_path_factory.mktemp("cases")
    for precision in ("double", "single"):
        record_case(RecordSpec(tinynet_models / "tinynet.onnx", precision=precision, **TINYNET_SPEC), folder)
    return folder


@pytest.fixture(scope="session")
def perturbed_tinynet_models(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("perturbed")
    perturb_one_weight(TINYNET, folder / "tinynet.onnx", first_conv_weight(TINYNET))
    return folder


@pytest.fixture(scope="session")
def reexported_tinynet_models(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("reexported")
    reexport(TINYNET, folder / "tinynet.onnx")
    return folder


def read_mat_fields(path: Path) -> dict:
    import scipy.io

    return {k: v for k, v in scipy.io.loadmat(str(path)).items() if not k.startswith("__")}


def as_float(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)
