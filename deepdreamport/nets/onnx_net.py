"""An ONNX image network (MATLAB's ``net``), truncated at a layer on demand.

Mirrors the part of MATLAB's ``deepDreamImage`` that builds its
``nnet.internal.cnn.visualize`` network from ``net``: keep ``layer`` and its
ancestors (later layers are removed, so they never run and a head that needs a
fixed input size does not constrain the image), converted to torch, as a
:class:`~.base.VisualNetwork`.

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

from ..errors import DeepDreamError
from ..onnx.convert import check_supported, prepare, to_torch
from ..onnx.graph import extract_subgraph, graph_inputs, node_name, static_dims
from ..onnx.passes import RESIZED_MEAN_OP
from ..onnx.read import OnnxSource, read_onnx
from .base import InputSize, VisualNetwork, probe_truncation, tile_size_of
from .layers import Layer, build_layers
from .receptive_field import receptive_field


@dataclass
class OnnxNetwork:
    """An ONNX image network prepared for deep dream (``net`` in MATLAB): a :class:`~.base.DreamNetwork`."""

    model: onnx.ModelProto = field(repr=False)
    input_name: str
    input_channels: int
    input_size: InputSize
    _truncated: dict = field(default_factory=dict, repr=False)
    _layers: Optional[list[Layer]] = field(default=None, repr=False)
    _constant_weights: Optional[bool] = field(default=None, repr=False)

    @classmethod
    def from_onnx(cls, source: OnnxSource) -> "OnnxNetwork":
        """Read, fix up and check ``source`` (a path, bytes or ``onnx.ModelProto``)."""
        model = prepare(read_onnx(source), check=False)  # each truncation is checked when it is built
        inputs = graph_inputs(model)
        if len(inputs) != 1:
            raise DeepDreamError(
                "nnet_cnn:deepDreamImage:NotAvailableForMIMO",
                f"net: deepDreamImage needs a network with exactly one input; this one has {len(inputs)} "
                f"({', '.join(v.name for v in inputs)}).",
            )
        dims = static_dims(inputs[0])
        if len(dims) != 4 or dims[1] is None:
            raise DeepDreamError(
                "deepdreamport:onnx:InputNotImage",
                f"net: the input {inputs[0].name!r} must be an N×C×H×W image batch with a fixed C (or N×H×W×C with C = 1, 3 "
                f"or 4); got dimensions {dims}.",
            )
        return cls(model=model, input_name=inputs[0].name, input_channels=int(dims[1]), input_size=(dims[2], dims[3]))

    # -- layers -------------------------------------------------------------
    @property
    def layers(self) -> list[Layer]:
        """The layer table (MATLAB's ``net.Layers``): :class:`~.layers.Layer` records."""
        if self._layers is None:
            self._layers = build_layers(self.model, self.input_name, self.input_channels, self.input_size)
        return self._layers

    @property
    def constant_weights(self) -> bool:
        """Whether every weight tensor of the network is one value repeated (the ONNX "light" test models):
        then every channel of a layer computes the same, and dreams the same picture."""
        if self._constant_weights is None:
            self._constant_weights = weights_are_constant(self.model)
        return self._constant_weights

    def layer_name_at(self, index: int, base: int = 1) -> str:
        """Name of layer ``index`` of the layer table (MATLAB's ``net.Layers(index).Name`` for ``base`` 1).

        The input layer is not allowed, as in MATLAB's ``deepDreamImage``. The
        last row is allowed: an ONNX graph has no output (loss) layer, so its
        last row is a layer MATLAB dreams on (a fully connected or softmax
        layer), and it is accepted by name as well. Messages count from ``base``.
        """
        layers = self.layers
        count = len(layers)
        position = int(index) - base + 1  # 1-based
        if not 2 <= position <= count:
            numbering = "1-based, MATLAB's" if base == 1 else f"{base}-based"
            raise DeepDreamError(
                "nnet_cnn:deepDreamImage:InvalidLayer",
                f"layer: index {index} is out of range; valid layer indices ({numbering}) are "
                f"{base + 1}..{count - 1 + base} ({base} is the input layer {layers[0].name!r}).",
            )
        return layers[position - 1].name

    def layer_names(self) -> list[str]:
        return [node_name(node) for node in self.model.graph.node]

    def resolve_layer(self, layer: str) -> str:
        """The output tensor of ``layer`` (a node name or a tensor name)."""
        if not isinstance(layer, str) or not layer:
            raise DeepDreamError(
                "nnet_cnn:deepDreamImage:InvalidLayer",
                f"layer: expected a layer name or index; got {layer!r}.",
            )
        for node in reversed(self.model.graph.node):  # the last of a name: a pass's node that ends the layer
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

    def truncated(self, layer: str, tile_size: Optional[int] = None) -> VisualNetwork:
        """``layer`` and its ancestors, converted to torch (cached per layer)."""
        output_name = self.resolve_layer(layer)
        key = (output_name, tile_size)
        if key not in self._truncated:
            self._truncated[key] = self._build_truncated(layer, output_name, tile_size)
        return self._truncated[key]

    def _build_truncated(self, layer: str, output_name: str, tile_size: Optional[int]) -> VisualNetwork:
        if output_name == self.input_name:
            raise DeepDreamError(
                "nnet_cnn:deepDreamImage:InvalidLayer", f"layer: {layer!r} is the input layer; choose a later layer."
            )
        subgraph = check_supported(
            extract_subgraph(self.model, self.input_name, output_name), f"layer {layer!r} (with its ancestors)"
        )
        module = to_torch(subgraph)
        size = self.input_size if None not in self.input_size else (self.tile_size(tile_size),) * 2
        probe = probe_truncation(module, layer, self.input_channels, size)  # type: ignore[arg-type]
        field_size = receptive_field(self.model, self.input_name, output_name, size)  # type: ignore[arg-type]
        return VisualNetwork(
            layer,
            output_name,
            module,
            probe.channels,
            field_size,
            input_shape=(self.input_channels, *size),  # type: ignore[arg-type]
            convolution_macs=probe.convolution_macs,
            saved_elements=probe.saved_elements,
        )

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


WEIGHTED_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul")
CONSTANT_WEIGHTS_NOTE = (
    "note: every weight tensor of this network holds one value repeated (a test model, such as the ONNX 'light' "
    "models), so every channel of a layer dreams the same picture; use a network with trained weights"
)


def _values(tensor: onnx.TensorProto) -> np.ndarray:
    """The values of an initializer, flat (a view of its raw bytes when it has them: no copy of a large weight)."""
    if tensor.raw_data:
        return np.frombuffer(tensor.raw_data, dtype=onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type))
    return onnx.numpy_helper.to_array(tensor).reshape(-1)


def weights_are_constant(model: onnx.ModelProto) -> bool:
    """Whether the model has weights (of Conv, ConvTranspose, Gemm, MatMul nodes) and each is one value repeated.

    Stops at the first weight that varies, which for a trained network is the first one.
    """
    initializers = {tensor.name: tensor for tensor in model.graph.initializer}
    weights = [
        initializers[node.input[1]]
        for node in model.graph.node
        if node.op_type in WEIGHTED_OPS and len(node.input) > 1 and node.input[1] in initializers
    ]
    for tensor in weights:
        values = _values(tensor)
        if values.size and (not (values[:64] == values[0]).all() or not (values == values[0]).all()):
            return False
    return bool(weights)
