"""ONNX networks as optvis sees them, and what optvis takes from the rest of the package.

Reading and preparing ONNX graphs (:class:`~deepdreamport.nets.OnnxNetwork`),
the layer table (``deepdream layers`` names), converting (sub)graphs with
several outputs to torch, the MATLAB input layer's mean, the deepDreamImage
objective, the error type, the layout rule the deep-dream side runs networks
in (:func:`~deepdreamport.nets.base.preferred_memory_format`), the doors'
labelled montage, output checks and atomic writer, device check (``'auto'``:
the GPU when there is one), memory limit, the command line's layer and channel
numbering, the results that save and show themselves
(:class:`~deepdreamport.doors.images.ImageSet`), running a network whose batch an
export pinned to 1 one image per pass (:mod:`deepdreamport.nets.batch`) and a
transformer's token layers read as channel maps (:mod:`deepdreamport.nets.tokens`).
A graph with operators onnx2torch cannot convert still loads: it can then only
run in onnxruntime (the gradient-free path).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np
import onnx
import torch

from ..core.objective import channel_objective_gradient
from ..dependencies import require
from ..doors.degenerate import EXIT_STATUS as DEGENERATE_STATUS
from ..doors.degenerate import degenerate_images
from ..doors.files import MONTAGE_EXTENSIONS, montage, montage_format
from ..doors.guard import OUT_OF_MEMORY, available_bytes, readable_bytes, saved_elements
from ..doors.images import ImageSet, person_watching
from ..doors.numbering import channel_index, layer_name_from_text
from ..doors.outputs import reserved_outputs, write_atomic
from ..doors.run import resolve_device
from ..errors import DeepDreamError, bounded
from ..input_files import check_input_file, user_path
from ..nets import OnnxNetwork
from ..nets.base import preferred_memory_format
from ..nets.batch import SHAPE_ERRORS, OneImagePerPass, batch_pinned_to_one, concatenate_outputs
from ..nets.layout import as_channel_map, check_layouts, fx_layout, module_layout, onnx_layout
from ..nets.tokens import TokenGrid, token_grid, tokens_as_channels
from ..onnx.convert import check_supported, to_torch, unsupported_ops
from ..onnx.graph import extract_subgraph, static_shapes
from ..onnx.read import check_onnx_path

__all__ = [
    "DEGENERATE_STATUS",
    "DeepDreamError",
    "ImageSet",
    "OneImagePerPass",
    "SHAPE_ERRORS",
    "concatenate_outputs",
    "OnnxGraph",
    "as_channel_map",
    "check_layouts",
    "fx_layout",
    "module_layout",
    "onnx_layout",
    "TokenGrid",
    "bounded",
    "channel_objective_gradient",
    "check_input_file",
    "user_path",
    "degenerate_images",
    "MONTAGE_EXTENSIONS",
    "OUT_OF_MEMORY",
    "available_bytes",
    "batch_pinned_to_one",
    "channel_index",
    "check_onnx_path",
    "layer_name_from_text",
    "load_onnx",
    "montage",
    "montage_format",
    "person_watching",
    "require",
    "preferred_memory_format",
    "readable_bytes",
    "reserved_outputs",
    "resolve_device",
    "saved_elements",
    "token_grid",
    "tokens_as_channels",
    "write_atomic",
]


@dataclass
class OnnxGraph:
    """An ONNX image network as optvis sees it.

    ``convertible`` is False when onnx2torch cannot convert the graph (it can
    then only run in onnxruntime, without gradients); ``why_not_convertible``
    is the converter's message.
    """

    model: onnx.ModelProto = field(repr=False)
    input_name: str
    input_channels: int
    input_size: tuple[Optional[int], Optional[int]]
    convertible: bool
    why_not_convertible: str = ""
    _network: OnnxNetwork = field(default=None, repr=False)  # type: ignore[assignment]
    _layouts: dict = field(default_factory=dict, repr=False)
    _shapes: Optional[dict] = field(default=None, repr=False)

    def layer_names(self) -> list[str]:
        """The layer-table names (``deepdream layers``), input layer first."""
        return [layer.name for layer in self._network.layers]

    def output_of(self, layer: str) -> str:
        """The tensor a layer-table name, node name or tensor name stands for."""
        for row in self._network.layers:
            if row.name == layer:
                return row.output
        return self._network.resolve_layer(layer)

    def input_mean(self) -> Optional[np.ndarray]:
        """Per-channel mean a MATLAB input layer subtracts (None when there is none)."""
        return self._network.input_mean()

    def layout_of(self, tensor: str) -> Optional[str]:
        """A 3-D tensor's layout from the nodes that produced it (:func:`~deepdreamport.nets.layout.onnx_layout`)."""
        if tensor not in self._layouts:
            if self._shapes is None:
                self._shapes = static_shapes(self.model)
            self._layouts[tensor] = onnx_layout(self.model, tensor, shapes=self._shapes)
        return self._layouts[tensor]

    def torch_module(self, outputs: Sequence[str]) -> torch.nn.Module:
        """``outputs`` (tensor names) and their ancestors as one torch module returning them in order."""
        return to_torch(check_supported(extract_subgraph(self.model, self.input_name, list(outputs))))

    def onnx_subgraph(self, outputs: Sequence[str]) -> onnx.ModelProto:
        """``outputs`` and their ancestors as an ONNX model (for onnxruntime), batch and image size left free."""
        model = extract_subgraph(self.model, self.input_name, list(outputs))
        for value in model.graph.input:
            if value.name == self.input_name:
                dims = value.type.tensor_type.shape.dim
                for index, label in ((0, "batch"), (2, "height"), (3, "width")):
                    dims[index].ClearField("dim_value")
                    dims[index].dim_param = label
        for value in model.graph.output:
            value.type.tensor_type.ClearField("shape")
        del model.graph.value_info[:]  # shapes inferred for batch 1 would be wrong for a population
        return model


def load_onnx(source) -> OnnxGraph:
    """Read an ONNX network; graphs onnx2torch cannot convert are kept for onnxruntime."""
    network = OnnxNetwork.from_onnx(source)
    unsupported = unsupported_ops(network.model)
    why = "; ".join(f"{op} (nodes {', '.join(nodes[:5])})" for op, nodes in sorted(unsupported.items()))
    return OnnxGraph(
        model=network.model,
        input_name=network.input_name,
        input_channels=network.input_channels,
        input_size=network.input_size,
        convertible=not unsupported,
        why_not_convertible=why,
        _network=network,
    )
