"""Image parametrisations (lucent's ``optvis/param``)."""

from .color import COLOR_CORRELATION_NORMALIZED, COLOR_MEAN, linear_decorrelate_color, to_valid_rgb
from .cppn import cppn
from .images import ImageParam, image
from .laplacian import laplacian_pyramid
from .maco import maco
from .spatial import fft_image, pixel_image, rfft2d_freqs, spectrum_scale, spectrum_to_image

__all__ = [
    "COLOR_CORRELATION_NORMALIZED",
    "COLOR_MEAN",
    "ImageParam",
    "cppn",
    "laplacian_pyramid",
    "maco",
    "fft_image",
    "image",
    "linear_decorrelate_color",
    "pixel_image",
    "rfft2d_freqs",
    "spectrum_scale",
    "spectrum_to_image",
    "to_valid_rgb",
]
