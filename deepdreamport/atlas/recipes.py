"""Recipes: how the units of a layer are turned into images, one stream per unit.

A recipe is a name, its parameters with defaults, a render function and the command line
that reproduces one unit. Adding a recipe is one call to :func:`register` (see the recipes
at the bottom). An atlas may use several (``--recipe matlab,lucid,maco``): every unit is
rendered with each recipe that takes its layer (a recipe states the layer outputs it takes,
:mod:`.layer_kinds`; matlab, as MATLAB's deepDreamImage, takes no token layer), and the state
records each such (unit, recipe) pair.

Reproducibility (no MATLAB or lucent counterpart): every unit has its own seed
(:func:`~.seeds.unit_seed`: atlas seed, layer, channel, recipe), and every render
function renders each unit in a network pass of its own, so a unit's image does not depend
on the batch, the worker, the engine or the order. On the CPU such a pass is also the
faster one (README, "Atlas numbers"). The command line a recipe writes for a unit runs the
same code with the same seed; with one CPU thread, as the atlas's workers compute, it gives
the same bytes (oneDNN's sums depend on the thread count and on a batch of one vs more).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np
import torch

from ..optvis import as_network as optvis_network
from ..optvis import objectives as optvis_objectives
from ..optvis import render as optvis_render
from ..optvis.network import OptvisNetwork
from ._package import SizeProbe, deep_dream_image, layer_module, token_layer_row
from .errors import AtlasInputError
from .layer_kinds import CONVOLUTION_1D, FULLY_CONNECTED, LAYER_KINDS, SPATIAL, TOKENS, describe_kinds, layer_kind

REPRODUCE_ENVIRONMENT = "OMP_NUM_THREADS=1"
"""The environment a unit's command line runs in to give the atlas's bytes (one thread, as the workers)."""

IterationCallback = Callable[[int, float], None]
"""``(k, value)``: unit ``k`` of the batch reached ``value`` (the recipe's objective) after an iteration."""


@dataclass
class UnitOutput:
    """One unit's render: the image to show, the image in the network's input units, the curve."""

    image: np.ndarray  # H×W×C, any range (the PNG is scaled to its own minimum and maximum)
    network_image: Optional[np.ndarray]  # H×W×C (or N×H×W×C) in the network's input units (None: not measurable)
    curve: list = field(default_factory=list)  # the unit's own objective after every iteration
    options: dict = field(default_factory=dict)  # what the render chose for this layer (its command line repeats it)


# render(network, layer, channels0, seeds, params, device, on_iteration) → one UnitOutput per unit
RenderFunction = Callable[[Any, str, Sequence[int], Sequence[int], Mapping[str, Any], str, IterationCallback], list]
# command_line(model, layer, channel, params, seed, options) → a shell command
CommandLine = Callable[[str, str, int, Mapping[str, Any], int, Mapping[str, Any]], str]


class RecipeError(AtlasInputError):
    """An unknown recipe or a bad recipe parameter (message names it)."""


@dataclass(frozen=True)
class Recipe:
    """A named way to visualise units; ``defaults`` lists every parameter it takes and its type.

    ``curve_label`` names the y axis of the unit's curve; ``command_line(model, layer, channel,
    params, seed, options)`` reproduces one unit (``seed`` is the unit's own, ``options`` what its
    render chose, :attr:`UnitOutput.options`). ``layer_kinds`` are the layer outputs it takes
    (:mod:`.layer_kinds`; every kind unless stated), ``layer_kinds_source`` what decides them
    (said when an atlas leaves a layer out of it).
    """

    name: str
    description: str
    defaults: Mapping[str, Any]
    render: RenderFunction
    command_line: CommandLine
    checks: Mapping[str, Callable[[Any], bool]] = field(default_factory=dict)
    curve_label: str = "objective"
    iteration_label: str = "iteration"
    layer_kinds: frozenset = LAYER_KINDS
    layer_kinds_source: str = ""

    def takes(self, row: Any) -> bool:
        """Whether it can render the units of the layer-table row ``row`` (a layer or the atlas's recorded dict)."""
        return layer_kind(row) in self.layer_kinds

    def takes_line(self) -> str:
        """``"takes spatial (N×C×H×W) and fully connected (N×C) layers only (MATLAB's deepDreamImage)"``."""
        source = f" ({self.layer_kinds_source})" if self.layer_kinds_source else ""
        return f"takes {describe_kinds(self.layer_kinds)} only{source}"

    def parameters(self, overrides: Optional[Mapping[str, Any]] = None) -> dict:
        """The defaults with ``overrides`` applied (``None`` values ignored), checked."""
        params = dict(self.defaults)
        for key, value in (overrides or {}).items():
            if value is None:
                continue
            if key not in self.defaults:
                raise RecipeError(f"recipe {self.name!r} has no parameter {key!r}", f"params.{key}")
            kind = type(self.defaults[key])
            try:
                value = kind(value)
            except (TypeError, ValueError):
                raise RecipeError(f"expected a {kind.__name__}; got {value!r}", f"params.{key}") from None
            check = self.checks.get(key)
            if check is not None and not check(value):
                raise RecipeError(f"{value!r} is out of range for recipe {self.name!r}", f"params.{key}")
            params[key] = value
        return params


RECIPES: dict[str, Recipe] = {}


def register(recipe: Recipe) -> Recipe:
    """Make ``recipe`` available by name (``--recipe NAME``)."""
    RECIPES[recipe.name] = recipe
    return recipe


def get_recipe(name: str) -> Recipe:
    try:
        return RECIPES[name]
    except KeyError:
        raise RecipeError(f"unknown recipe {name!r}; available: {', '.join(sorted(RECIPES))}", "recipe") from None


def recipe_names(spec: Any) -> list[str]:
    """``"matlab,lucid"`` or ``["matlab", "lucid"]`` → the names, in order, each known, none twice."""
    if isinstance(spec, str):
        names = [name.strip() for name in spec.split(",") if name.strip()]
    elif isinstance(spec, (list, tuple)) and all(isinstance(name, str) for name in spec):
        names = [name.strip() for name in spec if name.strip()]
    else:
        raise RecipeError(f"expected a recipe name, comma-separated names or a list; got {spec!r}", "recipe")
    if not names:
        raise RecipeError(f"no recipe named; available: {', '.join(sorted(RECIPES))}", "recipe")
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise RecipeError(f"{', '.join(map(repr, twice))} named twice", "recipe")
    for name in names:
        get_recipe(name)
    return names


def recipe_parameters(names: Sequence[str], params: Optional[Mapping[str, Any]]) -> dict[str, dict]:
    """Each recipe's checked parameters.

    ``params`` maps a parameter to its value for every chosen recipe that takes it (``steps``
    for lucid and maco alike), or a recipe's name to a mapping of its own. A parameter that no
    chosen recipe takes is refused.
    """
    params = dict(params or {})
    own = {name: params.pop(name) for name in list(params) if name in names and isinstance(params[name], Mapping)}
    result = {}
    for name in names:
        recipe = get_recipe(name)
        shared = {key: value for key, value in params.items() if key in recipe.defaults}
        result[name] = recipe.parameters({**shared, **own.get(name, {})})
    unused = [
        key
        for key, value in params.items()
        if value is not None and not any(key in get_recipe(name).defaults for name in names)
    ]
    if unused:
        key = unused[0]
        takers = sorted(name for name, recipe in RECIPES.items() if key in recipe.defaults)
        chosen = ", ".join(map(repr, names))
        where = f"; recipe {', '.join(map(repr, takers))} takes it" if takers else ""
        raise RecipeError(f"recipe {chosen} has no parameter {key!r}{where}", f"params.{key}")
    return result


def _shell_command(words: Sequence[str], options: Mapping[str, Any]) -> str:
    """``words`` then ``--option value`` pairs, quoted for a POSIX shell, run with one CPU thread."""
    flags = [text for name, value in options.items() for text in (f"--{name}", str(value))]
    return f"{REPRODUCE_ENVIRONMENT} {shlex.join([*words, *flags])}"


# -- matlab: deepDreamImage ------------------------------------------------------------------


def _render_matlab(network, layer, channels0, seeds, params, device, on_iteration) -> list:
    outputs = []
    for k, (channel0, seed) in enumerate(zip(channels0, seeds)):
        curve: list[float] = []

        def reached(level, iteration, strength, k=k, curve=curve):
            curve.append(float(strength))
            on_iteration(k, float(strength))

        image = deep_dream_image(
            network,
            layer,
            [channel0],
            num_iterations=params["iterations"],
            pyramid_levels=params["levels"],
            pyramid_scale=params["scale"],
            output_scaling="none",
            device=device,
            random_state=seed,
            callback=reached,
        )[0]
        outputs.append(UnitOutput(image, image, curve))
    return outputs


def _matlab_command(model: str, layer: str, channel: int, params, seed: int, options=None) -> str:
    options = {"layer": layer, "channels": channel, **{k: params[k] for k in ("levels", "iterations", "scale")}}
    options.update(seed=seed, scaling="none", device="cpu", npy=f"unit_{channel}.npy", out=f"unit_{channel}.png")
    return _shell_command(["deepdream", "dream", model], options)


register(
    Recipe(
        name="matlab",
        description="MATLAB's deepDreamImage (Laplacian-pyramid gradient ascent from noise); each unit starts "
        "from its own seeded noise and draws its own tile rolls",
        defaults={"levels": 3, "iterations": 10, "scale": 1.4},
        render=_render_matlab,
        command_line=_matlab_command,
        checks={"levels": lambda v: v >= 1, "iterations": lambda v: v >= 1, "scale": lambda v: v > 1},
        curve_label="activation strength (deepDreamImage)",
        layer_kinds=frozenset({SPATIAL, FULLY_CONNECTED}),
        layer_kinds_source="MATLAB's deepDreamImage",
    )
)


# -- lucid, maco, diversity: optvis (lucent's render_vis) ------------------------------------

_OPTVIS_NETWORKS: dict[int, tuple[Any, OptvisNetwork]] = {}  # id(network) -> (network, its optvis view)


def optvis_view(network) -> OptvisNetwork:
    """The optvis view of a worker's network, made once per network (a worker renders many batches)."""
    entry = _OPTVIS_NETWORKS.get(id(network))
    if entry is None or entry[0] is not network:
        entry = (network, optvis_network(network.model))
        _OPTVIS_NETWORKS[id(network)] = entry
    return entry[1]


def network_units(network, images: np.ndarray) -> np.ndarray:
    """0–1 images (K×H×W×C) in the network's input units (optvis's input mapping)."""
    view = optvis_view(network)
    with torch.no_grad():
        mapped = view.preprocess(torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2))).double())
    return mapped.numpy().transpose(0, 2, 3, 1)


