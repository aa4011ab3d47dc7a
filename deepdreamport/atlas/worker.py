"""The work one engine worker does: load the network once, then render units or score example chunks.

Shared by the local worker processes and the Ray actors. A worker never touches the
database or the atlas folder: it returns PNG bytes, numbers and summaries, and the one
writer (the coordinating process) puts them in place. Every tensor it makes is put on the
device of the module it feeds (the network's device).

A CPU worker computes with ``threads`` threads (default 1): oneDNN's sums depend on the
thread count, so the same count everywhere is part of what makes a unit's bytes independent
of the number of workers (more cores: more workers).

A network whose batch an export pinned to 1 measures its units' activations and scores
its example chunks one image per pass (:mod:`deepdreamport.nets.batch`); its renders go
through ``render`` and the doors, which do the same.
"""

from __future__ import annotations

import hashlib
import io
import os
import time
from dataclasses import dataclass
from typing import Optional, Union

import numpy as np
import torch
from PIL import Image

from ._package import DeepDreamError, examples_module, layer_module, load_network, one_image_per_pass
from .examples.chunks import ChunkSummary, score_chunk
from .examples.scoring import module_device
from .examples.sources import ExampleItem
from .recipes import get_recipe, optvis_view
from .seeds import unit_seed

DEFAULT_THREADS = 1


@dataclass(frozen=True)
class RenderTask:
    """Renders of units (1-based channels) of one layer with one recipe."""

    layer: str
    layer_index: int
    recipe: str
    channels: tuple[int, ...]
    render_ids: tuple[int, ...]

    @property
    def ids(self) -> tuple[int, ...]:
        return self.render_ids

    def describe(self) -> str:
        return f"{self.layer} units {list(self.channels)} ({self.recipe})"


@dataclass(frozen=True)
class ExampleTask:
    """One chunk of example items, scored for several layers (``outputs``: their tensors)."""

    chunk: int
    work_ids: tuple[int, ...]
    layers: tuple[str, ...]
    outputs: tuple[str, ...]
    root: Optional[str]
    items: tuple[ExampleItem, ...]
    batch: int

    @property
    def ids(self) -> tuple[int, ...]:
        return self.work_ids

    def describe(self) -> str:
        return f"examples chunk {self.chunk} ({len(self.items)} images, {len(self.layers)} layers)"


Task = Union[RenderTask, ExampleTask]


@dataclass(frozen=True)
class UnitImage:
    render_id: int
    channel: int
    png: bytes
    sha256: str
    activation: Optional[float]  # mean response of the unit to its own image (None: not measurable)
    dead: bool  # the objective was exactly 0 at every iteration: no gradient, the image is its start
    curve: tuple[float, ...]  # the unit's own objective after every iteration
    seconds: float
    options: dict  # what the recipe chose for this layer (its command line repeats it)


@dataclass(frozen=True)
class RenderResult:
    task: RenderTask
    worker: str
    units: tuple[UnitImage, ...]
    seconds: float


@dataclass(frozen=True)
class ExampleResult:
    task: ExampleTask
    worker: str
    summary: ChunkSummary
    seconds: float


@dataclass(frozen=True)
class Refusal:
    """A task the package refused with a :class:`DeepDreamError` (bad input for this layer or recipe, not a
    transient failure): the same task would be refused again, so it is not tried again. ``message``: one line."""

    task: Task
    worker: str
    message: str


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


def unit_activations(module: torch.nn.Module, images: np.ndarray, channels0: list[int]) -> torch.Tensor:
    """Mean of channel ``channels0[k]`` of ``module``'s output on image k (K×H×W×C, network units), on its device.

    Shape: images K×H×W×C → K.
    """
    device = module_device(module)
    batch = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2))).to(device=device, dtype=torch.float32)
    with torch.no_grad():
        output = module(batch)
    if isinstance(output, (tuple, list)):
        output = output[0]
    output = output.reshape(output.shape[0], output.shape[1], -1).double()
    index = torch.tensor(channels0, device=output.device, dtype=torch.long)
    return output[torch.arange(len(channels0), device=output.device), index].mean(dim=1)


def is_dead(curve, image: np.ndarray) -> bool:
    """No gradient reached the image: the objective was exactly 0 at every iteration, or the image is not finite."""
    values = np.asarray(curve, dtype=np.float64)
    return bool((values.size and np.all(values == 0)) or not np.isfinite(image).any())


