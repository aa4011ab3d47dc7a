from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.foreign_device import accelerator  # noqa: F401 - the stand-in accelerator, a fixture for every test
from tests.onnx.exported_networks import BUILDERS

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "parity" / "reference"
PARITY_MODELS = REFERENCE / "models"
CORPUS = REPO / "models"
TINYNET = PARITY_MODELS / "tinynet.onnx"


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    return REFERENCE


def precision_dtype(precision: str) -> torch.dtype:
    return torch.float64 if precision == "double" else torch.float32


def tolerance(precision: str) -> float:
    return 1e-10 if precision == "double" else 1e-5


@pytest.fixture(scope="session")
def exported_network(tmp_path_factory):
    """``exported_network(name)``: the path of a network of :data:`tests.onnx.exported_networks.BUILDERS`, built once."""
    folder = tmp_path_factory.mktemp("exported")
    built: dict[str, Path] = {}

    def build(name: str) -> Path:
        if name not in built:
            built[name] = BUILDERS[name](folder / f"{name}.onnx")
        return built[name]

    return build
