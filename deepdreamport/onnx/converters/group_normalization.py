"""Converter for ONNX ``GroupNormalization`` (opsets 18 and 21): ``F.group_norm`` and a per-channel affine.

Mirrors MATLAB's ``groupNormalizationLayer`` and torch's ``nn.GroupNorm``: the
``C`` channels of an N×C×D1×… input are split into ``num_groups`` consecutive groups,
each normalised over its channels and every spatial position (biased variance,
``epsilon`` inside the square root), then scaled and shifted.

The two opsets differ in the affine part only:

* opset 18 (deprecated in 21): ``scale`` and ``bias`` have one entry per group
  (each group's channels share it); what onnxruntime computes at opsets 18–20;
* opset 21: one entry per channel (``nn.GroupNorm``'s ``weight`` and ``bias``: what
  torch's dynamo exporter writes at opset 21+).

The module tells them apart by the length of ``scale`` (``num_groups`` or ``C``;
both readings agree when ``num_groups == C``), so the same converter serves both
opsets and the port's own ``deepdreamport::GroupNormalization``, which
:func:`~deepdreamport.onnx.passes.downgrade_opset.downgrade_opset` writes when
it lowers the rest of a graph to opset 17.

Deviation: opset 21's ``stash_type`` (compute the statistics in float32) is
ignored: the statistics are computed in the input's dtype, so a float64 network
(``net.double()``) is float64 throughout.
"""

from __future__ import annotations

import torch
from onnx2torch.onnx_graph import OnnxGraph
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule, OperationConverterResult, onnx_mapping_from_node

from ...errors import DeepDreamError
from ..passes.downgrade_opset import PORT_DOMAIN_VERSION
from ..passes.resize_input_mean import CUSTOM_DOMAIN


class OnnxGroupNormalization(torch.nn.Module, OnnxToTorchModule):
    """``group_norm(x, num_groups) · scale + bias`` for x N×C×D1×…; scale, bias of length ``num_groups`` or C."""

    def __init__(self, num_groups: int, epsilon: float, node_name: str = ""):
        super().__init__()
        self.num_groups = num_groups
        self.epsilon = epsilon
        self.node_name = node_name

    def refuse(self, what: str) -> DeepDreamError:
        return DeepDreamError(
            "deepdreamport:onnx:BadNode", f"net: node {self.node_name!r} (operator GroupNormalization): {what}"
        )

    def forward(self, x: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        channels = x.shape[1]
        if channels % self.num_groups:
            raise self.refuse(f"num_groups={self.num_groups} does not divide the input's {channels} channels")
        for name, values in (("scale", scale), ("bias", bias)):
            if values.numel() not in (self.num_groups, channels):
                raise self.refuse(
                    f"{name} has {values.numel()} values; expected one per group ({self.num_groups}) "
                    f"or one per channel ({channels})"
                )
        normalised = torch.nn.functional.group_norm(x, self.num_groups, eps=self.epsilon)
        per_channel = (1, channels) + (1,) * (x.dim() - 2)
        return normalised * self._per_channel(scale, channels).reshape(per_channel) + self._per_channel(
            bias, channels
        ).reshape(per_channel)

    def _per_channel(self, values: torch.Tensor, channels: int) -> torch.Tensor:
        values = values.reshape(-1)
        if values.numel() == self.num_groups and self.num_groups != channels:
            return values.repeat_interleave(channels // self.num_groups)  # opset 18: one value per group
        return values


def convert_group_normalization(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    if "num_groups" not in node.attributes or int(node.attributes["num_groups"]) < 1:
        raise ValueError(f"num_groups must be an integer ≥ 1; got {node.attributes.get('num_groups')!r}")
    module = OnnxGroupNormalization(
        num_groups=int(node.attributes["num_groups"]),
        epsilon=float(node.attributes.get("epsilon", 1e-5)),
        node_name=node.name,
    )
    return OperationConverterResult(torch_module=module, onnx_mapping=onnx_mapping_from_node(node))


CONVERTERS = (
    ("", "GroupNormalization", 18, convert_group_normalization),
    ("", "GroupNormalization", 21, convert_group_normalization),
    (CUSTOM_DOMAIN, "GroupNormalization", PORT_DOMAIN_VERSION, convert_group_normalization),
)
