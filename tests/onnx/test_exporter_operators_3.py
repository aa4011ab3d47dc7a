"""Operators the port converts since onnx2torch 1.5 refused them, third set (docs/models.md, "Operators"): ``If`` on a
condition known at conversion time (inlined by the ``inline_static_if`` pass), ``MaxPool``'s ``Indices`` output with
``MaxUnpool``, ``Col2Im``, ``DeformConv``, and quantise–dequantise (QDQ) graphs.

Each is compared with onnxruntime in float32 (within 1e-6 relative: max abs error / max abs reference) and, where
named, in float64 with ONNX's reference evaluator (``onnx.reference.ReferenceEvaluator``) within 1e-12; gradients by
``torch.autograd.gradcheck`` in float64; real ``torch.onnx.export`` graphs where torch writes the operator.
"""

from __future__ import annotations

import io

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from deepdreamport.onnx.convert import prepare, to_torch

RNG = np.random.RandomState(53)
node = helper.make_node


def _model(nodes, inputs, inits, opset, dtype=np.float32, outputs=("y",)):
    """A graph of ``nodes`` with inputs ``{name: shape}`` of ``dtype`` (float), outputs ``outputs``; initializers as
    given (float ones cast to ``dtype``)."""
    elem = TensorProto.FLOAT if dtype == np.float32 else TensorProto.DOUBLE
    initializers = [numpy_helper.from_array(v.astype(dtype) if v.dtype.kind == "f" else v, k) for k, v in inits.items()]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(name, elem, shape) for name, shape in inputs.items()],
        [helper.make_tensor_value_info(name, TensorProto.UNDEFINED, None) for name in outputs],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = min(model.ir_version, 10)
    return model


def _onnxruntime(model: onnx.ModelProto, feeds: dict) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def _relative_error(out: np.ndarray, ref: np.ndarray) -> float:
    assert out.shape == ref.shape
    return float(np.abs(out - ref).max() / np.abs(ref).max())


def _converted(model: onnx.ModelProto) -> torch.nn.Module:
    return to_torch(prepare(model))


def _torchscript_export(module, x, opset) -> onnx.ModelProto:
    buffer = io.BytesIO()
    torch.onnx.export(module.eval(), (x,), buffer, dynamo=False, opset_version=opset, input_names=["x"])
    return onnx.load_from_string(buffer.getvalue())


# ---- If on a condition known at conversion time: the TorchScript export of nn.LocalResponseNorm


class _ConvLRN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 6, 3)
        self.norm = torch.nn.LocalResponseNorm(3, alpha=0.1, beta=0.75, k=1.5)

    def forward(self, x):
        return torch.relu(self.norm(self.conv(x)))


@pytest.mark.parametrize("opset", [11, 12, 13, 14, 15, 16, 17])
def test_torchscript_local_response_norm_writes_an_if_that_is_inlined(opset):
    """``F.local_response_norm`` squeezes an N×1×C×H×W average as ``If(Shape(t)[1] == 1, Squeeze, Identity)``."""
    torch.manual_seed(3)
    x = torch.randn(1, 3, 9, 8)
    model = _torchscript_export(_ConvLRN(), x, opset)
    assert "If" in {n.op_type for n in model.graph.node}
    prepared = prepare(model)
    assert "If" not in {n.op_type for n in prepared.graph.node}
    with torch.no_grad():
        out = to_torch(prepared)(x).numpy()
    assert _relative_error(out, _onnxruntime(model, {"x": x.numpy()})[0]) <= 1e-6
