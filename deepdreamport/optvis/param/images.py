"""The usual image parametrisation in one call.

Mirrors lucent's ``optvis/param/images.py`` ``image``: pixel or FFT
(``fft``), decorrelated colour (``decorrelate``), sigmoid to 0–1.

Deviations: ``channels`` defaults to 3 but is normally the network's input
channel count (the render front door passes it); decorrelation is applied
only when ``channels == 3`` unless a C×C ``color_matrix`` is given (lucent
switches it off whenever ``channels`` is given). ``decay_power``, the
generator, dtype and device are exposed.

Shape:
    ``image_f()`` is ``K×C×H×W`` (K = ``batch``) in 0–1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import torch

from .._network import DeepDreamError
from .color import to_valid_rgb
from .spatial import fft_image, pixel_image

LEARNING_RATES = {"fft": 0.05, "pixel": 0.05, "laplacian": 0.05, "maco": 0.2, "cppn": 0.005}
"""Adam's default learning rate per parametrisation: lucent's ``render_vis`` default (5e-2) where lucent
uses it, lucent's CPPN tutorial's 5e-3 for the CPPN (at 5e-2 it saturates), and for MACO (no lucent
counterpart; its parameters are phases in radians) the rate that reached the highest activation in
``benchmarks/optvis_bench.py --learning-rates`` (README, "Learning rates")."""
DEFAULT_LEARNING_RATE = 0.05  # lucent's render_vis default, for parametrisations of the caller's


@dataclass
class ImageParam:
    """Parameters to optimise and the function drawing the 0–1 image from them.

    Unpacks as lucent's ``(params, image_f)`` pair: ``params, image_f = param.image(128)``.
    """

    parameters: list
    image_f: Callable[[], torch.Tensor]
    channels: int
    kind: str

    def __call__(self) -> torch.Tensor:
        return self.image_f()

    def __iter__(self):
        return iter((self.parameters, self.image_f))

    @property
    def default_lr(self) -> float:
        """Adam's learning rate when none is given (:data:`LEARNING_RATES`)."""
        return LEARNING_RATES.get(self.kind, DEFAULT_LEARNING_RATE)


def image(
    w: int,
    h: Optional[int] = None,
    sd: Optional[float] = None,
    batch: Optional[int] = None,
    decorrelate: bool = True,
    fft: bool = True,
    channels: int = 3,
    decay_power: float = 1.0,
    color_matrix: Optional[np.ndarray] = None,
    *,
    generator: Optional[torch.Generator] = None,
    dtype: torch.dtype = torch.float32,
    device=None,
) -> ImageParam:
    """A ``batch``×``channels``×``h``×``w`` image in 0–1 (lucent ``param.image``)."""
    h = h or w
    batch = batch or 1
    for name, value in (("w", w), ("h", h), ("batch", batch), ("channels", channels)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise DeepDreamError(
                "deepdreamport:optvis:BadParam", f"{name}: expected a positive integer; got {value!r}."
            )
    shape = (batch, channels, h, w)
    if fft:
        parameters, image_f = fft_image(
            shape, sd=sd, decay_power=decay_power, generator=generator, dtype=dtype, device=device
        )
    else:
        parameters, image_f = pixel_image(shape, sd=sd, generator=generator, dtype=dtype, device=device)
    mix = decorrelate and (channels == 3 or color_matrix is not None)
    return ImageParam(
        parameters, to_valid_rgb(image_f, decorrelate=mix, matrix=color_matrix), channels, "fft" if fft else "pixel"
    )
