"""Dataset examples (as in OpenAI Microscope): the natural-image patches that excite a unit most.

The patch bank is cut from ``skimage.data``'s bundled photographs (no download):
each image is resized so its short side is twice the network's input size and
cut into input-size patches at half-patch stride. It is the same for every
worker, so a patch is named by its number alone.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import skimage.data
import torch
from skimage.color import rgb2gray
from skimage.transform import resize

NATURAL_IMAGES = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "hubble_deep_field")
EXAMPLES_PER_UNIT = 4


@lru_cache(maxsize=4)
def patch_bank(size: int, channels: int) -> np.ndarray:
    """P×size×size×C float32 patches in 0–255 pixel units."""

    patches = []
    stride = max(1, size // 2)
    for name in NATURAL_IMAGES:
        image = getattr(skimage.data, name)().astype(np.float64)
        zoom = 2 * size / min(image.shape[:2])
        shape = (round(image.shape[0] * zoom), round(image.shape[1] * zoom))
        image = resize(image, shape, anti_aliasing=True, preserve_range=True)
        if channels == 1:
            image = rgb2gray(image / 255.0)[:, :, None] * 255.0
        for top in range(0, shape[0] - size + 1, stride):
            for left in range(0, shape[1] - size + 1, stride):
                patches.append(image[top : top + size, left : left + size, :channels])
    return np.stack(patches).astype(np.float32)


def unit_scores(module, bank: np.ndarray, batch: int = 16) -> np.ndarray:
    """P×C: every patch's strongest response (spatial maximum) in every channel of the layer."""

    scores = []
    with torch.no_grad():
        for start in range(0, len(bank), batch):
            images = torch.from_numpy(bank[start : start + batch]).permute(0, 3, 1, 2).contiguous()
            output = module(images)
            if isinstance(output, (tuple, list)):
                output = output[0]
            output = output.reshape(output.shape[0], output.shape[1], -1)
            scores.append(output.amax(dim=2).double().numpy())
    return np.concatenate(scores)


def top_examples(scores: np.ndarray, channel0: int, count: int = EXAMPLES_PER_UNIT) -> list[list]:
    """``[[patch number, score], ...]`` of the ``count`` patches that excite ``channel0`` most."""
    column = scores[:, channel0]
    order = np.argsort(-column, kind="stable")[:count]
    return [[int(i), float(column[i])] for i in order]
