"""Optimise an image parametrisation for an objective: the ``render`` front door.

Mirrors lucent's ``optvis/render.py`` ``render_vis``: build the
parametrisation, the optimiser (Adam, lr 0.05, by default) and the transform
list, then for every step call ``optimizer.step(closure)`` where the closure
zeroes the gradients, draws the image, transforms it, maps it to the
network's units, runs the network, evaluates the objective and back-propagates
(so L-BFGS, which calls the closure several times per step, works unchanged
and draws fresh transforms on each call, as in lucent).

Deviations from lucent:

- the network's own input mapping (:mod:`.network`) replaces lucent's
  ImageNet ``normalize`` for ONNX graphs, and images are resized before the
  network only when ``fixed_image_size`` is given (lucent, and ``lucent=True``,
  also resize images smaller than 224 to 224);
- objectives may be a list: element ``k`` of the batch is optimised for the
  ``k``-th (``"LAYER:CHANNEL,LAYER:CHANNEL"`` strings mean a list of
  ``channel`` objectives), with its own transform draws;
- one seed drives everything (``torch.Generator`` for the initial values and
  the per-element transform draws); ``lucent=True`` draws the transforms like
  lucent from NumPy's global stream and seeds it with the same seed;
- the loss curve is returned with the images, and images are K×H×W×C arrays
  of the dtype used;
- the network runs in ``channels_last`` when the layout rule of the
  deep-dream side says so (float32, enough convolution work; lucent runs the
  default layout): the same numbers to rounding, faster on CPUs and GPUs.

Shape:
    ``RenderResult.images``: ``K×H×W×C`` in 0–1; ``RenderResult.losses``: ``steps``.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Callable, Optional, Sequence, Union

import numpy as np
import torch
from tqdm.auto import tqdm

from . import objectives as objectives_module
from ._network import DeepDreamError, resolve_device
from .network import OptvisNetwork, as_network, check_memory_format
from .param.color import to_valid_rgb
from .param.cppn import cppn
from .param.images import ImageParam
from .param.images import image as image_param
from .param.laplacian import laplacian_pyramid
from .param.maco import maco
from .transform import LucentDraws, PerElementDraws, compose, from_names

GRADIENT_FREE = ("cmaes", "ga")
PARAMS = ("fft", "pixel", "laplacian", "cppn", "maco")


@dataclass
class RenderResult:
    """The rendered images and the objective after each step."""

    images: np.ndarray
    losses: np.ndarray

    def __iter__(self):
        return iter((self.images, self.losses))


def _bad(argument: str, message: str, identifier: str = "deepdreamport:optvis:BadArgument") -> DeepDreamError:
    return DeepDreamError(identifier, f"{argument}: {message}")


def parse_units(spec: str) -> list[tuple[str, int]]:
    """``"LAYER:CHANNEL[,LAYER:CHANNEL...]"`` → ``[(layer, channel), ...]`` (channels 0-based; a layer may contain ``:``)."""
    units = []
    for part in str(spec).split(","):
        layer, _, channel = part.strip().rpartition(":")
        try:
            units.append((layer, int(channel)))
        except ValueError:
            raise _bad(
                "objective",
                f"{part.strip()!r} is not LAYER:CHANNEL (channel an integer).",
                "deepdreamport:optvis:BadObjective",
            ) from None
        if not layer:
            raise _bad(
                "objective",
                f"{part.strip()!r} names no layer; expected LAYER:CHANNEL.",
                "deepdreamport:optvis:BadObjective",
            )
    return units


def per_element(objectives: Sequence[objectives_module.Objective]) -> objectives_module.Objective:
    """Element ``k`` of the batch optimised for ``objectives[k]`` (each sees only its own activations)."""
    objectives = list(objectives)

    def inner(T):
        return sum(objective(lambda name, k=k: T(name)[k : k + 1]) for k, objective in enumerate(objectives))

    layers = [layer for objective in objectives for layer in objective.layers]
    units = [unit for objective in objectives for unit in objective.units]
    return objectives_module.Objective(
        inner, "per_element", "PerElement(" + ", ".join(o.description for o in objectives) + ")", layers, units
    )


def build_objective(network: OptvisNetwork, objective) -> tuple[objectives_module.Objective, Optional[int]]:
    """The objective and the batch size it implies (None: not implied); unknown layers and channels are refused."""
    if isinstance(objective, str):
        units = parse_units(objective)
        for layer, channel in units:
            network.check_unit(layer, channel)
        if len(units) == 1:
            return objectives_module.channel(*units[0]), None
        return objectives_module.Objective.sum(
            [objectives_module.channel(layer, channel, batch=k) for k, (layer, channel) in enumerate(units)]
        ), len(units)
    if isinstance(objective, (list, tuple)):
        if not objective:
            raise _bad(
                "objective",
                "the list is empty; give one objective per batch element.",
                "deepdreamport:optvis:BadObjective",
            )
        items = []
        for item in objective:
            if isinstance(item, str):
                (unit,) = parse_units(item)
                network.check_unit(*unit)
                items.append(objectives_module.channel(*unit))
            else:
                items.append(_checked(network, objectives_module.as_objective(item)))
        return per_element(items), len(items)
    try:
        return _checked(network, objectives_module.as_objective(objective)), None
    except TypeError as error:
        raise _bad("objective", str(error).partition(": ")[2], "deepdreamport:optvis:BadObjective") from None


def _checked(network: OptvisNetwork, objective: objectives_module.Objective) -> objectives_module.Objective:
    """Unknown layers and out-of-range channels of an Objective are refused before anything runs."""
    for layer in objective.layers:
        network.resolve(layer)
    for layer, channel in objective.units:
        network.check_unit(layer, channel)
    return objective


def make_optimizer(optimizer, parameters: list, lr: Optional[float] = None) -> torch.optim.Optimizer:
    """Adam(lr 0.05) by default; a ``torch.optim`` name or class, or lucent's ``lambda params: ...`` factory."""
    if not parameters:
        raise _bad(
            "optimizer", "the parametrisation has no parameters to optimise.", "deepdreamport:optvis:BadOptimizer"
        )
    if optimizer is None:
        optimizer = "adam"
    if isinstance(optimizer, str):
        if optimizer.lower() in GRADIENT_FREE:
            raise _bad(
                "optimizer",
                f"{optimizer!r} is gradient-free and takes no gradients; use "
                "render_gradient_free (or the CLI's --optimizer, which does).",
                "deepdreamport:optvis:BadOptimizer",
            )
        names = {
            name.lower(): getattr(torch.optim, name)
            for name in dir(torch.optim)
            if inspect.isclass(getattr(torch.optim, name))
            and issubclass(getattr(torch.optim, name), torch.optim.Optimizer)
            and name != "Optimizer"
        }
        if optimizer.lower() not in names:
            raise _bad(
                "optimizer",
                f"unknown optimiser {optimizer!r}; expected one of torch.optim's "
                f"({', '.join(sorted(names))}) or {', '.join(GRADIENT_FREE)}.",
                "deepdreamport:optvis:BadOptimizer",
            )
        optimizer = names[optimizer.lower()]
    if inspect.isclass(optimizer) and issubclass(optimizer, torch.optim.Optimizer):
        kwargs = {"lr": 0.05 if lr is None else lr} if optimizer is not torch.optim.LBFGS or lr is not None else {}
        return optimizer(parameters, **kwargs)
    if isinstance(optimizer, torch.optim.Optimizer):
        raise _bad(
            "optimizer",
            "got an optimiser already built on other tensors; pass its class, name or a "
            "factory taking the parameters (lambda params: torch.optim.Adam(params, lr=0.05)).",
            "deepdreamport:optvis:BadOptimizer",
        )
    if callable(optimizer):
        built = optimizer(parameters)
        if not isinstance(built, torch.optim.Optimizer) or not any(g["params"] for g in built.param_groups):
            raise _bad(
                "optimizer",
                "the factory must return a torch.optim optimiser over the parameters given to it.",
                "deepdreamport:optvis:BadOptimizer",
            )
        return built
    raise _bad(
        "optimizer",
        f"expected a torch.optim name, class or factory; got {optimizer!r}.",
        "deepdreamport:optvis:BadOptimizer",
    )


