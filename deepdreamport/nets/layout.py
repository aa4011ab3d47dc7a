"""Which way a 3-D layer's axes run: N×channels×length (a 1-D convolution's) or N×tokens×features.

No MATLAB or lucent counterpart (MATLAB's deepDreamImage and lucent read 4-D maps and
N×C only). A 3-D output is ambiguous by its shape alone, so the layout is read from
what produced it:

* ``channels`` (N×C×L, channels first): a convolution, a pooling, a batch or instance
  normalisation, LRN (ONNX ``Conv``, ``ConvTranspose``, ``MaxPool``, ``AveragePool``,
  ``BatchNormalization``, ...; torch ``nn.Conv1d``, ``nn.MaxPool1d``, ``nn.BatchNorm1d``,
  ...). Channel ``c`` is index ``c`` of axis 1, averaged over L, as for a 2-D map: the map
  is ``N×C×1×L`` (:func:`as_channel_map`), so positions are ``(0, x)``;
* ``tokens`` (N×T×F, :mod:`.tokens`): a matrix product acting on the last axis, a
  fully connected layer, a layer normalisation, an attention block (ONNX ``MatMul``,
  ``Gemm``, ``LayerNormalization``, ``Attention``; torch ``nn.Linear``, ``nn.LayerNorm``,
  ``nn.MultiheadAttention``);
* elementwise operators (activations, ``Add``, ``Mul``, dropout, ...), ``Concat``,
  ``Slice`` and ``Softmax`` keep the layout of their inputs (every input that depends on
  the image must agree); ``Transpose`` with ``perm`` (0, 2, 1) swaps it; a ``Reshape`` or
  ``Flatten`` of an N×C×H×W map that keeps N and C (``x.flatten(2)``) is channels first;
* anything else (a ``Reshape`` to other axes, the image itself, a custom module) cannot
  be told: ``None``, and the caller refuses in one line and names ``layouts=`` /
  ``--layout LAYER=channels|tokens`` (:func:`unknown_layout_error`).

Shape:
    ``N×C×L`` (channels) → ``N×C×1×L``; ``N×T×F`` (tokens) → :func:`.tokens.tokens_as_channels`.
"""

from __future__ import annotations

from typing import Mapping, Optional, Sequence, TypeVar

import onnx
import torch

from ..errors import DeepDreamError
from .tokens import tokens_as_channels

CHANNELS = "channels"
TOKENS = "tokens"
LAYOUTS = (CHANNELS, TOKENS)

Array = TypeVar("Array")  # a torch tensor or a NumPy array

CHANNELS_FIRST_OPS = frozenset(
    {
        "Conv",
        "ConvTranspose",
        "ConvInteger",
        "QLinearConv",
        "DeformConv",
        "MaxPool",
        "AveragePool",
        "LpPool",
        "MaxUnpool",
        "GlobalAveragePool",
        "GlobalMaxPool",
        "GlobalLpPool",
        "BatchNormalization",
        "InstanceNormalization",
        "LRN",
    }
)
TOKEN_OPS = frozenset(
    {
        "Gemm",
        "LayerNormalization",
        "SimplifiedLayerNormalization",
        "SkipLayerNormalization",
        "Attention",
        "MultiHeadAttention",
    }
)
KEEPING_OPS = frozenset(
    {
        "Relu",
        "LeakyRelu",
        "PRelu",
        "Elu",
        "Selu",
        "Celu",
        "Gelu",
        "FastGelu",
        "QuickGelu",
        "Sigmoid",
        "HardSigmoid",
        "HardSwish",
        "Tanh",
        "Clip",
        "Softplus",
        "Softsign",
        "Mish",
        "Erf",
        "Abs",
        "Neg",
        "Exp",
        "Log",
        "Sqrt",
        "Reciprocal",
        "Pow",
        "Dropout",
        "Identity",
        "Cast",
        "Add",
        "Sub",
        "Mul",
        "Div",
        "Max",
        "Min",
        "Sum",
        "Mean",
        "Where",
        "Concat",
        "Slice",
        "Split",
        "Softmax",
        "LogSoftmax",
        "Pad",
    }
)


