"""After conversion: ``Pad`` nodes with constant pads become static pad modules.

No MATLAB counterpart (MATLAB's importer builds padding layers with fixed
sizes, which this restores). Since opset 11 an ONNX ``Pad`` takes its ``pads``
(and ``constant_value``) as tensor inputs, so onnx2torch converts every ``Pad``
to ``OnnxPadDynamic``, which reads the pads with ``Tensor.tolist()`` on each
call. For ``torch.compile`` that read is data-dependent: dynamo breaks the graph
at each such ``Pad`` (four graph breaks in EfficientNet-Lite0's first ten
blocks, one at each TensorFlow-style ``static_padding`` with stride 2, which
the :func:`~.passes.fold_pad_into_conv` pass cannot fold because it is
asymmetric). No ONNX → ONNX pass can help: opset ≥ 11 has no ``Pad`` with
attribute pads, and the ``Conv`` node's own asymmetric ``pads`` would cover
only pads that feed a convolution.

:func:`static_pads` rewrites the converted ``torch.fx.GraphModule`` instead:
each ``OnnxPadDynamic`` whose pads and value are initializers (``get_attr``
nodes) is replaced by onnx2torch's own ``OnnxPadStatic`` with the same mode,
pads and value, so the module computes the same ``F.pad`` call with Python
numbers. A ``Pad`` whose pads are computed in the graph is left as it is.
"""

from __future__ import annotations

from typing import Optional

import torch
from onnx2torch.node_converters.pad import OnnxPadDynamic, OnnxPadStatic


def _constant(module: torch.fx.GraphModule, argument: object) -> Optional[torch.Tensor]:
    """The tensor a ``get_attr`` node reads (an initializer), else ``None``."""
    if not isinstance(argument, torch.fx.Node) or argument.op != "get_attr":
        return None
    owner_name, _, attribute = str(argument.target).rpartition(".")
    owner = module.get_submodule(owner_name) if owner_name else module
    value = getattr(owner, attribute, None)
    return value if isinstance(value, torch.Tensor) else None


def static_pads(module: torch.fx.GraphModule) -> torch.fx.GraphModule:
    """Replace, in place, every ``OnnxPadDynamic`` call with constant pads by an ``OnnxPadStatic``; return ``module``.

    The call must take the pads (an int64 vector of length 2·rank) and optionally
    the constant value (a scalar) from initializers; the value ``None`` (an
    omitted input) is 0, as in ONNX.
    """
    changed = False
    for node in module.graph.nodes:
        if node.op != "call_module" or node.kwargs or not 2 <= len(node.args) <= 3:
            continue
        pad = module.get_submodule(str(node.target))
        if not isinstance(pad, OnnxPadDynamic):
            continue
        pads = _constant(module, node.args[1])
        if pads is None or pads.dim() != 1 or pads.is_floating_point():
            continue
        value = 0.0
        if len(node.args) == 3 and node.args[2] is not None:
            constant = _constant(module, node.args[2])
            if constant is None or constant.numel() != 1:
                continue
            value = constant.item()
        static = OnnxPadStatic.create_from_onnx_params(
            onnx_pads=[int(p) for p in pads.tolist()], onnx_mode=_onnx_mode(pad.mode), constant_value=value
        )
        module.add_submodule(str(node.target), static)
        node.args = (node.args[0],)
        changed = True
    if changed:
        module.graph.eliminate_dead_code()  # the get_attr nodes of the pads no longer used
        module.recompile()
    return module


_TORCH_TO_ONNX_MODE = {"constant": "constant", "reflect": "reflect", "replicate": "edge"}


def _onnx_mode(torch_mode: str) -> str:
    """The ONNX name of an ``F.pad`` mode (``OnnxPadStatic.create_from_onnx_params`` takes ONNX names)."""
    return _TORCH_TO_ONNX_MODE[torch_mode]
