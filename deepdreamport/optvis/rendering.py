"""Optimise an image parametrisation for an objective: the ``render`` front door.

Mirrors lucent's ``optvis/render.py`` ``render_vis``: build the
parametrisation, the optimiser (Adam at the parametrisation's learning rate,
lucent's 0.05 for most, by default) and the transform list, then for every
step call ``optimizer.step(closure)`` where the closure zeroes the gradients,
draws the image, transforms it, maps it to the network's units, runs the
network, evaluates the objective and back-propagates (so L-BFGS, which calls
the closure several times per step, works unchanged and draws fresh
transforms on each call, as in lucent).

lucent's habits are accepted as ``render_vis`` accepts them: a ``param``
(or ``param_f``) returning ``(params, image_f)``; ``preprocess=False``;
``transforms`` as a list of callables; ``thresholds`` (the images at those
steps, :attr:`RenderResult.snapshots`); ``show_image`` / ``show_inline`` /
``save_image`` / ``image_name``; ``verbose``; Ctrl-C (``KeyboardInterrupt``)
ends the optimisation and returns the images so far; objectives that are
plain callables reading any layer (:mod:`.layer_discovery`);
``seed=None`` draws from torch's and NumPy's global streams as lucent does.
:mod:`deepdreamport.optvis.lucent` holds lucent's own names on top of this.

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
- each parametrisation has its own default learning rate
  (:data:`~.param.images.LEARNING_RATES`: the CPPN's is lucent's tutorial's
  0.005; lucent's ``render_vis`` uses 0.05 for all, which turns a CPPN into
  a flat colour);
- the device defaults to the best one present (``'auto'``, as the deep-dream
  door; lucent's modules pick ``cuda:0`` when there is one), or to the
  device of a parametrisation's own tensors;
- progress is shown where a person is watching (a terminal or Jupyter), not
  always (lucent) nor never;
- the loss curve is returned with the images (a :class:`RenderResult`, which
  saves and shows itself), and images are K×H×W×C arrays of the dtype used;
- the network runs in ``channels_last`` when the layout rule of the
  deep-dream side says so (float32, enough convolution work; lucent runs the
  default layout): the same numbers to rounding, faster on CPUs and GPUs.

Shape:
    ``RenderResult.images``: ``K×H×W×C`` in 0–1; ``RenderResult.losses``: ``steps``.
"""

from __future__ import annotations

import inspect
import math
import sys
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence, Union

import numpy as np
import torch
from tqdm.auto import tqdm

from . import objectives as objectives_module
from ._network import DeepDreamError, ImageSet, person_watching, resolve_device
from .layer_discovery import layers_read, reader
from .network import OptvisNetwork, as_network, check_memory_format
from .param.color import to_valid_rgb
from .param.cppn import cppn
from .param.images import DEFAULT_LEARNING_RATE, ImageParam
from .param.images import image as image_param
from .param.laplacian import laplacian_pyramid
from .param.maco import maco
from .transform import LucentDraws, PerElementDraws, compose, from_names

GRADIENT_FREE = ("cmaes", "ga")
PARAMS = ("fft", "pixel", "laplacian", "cppn", "maco")


@dataclass(eq=False)
class RenderResult(ImageSet):
    """The rendered images and the objective after each step; saves and shows itself (:class:`ImageSet`:
    ``save("grid.png")``, ``save("images.npy")``, ``save_images(folder)``, ``show()``, inline in Jupyter).

    ``device``: where it ran; ``labels``: one per image; ``snapshots``: ``{step: images}`` at the
    ``thresholds`` asked for; ``interrupted``: ended by Ctrl-C (``losses`` then holds the steps done).
    Unpacks as ``images, losses = render(...)``.
    """

    images: np.ndarray
    losses: np.ndarray
    device: str = "cpu"
    labels: tuple = ()
    snapshots: dict = field(default_factory=dict)
    interrupted: bool = False

    def __iter__(self):
        return iter((self.images, self.losses))

    def _image_set(self) -> tuple[np.ndarray, list[str], str]:
        count, height, width, _ = self.images.shape
        labels = list(self.labels) if len(self.labels) == count else [f"image {k}" for k in range(count)]
        done = len(self.losses)
        loss = f"final loss {float(self.losses[-1]):.4g}" if done else "no step done"
        stopped = " (interrupted)" if self.interrupted else ""
        caption = f"render: {count} image(s) of {height}×{width}, {done} steps{stopped}, {loss}, on {self.device}"
        return self.images, labels, caption


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

    layers = objectives[0].joint_layers(*objectives[1:])
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


