"""Spatial parametrisations: pixels and a 1/f-scaled Fourier spectrum.

Mirrors lucent's ``optvis/param/spatial.py`` (``pixel_image``, ``rfft2d_freqs``,
``fft_image``), which follow Lucid's ``param/spatial.py``. Both return
``(parameters, image_f)``: the tensors to optimise and a function drawing the
(pre-colour, unbounded) image from them.

Deviations: the initial values are drawn from an explicit ``torch.Generator``
(lucent draws from torch's global stream; seeding both with the same seed
gives the same numbers on the CPU) in the requested dtype and device; the
frequency scale is rounded to float32 as lucent does and then cast, so float32
and float64 runs use the same constant.

Shape:
    - ``shape``: ``(K, C, H, W)``
    - ``image_f()``: ``K×C×H×W``
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import torch

ImageFunction = Callable[[], torch.Tensor]

DEFAULT_SD = 0.01
FFT_MAGIC = 4.0  # Lucid's constant; a larger value reduces saturation


def pixel_image(
    shape,
    sd: Optional[float] = None,
    *,
    generator: Optional[torch.Generator] = None,
    dtype: torch.dtype = torch.float32,
    device=None,
) -> tuple[list[torch.Tensor], ImageFunction]:
    """Free pixels, initialised N(0, ``sd``²) (lucent ``pixel_image``)."""
    sd = sd or DEFAULT_SD
    tensor = (torch.randn(*shape, generator=generator, dtype=dtype) * sd).to(device).requires_grad_(True)
    return [tensor], lambda: tensor


def rfft2d_freqs(height: int, width: int) -> np.ndarray:
    """Spatial frequency magnitude of every rFFT coefficient (lucent ``rfft2d_freqs``).

    Like lucent, an odd ``width`` keeps one extra column, which the inverse
    transform (``s=(H, W)``) drops again.

    Shape:
        ``H × (W // 2 + 1)`` (``W // 2 + 2`` for odd ``W``)
    """
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.fftfreq(width)[: width // 2 + (2 if width % 2 == 1 else 1)]
    return np.sqrt(fx * fx + fy * fy)


def spectrum_scale(height: int, width: int, decay_power: float = 1.0) -> np.ndarray:
    """``1 / max(f, 1 / max(H, W)) ** decay_power``, as float32 (lucent's ``scale``)."""
    freqs = rfft2d_freqs(height, width)
    return (1.0 / np.maximum(freqs, 1.0 / max(width, height)) ** decay_power).astype(np.float32)


def spectrum_to_image(spectrum: torch.Tensor, scale: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Scaled real/imaginary spectrum → image: ortho inverse rFFT, divided by 4.

    Shape:
        - ``spectrum``: ``K×C×H×F×2`` (F rFFT columns, last axis real/imaginary)
        - ``scale``: ``H×F``
        - output: ``K×C×H×W``
    """
    scaled = torch.view_as_complex((scale[None, None, :, :, None] * spectrum).contiguous())
    image = torch.fft.irfftn(scaled, s=(height, width), norm="ortho")
    return image / FFT_MAGIC


def fft_image(
    shape,
    sd: Optional[float] = None,
    decay_power: float = 1.0,
    *,
    generator: Optional[torch.Generator] = None,
    dtype: torch.dtype = torch.float32,
    device=None,
) -> tuple[list[torch.Tensor], ImageFunction]:
    """A spectrum whose coefficients are scaled by 1/f^``decay_power`` (lucent ``fft_image``)."""
    batch, channels, height, width = shape
    freqs_shape = rfft2d_freqs(height, width).shape
    sd = sd or DEFAULT_SD
    spectrum = torch.randn(batch, channels, *freqs_shape, 2, generator=generator, dtype=dtype) * sd
    spectrum = spectrum.to(device).requires_grad_(True)
    scale = torch.from_numpy(spectrum_scale(height, width, decay_power)).to(device=device, dtype=dtype)
    return [spectrum], lambda: spectrum_to_image(spectrum, scale, height, width)
