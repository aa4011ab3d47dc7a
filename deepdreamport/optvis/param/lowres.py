"""A tensor parametrised by a bilinearly enlarged lower-resolution tensor.

Mirrors lucent's ``optvis/param/lowres.py`` (``lowres_tensor``) and
``resize_bilinear_nd.py`` (``resize_bilinear_nd``): the underlying tensor is
resized two dimensions at a time with ``align_corners=True`` bilinear
upsampling, then optionally shifted by reflect-padding and cropping
(``offset``, with lucent's reading of its entries: ``True`` is half the
enlargement factor, ``False`` 0, a number that many elements; the four
entries are ``F.pad``'s, i.e. the last dimension's left/right, then the one
before it). Like lucent's, the result is unbounded (combine it with
:func:`.color.to_valid_rgb` for a 0–1 image).

Deviations: the initial values come from the given ``torch.Generator``
(torch's global stream without one, as lucent), in the given dtype and on
the given device; the caller's ``offset`` list is not modified (lucent
rewrites it in place).

Shape:
    ``image_f()``: ``shape`` (e.g. ``K×C×H×W``) from an ``underlying_shape`` tensor.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

from .spatial import DEFAULT_SD


def collapse_shape(shape, a: int, b: int) -> list:
    """``shape`` with the dimensions before ``a`` and from ``b`` on multiplied together (lucent's helper).

    ``[1, 2, 3, 4, 5]`` with ``(a=2, b=4)`` → ``[2, 3, 4, 5]``; shapes are padded with 1s to reach ``a``/``b``.
    """
    shape = list(shape)
    if a < 0:
        return collapse_shape([1] * -a + shape, 0, b - a)
    if b > len(shape):
        return collapse_shape(shape + [1] * (b - len(shape)), a, b)
    return [int(np.prod(shape[:a]))] + shape[a:b] + [int(np.prod(shape[b:]))]


def resize_bilinear_nd(tensor: torch.Tensor, target_shape) -> torch.Tensor:
    """Bilinear (``align_corners=True``) resize of any-dimensional ``tensor`` to ``target_shape``,
    two dimensions at a time (lucent ``resize_bilinear_nd``)."""
    shape, target_shape = list(tensor.shape), list(target_shape)
    d = 0
    while d < len(shape):
        if shape[d] == target_shape[d]:
            d += 1
            continue
        new_shape = shape[:]
        new_shape[d : d + 2] = target_shape[d : d + 2]
        collapsed = collapse_shape(shape, d, d + 2)
        new_collapsed = collapse_shape(new_shape, d, d + 2)
        t = tensor.view(collapsed).transpose(1, 3).transpose(2, 3)
        t = F.interpolate(t, size=new_collapsed[1:3], mode="bilinear", align_corners=True)
        tensor = t.transpose(2, 3).transpose(1, 3).reshape(new_shape)
        shape = new_shape
        d += 2
    return tensor


def _offsets(offset, shape, underlying_shape) -> Optional[list]:
    if offset is None:
        return None
    offsets = list(offset) if isinstance(offset, list) else len(shape) * [offset]
    for n, value in enumerate(offsets):
        if value is True:
            value = shape[n] / underlying_shape[n] / 2
        elif value is False:
            value = 0
        offsets[n] = int(value)
    return offsets


def lowres_tensor(
    shape,
    underlying_shape,
    offset=None,
    sd: Optional[float] = None,
    *,
    generator: Optional[torch.Generator] = None,
    dtype: Optional[torch.dtype] = None,
    device=None,
):
    """``(parameters, image_f)``: ``image_f()`` is the ``underlying_shape`` tensor (N(0, ``sd``²), sd 0.01)
    resized to ``shape`` (lucent ``lowres_tensor``)."""
    sd = DEFAULT_SD if sd is None else sd
    underlying = (torch.randn(*underlying_shape, generator=generator, dtype=dtype) * sd).to(device).requires_grad_(True)
    offsets = _offsets(offset, shape, underlying_shape)

    def image_f() -> torch.Tensor:
        t = resize_bilinear_nd(underlying, shape)
        if offsets is not None:
            t = F.pad(t, offsets, "reflect")
            t = t[: shape[0], : shape[1], : shape[2], : shape[3]]
        return t

    return [underlying], image_f
