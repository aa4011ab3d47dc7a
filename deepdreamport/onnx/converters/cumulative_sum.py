"""``CumSum`` (opsets 11, 14) with ONNX's default ``reverse=0``: onnx2torch's module, built right.

onnx2torch 1.5 reads a missing ``reverse`` attribute as 1, so every ``CumSum`` written
without it (what torch's exporters write for ``x.cumsum(dim)``, such as DETR's sine
position embedding) summed from the end: a different network, silently. The
replacement converter builds onnx2torch's own module (``OnnxCumSum``: ``torch.cumsum``
along the run-time ``axis``, ``exclusive`` and ``reverse`` as ONNX defines them) with
``reverse`` read as ONNX defaults it, 0.
"""

from __future__ import annotations

from typing import Callable

from onnx2torch.node_converters.cumsum import OnnxCumSum
from onnx2torch.onnx_graph import OnnxGraph
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OperationConverterResult, onnx_mapping_from_node

Converter = Callable[[OnnxNode, OnnxGraph], OperationConverterResult]


def default_reverse(original: Converter) -> Converter:
    """A ``CumSum`` converter reading ``reverse`` and ``exclusive`` with ONNX's defaults (0); ``original`` unused."""

    def convert(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
        module = OnnxCumSum(
            exclusive=bool(node.attributes.get("exclusive", 0)), reverse=bool(node.attributes.get("reverse", 0))
        )
        return OperationConverterResult(torch_module=module, onnx_mapping=onnx_mapping_from_node(node))

    return convert


WRAPPERS = {"CumSum": default_reverse}