def make_param(
    network: OptvisNetwork,
    param,
    size,
    batch: int,
    *,
    decorrelate: bool,
    decay_power: float,
    sd: Optional[float],
    generator: torch.Generator,
    dtype: torch.dtype,
    device,
) -> ImageParam:
    """The parametrisation: ``"fft"``, ``"pixel"`` or an :class:`ImageParam` (whose channels must match the network)."""
    if isinstance(param, ImageParam):
        built = param
    elif callable(param) and not isinstance(param, str):
        built = param()
        if not isinstance(built, ImageParam):
            raise _bad("param", "a callable must return an ImageParam.", "deepdreamport:optvis:BadParam")
    elif param in PARAMS:
        height, width = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
        height, width, channels = int(height), int(width), network.input_channels
        common = dict(generator=generator, dtype=dtype, device=device)
        if param in ("fft", "pixel"):
            built = image_param(
                width,
                height,
                sd=sd,
                batch=batch,
                decorrelate=decorrelate,
                fft=param == "fft",
                channels=channels,
                decay_power=decay_power,
                **common,
            )
        elif param == "laplacian":
            parameters, image_f = laplacian_pyramid((batch, channels, height, width), sd=sd, **common)
            built = ImageParam(
                parameters, to_valid_rgb(image_f, decorrelate=decorrelate and channels == 3), channels, "laplacian"
            )
        elif param == "cppn":
            if height != width:
                raise _bad(
                    "size",
                    "the CPPN parametrisation draws square images; give one size.",
                    "deepdreamport:optvis:BadParam",
                )
            built = cppn(width, channels, batch=batch, **common)
        else:
            built = maco(width, height, batch=batch, channels=channels, **common)
    else:
        raise _bad(
            "param",
            f"unknown parametrisation {param!r}; expected one of {', '.join(PARAMS)} or an ImageParam.",
            "deepdreamport:optvis:BadParam",
        )
    if built.channels != network.input_channels:
        raise _bad(
            "param",
            f"the parametrisation draws {built.channels}-channel images but the network takes "
            f"{network.input_channels} channels.",
            "deepdreamport:optvis:BadParam",
        )
    return built


