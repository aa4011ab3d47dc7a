"""A network at an opset newer than the installed onnx knows: one line saying the network's opset, the
highest supported and what to do (before: the first ``Conv`` was named as an operator that cannot be converted).

The highest opset is the installed onnx's own table (``onnx.defs``), the reference here; a network at
that opset still converts.
"""

from __future__ import annotations

import os

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from deepdreamport import DeepDreamError, deep_dream_image, load_network

from .conftest import QUICK_DREAM, QUICK_RENDER, assert_refused, run

HIGHEST = onnx.defs.onnx_opset_version()


def _network(path, activation: str, opset: int, domain: str = "") -> str:
    """data (1×3×16×16) → Conv (4 channels) → ``activation``, declaring ``opset`` of ``domain``."""
    weights = numpy_helper.from_array(np.random.RandomState(0).randn(4, 3, 3, 3).astype(np.float32) / 9, "w")
    nodes = [
        helper.make_node("Conv", ["data", "w"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node(activation, ["c"], ["y"], name="act"),
    ]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("data", TensorProto.FLOAT, [1, 3, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 16, 16])], [weights],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(domain, opset)])
    onnx.save(model, str(path))
    return str(path)


@pytest.mark.parametrize(("activation", "opset", "domain"), [("Gelu", 30, ""), ("Relu", 99, "ai.onnx")])
def test_a_network_at_an_opset_newer_than_onnx_knows_is_refused_in_one_line(tmp_path, capsys, activation, opset,
                                                                             domain):  # fmt: skip
    model = _network(tmp_path / "new.onnx", activation, opset, domain)
    words = (f"opset {opset} of domain 'ai.onnx'", f"the highest this installation supports, {HIGHEST}",
             f"re-export it at opset ≤ {HIGHEST}")  # fmt: skip
    for command, argv in (
        ("dream", ["dream", model, "--layer", "act", "--channels", "1", *QUICK_DREAM, "--out", tmp_path / "d.png"]),
        ("render", ["render", model, "--objective", "act:1", *QUICK_RENDER, "--out", tmp_path / "r.png"]),
        ("atlas", ["atlas", model, "--out", tmp_path / "atlas", "--layers", "act", "--channels", "1", "--quiet",
                   "--no-examples", "--no-gallery"]),
    ):  # fmt: skip
        code, _, err = run(capsys, *argv)
        assert_refused(code, err, command, *words)
        assert "Conv" not in err
    with pytest.raises(DeepDreamError, match=f"opset {opset} .* supports, {HIGHEST}") as refused:
        load_network(model)
    assert refused.value.identifier == "deepdreamport:onnx:OpsetTooNew"
    assert sorted(os.listdir(tmp_path)) == ["new.onnx"]


def test_a_network_at_the_highest_opset_still_dreams(tmp_path):
    model = _network(tmp_path / "highest.onnx", "Gelu", HIGHEST)
    images = deep_dream_image(model, "act", [0, 1], num_iterations=1, pyramid_levels=1, random_state=3)
    assert images.shape[0] == 2 and np.isfinite(images).all()
