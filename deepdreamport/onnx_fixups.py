"""ONNX → ONNX passes that make exported graphs convertible by onnx2torch.

Mirrors the graph clean-up that MATLAB's ``importONNXNetwork`` does while
translating operators into layers (no single MATLAB function: these are the
cases its importer handles that onnx2torch does not). Each pass is a pure
function ``ModelProto -> ModelProto`` that leaves a graph it does not apply to
unchanged (it works on a copy). :func:`apply_fixups` runs them in order:

``upgrade_opset``              opset < 13 → 13 (``onnx.version_converter``)
``initializers_not_inputs``    initializers listed as graph inputs (IR < 4)
                               → removed from the inputs; IR version ≥ 7
``constants_to_initializers``  ``Constant`` nodes → initializers (Paddle style)
``fold_constants``             nodes whose inputs are all constant (e.g. the
                               ``ConstantOfShape`` weights of onnx's "light"
                               models) → initializers
``dropout_to_identity``        inference-mode ``Dropout`` (and its mask output)
                               → ``Identity``
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

Deviation: a ``SAME`` padding with stride > 1 depends on the image size; it is
made explicit at the network's declared input size, so it is exact there and
at sizes with the same remainder modulo the stride (MATLAB's exporter writes a
run-time padding subgraph instead, which converts as is).
"""

from __future__ import annotations

import math
from typing import Iterable, Optional

import numpy as np
import onnx
from onnx import helper, numpy_helper, version_converter

from .errors import DeepDreamError

MIN_OPSET = 13
CUSTOM_DOMAIN = "deepdreamport"
RESIZED_MEAN_OP = "SubtractResizedMean"


# -- helpers -----------------------------------------------------------------
def default_opset(model: onnx.ModelProto) -> int:
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return entry.version
    return 1


def _copy(model: onnx.ModelProto) -> onnx.ModelProto:
    out = onnx.ModelProto()
    out.CopyFrom(model)
    return out


def _attribute(node: onnx.NodeProto, name: str, default=None):
    for attribute in node.attribute:
        if attribute.name == name:
            return helper.get_attribute_value(attribute)
    return default


def _set_ints(node: onnx.NodeProto, name: str, values: Iterable[int]) -> None:
    _remove_attribute(node, name)
    node.attribute.append(helper.make_attribute(name, [int(v) for v in values]))


def _remove_attribute(node: onnx.NodeProto, name: str) -> None:
    for index, attribute in enumerate(node.attribute):
        if attribute.name == name:
            del node.attribute[index]
            return


def graph_input_names(model: onnx.ModelProto) -> list[str]:
    """Graph inputs that are not initializers (the real inputs)."""
    initializers = {init.name for init in model.graph.initializer}
    return [value.name for value in model.graph.input if value.name not in initializers]


def input_dependent(model: onnx.ModelProto) -> set[str]:
    """Tensors whose value depends on a graph input."""
    dependent = set(graph_input_names(model))
    for node in model.graph.node:
        if any(name in dependent for name in node.input):
            dependent.update(o for o in node.output if o)
    return dependent


def _unique(model: onnx.ModelProto, base: str) -> str:
    taken = {init.name for init in model.graph.initializer}
    for node in model.graph.node:
        taken.update(node.output)
        taken.add(node.name)
    taken.update(v.name for v in model.graph.input)
    name, counter = base, 1
    while name in taken:
        name, counter = f"{base}_{counter}", counter + 1
    return name


# -- passes ------------------------------------------------------------------
def upgrade_opset(model: onnx.ModelProto, target: int = MIN_OPSET) -> onnx.ModelProto:
    """Raise the default-domain opset to at least ``target``."""
    if default_opset(model) >= target:
        return model
    try:
        return version_converter.convert_version(model, target)
    except Exception as exc:  # the converter raises RuntimeError / ConvertError
        raise DeepDreamError(
            "deepdreamport:onnx:OpsetUpgradeFailed",
            f"net: cannot upgrade the model from opset {default_opset(model)} to {target} ({exc}).",
        ) from exc


