"""Networks whose batch an export pinned to 1: the check, and running them one image per network pass.

No MATLAB or lucent counterpart (their layers always take a batch). An export can pin
the batch where no fix-up pass of :mod:`deepdreamport.onnx.passes` frees it: a constant
of batch 1 concatenated with the activations (a CoordConv grid the exporter folded to a
1×2×H×W constant), an ``Expand`` or a ``Reshape`` to a computed shape with a 1 in front.
Such a network runs on one image but not on two. Every front door (the deep-dream doors,
``render``, the atlas) then runs it one image per pass: :class:`OneImagePerPass` splits
the batch, runs each image alone and concatenates the outputs (gradients flow through
``torch.cat``), so each image gets exactly the numbers it gets alone; other networks keep
their batched passes and their numbers.

Shape:
    images ``N×C×H×W`` → the module's outputs, each ``N×...``.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Callable, Sequence

import torch

if TYPE_CHECKING:
    from .base import VisualNetwork

SHAPE_ERRORS = (RuntimeError, ValueError, IndexError)
"""What torch raises when a batch does not fit a pinned shape (concatenation, reshape, expand)."""

_PINNED: "weakref.WeakKeyDictionary[torch.nn.Module, dict[tuple, bool]]" = weakref.WeakKeyDictionary()


def batch_pinned_to_one(module: torch.nn.Module, channels: int, size: Sequence[int], one_works: bool = False) -> bool:
    """Whether ``module`` runs on one ``channels``×``size`` image at a time only.

    Tried once per module and size, without gradients, on zeros in the module's dtype and
    on its device: a batch of 2 that fails while a batch of 1 runs means the batch is pinned.
    ``one_works``: the caller knows a batch of 1 runs at this size (the pass that built the
    module ran it), so only the batch of 2 is tried. Any other network answers ``False``;
    a size that fails for one image too answers ``False`` (the caller's own pass then
    reports that error).
    """
    cache = _PINNED.setdefault(module, {})
    key = (int(channels), *(int(side) for side in size))
    if key not in cache:
        parameter = next(module.parameters(), None)
        dtype = parameter.dtype if parameter is not None else torch.float32
        device = parameter.device if parameter is not None else torch.device("cpu")
        cache[key] = not _runs(module, torch.zeros(2, *key, dtype=dtype, device=device)) and (
            one_works or _runs(module, torch.zeros(1, *key, dtype=dtype, device=device))
        )
    return cache[key]


def _runs(module: Callable, images: torch.Tensor) -> bool:
    try:
        with torch.no_grad():
            module(images)
    except SHAPE_ERRORS:
        return False
    return True


def takes_one_image_per_pass(truncated: "VisualNetwork", channels: int, size: Sequence[int]) -> bool:
    """Whether a visual network (a deep-dream door's truncated network) runs one image per pass only.

    Its module ran on one image of its input size when it was built, so only a batch of 2
    is tried (:func:`batch_pinned_to_one`); the doors then dream with ``max_batch`` 1: the
    same numbers, more passes.
    """
    return batch_pinned_to_one(truncated.module, channels, size, one_works=True)


def concatenate_outputs(outputs: list):
    """Per-image outputs of a module (tensors, or tuples/lists/dicts of them) joined along the batch."""
    first = outputs[0]
    if isinstance(first, torch.Tensor):
        return torch.cat(outputs)
    if isinstance(first, dict):
        return {key: concatenate_outputs([output[key] for output in outputs]) for key in first}
    if isinstance(first, (tuple, list)):
        return type(first)(concatenate_outputs(list(parts)) for parts in zip(*outputs))
    return first  # not a tensor (a constant output): the same for every image


class OneImagePerPass(torch.nn.Module):
    """``module`` run on each image of the batch alone, the outputs concatenated along the batch.

    For networks whose batch is pinned to 1 (:func:`batch_pinned_to_one`); a batch of one
    image runs ``module`` unchanged. ``module`` is a submodule, so ``.to()`` moves it.
    """

    def __init__(self, module: torch.nn.Module):
        super().__init__()
        self.module = module

    def forward(self, images: torch.Tensor):
        if images.shape[0] <= 1:
            return self.module(images)
        return concatenate_outputs([self.module(images[k : k + 1]) for k in range(images.shape[0])])


def one_image_per_pass(module: torch.nn.Module, channels: int, size: Sequence[int]) -> torch.nn.Module:
    """``module`` wrapped in :class:`OneImagePerPass` when its batch is pinned to 1 at ``size``, else itself."""
    return OneImagePerPass(module) if batch_pinned_to_one(module, channels, size) else module