def make_optimizer(
    optimizer, parameters: list, lr: Optional[float] = None, default_lr: float = DEFAULT_LEARNING_RATE
) -> torch.optim.Optimizer:
    """Adam by default; a ``torch.optim`` name or class (at ``lr``, else ``default_lr``, the parametrisation's;
    L-BFGS at its own default 1), or lucent's ``lambda params: ...`` factory."""
    if not parameters:
        raise _bad(
            "optimizer", "the parametrisation has no parameters to optimise.", "deepdreamport:optvis:BadOptimizer"
        )
    if lr is not None and (isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < math.inf):
        raise _bad("lr", f"expected a learning rate, a finite number > 0; got {lr!r}.")
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
        kwargs = (
            {"lr": default_lr if lr is None else lr} if optimizer is not torch.optim.LBFGS or lr is not None else {}
        )
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


def supplied_param(param) -> Optional[ImageParam]:
    """A parametrisation the caller made: an :class:`ImageParam`, lucent's ``(params, image_f)`` pair, or a
    callable returning either (lucent's ``param_f``); None for a name (``"fft"``, ...)."""
    if param is None or isinstance(param, str):
        return None
    if isinstance(param, ImageParam):
        return param
    if isinstance(param, tuple):
        return _from_pair(param)
    if callable(param):
        built = param()
        if isinstance(built, ImageParam):
            return built
        if isinstance(built, tuple):
            return _from_pair(built)
        raise _bad(
            "param",
            "a callable must return an ImageParam or lucent's (params, image_f) pair.",
            "deepdreamport:optvis:BadParam",
        )
    raise _bad(
        "param",
        f"unknown parametrisation {param!r}; expected one of {', '.join(PARAMS)}, an ImageParam, "
        "lucent's (params, image_f) pair or a callable returning one.",
        "deepdreamport:optvis:BadParam",
    )


def _from_pair(pair: tuple) -> ImageParam:
    """lucent's ``(params, image_f)``: the tensors to optimise and a function returning the K×C×H×W image."""
    if len(pair) != 2 or not callable(pair[1]):
        raise _bad("param", "expected lucent's (params, image_f) pair.", "deepdreamport:optvis:BadParam")
    parameters = list(pair[0])
    if not all(isinstance(t, torch.Tensor) for t in parameters):
        raise _bad("param", "the params of a (params, image_f) pair must be tensors.", "deepdreamport:optvis:BadParam")
    with torch.no_grad():
        shape = tuple(pair[1]().shape)
    if len(shape) != 4:
        raise _bad(
            "param", f"image_f() must return a K×C×H×W tensor; got shape {shape}.", "deepdreamport:optvis:BadParam"
        )
    return ImageParam(parameters, pair[1], shape[1], "custom")


def _probe_size(size, default: tuple[int, int]) -> tuple[int, int]:
    """The render's own size where it is a valid one (layers are probed there), else ``default``."""
    try:
        return _image_size(size)
    except DeepDreamError:
        return default


def _image_size(size) -> tuple[int, int]:
    """``size``: a side (an integer ≥ 1) or ``(height, width)``; anything else is refused naming ``size``."""

    def side(value) -> bool:
        return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1

    if side(size):
        return int(size), int(size)
    if isinstance(size, (tuple, list)) and len(size) == 2 and all(side(v) for v in size):
        return int(size[0]), int(size[1])
    raise _bad("size", f"expected a side in pixels (an integer ≥ 1) or (height, width); got {size!r}.")


