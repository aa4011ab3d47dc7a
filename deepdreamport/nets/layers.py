"""The layer table of an ONNX network, like MATLAB's ``net.Layers`` / ``analyzeNetwork``.

Mirrors ``net.Layers``: index 1 is the input layer, then one row per layer in
graph order, with its name, type, output size (MATLAB order H×W×C, 1×1×C for
fully connected layers) at the network's input size, and its receptive field
by the toolbox's rule (:mod:`.receptive_field`). A numeric ``layer`` argument
of ``deepDreamImage`` indexes this table.

ONNX graphs have more nodes than MATLAB has layers. Nodes are folded into
layers as MATLAB's exporter writes them:

* shape computations (``Shape`` and everything computed only from shapes, such
  as the run-time 'same' padding arithmetic) are not layers;
* a subtraction of a constant from the graph input (``imageinput_Sub``,
  ``data_Sub``: the input normalisation) belongs to the input layer;
* a node named ``<layer>_<Operator>`` after its own operator (the ``Pad``
  ``conv_1_Pad``, the ``Flatten`` ``softmax_Flatten``), where ``<layer>`` names
  another layer, belongs to ``<layer>``; a node named with another word after
  the underscore is a layer of its own (MATLAB's ResNet-50 ``res2a_branch2a``
  beside the addition ``res2a``).

Deviation: for graphs from other exporters every remaining node is a layer
(a Pad or Reshape is listed on its own), so indices can differ from the
network MATLAB's importer would build.

For a network MATLAB exported (``producer_name`` names MATLAB) each row also
carries the layer of MATLAB's ``net.Layers`` it came from, by the exporter's
names (:func:`matlab_layers`): a row that is only a helper named after a layer
no node is named after (``fc8_Flatten`` beside ``fc8_Gemm``) belongs to that
layer, so MATLAB's index can be lower than the row's. MATLAB's list also ends
with its output layer (``classoutput``), which ONNX does not hold.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

import onnx
import torch

from ..errors import DeepDreamError
from ..onnx.convert import convertible_tensors, to_torch
from ..onnx.graph import attribute, extract_subgraph, input_dependent, inserted_for, node_name, static_shapes
from ..onnx.passes import RESIZED_MEAN_OP
from .layout import CHANNELS, onnx_layout
from .receptive_field import receptive_fields

_BIG = 10**9

LAYER_TYPES = {
    "Conv": "Convolution",
    "ConvTranspose": "Transposed Convolution",
    "BatchNormalization": "Batch Normalization",
    "InstanceNormalization": "Instance Normalization",
    "LayerNormalization": "Layer Normalization",
    "GroupNormalization": "Group Normalization",
    "Relu": "ReLU",
    "LeakyRelu": "Leaky ReLU",
    "Clip": "Clipped ReLU",
    "Elu": "ELU",
    "Gelu": "GELU",
    "Mish": "Mish",
    "Sigmoid": "Sigmoid",
    "Tanh": "Tanh",
    "MaxPool": "Max Pooling",
    "AveragePool": "Average Pooling",
    "GlobalAveragePool": "Global Average Pooling",
    "GlobalMaxPool": "Global Max Pooling",
    "Gemm": "Fully Connected",
    "MatMul": "Fully Connected",
    "Softmax": "Softmax",
    "Concat": "Concatenation",
    "Add": "Addition",
    "Sum": "Addition",
    "Mul": "Multiplication",
    "Sub": "Subtraction",
    "Div": "Division",
    "LRN": "Cross Channel Normalization",
    "Dropout": "Dropout",
    "Identity": "Identity",
    "Flatten": "Flatten",
    "Reshape": "Reshape",
    "GridSample": "Grid Sample",
    "AffineGrid": "Affine Grid",
}


@dataclass(frozen=True)
class Layer:
    """One row of the layer table (``net.Layers(index)``)."""

    index: int
    name: str
    type: str
    output: str
    output_size: tuple[Optional[int], ...]
    receptive_field: Optional[tuple[int, int]]
    nodes: tuple[str, ...]
    matlab_index: int = 0  # the row's layer in MATLAB's net.Layers (1-based), for a network MATLAB exported; else 0
    matlab_name: str = ""
    output_shape: tuple[
        Optional[int], ...
    ] = ()  # the output tensor's ONNX shape for one image (axis 0 first); () unknown
    layout: str = ""  # a 3-D output's layout (nets.layout): "channels", "tokens" or "unknown"; "" for other ranks


def _shape_only_nodes(model: onnx.ModelProto, dependent: set[str]) -> set[int]:
    """Indices of nodes that only compute from tensor shapes."""
    shape_tensors: set[str] = set()
    found = set()
    for index, node in enumerate(model.graph.node):
        live = [name for name in node.input if name in dependent]
        if node.op_type == "Shape" or (live and all(name in shape_tensors for name in live)):
            shape_tensors.update(node.output)
            found.add(index)
    return found


def _owner(name: str, op_type: str, layer_names: set[str]) -> Optional[str]:
    """``conv_1`` for the ``Pad`` node ``conv_1_Pad``: the longest prefix naming a layer, when the rest
    names the node's operator.

    MATLAB's exporter names a layer's helper nodes ``<layer>_<Operator>`` (``conv_1_Pad``,
    ``softmax_Flatten``, ``imageinput_Sub``; ``conv_1_Pad1`` for a second one). Layers the user
    named with a word after an underscore are layers of their own: MATLAB's ResNet-50
    ``res2a_branch2a`` (a ``Conv``) is not a helper of the addition ``res2a``, nor its
    ``res2a_relu`` (``Relu``: the case differs); nor are ``conv2d_1/Relu`` (Keras) or ``conv_12``.
    """
    for cut in range(len(name) - 1, 0, -1):
        suffix = name[cut + 1 :]
        if name[cut] == "_" and name[:cut] in layer_names and suffix.startswith(op_type) and suffix.isalnum():
            return name[:cut]
    return None


def _sizes(model: onnx.ModelProto, input_name: str, input_shape: list[Optional[int]]) -> dict[str, list[Optional[int]]]:
    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    for value in fixed.graph.input:
        if value.name == input_name:
            for dim, size in zip(value.type.tensor_type.shape.dim, input_shape):
                if size is not None:
                    dim.Clear()
                    dim.dim_value = size
    del fixed.graph.value_info[:]
    return static_shapes(fixed)


def _run_sizes(model: onnx.ModelProto, input_name: str, size: list, tensors: list[str]) -> dict[str, list[int]]:
    """Sizes shape inference could not give (run-time padding): run the network once on zeros.

    Only tensors whose every ancestor converts are probed: a layer after an
    unsupported operator keeps an unknown size. A network that cannot run at its
    declared size (a reshape that does not fit it) keeps every such size unknown:
    the table is still listed, and dreaming names the sizes it takes.
    """
    convertible = convertible_tensors(model)
    wanted = [name for name in dict.fromkeys(tensors) if name != input_name and name in convertible]
    sizes = {input_name: list(size)}
    if not wanted:
        return sizes
    module = to_torch(extract_subgraph(model, input_name, wanted))
    try:
        with torch.no_grad():
            values = module(torch.zeros(*size))
    except Exception:  # torch raises RuntimeError, IndexError, ValueError, ... for a size a layer cannot take
        return sizes
    values = values if isinstance(values, (tuple, list)) else [values]
    return {**sizes, **{name: list(value.shape) for name, value in zip(wanted, values)}}


def _channels_last_tensors(nodes: list[onnx.NodeProto], sizes: dict) -> set[str]:
    """Tensors laid out N×H×W×C: after a ``Transpose(perm=[0,2,3,1])``, through nodes that keep their input's shape.

    tf2onnx graphs compute their first layers (Keras ``Rescaling``, ``Normalization``)
    channels-last, before the transpose to N×C×H×W; their sizes are shown as H×W×C too.
    """
    found: set[str] = set()
    for node in nodes:
        data = node.input[0] if node.input else ""
        if node.op_type == "Transpose" and list(attribute(node, "perm", []) or []) == [0, 2, 3, 1]:
            found.add(node.output[0])
        elif data in found and node.op_type not in LAYOUT_OPS and sizes.get(node.output[0]) == sizes.get(data):
            found.add(node.output[0])
    return found


def _matlab_size(
    shape: Optional[list[Optional[int]]], channels_last: bool = False, layout: str = ""
) -> tuple[Optional[int], ...]:
    if shape is None:
        return ()
    if len(shape) == 3 and layout == CHANNELS:  # N×C×L as a 1×L map of C channels (H×W×C)
        return (1, shape[2], shape[1])
    if len(shape) == 4 and channels_last:
        return (shape[1], shape[2], shape[3])
    if len(shape) == 4:
        return (shape[2], shape[3], shape[1])
    if len(shape) == 2:
        return (1, 1, shape[1])
    return tuple(shape[1:])


def _layer_type(node: onnx.NodeProto, sizes: dict, initializers: dict) -> str:
    if node.op_type == "Conv":
        weight = initializers.get(node.input[1]) if len(node.input) > 1 else None
        before, after = sizes.get(node.input[0]), sizes.get(node.output[0])
        if weight is not None and before and after and len(before) == 4 and len(after) == 4:
            if list(weight.dims[2:]) == before[2:] and after[2:] == [1, 1]:
                return "Fully Connected"
    return LAYER_TYPES.get(node.op_type, node.op_type)


LAYOUT_OPS = {"Transpose", "Reshape", "Identity", "Squeeze", "Unsqueeze"}
"""Operators that only lay values out: on the input they are the exporter's plumbing, not the user's layers."""


def _relays_the_image(node: onnx.NodeProto, image: list[Optional[int]], sizes: dict) -> bool:
    """A layout node whose output is the image again in another order (N×H×W×C ↔ N×C×H×W, a grey reshape).

    ``image`` is the input's shape (1×C×H×W, ``None`` where dynamic). A ``Transpose`` of a
    4-D image always is; a ``Reshape``, ``Identity``, ``Squeeze`` or ``Unsqueeze`` is when
    its output is 4-D with the image's dimensions in some order (known sizes only).
    """
    if node.op_type not in LAYOUT_OPS or node.domain not in ("", "ai.onnx"):
        return False
    if node.op_type == "Transpose":
        return len(image) == 4
    shape = sizes.get(node.output[0])
    if shape is None or None in shape or None in image or len(shape) != 4:
        return False
    return sorted(shape) == sorted(image)


def _bias_of(node: onnx.NodeProto, producers: dict, readers: dict, initializers: dict) -> Optional[onnx.NodeProto]:
    """The ``MatMul`` whose bias ``node`` adds (``Add(MatMul(x, W), b)``, the product read by ``node`` only), or ``None``."""
    if node.op_type != "Add" or node.domain not in ("", "ai.onnx") or len(node.input) != 2:
        return None
    for product, bias in (node.input, reversed(node.input)):
        source = producers.get(product)
        if source is not None and source.op_type == "MatMul" and bias in initializers:
            return source if len(readers.get(product, [])) == 1 else None
    return None


def _owners(
    data_nodes: list[onnx.NodeProto], input_name: str, names: set[str], initializers: dict, sizes: dict
) -> dict[int, str]:
    """The layer each data node belongs to (by ``id``): its own, or the one it is plumbing for.

    * a node a fix-up pass added (:func:`~deepdreamport.onnx.graph.inserted_for`) → the layer it was added for;
    * the input normalisation (``Sub`` of a constant from the input) and layout nodes that hand the input on as
      the same image in another layout (tf2onnx's input ``Transpose``, its ``Reshape`` for 1-channel images)
      → the input layer;
    * a ``Transpose`` read by exactly one node (tf2onnx's transposes around a ``Flatten`` or an operator that
      needs another layout) → the layer of that node: MATLAB's layers never transpose activations;
    * the bias ``Add`` of a ``MatMul`` read only by it (tf2onnx's Keras ``Dense``) → the ``MatMul``'s layer;
    * MATLAB's ``<layer>_<Suffix>`` helpers → ``<layer>``; every other node is a layer of its own.
    """
    readers: dict[str, list[onnx.NodeProto]] = {}
    producers: dict[str, onnx.NodeProto] = {}
    for node in data_nodes:
        for name in node.input:
            readers.setdefault(name, []).append(node)
        producers.update((output, node) for output in node.output)
    op_types = {node_name(node): node.op_type for node in data_nodes}
    image = sizes.get(input_name) or []
    on_input = {input_name}
    owners: dict[int, str] = {}
    deferred: dict[int, onnx.NodeProto] = {}
    marked: dict[int, str] = {}
    for node in data_nodes:
        name = node_name(node)
        serves = inserted_for(node)
        is_input_mean = (
            node.op_type in ("Sub", RESIZED_MEAN_OP) and node.input[0] == input_name and (node.input[1] in initializers)
        )
        if (
            serves == input_name
            or is_input_mean
            or (node.input[0] in on_input and _relays_the_image(node, image, sizes))
        ):
            owners[id(node)] = input_name
            on_input.update(node.output)
            continue
        if serves is not None:
            marked[id(node)] = serves
            continue
        followers = readers.get(node.output[0], [])
        if node.op_type == "Transpose" and len(followers) == 1:
            deferred[id(node)] = followers[0]
            continue
        product = _bias_of(node, producers, readers, initializers)
        if product is not None and id(product) in owners:
            owners[id(node)] = owners[id(product)]
            continue
        owner = _owner(name, node.op_type, names)
        while owner is not None and owner != input_name and _owner(owner, op_types.get(owner, ""), names) is not None:
            owner = _owner(owner, op_types.get(owner, ""), names)
        owners[id(node)] = owner if owner is not None else name
    by_name = {node_name(node): owners[id(node)] for node in data_nodes if id(node) in owners}
    for node in data_nodes:  # deferred transposes: the owner of their reader (through chains of transposes)
        reader, hops = deferred.get(id(node)), 0
        while reader is not None and id(reader) in deferred and hops < len(data_nodes):
            reader, hops = deferred[id(reader)], hops + 1
        if reader is not None:
            owners[id(node)] = owners.get(id(reader)) or by_name.get(marked.get(id(reader), ""), node_name(node))
    for node in data_nodes:
        if id(node) in marked:
            owners[id(node)] = by_name.get(marked[id(node)], node_name(node))
    return owners


def is_matlab_export(model: onnx.ModelProto) -> bool:
    """Whether MATLAB's exporter wrote ``model`` (its ``producer_name`` says so)."""
    return "matlab" in model.producer_name.lower()


def _helper_stem(name: str, op_type: str, rows: set[str]) -> Optional[str]:
    """``fc8`` for a row ``fc8_Flatten`` (a ``Flatten``) when no row is named ``fc8``: MATLAB's helper naming."""
    cut = name.rfind("_")
    stem, suffix = name[:cut], name[cut + 1 :]
    if cut > 0 and stem not in rows and suffix.startswith(op_type) and suffix.isalnum():
        return stem
    return None


def matlab_layers(rows: list[tuple[str, str]]) -> list[tuple[int, str]]:
    """MATLAB's ``net.Layers`` index and name of each row, given each row's name and operator, for a
    MATLAB export: a helper row (:func:`_helper_stem`) is its layer's; consecutive rows of one layer share it.

    Example:
        >>> matlab_layers([("data", ""), ("conv", "Conv"), ("fc8_Flatten", "Flatten"), ("fc8_Gemm", "Gemm"),
        ...                ("prob", "Softmax")])
        [(1, 'data'), (2, 'conv'), (3, 'fc8'), (3, 'fc8'), (4, 'prob')]
    """
    names = {name for name, _ in rows}
    found: list[tuple[int, str]] = []
    for name, op_type in rows:
        layer = _helper_stem(name, op_type, names) or name
        found.append((found[-1][0] if found and found[-1][1] == layer else len({n for _, n in found}) + 1, layer))
    return found


def build_layers(
    model: onnx.ModelProto, input_name: str, input_channels: int, input_size: tuple[Optional[int], Optional[int]]
) -> list[Layer]:
    """The layer table of a prepared model with one image input."""
    initializers = {init.name: init for init in model.graph.initializer}
    dependent = input_dependent(model)
    shape_only = _shape_only_nodes(model, dependent)
    data_nodes = [
        node
        for index, node in enumerate(model.graph.node)
        if index not in shape_only and any(name in dependent for name in node.input)
    ]
    names = {node_name(node) for node in data_nodes} | {input_name}
    size = [1, input_channels, input_size[0], input_size[1]]
    sizes = _sizes(model, input_name, size)
    owners = _owners(data_nodes, input_name, names, initializers, sizes)

    groups: dict[str, list[onnx.NodeProto]] = {input_name: []}
    main: dict[str, onnx.NodeProto] = {}
    for node in data_nodes:
        owner = owners[id(node)]
        if owner == node_name(node) and inserted_for(node) is None:
            main[owner] = node
        groups.setdefault(owner, []).append(node)
    # a prefix owner that is not itself a layer-producing node keeps its helpers as layers
    for owner in [o for o in groups if o != input_name and o not in main]:
        for node in groups.pop(owner):
            groups.setdefault(node_name(node), []).append(node)
            main[node_name(node)] = node

    outputs = [nodes[-1].output[0] for nodes in groups.values() if nodes]
    unknown = [name for name in outputs if name not in sizes or None in sizes[name]]
    if unknown and None not in input_size:
        probed = unknown + [node.input[0] for node in main.values() if node.op_type == "Conv"]
        try:
            sizes.update(_run_sizes(model, input_name, size, probed))
        except DeepDreamError:  # a converter that fails: the table is still listed, those sizes unknown
            pass
    field_size = tuple(s if s is not None else _BIG for s in input_size)
    fields = receptive_fields(model, input_name, field_size)  # type: ignore[arg-type]

    def field_of(tensor: str) -> Optional[tuple[int, int]]:
        value = fields.get(tensor)
        return None if value is None or max(value) >= _BIG else value

    channels_last = _channels_last_tensors(data_nodes, sizes)
    layers = []
    for owner, nodes in groups.items():
        output = nodes[-1].output[0] if nodes else input_name
        layout = ""
        if owner == input_name:
            layer_type, output_size = "Image Input", (input_size[0], input_size[1], input_channels)
        else:
            layer_type = _layer_type(main[owner], sizes, initializers)
            if len(sizes.get(output) or ()) == 3:
                layout = onnx_layout(model, output, dependent, sizes) or "unknown"
            output_size = _matlab_size(sizes.get(output), output in channels_last, layout)
        layers.append(
            Layer(
                index=len(layers) + 1,
                name=owner,
                type=layer_type,
                output=output,
                output_size=output_size,
                receptive_field=field_of(output) if owner != input_name else (1, 1),
                nodes=tuple(node_name(n) for n in nodes),
                output_shape=tuple(size if owner == input_name else sizes.get(output) or ()),
                layout=layout,
            )
        )
    if is_matlab_export(model):
        operators = [main[layer.name].op_type if layer.name in main else "" for layer in layers]
        matlab = matlab_layers([(layer.name, op) for layer, op in zip(layers, operators)])
        layers = [replace(layer, matlab_index=k, matlab_name=name) for layer, (k, name) in zip(layers, matlab)]
    return layers


def _format_size(size: tuple) -> str:
    return "×".join("?" if s is None else str(s) for s in size) if size else "?"


def format_layers(layers: list[Layer]) -> str:
    """A printable table of ``layers`` (with a ``MATLAB layer`` column for a network MATLAB exported)."""
    matlab = any(layer.matlab_index for layer in layers)
    header = ("#", "name", "type", "output size", "receptive field") + (("MATLAB layer",) if matlab else ())
    rows = [
        (
            str(layer.index),
            layer.name,
            layer.type,
            _format_size(layer.output_size),
            "whole input" if layer.receptive_field is None else _format_size(layer.receptive_field),
        )
        + ((f"{layer.matlab_index} {layer.matlab_name}",) if matlab else ())
        for layer in layers
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = [
        "  ".join(cell.rjust(w) if i == 0 else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))).rstrip()
        for row in (header, *rows)
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
