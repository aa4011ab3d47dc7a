"""ONNX → ONNX passes that make exported graphs convertible by onnx2torch.

Mirrors the graph clean-up that MATLAB's ``importONNXNetwork`` does while
translating operators into layers (no single MATLAB function: these are the
cases its importer handles that onnx2torch does not). Each pass is a pure
function ``ModelProto -> ModelProto`` in a module of its own, that leaves a
graph it does not apply to unchanged (it works on a copy). :func:`apply_fixups`
runs them in order:

``unique_node_names``          empty or repeated node names → unique ones
                               (a repeat ``a`` → ``a_2``; no name → its output's)
``upgrade_opset``              opset < 13 → 13 (``onnx.version_converter``)
``downgrade_opset``            opset > 17 → 17 when onnx2torch lacks a converter
                               at the model's opset (dynamo's opset-18 reductions,
                               ``Split(num_outputs)``: node by node from 18,
                               :mod:`.opset17_forms`, else ONNX's converter)
``initializers_not_inputs``    initializers listed as graph inputs (IR < 4)
                               → removed from the inputs; IR version ≥ 7
``constants_to_initializers``  ``Constant`` nodes → initializers (Paddle style)
``fold_constants``             nodes whose inputs are all constant (e.g. the
                               ``ConstantOfShape`` weights of onnx's "light"
                               models, the ``DequantizeLinear`` int8 weights
                               of QDQ graphs) → initializers
``inline_static_if``           an ``If`` whose condition the constants and
                               static shapes decide (the TorchScript exporter's
                               rank tests, ``nn.LocalResponseNorm``) → the nodes
                               of the branch it takes
``dropout_to_identity``        inference-mode ``Dropout`` (and its mask output)
                               → ``Identity``
``channels_first_input``       an N×H×W×C image input (tf2onnx/Keras) → an
                               N×C×H×W input (its ``Transpose(perm=[0,3,1,2])``
                               removed, or a transpose back put in front)
``static_reshape_targets``     a ``Reshape`` target computed from ``Shape``
                               (``view(x.size(0), -1)``) → a constant, the batch
                               entry kept free (``-1`` or ``0``)
``reshape_allowzero``         ``Reshape(allowzero=1)`` to a constant shape
                               without a 0, or to a shape computed at run time
                               (dynamo exports) → ``allowzero=0``
``explicit_auto_pad``          ``auto_pad=SAME_UPPER/SAME_LOWER/VALID`` →
                               explicit ``pads``
``free_batch_dimension``       the graph input's batch 1 → symbolic ``N``;
                               ``Reshape`` shapes with a hard-coded leading 1
                               → ``-1`` / ``0``
``explicit_pool_pads``         asymmetric ``AveragePool`` pads → ``Pad`` +
                               unpadded pool (exact for both
                               ``count_include_pad`` values)
``resize_input_mean``          ``Sub(input, mean)`` with a mean of fixed
                               spatial size → a custom op that resizes it to
                               the image with ``resizeImage`` (as MATLAB does
                               with its average image)
``fold_pad_into_conv``         a static zero ``Pad`` feeding only ``Conv``
                               nodes → their symmetric ``pads`` (speed only)
``split_multi_output_results`` a graph output that is one of several outputs
                               of a node (``MaxPool``'s values beside its
                               ``Indices``) → an ``Identity`` of it (onnx2torch
                               returned the node's whole tuple)

Deviation: a ``SAME`` padding with stride > 1 depends on the image size; it is
made explicit at the network's declared input size, so it is exact there and
at sizes with the same remainder modulo the stride (MATLAB's exporter writes a
run-time padding subgraph instead, which converts as is).
"""

from __future__ import annotations

import onnx

from .channels_first_input import channels_first_input
from .constants_to_initializers import constants_to_initializers
from .downgrade_opset import MAX_OPSET, downgrade_opset
from .dropout_to_identity import dropout_to_identity
from .explicit_auto_pad import explicit_auto_pad, same_padding
from .explicit_pool_pads import explicit_pool_pads
from .fold_constants import fold_constants
from .fold_pad_into_conv import fold_pad_into_conv
from .free_batch_dimension import free_batch_dimension
from .initializers_not_inputs import initializers_not_inputs
from .inline_static_if import inline_static_if
from .reshape_allowzero import reshape_allowzero
from .resize_input_mean import CUSTOM_DOMAIN, RESIZED_MEAN_OP, resize_input_mean
from .split_multi_output_results import split_multi_output_results
from .static_reshape_targets import static_reshape_targets
from .unique_node_names import unique_node_names
from .upgrade_opset import MIN_OPSET, upgrade_opset

PASSES = (
    unique_node_names,
    upgrade_opset,
    downgrade_opset,
    initializers_not_inputs,
    constants_to_initializers,
    fold_constants,
    inline_static_if,
    dropout_to_identity,
    channels_first_input,
    static_reshape_targets,
    reshape_allowzero,
    explicit_auto_pad,
    free_batch_dimension,
    explicit_pool_pads,
    resize_input_mean,
    fold_pad_into_conv,
    split_multi_output_results,
)


def apply_fixups(model: onnx.ModelProto) -> onnx.ModelProto:
    """Run every pass of :data:`PASSES` in order."""
    for fixup in PASSES:
        model = fixup(model)
    return model


__all__ = [
    "CUSTOM_DOMAIN",
    "MAX_OPSET",
    "MIN_OPSET",
    "PASSES",
    "RESIZED_MEAN_OP",
    "apply_fixups",
    "same_padding",
    *(fixup.__name__ for fixup in PASSES),
]
