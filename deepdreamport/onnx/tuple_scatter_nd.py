"""After conversion: ``ScatterND`` modules that index with a tuple of index tensors, as torch asks.

No MATLAB counterpart. onnx2torch's ``ScatterND`` module (``OnnxScatterND``: the
TorchScript exporter's form of an in-place slice assignment, ``x[:, 0] = v``)
writes ``output[indices.T.tolist()] = updates``: a *list* of index lists, which
torch 2.14 still reads as a tuple but warns about on every call ("Using a
non-tuple sequence for multidimensional indexing is deprecated"), and which a
later torch reads as one tensor index (other elements, or an error).

:func:`tuple_scatter_nd` replaces each such module in the converted
``torch.fx.GraphModule`` by a subclass whose forward makes the same assignment
with a tuple of index tensors (ONNX's ``ScatterND`` with ``reduction='none'``:
``output = copy(data); output[indices[i]] = updates[i]``): the same values, no
warning, no copy of the indices to the host. The graph itself is unchanged.
"""

from __future__ import annotations

import torch
from onnx2torch.node_converters.scatter_nd import OnnxScatterND


class TupleScatterND(OnnxScatterND):
    """``OnnxScatterND`` indexing with a tuple of index tensors (one per indexed leading axis)."""

    def forward(self, data: torch.Tensor, indices: torch.Tensor, updates: torch.Tensor) -> torch.Tensor:
        if torch.onnx.is_in_onnx_export():  # onnx2torch's export path, unchanged
            return super().forward(data, indices, updates)
        depth = indices.shape[-1]  # how many leading axes of data each index row names
        rows = indices.reshape(-1, depth).to(torch.long)
        output = data.clone()
        output[tuple(rows.unbind(1))] = updates.reshape(-1, *updates.shape[indices.dim() - 1 :])
        return output


def tuple_scatter_nd(module: torch.fx.GraphModule) -> torch.fx.GraphModule:
    """Replace, in place, every onnx2torch ``OnnxScatterND`` module by :class:`TupleScatterND`; return ``module``."""
    for name, child in list(module.named_modules()):
        if name and type(child) is OnnxScatterND:
            module.add_submodule(name, TupleScatterND(reduction=child._reduction))
    return module