def make_param(
    network: OptvisNetwork,
    param,
    size,
    batch: int,
    *,
    decorrelate: bool,
    decay_power: float,
    sd: Optional[float],
    generator: Optional[torch.Generator],
    dtype: torch.dtype,
    device,
) -> ImageParam:
    """The parametrisation: a name (``"fft"``, ``"pixel"``, ...; None is ``"fft"``) or one the caller made
    (:func:`supplied_param`); its channels must match the network."""
    built = supplied_param(param)
    if built is None:
        param = param or "fft"
        if param not in PARAMS:
            raise _bad(
                "param",
                f"unknown parametrisation {param!r}; expected one of {', '.join(PARAMS)}, an ImageParam, "
                "lucent's (params, image_f) pair or a callable returning one.",
                "deepdreamport:optvis:BadParam",
            )
        height, width = _image_size(size)
        built = _named_param(
            param,
            (batch, network.input_channels, int(height), int(width)),
            decorrelate=decorrelate,
            decay_power=decay_power,
            sd=sd,
            generator=generator,
            dtype=dtype,
            device=device,
        )
    if built.channels != network.input_channels:
        raise _bad(
            "param",
            f"the parametrisation draws {built.channels}-channel images but the network takes "
            f"{network.input_channels} channels.",
            "deepdreamport:optvis:BadParam",
        )
    return built


def _named_param(name: str, shape: tuple, *, decorrelate: bool, decay_power: float, sd, **common) -> ImageParam:
    """The parametrisation called ``name`` for images of ``shape`` (K, C, H, W)."""
    batch, channels, height, width = shape
    if name in ("fft", "pixel"):
        return image_param(
            width,
            height,
            sd=sd,
            batch=batch,
            decorrelate=decorrelate,
            fft=name == "fft",
            channels=channels,
            decay_power=decay_power,
            **common,
        )
    if name == "laplacian":
        parameters, image_f = laplacian_pyramid(shape, sd=sd, **common)
        return ImageParam(
            parameters, to_valid_rgb(image_f, decorrelate=decorrelate and channels == 3), channels, "laplacian"
        )
    if name == "cppn":
        return cppn((height, width), channels, batch=batch, **common)
    return maco(width, height, batch=batch, channels=channels, **common)


def _final_resize(shape, fixed_image_size: Optional[int], lucent: bool) -> list:
    """lucent's last transform: bilinear (align_corners) resize to ``fixed_image_size``, or to 224 when the
    image is smaller, in lucent mode; elsewhere only when ``fixed_image_size`` is given."""
    size = fixed_image_size if fixed_image_size is not None else (224 if lucent and min(shape) < 224 else None)
    if size is None:
        return []
    return [lambda images: torch.nn.functional.interpolate(images, size=int(size), mode="bilinear", align_corners=True)]


def render_device(device) -> torch.device:
    """``'auto'`` (the GPU when there is one), ``'cpu'``, ``'cuda'``, ``'cuda:1'``, ... checked against the machine."""
    return resolve_device(device, "device")


def _same_device(a: torch.device, b: torch.device) -> bool:
    return a.type == b.type and (a.index is None or b.index is None or a.index == b.index)


def dtype_and_device(supplied: Optional[ImageParam], dtype, device) -> tuple[torch.dtype, torch.device]:
    """The render's dtype and device: as given, else those of a parametrisation's own tensors, else float32
    on the best device present."""
    if dtype is not None and dtype not in (torch.float32, torch.float64):
        raise _bad("dtype", f"expected torch.float32 or torch.float64; got {dtype!r}.")
    tensors = [t for t in (supplied.parameters if supplied is not None else []) if isinstance(t, torch.Tensor)]
    if not tensors:
        return dtype or torch.float32, render_device("auto" if device is None else device)
    found = tensors[0]
    if device is None:
        chosen = found.device
    else:
        chosen = render_device(device)
        if not _same_device(chosen, found.device):
            raise _bad(
                "device",
                f"the parametrisation's tensors are on {found.device} but device={str(device)!r} was given; "
                "make them there or leave device out.",
            )
    if dtype is None:
        dtype = found.dtype if found.dtype in (torch.float32, torch.float64) else torch.float32
    return dtype, chosen


def _preprocess(preprocess) -> Optional[Callable]:
    """lucent's ``preprocess=False`` (the image enters as it is) and ``True`` (the network's own mapping),
    or a callable mapping 0–1 images to the network's units."""
    if preprocess is None or preprocess is True:
        return None
    if preprocess is False:
        return lambda images: images
    if callable(preprocess):
        return preprocess
    raise _bad("preprocess", f"expected True, False or a callable; got {preprocess!r}.")


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
    device: torch.device = torch.device("cpu")
    objective: Optional[objectives_module.Objective] = None