def _swapped(layout: Optional[str]) -> Optional[str]:
    return {CHANNELS: TOKENS, TOKENS: CHANNELS}.get(layout or "")


def _agreed(layouts: Sequence[Optional[str]]) -> Optional[str]:
    known = {layout for layout in layouts if layout is not None}
    return known.pop() if len(known) == 1 else None


def onnx_layout(
    model: onnx.ModelProto,
    tensor: str,
    dependent: Optional[set] = None,
    shapes: Optional[Mapping[str, Sequence[Optional[int]]]] = None,
) -> Optional[str]:
    """The layout of the 3-D tensor ``tensor`` of ``model`` from the nodes that produced it, or ``None``.

    ``dependent``: the tensors computed from the image (others are weights and constants;
    by default every node output); ``shapes``: tensor shapes, for a ``Reshape``/``Flatten``.
    """
    producers = {output: node for node in model.graph.node for output in node.output}
    constants = {init.name for init in model.graph.initializer}
    shapes = shapes or {}
    seen: dict[str, Optional[str]] = {}

    def is_data(name: str) -> bool:
        if dependent is not None:
            return name in dependent
        return name in producers and producers[name].op_type != "Constant" and name not in constants

    def layout(name: str, depth: int = 0) -> Optional[str]:
        if name in seen:
            return seen[name]
        seen[name] = None  # a cycle or a deep chain: not told
        node = producers.get(name)
        if node is None or depth > 200:
            return None
        op = node.op_type
        data = [value for value in node.input if value and is_data(value)]
        found: Optional[str] = None
        if op in CHANNELS_FIRST_OPS:
            found = CHANNELS
        elif op in TOKEN_OPS:
            found = TOKENS
        elif op == "MatMul":
            # a constant on the left (W @ x) mixes axis 1: channels; one on the right, or none (attention): tokens
            found = CHANNELS if len(node.input) == 2 and not is_data(node.input[0]) else TOKENS
        elif op in KEEPING_OPS:
            found = _agreed([layout(value, depth + 1) for value in data])
        elif op == "Transpose":
            perm = next((list(a.ints) for a in node.attribute if a.name == "perm"), None)
            if perm == [0, 2, 1] and data:
                found = _swapped(layout(data[0], depth + 1))
        elif op in ("Reshape", "Flatten") and data:
            before, after = shapes.get(data[0]), shapes.get(name)
            if before and after and len(before) == 4 and len(after) == 3 and None not in (before[1], after[1]):
                if before[1] == after[1] and layout(data[0], depth + 1) == CHANNELS:
                    found = CHANNELS
        seen[name] = found
        return found

    return layout(tensor)


_TORCH_CHANNELS = (
    torch.nn.modules.conv._ConvNd,
    torch.nn.modules.pooling._MaxPoolNd,
    torch.nn.modules.pooling._AvgPoolNd,
    torch.nn.modules.pooling._AdaptiveAvgPoolNd,
    torch.nn.modules.pooling._AdaptiveMaxPoolNd,
    torch.nn.modules.pooling._LPPoolNd,
    torch.nn.modules.batchnorm._BatchNorm,
    torch.nn.modules.instancenorm._InstanceNorm,
    torch.nn.LocalResponseNorm,
)
_TORCH_TOKENS = (
    torch.nn.Linear,
    torch.nn.Bilinear,
    torch.nn.LayerNorm,
    torch.nn.RMSNorm if hasattr(torch.nn, "RMSNorm") else torch.nn.LayerNorm,
    torch.nn.MultiheadAttention,
    torch.nn.TransformerEncoderLayer,
    torch.nn.TransformerDecoderLayer,
    torch.nn.TransformerEncoder,
    torch.nn.TransformerDecoder,
    torch.nn.Embedding,
)
_TORCH_KEEPING = (
    torch.nn.ReLU,
    torch.nn.ReLU6,
    torch.nn.LeakyReLU,
    torch.nn.PReLU,
    torch.nn.ELU,
    torch.nn.SELU,
    torch.nn.CELU,
    torch.nn.GELU,
    torch.nn.SiLU,
    torch.nn.Mish,
    torch.nn.Sigmoid,
    torch.nn.Hardsigmoid,
    torch.nn.Hardswish,
    torch.nn.Hardtanh,
    torch.nn.Tanh,
    torch.nn.Softplus,
    torch.nn.Softmax,
    torch.nn.modules.dropout._DropoutNd,
    torch.nn.Identity,
)


