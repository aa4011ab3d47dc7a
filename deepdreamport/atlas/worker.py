"""The work one engine worker does: load the network once, then render batches of units of one layer.

Shared by the local process pool and the Ray actors. A worker never touches
the database or the atlas folder: it returns PNG bytes and numbers, and the
one writer (the coordinating process) puts them in place.
"""

from __future__ import annotations

import hashlib
import io
import os
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
from PIL import Image

from ._package import input_size, layer_module, load_network
from .examples import patch_bank, top_examples, unit_scores
from .recipes import get_recipe


@dataclass(frozen=True)
class RenderTask:
    """Units (1-based channels) of one layer, rendered as one batch."""

    layer: str
    layer_index: int
    channels: tuple[int, ...]
    unit_ids: tuple[int, ...]


@dataclass(frozen=True)
class UnitImage:
    unit_id: int
    channel: int
    png: bytes
    sha256: str
    activation: float  # mean response of the unit to its own image
    examples: list  # [[patch number, score], ...]


@dataclass(frozen=True)
class BatchResult:
    task: RenderTask
    worker: str
    units: tuple[UnitImage, ...]
    curve: tuple[float, ...]  # the recipe's objective after every iteration, for the whole batch
    seconds: float


def png_bytes(image: np.ndarray) -> bytes:
    """An H×W×C image of any range as an 8-bit PNG, scaled to its own minimum and maximum."""

    image = np.nan_to_num(np.asarray(image, dtype=np.float64))
    low, high = image.min(), image.max()
    image = (image - low) / (high - low) if high > low else np.zeros_like(image)
    pixels = (image * 255).round().astype(np.uint8)
    if pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    elif pixels.shape[2] != 3:
        pixels = pixels[:, :, :3]
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


class UnitRenderer:
    """One worker's state: the network (loaded once), layer modules and dataset-example scores per layer."""

    def __init__(
        self,
        model_path: str,
        recipe: str,
        params: dict,
        seed: int,
        device: str = "cpu",
        threads: Optional[int] = None,
        label: Optional[str] = None,
    ):

        if threads:
            torch.set_num_threads(threads)
        self.network = load_network(model_path)
        self.recipe = get_recipe(recipe)
        self.params = dict(params)
        self.seed = int(seed)
        self.device = device
        self.label = label or f"pid{os.getpid()}"
        self._scores: dict[str, np.ndarray] = {}
        self._modules: dict = {}

    def _layer_module(self, layer: str):
        if layer not in self._modules:
            module, _ = layer_module(self.network, layer)
            self._modules[layer] = module.float().eval()
        return self._modules[layer]

    def _example_scores(self, layer: str) -> np.ndarray:
        if layer not in self._scores:
            bank = patch_bank(input_size(self.network), self.network.input_channels)
            self._scores[layer] = unit_scores(self._layer_module(layer), bank)
        return self._scores[layer]

    def _activations(self, layer: str, images: np.ndarray, channels0: list[int]) -> list[float]:

        with torch.no_grad():
            output = self._layer_module(layer)(
                torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2))).float()
            )
        if isinstance(output, (tuple, list)):
            output = output[0]
        output = output.reshape(output.shape[0], output.shape[1], -1).double()
        return [float(output[k, c].mean()) for k, c in enumerate(channels0)]

    def render(self, task: RenderTask) -> BatchResult:

        started = time.perf_counter()
        channels0 = [c - 1 for c in task.channels]
        curve: list[float] = []
        images = self.recipe.render(
            self.network, task.layer, channels0, self.params, self.seed, self.device, curve.append
        )
        activations = self._activations(task.layer, images, channels0)
        scores = self._example_scores(task.layer)
        units = []
        for k, (unit_id, channel) in enumerate(zip(task.unit_ids, task.channels)):
            data = png_bytes(images[k])
            units.append(
                UnitImage(
                    unit_id,
                    channel,
                    data,
                    hashlib.sha256(data).hexdigest(),
                    activations[k],
                    top_examples(scores, channel - 1),
                )
            )
        return BatchResult(task, self.label, tuple(units), tuple(curve), time.perf_counter() - started)
