"""After conversion: ``Slice`` modules that index with a tuple, as torch asks.

No MATLAB counterpart. onnx2torch's ``Slice`` module (``OnnxSlice``; older
opsets are upgraded before conversion, :mod:`.passes`) indexes the tensor with a
*list* of ``slice`` objects; torch 2.14 still reads such a list as a tuple but warns on every call
("Using a non-tuple sequence for multidimensional indexing is deprecated"),
once per ``Slice`` of a YOLO ``Focus`` each time the network runs. A torch that
drops the reading would fail there.

:func:`tuple_slices` replaces each such module in the converted
``torch.fx.GraphModule`` by a subclass whose forward makes the same slices
(onnx2torch's own ``_get_slices``: flips for negative steps, slices of the
leading and trailing axes) and indexes with ``tuple(...)``: the same values,
no warning. The graph itself is unchanged (same targets, same arguments).
"""

from __future__ import annotations

from typing import Optional

import torch
from onnx2torch.node_converters.slice import OnnxSlice, _get_slices


def _index(x: torch.Tensor, flip_dims: list, pos_axes_slices: list, neg_axes_slices: list) -> torch.Tensor:
    """onnx2torch's ``_do_slice`` with tuple indices."""
    if flip_dims:
        x = torch.flip(x, dims=flip_dims)
    if pos_axes_slices:
        x = x[tuple(pos_axes_slices)]
    if neg_axes_slices:
        x = x[tuple(neg_axes_slices)]
    return x


class TupleSlice(OnnxSlice):
    """``OnnxSlice`` (slices from tensor inputs, opset ≥ 10) indexing with tuples."""

    def forward(
        self,
        input_tensor: torch.Tensor,
        starts: torch.Tensor,
        ends: torch.Tensor,
        axes: Optional[torch.Tensor] = None,
        steps: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        if torch.onnx.is_in_onnx_export():  # onnx2torch's export path, unchanged
            return super().forward(input_tensor, starts, ends, axes, steps)
        return _index(input_tensor, *_get_slices(starts, ends, axes, steps))


def tuple_slices(module: torch.fx.GraphModule) -> torch.fx.GraphModule:
    """Replace, in place, every onnx2torch ``OnnxSlice`` module by :class:`TupleSlice`; return ``module``."""
    for name, child in list(module.named_modules()):
        if name and type(child) is OnnxSlice:
            module.add_submodule(name, TupleSlice())
    return module
