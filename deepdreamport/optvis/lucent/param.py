"""lucent's ``optvis.param`` names and signatures, made on the best device present, as lucent's.

lucent puts every parametrisation on ``cuda:0`` when there is a GPU and draws its
initial values from torch's global stream in torch's default dtype; these do the
same (``generator=None``) on top of :mod:`deepdreamport.optvis.param`. Each returns
what lucent's returns: ``param.image`` and ``param.cppn`` an
:class:`~deepdreamport.optvis.param.ImageParam` that unpacks as ``(params, image_f)``,
the others ``(params, image_f)``.
"""

from __future__ import annotations

from typing import Optional

import torch

from .._network import resolve_device
from ..param import cppn as _cppn
from ..param import fft_image as _fft_image
from ..param import image as _image
from ..param import lowres_tensor as _lowres_tensor
from ..param import pixel_image as _pixel_image
from ..param.color import COLOR_CORRELATION_NORMALIZED, COLOR_CORRELATION_SVD_SQRT, COLOR_MEAN, to_valid_rgb
from ..param.cppn import CompositeActivation
from ..param.images import ImageParam
from ..param.spatial import rfft2d_freqs

color_correlation_svd_sqrt = COLOR_CORRELATION_SVD_SQRT
color_correlation_normalized = COLOR_CORRELATION_NORMALIZED
color_mean = list(COLOR_MEAN)


def _where() -> dict:
    """lucent's device (``cuda:0`` when there is a GPU) and torch's default dtype."""
    return dict(device=resolve_device("auto"), dtype=torch.get_default_dtype())


def image(
    w: int,
    h: Optional[int] = None,
    sd: Optional[float] = None,
    batch: Optional[int] = None,
    decorrelate: bool = True,
    fft: bool = True,
    channels: Optional[int] = None,
) -> ImageParam:
    """lucent ``param.image``: giving ``channels`` turns decorrelation off, as in lucent."""
    return _image(
        w,
        h,
        sd=sd,
        batch=batch,
        decorrelate=decorrelate and not channels,
        fft=fft,
        channels=channels or 3,
        **_where(),
    )


def cppn(
    size,
    num_output_channels: int = 3,
    num_hidden_channels: int = 24,
    num_layers: int = 8,
    activation_fn=CompositeActivation,
    normalize: bool = False,
) -> ImageParam:
    """lucent ``param.cppn`` (a size may also be ``(H, W)``)."""
    return _cppn(size, num_output_channels, num_hidden_channels, num_layers, activation_fn, normalize, **_where())


def lowres_tensor(shape, underlying_shape, offset=None, sd: float = 0.01):
    """lucent ``param.lowres_tensor``."""
    return _lowres_tensor(shape, underlying_shape, offset, sd, **_where())


def fft_image(shape, sd: Optional[float] = None, decay_power: float = 1):
    """lucent ``param.fft_image``."""
    return _fft_image(shape, sd, decay_power, **_where())


def pixel_image(shape, sd: Optional[float] = None):
    """lucent ``param.pixel_image``."""
    return _pixel_image(shape, sd, **_where())


__all__ = [
    "CompositeActivation",
    "color_correlation_normalized",
    "color_correlation_svd_sqrt",
    "color_mean",
    "cppn",
    "fft_image",
    "image",
    "lowres_tensor",
    "pixel_image",
    "rfft2d_freqs",
    "to_valid_rgb",
]
