"""The visual network: an ONNX graph truncated at a layer, with the deep-dream objective.

Mirrors the part of MATLAB's ``deepDreamImage`` that builds its
``nnet.internal.cnn.visualize`` network: keep ``layer`` and its ancestors (later
layers are removed, so they never run and a head that needs a fixed input size
does not constrain the image), and for batch element ``k`` maximise the spatial
**sum** of channel ``channels[k]`` of the layer output, reporting its spatial
**mean** as the activation.

Deviation: releases up to R2019a ran the network in training mode inside
``deepDreamImage`` (dropout on, batch statistics); ONNX graphs are inference
graphs, so the port always runs in inference mode.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import onnx
import onnx.numpy_helper
import torch

from .errors import DeepDreamError
from .onnx_fixups import RESIZED_MEAN_OP
from .onnx_import import OnnxSource, prepare, read_onnx, to_torch
from .objective import channel_objective_gradient
from .receptive_field import receptive_field


def _graph_inputs(model: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    initializers = {init.name for init in model.graph.initializer}
    return [value for value in model.graph.input if value.name not in initializers]


def _static_dims(value: onnx.ValueInfoProto) -> list[Optional[int]]:
    return [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in value.type.tensor_type.shape.dim]


def extract_subgraph(model: onnx.ModelProto, input_name: str, output_name: str) -> onnx.ModelProto:
    """``output_name`` and the nodes it depends on, as a model of its own."""
    inferred = onnx.shape_inference.infer_shapes(model)
    known = {v.name for v in (*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output)}
    if output_name not in known:
        inferred.graph.value_info.append(onnx.helper.make_empty_tensor_value_info(output_name))
    return onnx.utils.Extractor(inferred).extract_model([input_name], [output_name])


def tile_size_of(input_size: tuple[Optional[int], Optional[int]], override: Optional[int], why_unknown: str) -> int:
    """``override`` if given, else the larger side of ``input_size`` (an error if it is unknown)."""
    if override is not None:
        return int(override)
    if None in input_size:
        raise DeepDreamError(
            "deepdreamport:deepDreamImage:UnknownTileSize",
            f"net: {why_unknown}; give the tile size explicitly (TileSize / tile_size, e.g. 224 for ImageNet networks).",
        )
    return max(input_size)  # type: ignore[type-var]


@dataclass
class TruncatedNetwork:
    """``layer`` and its ancestors as a torch module, ready for the objective."""

    layer: str
    output_name: str
    module: torch.nn.Module
    num_channels: int
    receptive_field: tuple[int, int]

    def to(self, device: torch.device, dtype: torch.dtype) -> "TruncatedNetwork":
        self.module.to(device=device, dtype=dtype)
        return self

    def gradient(self, images: torch.Tensor, channel_index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return channel_objective_gradient(self.module, images, channel_index)


@dataclass
class VisualNetwork:
    """An ONNX image network prepared for deep dream (``net`` in MATLAB)."""

    model: onnx.ModelProto = field(repr=False)
    input_name: str
    input_channels: int
    input_size: tuple[Optional[int], Optional[int]]
    _truncated: dict = field(default_factory=dict, repr=False)
    _layers: Optional[list] = field(default=None, repr=False)

    @classmethod
    def from_onnx(cls, source: OnnxSource) -> "VisualNetwork":
        model = prepare(read_onnx(source))
        inputs = _graph_inputs(model)
        if len(inputs) != 1:
            raise DeepDreamError(
                "nnet_cnn:deepDreamImage:NotAvailableForMIMO",
                f"net: deepDreamImage needs a network with exactly one input; this one has {len(inputs)} "
                f"({', '.join(v.name for v in inputs)}).",
            )
        dims = _static_dims(inputs[0])
        if len(dims) != 4 or dims[1] is None:
            raise DeepDreamError(
                "deepdreamport:onnx:InputNotImage",
                f"net: the input {inputs[0].name!r} must be an N×C×H×W image batch with a fixed C; got dimensions {dims}.",
            )
        return cls(model=model, input_name=inputs[0].name, input_channels=int(dims[1]), input_size=(dims[2], dims[3]))

    # -- layers -------------------------------------------------------------
    @property
    def layers(self) -> list:
        """The layer table (MATLAB's ``net.Layers``): :class:`~deepdreamport.layer_table.Layer` records."""
        if self._layers is None:
            from .layer_table import build_layers

            self._layers = build_layers(self.model, self.input_name, self.input_channels, self.input_size)
        return self._layers

    def layer_name_at(self, index: int) -> str:
        """Name of layer ``index`` (1-based, MATLAB's ``net.Layers(index).Name``).

        The first (input) and the last layer are not allowed, as in MATLAB's
        ``deepDreamImage``.
        """
        layers = self.layers
        count = len(layers)
        if not 2 <= int(index) <= count - 1:
            raise DeepDreamError(
                "nnet_cnn:deepDreamImage:InvalidLayer",
                f"layer: index {index} is out of range; valid layer indices are 2..{count - 1} "
                f"(1 is the input layer {layers[0].name!r}, {count} the output layer {layers[-1].name!r}).",
            )
        return layers[int(index) - 1].name

    def layer_names(self) -> list[str]:
        return [node.name or node.output[0] for node in self.model.graph.node]

    def resolve_layer(self, layer: str) -> str:
        """The output tensor of ``layer`` (a node name or a tensor name)."""
        if not isinstance(layer, str) or not layer:
            raise DeepDreamError(
                "nnet_cnn:deepDreamImage:InvalidLayer",
                f"layer: expected a layer name or index; got {layer!r}.",
            )
        for node in self.model.graph.node:
            if node.name == layer or (not node.name and layer in node.output):
                outputs = [o for o in node.output if o]
                if len(outputs) != 1:
                    raise DeepDreamError(
                        "deepdreamport:deepDreamImage:LayerHasSeveralOutputs",
                        f"layer: {layer!r} has {len(outputs)} outputs ({', '.join(outputs)}); name one of them instead.",
                    )
                return outputs[0]
        for node in self.model.graph.node:
            if layer in node.output:
                return layer
        names = self.layer_names()
        nearest = difflib.get_close_matches(layer, names, n=len(names), cutoff=0.0)
        shown = ", ".join(nearest[:20]) + (", ..." if len(nearest) > 20 else "")
        raise DeepDreamError(
            "nnet_cnn:deepDreamImage:InvalidLayer",
            f"layer: the network has no layer named {layer!r}. Layers, nearest first: {shown}.",
        )

    def tile_size(self, override: Optional[int] = None) -> int:
        """MATLAB's ``TileSize``: the larger side of the network input."""
        return tile_size_of(
            self.input_size, override, f"the input {self.input_name!r} has a dynamic spatial size {self.input_size}"
        )

    def truncated(self, layer: str, tile_size: Optional[int] = None) -> TruncatedNetwork:
        """``layer`` and its ancestors, converted to torch (cached per layer)."""
        output_name = self.resolve_layer(layer)
        key = (output_name, tile_size)
        if key not in self._truncated:
            self._truncated[key] = self._build_truncated(layer, output_name, tile_size)
        return self._truncated[key]

    def _build_truncated(self, layer: str, output_name: str, tile_size: Optional[int]) -> TruncatedNetwork:
        if output_name == self.input_name:
            raise DeepDreamError(
                "nnet_cnn:deepDreamImage:InvalidLayer", f"layer: {layer!r} is the input layer; choose a later layer."
            )
        module = to_torch(extract_subgraph(self.model, self.input_name, output_name))
        size = self.input_size if None not in self.input_size else (self.tile_size(tile_size),) * 2
        probe = torch.zeros(1, self.input_channels, *size)
        with torch.no_grad():
            output = module(probe)
        if output.dim() not in (2, 4):
            raise DeepDreamError(
                "deepdreamport:deepDreamImage:LayerNotImageLike",
                f"layer: {layer!r} outputs a tensor of shape {tuple(output.shape)}; "
                "expected N×C×H×W or N×C (fully connected).",
            )
        field_size = receptive_field(self.model, self.input_name, output_name, size)  # type: ignore[arg-type]
        return TruncatedNetwork(layer, output_name, module, int(output.shape[1]), field_size)

    # -- input normalisation -----------------------------------------------
    def input_mean(self) -> Optional[np.ndarray]:
        """Per-channel mean subtracted by the input layer, if the graph starts with one."""
        initializers = {init.name: init for init in self.model.graph.initializer}
        constants = {n.output[0]: n for n in self.model.graph.node if n.op_type == "Constant"}
        for node in self.model.graph.node:
            if node.op_type in ("Sub", RESIZED_MEAN_OP) and node.input[0] == self.input_name:
                operand = node.input[1]
                if operand in initializers:
                    mean = onnx.numpy_helper.to_array(initializers[operand])
                elif operand in constants:
                    mean = onnx.numpy_helper.to_array(constants[operand].attribute[0].t)
                else:
                    return None
                mean = np.asarray(mean, dtype=np.float64)
                mean = mean.reshape((-1,) + mean.shape[-2:]) if mean.ndim >= 3 else mean.reshape(-1, 1, 1)
                if mean.shape[0] not in (1, self.input_channels):
                    return None
                return np.broadcast_to(mean.mean(axis=(1, 2)), (self.input_channels,)).copy()
        return None
