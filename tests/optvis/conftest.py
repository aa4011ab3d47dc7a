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


@pytest.fixture(scope="session")
def tinynet_module():
    """tinynet up to conv2 as a torch module, as lucent saw it in the references (hook "0" is conv2's output)."""
    import torch

    from deepdreamport.nets import OnnxNetwork

    return torch.nn.Sequential(OnnxNetwork.from_onnx(str(TINYNET)).truncated("conv2").module).eval()


def relative_error(actual, expected) -> float:
    import numpy as np

    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    scale = np.max(np.abs(expected))
    difference = np.max(np.abs(actual - expected))
    return float(difference / scale) if scale > 0 else float(difference)  # all-zero reference: absolute


def conv_graph(channels: int = 1, extra_op: str | None = None, size: int = 16, out_channels: int = 4):
    """A one-convolution ONNX graph (``conv``), optionally followed by ``extra_op`` (node ``extra``).

    ``"QuickGelu"`` is onnxruntime's contrib operator (domain ``com.microsoft``, as in graphs its optimiser
    wrote): onnxruntime runs it and onnx2torch never converts it, so it stands for any unconvertible graph.
    ``"Custom"`` is an operator neither can run.
    """
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(
        np.random.RandomState(0).standard_normal((out_channels, channels, 3, 3)).astype(np.float32), "w"
    )
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1])]
    output = "c"
    if extra_op is not None:
        attributes = {"lambd": 0.1} if extra_op == "Shrink" else {}
        domain = {"Custom": "example.custom", "QuickGelu": "com.microsoft"}.get(extra_op, "")
        nodes.append(helper.make_node(extra_op, ["c"], ["e"], name="extra", domain=domain, **attributes))
        output = "e"
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, channels, size, size])],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, [1, out_channels, size, size])],
        [weight],
    )
    opsets = [helper.make_opsetid("", 13)] + ([helper.make_opsetid(domain, 1)] if extra_op and domain else [])
    return helper.make_model(graph, opset_imports=opsets)
