"""The one place where :mod:`deepdreamport.optvis` reaches the rest of the package.

Everything optvis needs from the deep-dream port goes through this adapter:
reading and preparing ONNX graphs, the layer table (``deepdream layers``
names), converting (sub)graphs to torch, the MATLAB input layer's mean, the
deepDreamImage objective, the error type, and the command line's labelled
montage and atomic file writer. When the package is restructured
only the imports below change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np
import onnx
import torch

from ..cli import montage, write_atomic
from ..errors import DeepDreamError
from ..network import VisualNetwork
from ..objective import channel_objective_gradient
from ..onnx_import import read_onnx, to_torch

__all__ = [
    "DeepDreamError",
    "OnnxGraph",
    "channel_objective_gradient",
    "load_onnx",
    "montage",
    "write_atomic",
]

UNSUPPORTED_OPERATOR = "deepdreamport:onnx:UnsupportedOperator"


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
    _network: VisualNetwork = field(default=None, repr=False)  # type: ignore[assignment]

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

    def torch_module(self, outputs: Sequence[str]) -> torch.nn.Module:
        """``outputs`` (tensor names) and their ancestors as one torch module returning them in order."""
        return to_torch(_extract(self.model, self.input_name, list(outputs)))

    def onnx_subgraph(self, outputs: Sequence[str]) -> onnx.ModelProto:
        """``outputs`` and their ancestors as an ONNX model (for onnxruntime), batch and image size left free."""
        model = _extract(self.model, self.input_name, list(outputs))
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


def _extract(model: onnx.ModelProto, input_name: str, outputs: list[str]) -> onnx.ModelProto:
    inferred = onnx.shape_inference.infer_shapes(model)
    known = {v.name for v in (*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output)}
    for name in outputs:
        if name not in known:
            inferred.graph.value_info.append(onnx.helper.make_empty_tensor_value_info(name))
    return onnx.utils.Extractor(inferred).extract_model([input_name], outputs)


def load_onnx(source) -> OnnxGraph:
    """Read an ONNX network; graphs onnx2torch cannot convert are kept for onnxruntime."""
    try:
        network = VisualNetwork.from_onnx(source)
        convertible, why = True, ""
    except DeepDreamError as error:
        if error.identifier != UNSUPPORTED_OPERATOR:
            raise
        raw = read_onnx(source)
        network = _unprepared_network(raw)
        convertible, why = False, error.message
    return OnnxGraph(
        model=network.model,
        input_name=network.input_name,
        input_channels=network.input_channels,
        input_size=network.input_size,
        convertible=convertible,
        why_not_convertible=why,
        _network=network,
    )


def _unprepared_network(model: onnx.ModelProto) -> VisualNetwork:
    initializers = {init.name for init in model.graph.initializer}
    inputs = [v for v in model.graph.input if v.name not in initializers]
    if len(inputs) != 1:
        raise DeepDreamError("deepdreamport:optvis:BadNetwork", f"net: expected an ONNX graph with one input; got {len(inputs)}.")
    dims = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in inputs[0].type.tensor_type.shape.dim]
    if len(dims) != 4 or dims[1] is None:
        raise DeepDreamError(
            "deepdreamport:optvis:BadNetwork",
            f"net: the input {inputs[0].name!r} must be N×C×H×W with a fixed C; got dimensions {dims}.",
        )
    return VisualNetwork(model=model, input_name=inputs[0].name, input_channels=int(dims[1]), input_size=(dims[2], dims[3]))
