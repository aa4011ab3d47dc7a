"""onnx2torch converters for operators it lacks, added through its public registry.

Like onnx2torch's own ``node_converters`` package: one module per operator family,
each exposing ``CONVERTERS``, tuples ``(domain, op_type, version, function)``.
:func:`register` adds them with ``onnx2torch.node_converters.add_converter``
(never by editing onnx2torch); an operator that already has a converter
(``get_converter`` finds it) is left alone, so registering twice is harmless.

* :mod:`.resized_mean`: the port's ``SubtractResizedMean`` (MATLAB's average image);
* :mod:`.group_normalization`, :mod:`.smooth_activations`: ``GroupNormalization``
  (18, 21), ``Mish`` (18, 22), ``Gelu`` (20), also in the port's domain (see
  :func:`~deepdreamport.onnx.passes.downgrade_opset.downgrade_opset`);
* :mod:`.space_depth`, :mod:`.global_pools`, :mod:`.shrink`, :mod:`.cast_like`:
  ``SpaceToDepth``, ``DepthToSpace`` in ``DCR`` mode, ``GlobalMaxPool``, ``GlobalLpPool``,
  ``ThresholdedRelu``, ``Shrink``, ``CastLike``;
* :mod:`.grid_sampling`: ``GridSample`` (16, 20, 22) and ``AffineGrid`` (20), also in the port's domain;
* :mod:`.vector_normalizations`, :mod:`.hardmax`, :mod:`.triangular`, :mod:`.hyperbolic`:
  ``LpNormalization``, ``MeanVarianceNormalization``, ``Hardmax``, ``Trilu``, ``Sinh``, ``Cosh``,
  ``Asinh``, ``Acosh``, ``Atanh``;
* :mod:`.max_unpooling`: ``MaxUnpool`` (9, 11), with ``MaxPool``'s ``Indices`` output (below);
* :mod:`.col2im`, :mod:`.deformable_convolution`: ``Col2Im`` (18), ``DeformConv`` (19, 22), also in the port's domain;
* :mod:`.quantization`: ``QuantizeLinear``, ``DequantizeLinear`` (10, 13, 19, 21): QDQ graphs in float;
* :mod:`.comparisons`: onnx2torch's ``LessOrEqual``/``GreaterOrEqual`` for opset 16.

Registered converters of onnx2torch that are replaced or wrapped (its registry refuses
a second converter for an operator and version, so these replace entries in its
registry table, once, by :func:`wrap_registered`): :mod:`.unknown_rank` (converters
that read their input's rank), :mod:`.space_depth` (``DepthToSpace`` ``DCR``) and
:mod:`.cumulative_sum` (``CumSum``'s default ``reverse``), :mod:`.asymmetric_resize` (``linear``
``Resize`` at asymmetric coordinates), :mod:`.pad_wrap` (``Pad`` in ``wrap`` mode), :mod:`.max_unpooling`
(``MaxPool`` with its ``Indices`` output or ``storage_order=1``).
"""

from __future__ import annotations

from typing import Callable

from onnx2torch.node_converters import add_converter, get_converter, registry

from . import (
    asymmetric_resize,
    cast_like,
    col2im,
    comparisons,
    cumulative_sum,
    deformable_convolution,
    global_pools,
    grid_sampling,
    group_normalization,
    hardmax,
    hyperbolic,
    max_unpooling,
    pad_wrap,
    quantization,
    resized_mean,
    shrink,
    smooth_activations,
    space_depth,
    triangular,
    unknown_rank,
    vector_normalizations,
)

CONVERTERS = (
    resized_mean.CONVERTER,
    *group_normalization.CONVERTERS,
    *smooth_activations.CONVERTERS,
    *space_depth.CONVERTERS,
    *global_pools.CONVERTERS,
    *shrink.CONVERTERS,
    *cast_like.CONVERTERS,
    *grid_sampling.CONVERTERS,
    *vector_normalizations.CONVERTERS,
    *hardmax.CONVERTERS,
    *triangular.CONVERTERS,
    *hyperbolic.CONVERTERS,
    *max_unpooling.CONVERTERS,
    *col2im.CONVERTERS,
    *deformable_convolution.CONVERTERS,
    *quantization.CONVERTERS,
)
WRAPPERS: dict[str, Callable] = {
    **space_depth.WRAPPERS,
    **cumulative_sum.WRAPPERS,
    **asymmetric_resize.WRAPPERS,
    **pad_wrap.WRAPPERS,
    **max_unpooling.WRAPPERS,
}
"""How each of onnx2torch's registered default-domain converters is replaced, by operator."""
WRAPPED = "_deepdreamport_wrapped"
"""Marks a replacement, so that registering twice wraps once."""


def wrap_registered(wrappers: dict[str, Callable], marker: str = WRAPPED) -> None:
    """Replace every registered default-domain converter of an operator in ``wrappers`` by its wrapper.

    Once per ``marker``: registering twice wraps once, and wrappers with different markers
    (:mod:`.unknown_rank`'s and :data:`WRAPPERS`) stack.
    """
    table = getattr(registry, "_CONVERTER_REGISTRY", None)
    if not isinstance(table, dict):
        return
    for description, converter in list(table.items()):
        if description.domain != "" or description.operation_type not in wrappers or getattr(converter, marker, False):
            continue
        wrapped = wrappers[description.operation_type](converter)
        setattr(wrapped, marker, True)
        table[description] = wrapped


def register() -> None:
    """Register every converter of :data:`CONVERTERS` and :mod:`.comparisons` that onnx2torch does not know yet;
    wrap the rank readers and :data:`WRAPPERS`."""
    for domain, op_type, version, function in (*CONVERTERS, *comparisons.converters()):
        try:
            get_converter(operation_type=op_type, version=version, domain=domain)
        except NotImplementedError:
            add_converter(operation_type=op_type, version=version, domain=domain)(function)
    wrap_registered(unknown_rank.WRAPPERS, unknown_rank.WRAPPED)
    wrap_registered(WRAPPERS)
