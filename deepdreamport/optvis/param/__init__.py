"""Image parametrisations (lucent's ``optvis/param``)."""

from .color import COLOR_CORRELATION_NORMALIZED, COLOR_MEAN, linear_decorrelate_color, to_valid_rgb
from .images import ImageParam, image
from .spatial import fft_image, pixel_image, rfft2d_freqs, spectrum_scale, spectrum_to_image

__all__ = [
    "COLOR_CORRELATION_NORMALIZED", "COLOR_MEAN", "ImageParam", "fft_image", "image", "linear_decorrelate_color",
    "pixel_image", "rfft2d_freqs", "spectrum_scale", "spectrum_to_image", "to_valid_rgb",
]
