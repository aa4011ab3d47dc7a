"""Fix-up pass: opset > 17 → 17 (``onnx.version_converter``) when onnx2torch lacks a converter at the model's opset.

PyTorch's dynamo exporter writes opset 18 by default. Opset 18 changed the
signatures of the reductions (``ReduceMean``, ``ReduceMax``, ...: ``axes`` became an
input), ``Pad``, ``Resize`` and ``Split``; onnx2torch has converters for their
opset-17 forms only, so ``x.mean((2, 3))`` (a global average pool) made a dynamo
export unconvertible. ONNX's version converter rewrites these nodes to their
opset-17 forms (a constant ``axes`` input becomes the attribute) with the same
results. A graph onnx2torch converts at its own opset, or one the converter
cannot lower, is returned unchanged (an operator that stays unsupported is named
when the network is loaded).

The converter has no 18 → 17 adapter for ``Split`` (the dynamo exporter's
``Split(num_outputs=2)`` of a ShuffleNet channel split), so an opset-18 graph is
first lowered node by node (:func:`~.opset17_forms.opset17_forms`); a newer
opset is first converted to 18. The version converter is the fallback.
"""

from __future__ import annotations

from typing import Optional

import onnx
from onnx import version_converter
from onnx2torch.node_converters import get_converter

from ..graph import default_opset
from .opset17_forms import opset17_forms

MAX_OPSET = 17
"""The newest default-domain opset whose operators onnx2torch 1.5 converts."""


def _converts(node: onnx.NodeProto, opset: int) -> bool:
    try:
        get_converter(operation_type=node.op_type, version=opset, domain="")
    except NotImplementedError:
        return False
    return True


def downgrade_opset(model: onnx.ModelProto) -> onnx.ModelProto:
    """Lower the default-domain opset to :data:`MAX_OPSET` when that makes an operator convertible."""
    opset = default_opset(model)
    if opset <= MAX_OPSET:
        return model
    default = [node for node in model.graph.node if node.domain in ("", "ai.onnx")]
    missing = [node for node in default if not _converts(node, opset)]
    if not missing or not any(_converts(node, MAX_OPSET) for node in missing):
        return model
    lowered = _lowered(model, opset)
    if lowered is None:
        return model
    lowered.functions.extend(f for f in model.functions if f not in lowered.functions)
    return lowered


def _lowered(model: onnx.ModelProto, opset: int) -> Optional[onnx.ModelProto]:
    """``model`` at :data:`MAX_OPSET`, node by node from 18 and else by ONNX's converter; ``None`` when neither can."""
    at_18 = model
    if opset > 18:
        try:
            at_18 = version_converter.convert_version(model, 18)
        except Exception:  # no adapter for some operator: try the converter all the way below
            at_18 = None
    lowered = opset17_forms(at_18) if at_18 is not None else None
    if lowered is not None:
        return lowered
    try:
        return version_converter.convert_version(model, MAX_OPSET)
    except Exception:  # no adapter for some operator: keep the model, its operators are named at load time
        return None