_FIXED_SIZE: dict[tuple[int, str], Optional[int]] = {}  # (id(network), layer) → the size it needs, or None


def fixed_image_size(network, layer: str) -> Optional[int]:
    """The network's input size when ``layer`` takes no other (a fully connected layer), else ``None``.

    optvis's transforms change the image size (pad, scale), and such a layer then needs the
    image resized to the input size before the network (lucent's ``fixed_image_size``).
    """
    key = (id(network), layer)
    if key not in _FIXED_SIZE:
        side = network.tile_size()
        if token_layer_row(network, layer) is not None:  # the doors refuse token layers: probe the layer's own module
            probe = SizeProbe(layer_module(network, layer)[0], network.input_channels, (side, side))
        else:
            probe = network.truncated(layer).size_probe(network.input_channels, (side, side))
        _FIXED_SIZE[key] = None if probe.accepts(side + 4, side + 4) else side
    return _FIXED_SIZE[key]


def _render_each(network, layer, channels0, seeds, params, device, on_iteration, objective, finish, **extra) -> list:
    """One optvis render per unit (its own seed): ``objective(channel0)``, then ``finish(result, curve, options)``."""
    fixed = fixed_image_size(network, layer)
    options = {} if fixed is None else {"fixed_image_size": fixed}
    outputs = []
    for k, (channel0, seed) in enumerate(zip(channels0, seeds)):
        curve: list[float] = []

        def reached(step, loss, k=k, curve=curve):
            curve.append(-float(loss))
            on_iteration(k, -float(loss))

        result = optvis_render(
            optvis_view(network),
            objective(channel0),
            steps=params["steps"],
            size=params["size"],
            seed=seed,
            device=device,
            callback=reached,
            **extra,
            **options,
        )
        outputs.append(finish(result, curve, options))
    return outputs