class UnitRenderer:
    """One worker's state: the network (loaded once), its layer modules and its examples module."""

    def __init__(
        self,
        model_path: str,
        recipes: dict,
        seed: int,
        device: str = "cpu",
        threads: Optional[int] = DEFAULT_THREADS,
        label: Optional[str] = None,
    ):
        if threads:
            torch.set_num_threads(threads)
        self.network = load_network(model_path)
        self.recipes = {name: (get_recipe(name), dict(params)) for name, params in recipes.items()}
        self.seed = int(seed)
        self.device = device
        self.label = label or f"pid{os.getpid()}"
        self._modules: dict = {}
        self._examples: dict = {}

    def _per_pass(self, module: torch.nn.Module) -> torch.nn.Module:
        """``module`` run one image per pass when the export pinned its batch to 1 (:mod:`deepdreamport.nets.batch`),
        checked on the host at the network's input size before it moves to the worker's device."""
        side = self.network.tile_size()
        return one_image_per_pass(module, self.network.input_channels, (side, side))

    def _layer_module(self, layer: str) -> torch.nn.Module:
        if layer not in self._modules:
            module, _ = layer_module(self.network, layer)
            self._modules[layer] = self._per_pass(module.float().eval())
        return self._modules[layer].to(self.device)

    def _examples_module(self, outputs: tuple[str, ...]) -> torch.nn.Module:
        if outputs not in self._examples:
            self._examples.clear()  # one set of layers at a time: modules hold the weights
            module = self._per_pass(examples_module(self.network, outputs).float().eval())
            self._examples[outputs] = module.to(self.device)
        return self._examples[outputs]

    def _activations(self, layer: str, images: list, channels0: list[int]) -> list[Optional[float]]:
        """Each unit's mean activation on its own image (network units; H×W×C, or N×H×W×C for a set of images);
        ``None`` where it cannot be measured."""
        values: list[Optional[float]] = []
        for image, channel0 in zip(images, channels0):
            if image is None:
                values.append(None)
                continue
            images = image if image.ndim == 4 else image[None]  # a diversity set: the mean over its images
            try:
                values.append(
                    float(unit_activations(self._layer_module(layer), images, [channel0] * len(images)).mean())
                )
            except RuntimeError:  # a layer that needs the input size (a fully connected one) on another size
                values.append(None)
        return values

    def run(self, task: Task):
        """The task's result, or a :class:`Refusal` when the package refuses it (other errors propagate: the
        engine reports them, and the task is tried again)."""
        try:
            return self.render(task) if isinstance(task, RenderTask) else self.score(task)
        except DeepDreamError as refused:
            return Refusal(task, self.label, refused.message)

    def render(self, task: RenderTask) -> RenderResult:
        started = time.perf_counter()
        recipe, params = self.recipes[task.recipe]
        channels0 = [c - 1 for c in task.channels]
        seeds = [unit_seed(self.seed, task.layer, c, task.recipe) for c in task.channels]
        finished: list[float] = []

        def reached(k: int, value: float) -> None:
            while len(finished) <= k:
                finished.append(time.perf_counter())
            finished[k] = time.perf_counter()

        outputs = recipe.render(self.network, task.layer, channels0, seeds, params, self.device, reached)
        activations = self._activations(task.layer, [o.network_image for o in outputs], channels0)
        units = []
        begin = started
        for k, (render_id, channel, output) in enumerate(zip(task.render_ids, task.channels, outputs)):
            data = png_bytes(output.image)
            end = finished[k] if k < len(finished) else time.perf_counter()
            units.append(
                UnitImage(
                    render_id,
                    channel,
                    data,
                    hashlib.sha256(data).hexdigest(),
                    activations[k],
                    is_dead(output.curve, output.image),
                    tuple(float(v) for v in output.curve),
                    max(0.0, end - begin),
                    dict(output.options),
                )
            )
            begin = end
        return RenderResult(task, self.label, tuple(units), time.perf_counter() - started)

    def score(self, task: ExampleTask) -> ExampleResult:
        started = time.perf_counter()
        module = self._examples_module(task.outputs)
        view = optvis_view(self.network)
        summary = score_chunk(
            module,
            task.outputs,
            view.preprocess,
            task.root,
            task.items,
            self.network.tile_size(),
            self.network.input_channels,
            task.batch,
        )
        by_layer = dict(zip(task.outputs, task.layers))
        summary.layers = {by_layer[output]: examples for output, examples in summary.layers.items()}
        return ExampleResult(task, self.label, summary, time.perf_counter() - started)