def prepare(
    net,
    objective,
    *,
    param: Union[str, ImageParam, Callable, tuple, None] = "fft",
    size=128,
    batch: Optional[int] = None,
    decorrelate: bool = True,
    decay_power: float = 1.0,
    sd: Optional[float] = None,
    transforms="standard",
    optimizer=None,
    lr: Optional[float] = None,
    seed: Optional[int] = 0,
    lucent: bool = False,
    dtype: Optional[torch.dtype] = None,
    device=None,
    input_range=None,
    preprocess=None,
    fixed_image_size: Optional[int] = None,
    redirected_relu: bool = False,
    memory_format: Optional[torch.memory_format] = None,
    layouts: Optional[dict] = None,
) -> RenderSession:
    """Build a :class:`RenderSession`; the arguments are :func:`render`'s."""
    check_memory_format(memory_format)
    if device is not None:
        resolve_device(device, "device")  # before any work: a device this machine lacks is one clear error
    mapping = _preprocess(preprocess)
    network = as_network(net, input_range=input_range, preprocess=mapping, layouts=layouts)
    mapping = mapping or network.preprocess
    network.probe_size = _probe_size(size, network.probe_size)
    objective_f, implied_batch = build_objective(network, objective)
    if batch is not None and implied_batch is not None and batch != implied_batch:
        raise _bad("batch", f"{batch} disagrees with the {implied_batch} objectives given (one per batch element).")
    if batch is not None and (not isinstance(batch, (int, np.integer)) or isinstance(batch, bool) or batch < 1):
        raise _bad("batch", f"expected a positive integer; got {batch!r}.")
    batch = batch or implied_batch or 1
    generator = None if seed is None else torch.Generator().manual_seed(int(seed))
    supplied = supplied_param(param)
    dtype, device = dtype_and_device(supplied, dtype, device)
    image = make_param(
        network,
        supplied or param,
        size,
        batch,
        decorrelate=decorrelate,
        decay_power=decay_power,
        sd=sd,
        generator=generator,
        dtype=dtype,
        device=device,
    )
    opt = make_optimizer(optimizer, image.parameters, lr, image.default_lr)
    if lucent:
        if seed is not None:
            np.random.seed(int(seed))
        draws = LucentDraws()
    else:
        draws = PerElementDraws(generator)
    resize = _final_resize(image().shape[-2:], fixed_image_size, lucent)
    transform_f = compose(list(from_names(transforms)) + [mapping] + resize, draws)

    def forward_for(layers):
        return network.torch_forward(
            layers, dtype, device, redirected_relu=redirected_relu, memory_format=memory_format
        )

    if not objective_f.declared:
        with torch.no_grad():
            first = image()
            probe = compose([mapping] + resize, draws)(first)  # no random transform: nothing is drawn
        objective_f = objective_f.with_layers(layers_read(network, objective_f, probe, first, forward_for))
    forward = forward_for(objective_f.layers)
    session = RenderSession(image, opt, lambda: None, network, device=device, objective=objective_f)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        picture = image()
        if picture.requires_grad:
            picture.retain_grad()
        session.last_image = picture
        activations = forward(transform_f(picture))
        activations["input"] = picture
        loss = objective_f(reader(activations, objective_f.layers))
        loss.backward()
        return loss

    session.closure = closure
    return session


def _thresholds(thresholds, steps) -> tuple[int, ...]:
    """lucent's ``thresholds``: the steps (from 1) whose images are kept."""
    if thresholds is None:
        return ()
    values = [thresholds] if isinstance(thresholds, (int, np.integer)) else list(thresholds)
    if not values or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in values):
        raise _bad("thresholds", f"expected positive step numbers, as lucent's (512,); got {thresholds!r}.")
    if steps is not None and max(values) > steps:
        raise _bad("thresholds", f"step {max(values)} is after the last step ({steps}); leave steps out to run to it.")
    return tuple(sorted(set(int(v) for v in values)))


