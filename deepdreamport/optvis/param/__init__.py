"""Image parametrisations (lucent's ``optvis/param``)."""

from .color import COLOR_CORRELATION_NORMALIZED, COLOR_MEAN, linear_decorrelate_color, to_valid_rgb
from .cppn import CompositeActivation, cppn
from .images import DEFAULT_LEARNING_RATE, LEARNING_RATES, ImageParam, image
from .laplacian import laplacian_pyramid
from .lowres import lowres_tensor, resize_bilinear_nd
from .maco import maco
from .spatial import fft_image, pixel_image, rfft2d_freqs, spectrum_scale, spectrum_to_image

__all__ = [
    "COLOR_CORRELATION_NORMALIZED",
    "COLOR_MEAN",
    "CompositeActivation",
    "DEFAULT_LEARNING_RATE",
    "ImageParam",
    "LEARNING_RATES",
    "cppn",
    "laplacian_pyramid",
    "lowres_tensor",
    "maco",
    "fft_image",
    "image",
    "linear_decorrelate_color",
    "pixel_image",
    "resize_bilinear_nd",
    "rfft2d_freqs",
    "spectrum_scale",
    "spectrum_to_image",
    "to_valid_rgb",
]
