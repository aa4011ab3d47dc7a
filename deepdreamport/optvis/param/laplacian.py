"""Laplacian-pyramid parametrisation: a sum of upsampled images at halving resolutions.

Mirrors Lucid's ``param/spatial.py`` ``laplacian_pyramid`` (lucent has none):
``n_levels`` tensors of size ⌈H/2^k⌉×⌈W/2^k⌉, each resized bilinearly to
H×W and summed, so coarse structure is cheap to change. Deviation: Lucid
resizes with ``tf.image.resize_bilinear`` (half-pixel-free); this uses
``F.interpolate(align_corners=False)``.

Shape:
    ``image_f()``: ``K×C×H×W`` (before colour and sigmoid)
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

from .spatial import DEFAULT_SD


def laplacian_pyramid(
    shape,
    n_levels: int = 4,
    sd: Optional[float] = None,
    *,
    generator: Optional[torch.Generator] = None,
    dtype: torch.dtype = torch.float32,
    device=None,
):
    """``(parameters, image_f)`` of a ``shape`` = (K, C, H, W) pyramid."""
    batch, channels, height, width = shape
    sd = sd or DEFAULT_SD
    levels = []
    for k in range(n_levels):
        size = (-(-height // 2**k), -(-width // 2**k))
        levels.append(
            (torch.randn(batch, channels, *size, generator=generator, dtype=dtype) * sd).to(device).requires_grad_(True)
        )

    def image_f() -> torch.Tensor:
        return sum(
            F.interpolate(level, size=(height, width), mode="bilinear", align_corners=False)
            if level.shape[-2:] != (height, width)
            else level
            for level in levels
        )

    return levels, image_f