def _labels(objective, count: int) -> tuple:
    """One short label per image: its unit (``"LAYER:CHANNEL"``) or objective's description."""
    if isinstance(objective, str):
        items = [part.strip() for part in objective.split(",")]
    elif isinstance(objective, (list, tuple)):
        items = [
            item if isinstance(item, str) else getattr(item, "description", "") or "objective" for item in objective
        ]
    else:
        described = getattr(objective, "description", "") or "objective"
        items = [described] if count == 1 else [f"{described} #{k}" for k in range(count)]
    items = [item if len(item) <= 32 else item[:31] + "…" for item in items]
    return tuple(items) if len(items) == count else tuple(f"image {k}" for k in range(count))


def _images(session: RenderSession) -> np.ndarray:
    with torch.no_grad():
        return np.ascontiguousarray(session.image().detach().cpu().numpy().transpose(0, 2, 3, 1))


def export(images: np.ndarray, image_name: Optional[str] = None):
    """lucent's ``save_image``: the K images side by side, ``uint8(255 × x)``, to ``image_name`` (default
    ``image.jpg``), written atomically."""
    from PIL import Image

    from ._network import write_atomic

    name = image_name or "image.jpg"
    row = np.concatenate(list((np.asarray(images) * 255).astype(np.uint8)), axis=1)
    picture = Image.fromarray(row[..., 0] if row.shape[-1] == 1 else row)
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    image_format = Image.registered_extensions().get(f".{suffix}")
    if image_format is None:
        raise _bad("image_name", f"{name!r} has no image suffix (.jpg, .png, ...).")
    return write_atomic(name, lambda handle: picture.save(handle, format=image_format))


def _check_memory(session: RenderSession, options: dict) -> None:
    """The render guard (:mod:`.guard`) on a prepared session: probe the layers it reads, refuse what cannot fit.

    Only for the built-in parametrisations (named by a string), at ``size`` (a side or ``(height, width)``): a
    caller's own parametrisation has its tensors already, at their own size.
    """
    if not isinstance(options.get("param", "fft"), str):
        return
    size = _image_size(options.get("size", 128))
    from .guard import check_render_memory, gradient_per_pixel  # the guard probes with prepare(): imported late

    layers = session.objective.layers if session.objective is not None else ()
    probe_options = {k: v for k, v in options.items() if k not in ("size", "batch")}
    probe_options.update(dtype=session.image().dtype, device=session.device, seed=0, lucent=False)
    units = [(layer, 0) for layer in layers if layer != "input"] or [(session.network.layer_names()[-1], 0)]
    numpy_state = np.random.get_state()
    with torch.random.fork_rng(devices=[]):  # the probe draws nothing from the global streams a lucent script seeded
        per_pixel = gradient_per_pixel(session.network, units, size, probe_options)
    np.random.set_state(numpy_state)
    images = session.image().shape[0]
    advice = "a smaller size, fewer images (batch, objectives) or dtype=torch.float32, or memory_check=False"
    check_render_memory(per_pixel, images, size, session.image().dtype, session.device, advice)


