"""Colour: Lucid's decorrelated colour space and the map to the valid range.

Mirrors lucent's ``optvis/param/color.py`` (``_linear_decorrelate_color``,
``to_valid_rgb``): a 3×3 square root of ImageNet's colour covariance,
normalised by its largest column norm, applied per pixel, then a sigmoid to
0–1. Like lucent (and unlike Lucid without sigmoid), the colour mean is not
added: the sigmoid centres the image at 0.5. ``COLOR_MEAN`` is kept for
parametrisations that need it.

Deviation: any channel count is accepted; decorrelation needs exactly 3
channels or a C×C matrix of the caller's (e.g. one estimated from images,
:mod:`.natural`).

Shape:
    image tensors are ``K×C×H×W``; ``matrix`` is ``C×C`` (output, input).
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import torch

from .._network import DeepDreamError

COLOR_CORRELATION_SVD_SQRT = np.asarray(
    [[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]], dtype=np.float32
)
COLOR_CORRELATION_NORMALIZED = COLOR_CORRELATION_SVD_SQRT / np.max(np.linalg.norm(COLOR_CORRELATION_SVD_SQRT, axis=0))
COLOR_MEAN = (0.48, 0.46, 0.41)


def linear_decorrelate_color(image: torch.Tensor, matrix: Optional[np.ndarray] = None) -> torch.Tensor:
    """Each pixel's channel vector ``v`` becomes ``matrix @ v`` (lucent's ``_linear_decorrelate_color``)."""
    matrix = COLOR_CORRELATION_NORMALIZED if matrix is None else np.asarray(matrix)
    if matrix.shape != (image.shape[1], image.shape[1]):
        raise DeepDreamError(
            "deepdreamport:optvis:BadParam",
            f"decorrelate: a {matrix.shape[0]}×{matrix.shape[1]} colour matrix cannot mix {image.shape[1]} channels; "
            "use decorrelate=False or a C×C matrix for this network.",
        )
    transposed = torch.from_numpy(np.ascontiguousarray(matrix.T)).to(device=image.device, dtype=image.dtype)
    return torch.matmul(image.permute(0, 2, 3, 1), transposed).permute(0, 3, 1, 2)


def to_valid_rgb(
    image_f: Callable[[], torch.Tensor], decorrelate: bool = False, matrix: Optional[np.ndarray] = None
) -> Callable[[], torch.Tensor]:
    """``sigmoid(decorrelate(image_f()))`` in 0–1 (lucent's ``to_valid_rgb``)."""

    def inner() -> torch.Tensor:
        image = image_f()
        if decorrelate:
            image = linear_decorrelate_color(image, matrix)
        return torch.sigmoid(image)

    return inner
