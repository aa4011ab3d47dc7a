"""Natural-image statistics from the photographs scikit-image ships (``skimage.data``).

For MACO (:mod:`.maco`): the mean Fourier magnitude of decorrelated natural
image crops, and the colour decorrelation matrix (Lucid's recipe: the square
root ``U·√S`` of the pixel colour covariance, divided by its largest column
norm — Lucid's own 3×3 matrix was estimated the same way on ImageNet).
Nothing is downloaded: only images bundled with scikit-image are read
(``astronaut``, ``coffee``, ``chelsea``, ``rocket``, ``cat``,
``immunohistochemistry``, ``hubble_deep_field``); results are cached per
size for the process.

Shape:
    ``magnitude``: ``C×H×(W//2+1)``; ``matrix``: ``C×C``; ``mean``: ``C``
    (C = 3, or 1 for grayscale: luminance).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .._network import DeepDreamError, require

MACO_NEEDS = "the MACO parametrisation (natural image statistics from skimage.data)"

IMAGES = ("astronaut", "coffee", "chelsea", "rocket", "cat", "immunohistochemistry", "hubble_deep_field")


@dataclass(frozen=True)
class NaturalStatistics:
    magnitude: np.ndarray
    matrix: np.ndarray
    mean: np.ndarray


def _images(channels: int) -> list[np.ndarray]:
    skimage_color = require("skimage.color", MACO_NEEDS)
    skimage_data = require("skimage.data", MACO_NEEDS)

    images = [np.asarray(getattr(skimage_data, name)(), dtype=np.float64)[..., :3] / 255.0 for name in IMAGES]
    if channels == 1:
        images = [skimage_color.rgb2gray(image)[..., None] for image in images]
    return images


def crops(images: list[np.ndarray], height: int, width: int) -> np.ndarray:
    """Non-overlapping ``height``×``width`` crops (images smaller than that are enlarged first).

    Shape: → ``N×height×width×C``
    """
    skimage_transform = require("skimage.transform", MACO_NEEDS)

    found = []
    for image in images:
        if image.shape[0] < height or image.shape[1] < width:
            factor = max(height / image.shape[0], width / image.shape[1])
            image = skimage_transform.resize(
                image,
                (int(np.ceil(image.shape[0] * factor)), int(np.ceil(image.shape[1] * factor))),
                anti_aliasing=False,
            )
        for top in range(0, image.shape[0] - height + 1, height):
            for left in range(0, image.shape[1] - width + 1, width):
                found.append(image[top : top + height, left : left + width])
    return np.stack(found)


def color_matrix(pixels: np.ndarray) -> np.ndarray:
    """``U·√S`` of the colour covariance, normalised by the largest column norm.

    Shape: ``N×C`` → ``C×C``
    """
    covariance = np.atleast_2d(np.cov(pixels, rowvar=False))
    u, s, _ = np.linalg.svd(covariance)
    root = u * np.sqrt(s)[None, :]
    root = root * np.where(root[0] < 0, -1.0, 1.0)[None, :]  # SVD's sign is arbitrary; Lucid's first row is positive
    return root / np.max(np.linalg.norm(root, axis=0))


@lru_cache(maxsize=8)
def natural_statistics(height: int, width: int, channels: int = 3) -> NaturalStatistics:
    """Mean decorrelated Fourier magnitude and colour statistics of natural ``height``×``width`` crops."""
    if channels not in (1, 3):
        raise DeepDreamError(
            "deepdreamport:optvis:BadParam",
            f"param: natural-image statistics exist for 1 or 3 channels; the network takes {channels}.",
        )
    patches = crops(_images(channels), height, width)
    pixels = patches.reshape(-1, channels)
    mean = pixels.mean(axis=0)
    matrix = color_matrix(pixels)
    whitened = (patches - mean) @ np.linalg.inv(matrix).T
    spectrum = np.fft.rfft2(whitened.transpose(0, 3, 1, 2), norm="ortho")
    return NaturalStatistics(np.abs(spectrum).mean(axis=0), matrix, mean)
