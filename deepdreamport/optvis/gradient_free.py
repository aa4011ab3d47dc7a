"""Gradient-free rendering: CMA-ES and a genetic algorithm over low-frequency Fourier coefficients.

No lucent/Lucid counterpart (they only optimise with gradients). The image is
the FFT parametrisation of :mod:`.param.spatial` restricted to the
``frequencies`` lowest spatial frequencies in each direction (a low-dimensional
vector per image: C × (2f+1) × (f+1) × 2 coefficients), scaled by 1/f,
decorrelated and squashed by a sigmoid like :func:`.param.image`. Every
generation's whole population — for every unit being visualised — is ONE
network batch, so the graph runs once per generation; because no gradient is
needed, the network runs in onnxruntime when onnx2torch cannot convert it (and
in torch otherwise).

The optimisers come from nevergrad (chosen over pycma + evotorch: one library
with both CMA-ES and evolutionary/genetic algorithms behind one ask/tell
interface, and far fewer dependencies than evotorch, which pulls in ray):

- ``"cmaes"``: ``nevergrad.families.ParametrizedCMA`` (pycma underneath);
- ``"ga"``: ``nevergrad.families.EvolutionStrategy`` with recombination
  (crossover) ratio 0.5 and (μ+λ) selection of a population of parents — a
  real-coded genetic algorithm (mutation, crossover, elitist selection).

Shape:
    coefficient vectors ``P×D``; images ``P×C×H×W``; ``GradientFreeResult.images``
    ``K×H×W×C`` (one per unit), ``losses`` ``generations×K`` (best so far).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np
import torch

from . import objectives as objectives_module
from ._network import DeepDreamError, require
from .layer_discovery import layers_read
from .network import OptvisNetwork, as_network, check_memory_format
from .param.color import linear_decorrelate_color
from .param.spatial import FFT_MAGIC, spectrum_scale
from .rendering import build_objective, parse_units
from .transform import PerElementDraws, compose, from_names

OPTIMIZERS = ("cmaes", "ga")


def low_frequency_rows(height: int, frequencies: int) -> np.ndarray:
    """Row indices of the rFFT holding vertical frequencies −f…f (0…f, then H−f…H−1)."""
    return np.concatenate([np.arange(frequencies + 1), np.arange(height - frequencies, height)])


@dataclass(frozen=True)
class LowFrequencyImage:
    """Images from low-frequency Fourier coefficient vectors.

    Shape:
        ``__call__``: ``P×D`` → ``P×C×H×W`` in 0–1, ``D = dimension``
    """

    channels: int
    height: int
    width: int
    frequencies: int = 4
    decorrelate: bool = True

    @property
    def dimension(self) -> int:
        return self.channels * (2 * self.frequencies + 1) * (self.frequencies + 1) * 2

    def __call__(self, vectors: torch.Tensor) -> torch.Tensor:
        count = vectors.shape[0]
        f = self.frequencies
        rows = torch.from_numpy(low_frequency_rows(self.height, f))
        coefficients = vectors.reshape(count, self.channels, 2 * f + 1, f + 1, 2)
        spectrum = vectors.new_zeros(count, self.channels, self.height, self.width // 2 + 1, 2)
        spectrum[:, :, rows, : f + 1] = coefficients
        scale = torch.from_numpy(spectrum_scale(self.height, self.width)[:, : self.width // 2 + 1]).to(vectors)
        image = (
            torch.fft.irfftn(
                torch.view_as_complex(scale[None, None, :, :, None] * spectrum),
                s=(self.height, self.width),
                norm="ortho",
            )
            / FFT_MAGIC
        )
        if self.decorrelate and self.channels == 3:
            image = linear_decorrelate_color(image)
        return torch.sigmoid(image)


@dataclass
class GradientFreeResult:
    images: np.ndarray
    losses: np.ndarray

    def __iter__(self):
        return iter((self.images, self.losses))


def make_optimizer(name: str, dimension: int, population: int, sigma: float, seed: int):
    """A nevergrad optimiser over ``R^dimension`` (``"cmaes"`` or ``"ga"``), seeded."""
    ng = require("nevergrad", f"the gradient-free optimiser {name!r}")

    parametrization = ng.p.Array(init=np.zeros(dimension)).set_mutation(sigma=sigma)
    parametrization.random_state = np.random.RandomState(seed)
    if name == "cmaes":
        family = ng.families.ParametrizedCMA(popsize=population)
    elif name == "ga":
        family = ng.families.EvolutionStrategy(
            recombination_ratio=0.5, popsize=population, offsprings=population, only_offsprings=False, ranker="simple"
        )
    else:
        raise DeepDreamError(
            "deepdreamport:optvis:BadOptimizer",
            f"optimizer: unknown gradient-free optimiser {name!r}; expected one of {', '.join(OPTIMIZERS)}.",
        )
    return family(parametrization=parametrization, budget=None, num_workers=population)


def population_losses(
    network: OptvisNetwork,
    layers: Sequence[str],
    objectives: Sequence,
    images: torch.Tensor,
    transform_f: Callable,
    use_torch: bool,
    memory_format: Optional[torch.memory_format] = None,
) -> torch.Tensor:
    """Loss of every image: ``objectives[k]`` for images ``k*P … (k+1)*P−1``, the network run once
    (in torch: in ``memory_format``, ``None`` the layout rule, see :mod:`.network`).

    Shape:
        ``images``: ``(K·P)×C×H×W`` → ``K×P``
    """
    batch = transform_f(images)
    with torch.no_grad():
        if use_torch:
            activations = network.torch_forward(layers, torch.float32, "cpu", memory_format=memory_format)(batch)
        else:
            activations = {k: torch.from_numpy(v) for k, v in network.ort_forward(layers)(batch.numpy()).items()}
        activations["input"] = images
        per_unit = images.shape[0] // len(objectives)
        losses = torch.empty(len(objectives), per_unit)
        for k, objective in enumerate(objectives):
            for p in range(per_unit):
                index = k * per_unit + p
                losses[k, p] = objective(lambda name, i=index: activations[name][i : i + 1])
    return losses


def render_gradient_free(
    net,
    objective,
    *,
    optimizer: str = "cmaes",
    size=64,
    frequencies: int = 4,
    population: int = 16,
    generations: int = 50,
    sigma: float = 1.0,
    decorrelate: bool = True,
    transforms="none",
    seed: int = 0,
    engine: str = "auto",
    input_range=None,
    preprocess: Optional[Callable] = None,
    memory_format: Optional[torch.memory_format] = None,
    layouts: Optional[dict] = None,
    callback: Optional[Callable[[int, np.ndarray], None]] = None,
) -> GradientFreeResult:
    """Visualise ``objective`` without gradients (see the module docstring).

    ``objective``: an Objective, ``"LAYER:CHANNEL[,...]"`` or a list (one unit
    each, optimised side by side, every generation one batch). ``engine``:
    ``"auto"`` (torch if onnx2torch converts the graph, else onnxruntime),
    ``"torch"`` or ``"onnxruntime"``. Runs in float32 on the CPU; in torch, the
    network runs in ``memory_format`` (``None``: the layout rule, as :func:`.render`). ``layouts``: as
    :func:`.render`'s.
    """
    name = optimizer.lower() if isinstance(optimizer, str) else optimizer
    if name not in OPTIMIZERS:
        raise DeepDreamError(
            "deepdreamport:optvis:BadOptimizer",
            f"optimizer: expected one of {', '.join(OPTIMIZERS)} for gradient-free rendering; got "
            f"{optimizer!r} (torch.optim optimisers need gradients: use render).",
        )
    height, width = size if isinstance(size, (tuple, list)) and len(size) == 2 else (size, size)
    for argument, value, low in (
        ("generations", generations, 1),
        ("population", population, 2),
        ("size", height, 8),
        ("size", width, 8),
        ("frequencies", frequencies, 1),
    ):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
            shown = size if argument == "size" else value
            raise DeepDreamError(
                "deepdreamport:optvis:BadArgument",
                f"{argument}: expected an integer ≥ {low}{' or (height, width) of such' if argument == 'size' else ''}; "
                f"got {shown!r}.",
            )
    if 2 * frequencies + 1 > min(height, width):
        raise DeepDreamError(
            "deepdreamport:optvis:BadArgument",
            f"frequencies: {frequencies} needs images of at least {2 * frequencies + 1} pixels; size is {size}.",
        )
    if engine not in ("auto", "torch", "onnxruntime"):
        raise DeepDreamError(
            "deepdreamport:optvis:BadArgument", f"engine: expected 'auto', 'torch' or 'onnxruntime'; got {engine!r}."
        )
    check_memory_format(memory_format)
    network = as_network(net, input_range=input_range, preprocess=preprocess, layouts=layouts)
    use_torch = network.runs_in_torch if engine == "auto" else engine == "torch"
    if use_torch and not network.runs_in_torch:
        network.torch_forward([], torch.float32, "cpu")  # raises the error naming the unconvertible operators
    image_f = LowFrequencyImage(network.input_channels, int(height), int(width), frequencies, decorrelate)
    network.probe_size = (int(height), int(width))
    with _size_refused(network, [], (height, width), transforms):
        units = [_declared(network, unit, image_f, use_torch, memory_format) for unit in _units(network, objective)]
    layers = [layer for unit in units for layer in unit.layers]
    optimizers = [make_optimizer(name, image_f.dimension, population, sigma, seed + k) for k in range(len(units))]
    draws = PerElementDraws(torch.Generator().manual_seed(int(seed)))
    transform_f = compose(list(from_names(transforms)) + [network.preprocess], draws)
    best = [(np.inf, None) for _ in units]
    curve = np.empty((generations, len(units)))
    for generation in range(generations):
        asked = [[opt.ask() for _ in range(population)] for opt in optimizers]
        vectors = torch.from_numpy(np.stack([c.value for cs in asked for c in cs]).astype(np.float32))
        with _size_refused(network, layers, (height, width), transforms, generation == 0):
            losses = population_losses(network, layers, units, image_f(vectors), transform_f, use_torch, memory_format)
        for k, (opt, candidates) in enumerate(zip(optimizers, asked)):
            for candidate, loss in zip(candidates, losses[k].tolist()):
                opt.tell(candidate, loss)
                if loss < best[k][0]:
                    best[k] = (loss, candidate.value.copy())
            curve[generation, k] = best[k][0]
        if callback is not None:
            callback(generation + 1, curve[generation].copy())
    with torch.no_grad():
        images = image_f(torch.from_numpy(np.stack([vector for _, vector in best]).astype(np.float32)))
    return GradientFreeResult(np.ascontiguousarray(images.numpy().transpose(0, 2, 3, 1)), curve)


@contextlib.contextmanager
def _size_refused(network: OptvisNetwork, layers: list, sides: tuple, transforms, first: bool = True):
    """The first pass at the image size: torch's shape error becomes one line naming ``size`` (and the network's
    fixed height×width, :func:`.guard.size_error`); later passes, and onnxruntime's errors, are left alone."""
    try:
        yield
    except RuntimeError as exc:
        from .guard import is_memory_error, size_error  # the guard imports render's module: imported late

        if not first or is_memory_error(exc):
            raise
        named = [layer for layer in dict.fromkeys(layers) if layer != "input"] or ["the objective's layers"]
        raise size_error(network, named, sides, transforms if isinstance(transforms, str) else "given", exc) from None


def _declared(network: OptvisNetwork, unit, image_f: LowFrequencyImage, use_torch: bool, memory_format):
    """``unit`` with its layers found by evaluating it on a mid-grey image when it does not declare them."""
    if unit.declared:
        return unit

    def forward_for(layers):
        if use_torch:
            return network.torch_forward(layers, torch.float32, "cpu", memory_format=memory_format)
        run = network.ort_forward(layers)
        return lambda batch: {k: torch.from_numpy(v) for k, v in run(batch.numpy()).items()}

    with torch.no_grad():
        grey = image_f(torch.zeros(1, image_f.dimension))
    return unit.with_layers(layers_read(network, unit, network.preprocess(grey), grey, forward_for))


def _units(network: OptvisNetwork, objective) -> list:
    """One objective per unit (strings and lists split into units; one Objective is one unit)."""
    if isinstance(objective, str):
        units = parse_units(objective)
        for layer, channel in units:
            network.check_unit(layer, channel)
        return [objectives_module.channel(layer, channel) for layer, channel in units]
    if isinstance(objective, (list, tuple)):
        return [build_objective(network, item)[0] for item in objective]
    return [build_objective(network, objective)[0]]
