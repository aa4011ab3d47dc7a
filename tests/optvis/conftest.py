from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TINYNET = REPO / "parity" / "reference" / "models" / "tinynet.onnx"
EFFICIENTNET = REPO / "models" / "efficientnet_lite0.onnx"
LUCENT_CASES = REPO / "parity" / "lucent" / "cases"


@pytest.fixture(scope="session")
def tinynet():
    from deepdreamport.optvis.network import OptvisNetwork

    return OptvisNetwork.from_onnx(str(TINYNET))


def relative_error(actual, expected) -> float:
    import numpy as np

    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    return float(np.max(np.abs(actual - expected)) / np.max(np.abs(expected)))