def _render_optvis(network, layer, channels0, seeds, params, device, on_iteration, param: str) -> list:
    def finish(result, curve, options):
        return UnitOutput(result.images[0], network_units(network, result.images)[0], curve, options)

    return _render_each(
        network, layer, channels0, seeds, params, device, on_iteration, lambda c: f"{layer}:{c}", finish, param=param
    )


def _render_lucid(network, layer, channels0, seeds, params, device, on_iteration) -> list:
    return _render_optvis(network, layer, channels0, seeds, params, device, on_iteration, params["param"])


def _render_maco(network, layer, channels0, seeds, params, device, on_iteration) -> list:
    return _render_optvis(network, layer, channels0, seeds, params, device, on_iteration, "maco")


def _python_command(statement: str, channel: int) -> str:
    script = (
        "import numpy as np; from deepdreamport.optvis import render, objectives as o; "
        f"r = {statement}; np.save('unit_{channel}.npy', r.images)"
    )
    return f"{REPRODUCE_ENVIRONMENT} {shlex.join(['python', '-c', script])}"


def _optvis_command(model: str, layer: str, channel: int, params, seed: int, param: str, options) -> str:
    if options and options.get("fixed_image_size"):  # no such flag on the command line: the Python call
        return _python_command(
            f"render({model!r}, {f'{layer}:{channel - 1}'!r}, steps={params['steps']}, param={param!r}, "
            f"size={params['size']}, seed={seed}, device='cpu', fixed_image_size={options['fixed_image_size']})",
            channel,
        )
    flags = {"objective": f"{layer}:{channel}", "param": param, "size": params["size"], "steps": params["steps"]}
    flags.update(seed=seed, device="cpu", npy=f"unit_{channel}.npy", out=f"unit_{channel}.png")
    return _shell_command(["deepdream", "render", model], flags)


