"""After conversion: ``Slice`` modules that index with a tuple, as torch asks.

No MATLAB counterpart. onnx2torch's ``Slice`` modules (``OnnxSliceV9`` for
opset < 10, ``OnnxSlice`` after) index the tensor with a *list* of ``slice``
objects; torch 2.14 still reads such a list as a tuple but warns on every call
("Using a non-tuple sequence for multidimensional indexing is deprecated"),
once per ``Slice`` of a YOLO ``Focus`` each time the network runs. A torch that
drops the reading would fail there.

:func:`tuple_slices` replaces each of those modules in the converted
``torch.fx.GraphModule`` by a subclass whose forward makes the same slices
(onnx2torch's own ``_get_slices``: flips for negative steps, slices of the
leading and trailing axes) and indexes with ``tuple(...)``: the same values,
no warning. The graph itself is unchanged (same targets, same arguments).
"""

from __future__ import annotations

from typing import Optional

import torch
from onnx2torch.node_converters.slice import OnnxSlice, OnnxSliceV9, _get_slices


def _index(x: torch.Tensor, flip_dims: list, pos_axes_slices: list, neg_axes_slices: list) -> torch.Tensor:
    """onnx2torch's ``_do_slice`` with tuple indices."""
    if flip_dims:
        x = torch.flip(x, dims=flip_dims)
    if pos_axes_slices:
        x = x[tuple(pos_axes_slices)]
    if neg_axes_slices:
        x = x[tuple(neg_axes_slices)]
    return x


class TupleSliceV9(OnnxSliceV9):
    """``OnnxSliceV9`` (slices from attributes, opset 9) indexing with tuples.

    (onnx2torch's own forward reads ``self.flip_dims`` while ``__init__`` stores
    ``self._flip_dims``, so it fails on every call; this one reads what is stored.)
    """

    def forward(self, input_tensor: torch.Tensor) -> torch.Tensor:
        return _index(input_tensor, self._flip_dims, self._pos_axes_slices, self._neg_axes_slices)


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


def _tuple_slice(module: torch.nn.Module) -> Optional[torch.nn.Module]:
    if type(module) is OnnxSliceV9:
        replacement = TupleSliceV9.__new__(TupleSliceV9)
        replacement.__dict__.update(module.__dict__)
        return replacement
    if type(module) is OnnxSlice:
        return TupleSlice()
    return None


def tuple_slices(module: torch.fx.GraphModule) -> torch.fx.GraphModule:
    """Replace, in place, every onnx2torch ``Slice`` module by its tuple-indexing subclass; return ``module``."""
    for name, child in list(module.named_modules()):
        replacement = _tuple_slice(child) if name else None
        if replacement is not None:
            module.add_submodule(name, replacement)
    return module