def module_layout(model: torch.nn.Module, name: str) -> Optional[str]:
    """The layout of the output of ``model``'s submodule ``name`` from its type, or ``None``.

    A ``Sequential`` has its last child's; an elementwise module (``ReLU``, ``GELU``,
    dropout, ``Identity``, ...) inside a ``Sequential`` has the layout of the child before it
    (a ``Sequential`` runs its children in order); elsewhere its input cannot be told.
    """
    named = dict(model.named_modules())

    def layout(key: str) -> Optional[str]:
        module = named[key]
        if isinstance(module, _TORCH_CHANNELS):
            return CHANNELS
        if isinstance(module, _TORCH_TOKENS):
            return TOKENS
        if isinstance(module, torch.nn.Sequential):
            children = [child for child, _ in module.named_children()]
            return layout(f"{key}.{children[-1]}" if key else children[-1]) if children else None
        if isinstance(module, _TORCH_KEEPING) and key:
            parent_key, _, own = key.rpartition(".")
            parent = named.get(parent_key)
            if isinstance(parent, torch.nn.Sequential):
                children = [child for child, _ in parent.named_children()]
                at = children.index(own)
                if at > 0:
                    before = children[at - 1]
                    return layout(f"{parent_key}.{before}" if parent_key else before)
        return None

    return layout(name) if name in named else None


def check_layouts(layouts, argument: str = "layouts") -> dict:
    """``{layer: "channels" | "tokens"}`` (``None``: empty); anything else is refused naming ``argument``."""
    if layouts is None:
        return {}
    if not isinstance(layouts, Mapping) or not all(
        isinstance(layer, str) and value in LAYOUTS for layer, value in layouts.items()
    ):
        raise DeepDreamError(
            "deepdreamport:optvis:BadArgument",
            f"{argument}: expected a mapping from layer names to 'channels' (N×C×L, a 1-D convolution's) or "
            f"'tokens' (N×tokens×features); got {layouts!r}.",
        )
    return dict(layouts)


def unknown_layout_error(layer: str, shape: Sequence[int]) -> DeepDreamError:
    """The one-line refusal of a 3-D layer whose layout nothing tells."""
    return DeepDreamError(
        "deepdreamport:optvis:UnknownLayout",
        f"layer: {layer!r} outputs a 3-D tensor {tuple(int(s) for s in shape)} and what produced it does not tell "
        f"whether it is N×channels×length (a 1-D convolution's) or N×tokens×features (a transformer's); choose with "
        f"layouts={{{layer!r}: 'channels'}} (or 'tokens') in Python, --layout {layer}=channels (or =tokens) on the "
        "command line.",
    )


def as_channel_map(activations: Array, layer: str, layout: Optional[str], batch: Optional[int] = None) -> Array:
    """A layer's activations as the channel map objectives read: a 3-D one by ``layout``; other ranks unchanged.

    ``channels``: ``N×C×L`` → ``N×C×1×L``; ``tokens``: :func:`.tokens.tokens_as_channels`;
    ``None`` with a 3-D output: refused (:func:`unknown_layout_error`).
    """
    if len(activations.shape) != 3:
        return activations
    if layout == CHANNELS:
        return activations[:, :, None, :]
    if layout == TOKENS:
        return tokens_as_channels(activations, layer, batch)
    raise unknown_layout_error(layer, activations.shape)