def _lucid_command(model: str, layer: str, channel: int, params, seed: int, options=None) -> str:
    return _optvis_command(model, layer, channel, params, seed, params["param"], options)


def _maco_command(model: str, layer: str, channel: int, params, seed: int, options=None) -> str:
    return _optvis_command(model, layer, channel, params, seed, "maco", options)


_OPTVIS_CHECKS = {"steps": lambda v: v >= 1, "size": lambda v: v >= 16}
_OPTVIS_KINDS = frozenset({SPATIAL, FULLY_CONNECTED, TOKENS, CONVOLUTION_1D})
_OPTVIS_SOURCE = "optvis's objectives"

register(
    Recipe(
        name="lucid",
        description="lucent's render_vis: decorrelated Fourier image, lucent's standard transforms, Adam 0.05 "
        "(deepdreamport.optvis)",
        defaults={"steps": 256, "size": 128, "param": "fft"},
        render=_render_lucid,
        command_line=_lucid_command,
        checks={**_OPTVIS_CHECKS, "param": lambda v: v in ("fft", "pixel", "laplacian", "cppn", "maco")},
        curve_label="channel mean (minus the loss)",
        iteration_label="step",
        layer_kinds=_OPTVIS_KINDS,
        layer_kinds_source=_OPTVIS_SOURCE,
    )
)

register(
    Recipe(
        name="maco",
        description="MACO (magnitude-constrained optimisation: a natural image spectrum, optimised phase), "
        "lucent's transforms and Adam (deepdreamport.optvis, param='maco')",
        defaults={"steps": 256, "size": 128},
        render=_render_maco,
        command_line=_maco_command,
        checks=_OPTVIS_CHECKS,
        curve_label="channel mean (minus the loss)",
        iteration_label="step",
        layer_kinds=_OPTVIS_KINDS,
        layer_kinds_source=_OPTVIS_SOURCE,
    )
)


DIVERSITY_IMAGES = 4
_STRIP_GAP = 2


def strip(images: np.ndarray) -> np.ndarray:
    """K×H×W×C images side by side, 2-pixel gaps at each image's own mid-grey (one PNG for the set)."""
    count, height, width, channels = images.shape
    out = np.empty((height, count * width + (count - 1) * _STRIP_GAP, channels), dtype=np.float64)
    out[:] = float(np.nanmean(images)) if images.size else 0.0
    for k in range(count):
        out[:, k * (width + _STRIP_GAP) : k * (width + _STRIP_GAP) + width] = images[k]
    return out


def _render_diversity(network, layer, channels0, seeds, params, device, on_iteration) -> list:
    def objective(channel0):
        return optvis_objectives.channel(layer, channel0) - params["weight"] * optvis_objectives.diversity(layer)

    def finish(result, curve, options):
        return UnitOutput(strip(result.images), network_units(network, result.images), curve, options)

    return _render_each(
        network, layer, channels0, seeds, params, device, on_iteration, objective, finish,
        batch=DIVERSITY_IMAGES, param=params["param"],
    )  # fmt: skip


def _diversity_command(model: str, layer: str, channel: int, params, seed: int, options=None) -> str:
    fixed = (options or {}).get("fixed_image_size")
    return _python_command(
        f"render({model!r}, o.channel({layer!r}, {channel - 1}) - {params['weight']!r} * o.diversity({layer!r}), "
        f"batch={DIVERSITY_IMAGES}, steps={params['steps']}, param={params['param']!r}, size={params['size']}, "
        f"seed={seed}, device='cpu'" + (f", fixed_image_size={fixed})" if fixed else ")"),
        channel,
    )


register(
    Recipe(
        name="diversity",
        description=f"a diversity set: {DIVERSITY_IMAGES} images of one unit optimised together, the channel minus "
        "weight × lucent's diversity objective (the batch's Gram-matrix similarity), optvis",
        defaults={"steps": 256, "size": 96, "param": "fft", "weight": 100.0},
        render=_render_diversity,
        command_line=_diversity_command,
        checks={
            **_OPTVIS_CHECKS,
            "param": lambda v: v in ("fft", "pixel", "laplacian", "cppn", "maco"),
            "weight": lambda v: v >= 0,
        },
        curve_label="objective (channel − weight × diversity)",
        iteration_label="step",
        layer_kinds=_OPTVIS_KINDS,
        layer_kinds_source=_OPTVIS_SOURCE,
    )
)
