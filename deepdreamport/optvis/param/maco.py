"""MACO: magnitude-constrained Fourier parametrisation (Fel et al., 2023, "Unlocking feature visualization
for deeper networks with MAgnitude Constrained Optimization").

No lucent counterpart. The Fourier magnitude is fixed to the mean magnitude of
natural images (:mod:`.natural`, from ``skimage.data``) and only the phase is
optimised; the image, in decorrelated colour, is mixed back with the colour
matrix estimated from the same images, the natural colour mean is added, and
``sigmoid(4·(x − 0.5))`` (slope 1 at 0.5) keeps it in 0–1.

Shape:
    phase ``K×C×H×(W//2+1)``; ``image_f()``: ``K×C×H×W``
"""

from __future__ import annotations

import math
from typing import Optional

import torch

from .images import ImageParam
from .natural import natural_statistics


def maco(
    width: int,
    height: Optional[int] = None,
    batch: int = 1,
    channels: int = 3,
    *,
    generator: Optional[torch.Generator] = None,
    dtype: torch.dtype = torch.float32,
    device=None,
) -> ImageParam:
    """``batch`` images whose spectra have natural magnitudes and optimised phases."""
    height = height or width
    statistics = natural_statistics(height, width, channels)
    magnitude = torch.from_numpy(statistics.magnitude).to(device=device, dtype=dtype)
    matrix = torch.from_numpy(statistics.matrix).to(device=device, dtype=dtype)
    mean = torch.from_numpy(statistics.mean).to(device=device, dtype=dtype).view(1, -1, 1, 1)
    phase = (torch.rand(batch, channels, height, width // 2 + 1, generator=generator, dtype=dtype) * 2 - 1) * math.pi
    phase = phase.to(device).requires_grad_(True)

    def image_f() -> torch.Tensor:
        spectrum = torch.polar(magnitude.expand_as(phase), phase)
        decorrelated = torch.fft.irfftn(spectrum, s=(height, width), norm="ortho")
        colour = torch.einsum("dc,kchw->kdhw", matrix, decorrelated) + mean
        return torch.sigmoid(4 * (colour - 0.5))

    return ImageParam([phase], image_f, channels, "maco")