def _final_resize(shape, fixed_image_size: Optional[int], lucent: bool) -> list:
    """lucent's last transform: bilinear (align_corners) resize to ``fixed_image_size``, or to 224 when the
    image is smaller, in lucent mode; elsewhere only when ``fixed_image_size`` is given."""
    size = fixed_image_size if fixed_image_size is not None else (224 if lucent and min(shape) < 224 else None)
    if size is None:
        return []
    return [lambda images: torch.nn.functional.interpolate(images, size=int(size), mode="bilinear", align_corners=True)]


@dataclass
class RenderSession:
    """Everything one render optimises: the parametrisation, the optimiser and lucent's closure.

    ``closure()`` zeroes the gradients, draws, transforms and evaluates the image,
    back-propagates and returns the loss; ``last_image`` is the 0–1 image of the
    latest call (its ``.grad`` is kept).
    """

    image: ImageParam
    optimizer: torch.optim.Optimizer
    closure: Callable[[], torch.Tensor]
    network: OptvisNetwork
    last_image: Optional[torch.Tensor] = None


def prepare(
    net,
    objective,
    *,
    param: Union[str, ImageParam, Callable] = "fft",
    size=128,
    batch: Optional[int] = None,
    decorrelate: bool = True,
    decay_power: float = 1.0,
    sd: Optional[float] = None,
    transforms="standard",
    optimizer=None,
    lr: Optional[float] = None,
    seed: int = 0,
    lucent: bool = False,
    dtype: torch.dtype = torch.float32,
    device="cpu",
    input_range=None,
    preprocess: Optional[Callable] = None,
    fixed_image_size: Optional[int] = None,
    redirected_relu: bool = False,
    memory_format: Optional[torch.memory_format] = None,
) -> RenderSession:
    """Build a :class:`RenderSession`; the arguments are :func:`render`'s."""
    if dtype not in (torch.float32, torch.float64):
        raise _bad("dtype", f"expected torch.float32 or torch.float64; got {dtype!r}.")
    check_memory_format(memory_format)
    device = resolve_device(device, "device")  # before any work: a device this machine lacks is one clear error
    network = as_network(net, input_range=input_range, preprocess=preprocess)
    objective_f, implied_batch = build_objective(network, objective)
    if batch is not None and implied_batch is not None and batch != implied_batch:
        raise _bad("batch", f"{batch} disagrees with the {implied_batch} objectives given (one per batch element).")
    batch = batch or implied_batch or 1
    generator = torch.Generator().manual_seed(int(seed))
    image = make_param(
        network,
        param,
        size,
        batch,
        decorrelate=decorrelate,
        decay_power=decay_power,
        sd=sd,
        generator=generator,
        dtype=dtype,
        device=device,
    )
    opt = make_optimizer(optimizer, image.parameters, lr)
    if lucent:
        np.random.seed(int(seed))
        draws = LucentDraws()
    else:
        draws = PerElementDraws(generator)
    resize = _final_resize(image().shape[-2:], fixed_image_size, lucent)
    transform_f = compose(list(from_names(transforms)) + [network.preprocess] + resize, draws)
    forward = network.torch_forward(
        objective_f.layers, dtype, device, redirected_relu=redirected_relu, memory_format=memory_format
    )
    session = RenderSession(image, opt, lambda: None, network)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        picture = image()
        if picture.requires_grad:
            picture.retain_grad()
        session.last_image = picture
        activations = forward(transform_f(picture))
        activations["input"] = picture
        loss = objective_f(activations.__getitem__)
        loss.backward()
        return loss

    session.closure = closure
    return session


