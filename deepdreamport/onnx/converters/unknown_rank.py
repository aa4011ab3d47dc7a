"""onnx2torch's converters that read their input's rank, made to work when the graph does not tell it.

No MATLAB counterpart (MATLAB's layers know their input's dimensions). onnx2torch's
``MaxPool``, ``AveragePool``, ``BatchNormalization``, ``InstanceNormalization``,
``GlobalAveragePool`` and ``LayerNormalization`` converters pick a torch class by
the rank of their input in the graph's ``value_info`` (``nn.MaxPool2d`` for rank 4),
and ``LayerNormalization`` its ``normalized_shape`` from the input's dimensions.
When ONNX shape inference cannot tell the rank (a ``Reshape`` to a target whose
length is computed at run time) that entry is missing or empty: the converter
fails (``KeyError``, "spatial rank == -2"), and ``GlobalAveragePool`` would average
over every axis, batch and channels included.

Each such converter is wrapped: with a known rank (every ordinary graph) the wrapper
calls onnx2torch's own converter unchanged; without it,

* ``MaxPool``, ``AveragePool``: the rank is ``2 + len(kernel_shape)`` (a required
  attribute): onnx2torch's converter runs with it;
* ``BatchNormalization``, ``InstanceNormalization``, ``GlobalAveragePool``,
  ``LayerNormalization``: onnx2torch's own rank-free modules (``F.batch_norm``,
  ``F.instance_norm``, a mean over axes 2.., ``F.layer_norm`` over
  ``x.shape[axis:]`` read at run time), which it uses itself when the weights
  are computed; ``LayerNormalization`` also when the normalised dimensions are
  symbolic (``nn.LayerNorm`` would be built with a size of 0).

onnx2torch's registry refuses a second converter for an operator and version, so
the wrappers replace the registered functions in its registry table (the one place
outside its public ``add_converter``/``get_converter``), through the package's
``wrap_registered`` with this module's :data:`WRAPPED` marker: once, and not at
all if a later onnx2torch names the table differently.
"""

from __future__ import annotations

from typing import Callable, Optional

from onnx import TensorProto, ValueInfoProto, helper
from onnx2torch.node_converters.batch_norm import OnnxBatchNorm
from onnx2torch.node_converters.global_average_pool import OnnxGlobalAveragePool
from onnx2torch.node_converters.instance_norm import OnnxInstanceNorm
from onnx2torch.node_converters.layer_norm import OnnxLayerNorm
from onnx2torch.onnx_graph import OnnxGraph
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OperationConverterResult, onnx_mapping_from_node

Converter = Callable[[OnnxNode, OnnxGraph], OperationConverterResult]
WRAPPED = "_deepdreamport_unknown_rank"
"""Marks a wrapper, so that registering twice wraps once."""


def input_shape(node: OnnxNode, graph: OnnxGraph) -> Optional[list[Optional[int]]]:
    """The dimensions of ``node``'s first input as the graph gives them (``None`` per symbolic one), or ``None``
    when its rank is unknown (no entry, or an entry without a shape)."""
    value = graph.value_info.get(node.input_values[0])
    if value is None or not value.type.tensor_type.HasField("shape"):
        return None
    return [d.dim_value if d.HasField("dim_value") else None for d in value.type.tensor_type.shape.dim]


class _GraphWithRank:
    """``graph`` with a ``value_info`` entry of rank ``rank`` (symbolic dimensions) for the tensor ``name``."""

    def __init__(self, graph: OnnxGraph, name: str, rank: int):
        self._graph = graph
        entry: ValueInfoProto = helper.make_tensor_value_info(name, TensorProto.FLOAT, [None] * rank)
        self._value_info = {**graph.value_info, name: entry}

    @property
    def value_info(self):
        return self._value_info

    def __getattr__(self, name: str):
        return getattr(self._graph, name)


def _pool(original: Converter) -> Converter:
    def convert(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
        if input_shape(node, graph) is not None:
            return original(node, graph)
        rank = 2 + len(node.attributes["kernel_shape"])
        return original(node, _GraphWithRank(graph, node.input_values[0], rank))  # type: ignore[arg-type]

    return convert


def _rank_free(module: Callable[[OnnxNode], object], single_output: bool = False) -> Callable[[Converter], Converter]:
    """A wrapper that builds ``module(node)``, fed every input of the node, when the rank is unknown."""

    def wrap(original: Converter) -> Converter:
        def convert(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
            if input_shape(node, graph) is not None or (single_output and len(node.output_values) != 1):
                return original(node, graph)
            return OperationConverterResult(torch_module=module(node), onnx_mapping=onnx_mapping_from_node(node))

        return convert

    return wrap


def _layer_norm(original: Converter) -> Converter:
    def convert(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
        axis = node.attributes.get("axis", -1)
        shape = input_shape(node, graph)
        if shape is not None and None not in shape[axis:]:
            return original(node, graph)
        module = OnnxLayerNorm(axis=axis, epsilon=node.attributes.get("epsilon", 1e-5))
        return OperationConverterResult(torch_module=module, onnx_mapping=onnx_mapping_from_node(node))

    return convert


WRAPPERS: dict[str, Callable[[Converter], Converter]] = {
    "MaxPool": _pool,
    "AveragePool": _pool,
    "BatchNormalization": _rank_free(
        lambda node: OnnxBatchNorm(
            momentum=1 - node.attributes.get("momentum", 0.9), epsilon=node.attributes.get("epsilon", 1e-5)
        ),
        single_output=True,
    ),
    "InstanceNormalization": _rank_free(
        lambda node: OnnxInstanceNorm(momentum=0.1, epsilon=node.attributes.get("epsilon", 1e-5))
    ),
    "GlobalAveragePool": _rank_free(lambda node: OnnxGlobalAveragePool()),
    "LayerNormalization": _layer_norm,
}
"""How each rank-reading converter is wrapped, by operator."""
