"""onnx2torch converters for operators it lacks, added through its public registry.

Like onnx2torch's own ``node_converters`` package: one module per operator,
each exposing ``CONVERTER = (domain, op_type, version, function)``.
:func:`register` adds them with ``onnx2torch.node_converters.add_converter``
(never by editing onnx2torch); an operator that already has a converter
(``get_converter`` finds it) is left alone, so registering twice is harmless.
:mod:`.unknown_rank` wraps onnx2torch's converters that read their input's rank
(for graphs whose shape inference cannot tell it).
"""

from __future__ import annotations

from onnx2torch.node_converters import add_converter, get_converter

from . import resized_mean, unknown_rank

CONVERTERS = (resized_mean.CONVERTER,)


def register() -> None:
    """Register every converter of :data:`CONVERTERS` that onnx2torch does not know yet; wrap the rank readers."""
    for domain, op_type, version, function in CONVERTERS:
        try:
            get_converter(operation_type=op_type, version=version, domain=domain)
        except NotImplementedError:
            add_converter(operation_type=op_type, version=version, domain=domain)(function)
    unknown_rank.register()