def render(
    net,
    objective,
    *,
    steps: int = 512,
    progress: bool = False,
    callback: Optional[Callable[[int, float], None]] = None,
    **options,
) -> RenderResult:
    """Render ``objective`` on ``net`` (an ONNX path/proto, a torch module or an :class:`OptvisNetwork`).

    ``objective``: an :class:`~.objectives.Objective`, ``"LAYER:CHANNEL[,...]"``
    (one channel per batch element) or a list (one objective per batch element).
    Options (see :func:`prepare`): ``param`` (``"fft"``, ``"pixel"``,
    ``"laplacian"``, ``"cppn"``, ``"maco"`` or an ``ImageParam``), ``size``,
    ``batch``, ``decorrelate``, ``decay_power``, ``sd``; ``redirected_relu``
    (Lucid's dead-unit fix, :mod:`.redirected_relu`);
    ``transforms``: ``"standard"``, ``"none"``, names (``"pad:12,jitter:8"``) or a
    list of transforms/callables; ``optimizer``: a ``torch.optim`` name or class
    (lr ``lr``, default 0.05; L-BFGS its own default 1) or a factory
    ``params -> optimizer``; ``seed``; ``lucent`` (draw like lucent);
    ``dtype``; ``device``; ``input_range`` or ``preprocess`` (see
    :mod:`.network`); ``fixed_image_size``: lucent's option of that name (with
    ``lucent=True`` images smaller than 224 are otherwise resized to 224 before
    the network, as lucent does); ``memory_format``: the layout the network
    runs in (``None``, the default: ``channels_last`` for float32 networks with
    enough convolution work, as the deep-dream side; ``torch.contiguous_format``
    or ``torch.channels_last`` to choose; see :mod:`.network`).
    ``callback(step, loss)`` after every step.
    """
    if not isinstance(steps, (int, np.integer)) or isinstance(steps, bool) or steps < 1:
        raise _bad("steps", f"expected a positive integer; got {steps!r}.")
    session = prepare(net, objective, **options)
    losses = np.empty(steps)
    bar = None
    if progress:
        bar = tqdm(total=steps, desc="render", unit="step", leave=False)
    try:
        for step in range(steps):
            loss = session.optimizer.step(session.closure)
            losses[step] = float(loss.detach()) if isinstance(loss, torch.Tensor) else float(loss)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{losses[step]:.4g}", refresh=False)
            if callback is not None:
                callback(step + 1, losses[step])
    finally:
        if bar is not None:
            bar.close()
    with torch.no_grad():
        images = session.image().detach().cpu().numpy().transpose(0, 2, 3, 1)
    return RenderResult(np.ascontiguousarray(images), losses)