def initializers_not_inputs(model: onnx.ModelProto) -> onnx.ModelProto:
    """Drop initializers from ``graph.input`` and raise the IR version to 7 (opset 13's).

    Before IR 4 every initializer had to be listed as a graph input; the
    initializers the later passes add are not, which breaks shape inference
    on such old graphs.
    """
    initializers = {init.name for init in model.graph.initializer}
    if model.ir_version >= 7 and not any(v.name in initializers for v in model.graph.input):
        return model
    model = _copy(model)
    kept = [v for v in model.graph.input if v.name not in initializers]
    del model.graph.input[:]
    model.graph.input.extend(kept)
    model.ir_version = max(model.ir_version, 7)
    return model


def _constant_value(node: onnx.NodeProto) -> np.ndarray:
    attribute = node.attribute[0]
    value = helper.get_attribute_value(attribute)
    if attribute.name in ("value", "sparse_value"):
        return numpy_helper.to_array(value)
    dtypes = {"value_float": np.float32, "value_floats": np.float32, "value_int": np.int64, "value_ints": np.int64}
    if attribute.name in dtypes:
        return np.asarray(value, dtype=dtypes[attribute.name])
    raise DeepDreamError(
        "deepdreamport:onnx:UnsupportedConstant",
        f"net: Constant node {node.name or node.output[0]!r} uses attribute {attribute.name!r}.",
    )


def constants_to_initializers(model: onnx.ModelProto) -> onnx.ModelProto:
    """``Constant`` nodes (weights in Paddle and MATLAB exports) → initializers."""
    if not any(node.op_type == "Constant" for node in model.graph.node):
        return model
    model = _copy(model)
    outputs = {value.name for value in model.graph.output}
    kept = []
    for node in model.graph.node:
        if node.op_type == "Constant" and node.output[0] not in outputs:
            model.graph.initializer.append(numpy_helper.from_array(_constant_value(node), node.output[0]))
        else:
            kept.append(node)
    del model.graph.node[:]
    model.graph.node.extend(kept)
    return model


_NOT_FOLDED = {"Constant", "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial"}


