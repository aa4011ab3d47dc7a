"""Score example images: every unit's spatial maximum, and where it lies, in one network pass.

No MATLAB or lucent counterpart (OpenAI Microscope's dataset examples). The module is the
network truncated at several layers at once (one output per layer), so a batch of images goes
through the network once for all of them. Every tensor is made on the module's device.

Shapes: images N×H×W×C uint8 (H = W = the input size); a layer output N×C×h×w (or N×C for a
fully connected layer, one position; a transformer's token layer N×T×F is read as N×F×h×w, its
patch tokens the positions, :mod:`deepdreamport.nets.tokens`); scores, ys, xs N×C, positions in
input pixels.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

from .._package import tokens_as_channels


def module_device(module: torch.nn.Module) -> torch.device:
    """The device of a module's first parameter or buffer (CPU for a module with neither)."""
    for tensor in (*module.parameters(), *module.buffers()):
        return tensor.device
    return torch.device("cpu")


def images_on(pixels: np.ndarray, device: torch.device, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """N×H×W×C uint8 pixels as an N×C×H×W tensor of 0–1 values on ``device``."""
    tensor = torch.from_numpy(np.ascontiguousarray(pixels)).to(device)
    return tensor.permute(0, 3, 1, 2).to(dtype) / 255.0


def spatial_maxima(output: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Each channel's maximum over positions and where it lies (input pixels of a size×size image).

    Example:
        >>> scores, ys, xs = spatial_maxima(torch.tensor([[[[0.0, 1.0], [3.0, 2.0]]]]), 10)
        >>> scores.tolist(), ys.tolist(), xs.tolist()
        ([[3.0]], [[7.5]], [[2.5]])
    """
    if output.dim() == 2:
        output = output[:, :, None, None]
    if output.dim() != 4:
        output = output.reshape(output.shape[0], output.shape[1], 1, -1)
    count, channels, height, width = output.shape
    flat = output.reshape(count, channels, height * width)
    scores, where = flat.max(dim=2)
    ys = ((where // width).to(torch.float32) + 0.5) * (size / height)
    xs = ((where % width).to(torch.float32) + 0.5) * (size / width)
    return scores, ys, xs


def score_batch(
    module: torch.nn.Module, pixels: np.ndarray, preprocess: Callable[[torch.Tensor], torch.Tensor]
) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """``(scores, ys, xs)`` per output of ``module`` for a batch of images, on the module's device.

    ``preprocess`` maps 0–1 images to the network's input units.
    """
    device = module_device(module)
    size = pixels.shape[1]
    with torch.no_grad():
        outputs = module(preprocess(images_on(pixels, device)))
    if isinstance(outputs, torch.Tensor):
        outputs = (outputs,)
    # a token layer's N×T×F as its channel map (:mod:`deepdreamport.nets.tokens`): features, patch positions
    outputs = [tokens_as_channels(output, "examples", len(pixels)) for output in outputs]
    return [spatial_maxima(output.float(), size) for output in outputs]


def to_numpy(results: Sequence[tuple[torch.Tensor, ...]]) -> list[tuple[np.ndarray, ...]]:
    """Device tensors to host arrays (one copy per tensor)."""
    return [tuple(t.detach().cpu().numpy() for t in result) for result in results]
