"""Conversions between MATLAB's H×W×C×K arrays, torch's K×C×H×W tensors and K×H×W×C images.

MATLAB stores a batch of images as H×W×C×K (``deepDreamImage``'s output,
``activations``' input); torch computes on K×C×H×W; the Python door returns
K×H×W×C (one image per channel, as imaging libraries want).
"""

from __future__ import annotations

import numpy as np
import torch


def to_nchw(array: np.ndarray, dtype: torch.dtype | None = None, device: torch.device | str = "cpu") -> torch.Tensor:
    """H×W[×C[×K]] numpy array → K×C×H×W tensor (missing trailing axes are 1)."""
    array = np.asarray(array)
    if array.ndim > 4:
        raise ValueError(f"expected at most 4 dimensions (H×W×C×K), got shape {array.shape}")
    array = array.reshape(array.shape + (1,) * (4 - array.ndim))
    tensor = torch.from_numpy(np.ascontiguousarray(array.transpose(3, 2, 0, 1)))
    return tensor.to(device=device, dtype=dtype or tensor.dtype)


def to_hwck(tensor: torch.Tensor) -> np.ndarray:
    """K×C×H×W tensor → H×W×C×K numpy array (MATLAB's layout)."""
    return tensor.detach().cpu().numpy().transpose(2, 3, 1, 0)


def to_khwc(tensor: torch.Tensor) -> np.ndarray:
    """K×C×H×W tensor → K×H×W×C numpy array (one image per element)."""
    return tensor.detach().cpu().numpy().transpose(0, 2, 3, 1)


def khwc_to_hwck(images: np.ndarray) -> np.ndarray:
    """K×H×W×C images → a contiguous H×W×C×K array (MATLAB's layout)."""
    return np.ascontiguousarray(np.asarray(images).transpose(1, 2, 3, 0))


def matlab_squeeze(array: np.ndarray) -> np.ndarray:
    """Drop trailing singleton axes beyond the second, as MATLAB displays sizes."""
    shape = list(array.shape)
    while len(shape) > 2 and shape[-1] == 1:
        shape.pop()
    return array.reshape(shape)
