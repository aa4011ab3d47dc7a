"""``Pad`` in ``wrap`` mode (opset 19+): ``F.pad(mode='circular')``.

Opset 19 added ``wrap`` (periodic padding: the pad before an axis repeats its last entries,
the pad after it its first ones), torch's ``circular`` mode. The graph reaches onnx2torch's
``Pad`` converter (opsets 11, 13) through the opset downgrade, which keeps the ``mode``
attribute; that converter knows ``constant``/``reflect``/``edge`` only, so it is wrapped
(:data:`WRAPPERS`): a ``wrap`` node becomes :class:`OnnxPadWrap`, any other node keeps
onnx2torch's own module.

Deviation (torch's limits): only the spatial axes may be padded (a 3-, 4- or 5-D input,
its last 1–3 axes; the batch and channel pads must be 0), and each pad at most the axis's
length; other pads fail when the network runs (a batch or channel pad naming ``wrap``, a longer
one with torch's own message). Gradients are torch's
(each input entry collects the gradients of its copies); any dtype.
"""

from __future__ import annotations

from typing import Callable

import torch
from onnx2torch.onnx_graph import OnnxGraph
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxMapping, OnnxToTorchModule, OperationConverterResult

Converter = Callable[[OnnxNode, OnnxGraph], OperationConverterResult]


class OnnxPadWrap(torch.nn.Module, OnnxToTorchModule):
    """Periodic padding of x N×C×…: ``pads`` in ONNX's order (all begins, then all ends), read at each call."""

    def forward(self, x: torch.Tensor, pads: torch.Tensor) -> torch.Tensor:
        onnx_pads = [int(p) for p in pads.tolist()]
        rank = len(onnx_pads) // 2
        begins, ends = onnx_pads[:rank], onnx_pads[rank:]
        if any(begins[:2]) or any(ends[:2]):
            raise NotImplementedError(f"Pad mode=wrap pads the batch or channel axis ({onnx_pads}): torch cannot")
        torch_pads = [p for axis in reversed(range(2, rank)) for p in (begins[axis], ends[axis])]
        return torch.nn.functional.pad(x, torch_pads, mode="circular")


def wrap_mode(original: Converter) -> Converter:
    """onnx2torch's ``Pad`` converter ``original``, with ``mode=wrap`` converted to :class:`OnnxPadWrap`."""

    def convert(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
        if node.attributes.get("mode", "constant") != "wrap":
            return original(node, graph)
        return OperationConverterResult(
            torch_module=OnnxPadWrap(),
            onnx_mapping=OnnxMapping(inputs=node.input_values[:2], outputs=node.output_values),
        )

    return convert


WRAPPERS = {"Pad": wrap_mode}
