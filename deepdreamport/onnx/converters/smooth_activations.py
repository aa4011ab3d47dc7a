"""Converters for ONNX ``Mish`` (opsets 18, 22) and ``Gelu`` (opset 20): ``F.mish`` and ``F.gelu``.

Mirror torch's ``nn.Mish`` and ``nn.GELU``, which torch's exporters write as these
single operators from opset 18 (``Mish``, dynamo exporter) and 20 (``Gelu``, both
exporters); below those opsets they write the formulas (``Softplus``/``Tanh``/``Mul``,
``Erf`` or ``Tanh`` arithmetic), which onnx2torch converts node by node.

* ``Mish(x) = x · tanh(softplus(x))`` (opset 22 only widened the types);
* ``Gelu(x) = x · Φ(x)`` with ``approximate='none'`` (Φ by ``erf``), or
  ``0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 x³)))`` with ``approximate='tanh'``.

Deviation: torch's ``softplus`` returns ``x`` itself above 20 (where the two differ by
less than float32's resolution of ``x``). Both also serve the port's own
``deepdreamport::Mish``/``Gelu`` nodes, written by
:func:`~deepdreamport.onnx.passes.downgrade_opset.downgrade_opset` when it lowers the
rest of a graph to opset 17.
"""

from __future__ import annotations

import torch
from onnx2torch.onnx_graph import OnnxGraph
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule, OperationConverterResult, onnx_mapping_from_node

from ..passes.downgrade_opset import PORT_DOMAIN_VERSION
from ..passes.resize_input_mean import CUSTOM_DOMAIN


class OnnxMish(torch.nn.Module, OnnxToTorchModule):
    """``x · tanh(softplus(x))``, elementwise."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.mish(x)


class OnnxGelu(torch.nn.Module, OnnxToTorchModule):
    """``x · Φ(x)``, exact (``'none'``) or by the tanh approximation (``'tanh'``), elementwise."""

    def __init__(self, approximate: str):
        super().__init__()
        self.approximate = approximate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.gelu(x, approximate=self.approximate)


def convert_mish(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return OperationConverterResult(torch_module=OnnxMish(), onnx_mapping=onnx_mapping_from_node(node))


def convert_gelu(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    approximate = node.attributes.get("approximate", "none")
    if approximate not in ("none", "tanh"):
        raise NotImplementedError(f"Gelu with approximate={approximate!r} (expected 'none' or 'tanh')")
    return OperationConverterResult(torch_module=OnnxGelu(approximate), onnx_mapping=onnx_mapping_from_node(node))


CONVERTERS = (
    ("", "Mish", 18, convert_mish),
    ("", "Mish", 22, convert_mish),
    ("", "Gelu", 20, convert_gelu),
    (CUSTOM_DOMAIN, "Mish", PORT_DOMAIN_VERSION, convert_mish),
    (CUSTOM_DOMAIN, "Gelu", PORT_DOMAIN_VERSION, convert_gelu),
)