_FX_CHANNELS_WORDS = ("conv", "pool", "batch_norm", "instance_norm", "local_response_norm")
_FX_TOKEN_WORDS = ("linear", "addmm", "layer_norm", "rms_norm", "attention", "matmul", "bmm", "embedding")
_FX_KEEPING_WORDS = frozenset(
    {
        "relu",
        "relu6",
        "leaky_relu",
        "gelu",
        "silu",
        "mish",
        "elu",
        "selu",
        "sigmoid",
        "tanh",
        "hardswish",
        "hardsigmoid",
        "hardtanh",
        "softplus",
        "softmax",
        "_softmax",
        "log_softmax",
        "dropout",
        "clone",
        "contiguous",
        "add",
        "sub",
        "mul",
        "div",
        "cat",
        "concat",
        "clamp",
        "neg",
        "exp",
        "abs",
        "sqrt",
        "pow",
        "to",
        "alias",
        "slice",
        "erf",
    }
)
_FX_RESHAPING_WORDS = frozenset({"flatten", "reshape", "view", "_unsafe_view"})


def _fx_word(target) -> str:
    """The operator's name: ``conv1d`` for ``aten.conv1d.default``, ``relu`` for ``torch.relu`` or ``"relu"``."""
    if hasattr(target, "_opname"):  # an aten overload
        word = str(target._opname)
    elif isinstance(target, str):
        word = target
    else:
        word = str(getattr(target, "__name__", target)).split(".")[-1]
    return word.lower().rstrip("_") or word.lower()


def _fx_shape(node) -> Optional[tuple]:
    value = node.meta.get("val") if hasattr(node, "meta") else None
    return tuple(value.shape) if isinstance(value, torch.Tensor) else None


def fx_layout(graph: "torch.fx.GraphModule", node_name: str) -> Optional[str]:
    """:func:`onnx_layout` for a ``torch.fx`` graph: the node's module type or function name decides."""
    nodes = {node.name: node for node in graph.graph.nodes}
    seen: dict[str, Optional[str]] = {}

    def layout(node: "torch.fx.Node") -> Optional[str]:
        if node.name in seen:
            return seen[node.name]
        seen[node.name] = None
        found: Optional[str] = None
        if node.op == "call_module":
            found = module_layout(graph, str(node.target))
        elif node.op in ("call_function", "call_method"):
            word = _fx_word(node.target)
            inputs = [arg for arg in node.all_input_nodes if arg.op not in ("get_attr", "placeholder")]
            if any(part in word for part in _FX_CHANNELS_WORDS):
                found = CHANNELS
            elif any(part in word for part in _FX_TOKEN_WORDS):
                found = TOKENS
            elif word in ("transpose", "permute", "swapaxes") and inputs:
                dims = [int(d) for d in node.args[1:] if isinstance(d, int)]
                if not dims and len(node.args) > 1 and isinstance(node.args[1], (list, tuple)):
                    dims = [int(d) for d in node.args[1]]
                if sorted(d % 3 for d in dims) == [1, 2] or [d % 3 for d in dims] == [0, 2, 1]:
                    found = _swapped(layout(inputs[0]))
            elif word in _FX_RESHAPING_WORDS and inputs:
                before, after = _fx_shape(inputs[0]), _fx_shape(node)
                if before and after and len(before) == 4 and len(after) == 3 and before[1] == after[1]:
                    found = CHANNELS if layout(inputs[0]) == CHANNELS else None
            elif word in _FX_KEEPING_WORDS:
                found = _agreed([layout(arg) for arg in inputs])
        seen[node.name] = found
        return found

    return layout(nodes[node_name]) if node_name in nodes else None