def render(
    net,
    objective,
    *,
    steps: Optional[int] = None,
    progress: Optional[bool] = None,
    callback: Optional[Callable[[int, float], None]] = None,
    thresholds=None,
    show_image: bool = False,
    show_inline: bool = False,
    save_image: bool = False,
    image_name: Optional[str] = None,
    verbose: bool = False,
    param_f=None,
    memory_check: bool = True,
    **options,
) -> RenderResult:
    """Render ``objective`` on ``net`` (an ONNX path/proto, a torch module or an :class:`OptvisNetwork`).

    ``objective``: an :class:`~.objectives.Objective`, a callable ``T -> loss`` (its layers are found),
    ``"LAYER:CHANNEL[,...]"`` (one channel per batch element) or a list (one objective per batch element).
    ``steps``: 512 by default (or the last of ``thresholds``).
    Options (see :func:`prepare`): ``param`` (``"fft"``, ``"pixel"``,
    ``"laplacian"``, ``"cppn"``, ``"maco"``, an ``ImageParam``, lucent's ``(params, image_f)``
    or a callable returning one; ``param_f`` is lucent's name for it), ``size``,
    ``batch``, ``decorrelate``, ``decay_power``, ``sd``; ``redirected_relu``
    (Lucid's dead-unit fix, :mod:`.redirected_relu`);
    ``transforms``: ``"standard"``, ``"none"``, names (``"pad:12,jitter:8"``) or a
    list of transforms/callables (lucent's ``transform.standard_transforms`` is one);
    ``optimizer``: a ``torch.optim`` name or class (lr ``lr``, default the
    parametrisation's, :data:`~.param.images.LEARNING_RATES`; L-BFGS its own default 1) or a factory
    ``params -> optimizer``; ``seed`` (None: torch's and NumPy's global streams, as lucent); ``lucent``
    (draw like lucent); ``dtype`` and ``device`` (default: a supplied parametrisation's, else float32 on
    the best device present, ``'auto'``); ``input_range`` or ``preprocess`` (a callable, or lucent's
    ``False``: the 0–1 image enters unchanged; see :mod:`.network`); ``fixed_image_size``: lucent's option of
    that name (with ``lucent=True`` images smaller than 224 are otherwise resized to 224 before
    the network, as lucent does); ``memory_format``: the layout the network
    runs in (``None``, the default: ``channels_last`` for float32 networks with
    enough convolution work, as the deep-dream side; ``torch.contiguous_format``
    or ``torch.channels_last`` to choose; see :mod:`.network`); ``layouts``: ``{layer: "channels" | "tokens"}``
    for a 3-D layer whose layout what produced it does not tell (:mod:`deepdreamport.nets.layout`).
    ``progress``: a progress bar (default: where a person is watching, a terminal or Jupyter);
    ``callback(step, loss)`` after every step; lucent's ``thresholds``, ``verbose``, ``show_image``,
    ``show_inline``, ``save_image`` and ``image_name``. Ctrl-C ends the optimisation and returns the
    images so far (``RenderResult.interrupted``). ``memory_check`` (default on; no lucent counterpart):
    before the first step, a render whose estimated memory exceeds what the device has is refused
    in one line (:mod:`.guard`, the guard of ``deepdream render``; for the built-in parametrisations),
    and so is a ``size`` the network cannot compute the objective's layers at (naming the network's
    input height×width when it is fixed).
    """
    if param_f is not None:
        if "param" in options:
            raise _bad("param_f", "give param or lucent's param_f, not both.")
        options["param"] = param_f
    if steps is not None and (not isinstance(steps, (int, np.integer)) or isinstance(steps, bool) or steps < 1):
        raise _bad("steps", f"expected a positive integer; got {steps!r}.")
    kept = _thresholds(thresholds, steps)
    steps = steps if steps is not None else (max(kept) if kept else 512)
    session = prepare(net, objective, **options)
    if memory_check:
        _check_memory(session, options)
    losses: list[float] = []
    snapshots: dict = {}
    interrupted = False
    bar = None
    if person_watching() if progress is None else progress:
        bar = tqdm(total=steps, desc="render", unit="step", leave=False)
    step = 0
    try:
        for step in range(1, steps + 1):
            loss = session.optimizer.step(session.closure)
            losses.append(float(loss.detach()) if isinstance(loss, torch.Tensor) else float(loss))
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{losses[-1]:.4g}", refresh=False)
            if step in kept:
                snapshots[step] = _images(session)
                if verbose:
                    print(f"Loss at step {step}: {losses[-1]:.3f}")
            if callback is not None:
                callback(step, losses[-1])
    except KeyboardInterrupt as interrupt:
        if type(interrupt) is not KeyboardInterrupt:  # SIGTERM/SIGHUP (doors.signals.Terminated): the process stops
            raise
        interrupted = True
        print(f"render: interrupted at step {step}; returning the images so far.", file=sys.stderr)
    finally:
        if bar is not None:
            bar.close()
    images = _images(session)
    result = RenderResult(
        images,
        np.asarray(losses, dtype=np.float64),
        device=str(session.device),
        labels=_labels(objective, images.shape[0]),
        snapshots=snapshots,
        interrupted=interrupted,
    )
    if save_image:
        export(images, image_name)
    if show_inline or show_image:
        result.show()
    return result