def fold_constants(model: onnx.ModelProto) -> onnx.ModelProto:
    """Evaluate nodes whose inputs are all initializers and store the results.

    onnx2torch reads convolution and Gemm weights from initializers only; the
    "light" model-zoo graphs compute theirs with ``ConstantOfShape``.
    """
    from onnx.reference import ReferenceEvaluator

    initializers = {init.name: init for init in model.graph.initializer}
    inputs = set(graph_input_names(model))
    outputs = {value.name for value in model.graph.output}

    def foldable(node: onnx.NodeProto) -> bool:
        return (
            node.domain in ("", "ai.onnx")
            and node.op_type not in _NOT_FOLDED
            and all(not name or (name in initializers and name not in inputs) for name in node.input)
            and not any(o in outputs for o in node.output)
        )

    if not any(foldable(node) for node in model.graph.node):
        return model
    model = _copy(model)
    opset = [entry for entry in model.opset_import if entry.domain in ("", "ai.onnx")]
    kept = []
    arrays: dict[str, np.ndarray] = {}
    for node in model.graph.node:
        if not foldable(node):
            kept.append(node)
            continue
        feeds = {}
        for name in node.input:
            if name and name not in arrays:
                arrays[name] = numpy_helper.to_array(initializers[name])
            if name:
                feeds[name] = arrays[name]
        sub = helper.make_model(
            helper.make_graph(
                [node], "fold", [helper.make_tensor_value_info(n, onnx.TensorProto.UNDEFINED, None) for n in feeds],
                [helper.make_tensor_value_info(o, onnx.TensorProto.UNDEFINED, None) for o in node.output if o],
            ),
            opset_imports=opset,
        )
        results = ReferenceEvaluator(sub).run(None, feeds)
        for name, value in zip([o for o in node.output if o], results):
            value = np.asarray(value)
            arrays[name] = value
            tensor = numpy_helper.from_array(value, name)
            model.graph.initializer.append(tensor)
            initializers[name] = tensor
    del model.graph.node[:]
    model.graph.node.extend(kept)
    used = {name for node in model.graph.node for name in node.input} | outputs
    live = [init for init in model.graph.initializer if init.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(live)
    return model


def dropout_to_identity(model: onnx.ModelProto) -> onnx.ModelProto:
    """Inference-mode ``Dropout`` is the identity; its mask output is dropped.

    A Dropout with a mask output converts in onnx2torch to a module returning
    a tuple, which can feed the wrong tensor downstream. A mask that something
    reads is replaced by a constant all-true mask of the same shape.
    """
    if not any(node.op_type == "Dropout" for node in model.graph.node):
        return model
    model = _copy(model)
    used = {name for node in model.graph.node for name in node.input} | {v.name for v in model.graph.output}
    nodes = []
    for node in model.graph.node:
        if node.op_type != "Dropout":
            nodes.append(node)
            continue
        nodes.append(helper.make_node("Identity", [node.input[0]], [node.output[0]], name=node.name))
        if len(node.output) > 1 and node.output[1] and node.output[1] in used:
            shape = _unique(model, node.output[1] + "_shape")
            nodes.append(helper.make_node("Shape", [node.input[0]], [shape], name=shape))
            nodes.append(
                helper.make_node(
                    "ConstantOfShape", [shape], [node.output[1]], name=node.output[1],
                    value=helper.make_tensor("one", onnx.TensorProto.BOOL, [1], [True]),
                )
            )
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return model


def fold_pad_into_conv(model: onnx.ModelProto) -> onnx.ModelProto:
    """A constant zero ``Pad`` feeding only ``Conv`` nodes → the convolutions' own ``pads``.

    Exporters that write TensorFlow-style 'same' padding (EfficientNet's
    ``static_padding``) put an explicit ``Pad`` before each convolution; as a
    separate module it costs a copy of the activations forward and backward.
    Folded only where the result is symmetric (what ``torch.nn.Conv2d`` pads
    itself) and the pads are static, spatial and non-negative; the numbers are
    the same zero-padded convolution. MATLAB's importer likewise folds padding
    into its convolution layers.
    """
    initializers = {init.name: init for init in model.graph.initializer}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    outputs = {value.name for value in model.graph.output}
    folds: dict[str, list[int]] = {}  # Pad output -> the conv pads it becomes
    for node in model.graph.node:
        if node.op_type != "Pad" or len(node.input) < 2 or len(node.input) > 3 or node.output[0] in outputs:
            continue
        if (_attribute(node, "mode", b"constant") or b"constant") != b"constant" or node.input[1] not in initializers:
            continue
        if len(node.input) == 3 and node.input[2]:
            if node.input[2] not in initializers or np.any(numpy_helper.to_array(initializers[node.input[2]]) != 0):
                continue
        pads = numpy_helper.to_array(initializers[node.input[1]]).astype(np.int64).tolist()
        if len(pads) != 8 or any(pads[i] for i in (0, 1, 4, 5)) or min(pads) < 0:
            continue
        users = consumers.get(node.output[0], [])
        if not users or any(u.op_type != "Conv" or u.input[0] != node.output[0] for u in users):
            continue
        if any((_attribute(u, "auto_pad", b"NOTSET") or b"NOTSET") != b"NOTSET" for u in users):
            continue
        begin, end = pads[2:4], pads[6:8]
        merged = [
            [b + c for b, c in zip(begin + end, list(_attribute(u, "pads", [0, 0, 0, 0])))] for u in users
        ]
        if any(m[:2] != m[2:] for m in merged):
            continue
        folds[node.output[0]] = [node.name, node.input[0], merged]
    if not folds:
        return model
    model = _copy(model)
    nodes = []
    for node in model.graph.node:
        if node.op_type == "Pad" and node.output[0] in folds:
            continue
        nodes.append(node)
    users_seen: dict[str, int] = {}
    for node in nodes:
        if node.op_type == "Conv" and node.input[0] in folds:
            _, source, merged = folds[node.input[0]]
            index = users_seen.get(node.input[0], 0)
            users_seen[node.input[0]] = index + 1
            _set_ints(node, "pads", merged[index])
            node.input[0] = source
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return model


_PADDED_OPS = ("Conv", "MaxPool", "AveragePool", "LpPool")


def static_shapes(model: onnx.ModelProto) -> dict[str, list[Optional[int]]]:
    """Every tensor's shape that ONNX shape inference can tell (``None`` for unknown dims)."""
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception:  # shape inference is best effort here
        inferred = model
    shapes = {}
    for value in (*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output):
        if value.type.tensor_type.HasField("shape"):
            shapes[value.name] = [
                d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None
                for d in value.type.tensor_type.shape.dim
            ]
    return shapes


def same_padding(size: Optional[int], kernel: int, stride: int, dilation: int, upper: bool) -> tuple[int, int]:
    """(begin, end) padding of ONNX ``auto_pad=SAME_UPPER/SAME_LOWER`` on one axis."""
    extent = (kernel - 1) * dilation + 1
    if stride == 1:
        total = extent - 1
    else:
        if size is None:
            raise ValueError("size needed")
        total = max((math.ceil(size / stride) - 1) * stride + extent - size, 0)
    small, large = total // 2, total - total // 2
    return (small, large) if upper else (large, small)


def explicit_auto_pad(model: onnx.ModelProto) -> onnx.ModelProto:
    """``auto_pad`` on Conv and pooling nodes → explicit ``pads`` (onnx2torch lacks SAME_*)."""
    def has_auto_pad(node):
        return node.op_type in _PADDED_OPS and _attribute(node, "auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET")

    if not any(has_auto_pad(node) for node in model.graph.node):
        return model
    model = _copy(model)
    shapes = static_shapes(model)
    initializers = {init.name: init for init in model.graph.initializer}
    for node in model.graph.node:
        if not has_auto_pad(node):
            continue
        mode = _attribute(node, "auto_pad")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        kernel = _attribute(node, "kernel_shape")
        if kernel is None and node.input[1] in initializers:
            kernel = list(initializers[node.input[1]].dims[2:])
        if kernel is None:
            raise DeepDreamError(
                "deepdreamport:onnx:UnknownKernel",
                f"net: cannot make auto_pad explicit on {node.name!r}: its kernel size is not known.",
            )
        rank = len(kernel)
        strides = list(_attribute(node, "strides", [1] * rank))
        dilations = list(_attribute(node, "dilations", [1] * rank))
        if mode == "VALID":
            pads = [0] * (2 * rank)
        else:
            spatial = (shapes.get(node.input[0]) or [None] * (rank + 2))[2:]
            try:
                pairs = [
                    same_padding(spatial[i], kernel[i], strides[i], dilations[i], mode == "SAME_UPPER")
                    for i in range(rank)
                ]
            except ValueError:
                raise DeepDreamError(
                    "deepdreamport:onnx:DynamicSamePadding",
                    f"net: node {node.name!r} uses auto_pad={mode} with stride {strides} on an input of unknown "
                    "size; export the model with a fixed input size.",
                ) from None
            pads = [p[0] for p in pairs] + [p[1] for p in pairs]
        _remove_attribute(node, "auto_pad")
        _set_ints(node, "pads", pads)
    return model


def free_batch_dimension(model: onnx.ModelProto) -> onnx.ModelProto:
    """Let the batch size vary: input dim 0 → ``N``; ``Reshape`` leading 1 → -1 or 0.

    A Reshape of an image-dependent tensor to a constant shape that starts with
    1 hard-codes the batch (CNTK and Caffe2 exports). The leading 1 becomes -1
    when the shape has no other -1, otherwise 0 (copy the input's batch).
    """
    model = _copy(model)
    changed = False
    inputs = set(graph_input_names(model))
    for value in [v for v in model.graph.input if v.name in inputs] + list(model.graph.output):
        dims = value.type.tensor_type.shape.dim
        if len(dims) and dims[0].HasField("dim_value") and dims[0].dim_value == 1:
            dims[0].dim_param = "N"
            changed = True
    dependent = input_dependent(model)
    initializers = {init.name: init for init in model.graph.initializer}
    consumers: dict[str, int] = {}
    for node in model.graph.node:
        for name in node.input:
            consumers[name] = consumers.get(name, 0) + 1
    for node in model.graph.node:
        if node.op_type != "Reshape" or node.input[0] not in dependent or node.input[1] not in initializers:
            continue
        if _attribute(node, "allowzero", 0):
            continue
        shape = numpy_helper.to_array(initializers[node.input[1]]).astype(np.int64)
        if shape.ndim != 1 or len(shape) < 2 or shape[0] != 1:
            continue
        shape = shape.copy()
        shape[0] = 0 if (shape[1:] == -1).any() else -1
        name = _unique(model, node.input[1] + "_batch_free")
        tensor = numpy_helper.from_array(shape, name)
        model.graph.initializer.append(tensor)
        initializers[name] = tensor
        node.input[1] = name
        changed = True
    if not changed:
        return model
    del model.graph.value_info[:]  # stale batch sizes
    return model


def explicit_pool_pads(model: onnx.ModelProto) -> onnx.ModelProto:
    """Asymmetric ``AveragePool`` pads → an explicit zero ``Pad`` and an unpadded pool.

    With ``count_include_pad=1`` that is exact as is. With the default
    ``count_include_pad=0`` the padded sum is divided by the pooled mask of
    valid pixels (a ones tensor padded the same way), which is ONNX's
    definition: padded positions do not count.
    """
    def asymmetric(node):
        if node.op_type != "AveragePool":
            return False
        pads = list(_attribute(node, "pads", []) or [])
        half = len(pads) // 2
        return bool(pads) and pads[:half] != pads[half:]

    if not any(asymmetric(node) for node in model.graph.node):
        return model
    model = _copy(model)
    nodes = []
    for node in model.graph.node:
        if not asymmetric(node):
            nodes.append(node)
            continue
        pads = list(_attribute(node, "pads"))
        half = len(pads) // 2
        onnx_pads = [0, 0] + pads[:half] + [0, 0] + pads[half:]
        base = node.name or node.output[0]
        pads_name = _unique(model, base + "_explicit_pads")
        model.graph.initializer.append(numpy_helper.from_array(np.asarray(onnx_pads, dtype=np.int64), pads_name))
        padded = _unique(model, base + "_padded")
        nodes.append(helper.make_node("Pad", [node.input[0], pads_name], [padded], name=padded, mode="constant"))
        pool = onnx.NodeProto()
        pool.CopyFrom(node)
        _set_ints(pool, "pads", [0] * len(pads))
        _remove_attribute(pool, "count_include_pad")
        pool.input[0] = padded
        if _attribute(node, "count_include_pad", 0):
            nodes.append(pool)
            continue
        pooled = _unique(model, base + "_sum")
        pool.output[0] = pooled
        nodes.append(pool)
        names = {k: _unique(model, f"{base}_{k}") for k in ("shape", "ones", "ones_padded", "count")}
        nodes += [
            helper.make_node("Shape", [node.input[0]], [names["shape"]], name=names["shape"]),
            helper.make_node(
                "ConstantOfShape", [names["shape"]], [names["ones"]], name=names["ones"],
                value=helper.make_tensor("one", onnx.TensorProto.FLOAT, [1], [1.0]),
            ),
            helper.make_node("Pad", [names["ones"], pads_name], [names["ones_padded"]], name=names["ones_padded"], mode="constant"),
        ]
        count = onnx.NodeProto()
        count.CopyFrom(pool)
        count.input[0] = names["ones_padded"]
        count.output[0] = names["count"]
        count.name = names["count"]
        nodes.append(count)
        nodes.append(helper.make_node("Div", [pooled, names["count"]], [node.output[0]], name=node.name))
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    del model.graph.value_info[:]
    return model


def resize_input_mean(model: onnx.ModelProto) -> onnx.ModelProto:
    """``Sub(input, mean)`` with an H×W mean (MATLAB's average image) → resized at run time.

    The mean becomes input 1 of a ``deepdreamport::SubtractResizedMean`` node,
    converted by :mod:`.converters` to ``x - resizeImage(mean, size(x))``.
    Per-channel means (spatial size 1×1) are left alone: they broadcast.
    """
    inputs = set(graph_input_names(model))
    initializers = {init.name: init for init in model.graph.initializer}

    def spatial_mean(node):
        if node.op_type != "Sub" or node.input[0] not in inputs or node.input[1] not in initializers:
            return False
        dims = list(initializers[node.input[1]].dims)
        return len(dims) >= 2 and (dims[-1] > 1 or dims[-2] > 1)

    if not any(spatial_mean(node) for node in model.graph.node):
        return model
    model = _copy(model)
    for node in model.graph.node:
        if spatial_mean(node):
            node.op_type = RESIZED_MEAN_OP
            node.domain = CUSTOM_DOMAIN
    if not any(entry.domain == CUSTOM_DOMAIN for entry in model.opset_import):
        model.opset_import.append(helper.make_opsetid(CUSTOM_DOMAIN, 1))
    return model


PASSES = (
    upgrade_opset,
    initializers_not_inputs,
    constants_to_initializers,
    fold_constants,
    dropout_to_identity,
    explicit_auto_pad,
    free_batch_dimension,
    explicit_pool_pads,
    resize_input_mean,
    fold_pad_into_conv,
)


def apply_fixups(model: onnx.ModelProto) -> onnx.ModelProto:
    for fixup in PASSES:
        model = fixup(model)
    return model
