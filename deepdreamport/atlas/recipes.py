"""Recipes: how one batch of units of a layer is turned into images.

A recipe is a name, its parameters with defaults, a render function and the
command line that reproduces one unit. Adding a recipe is one call to
:func:`register` (see the ``matlab`` recipe at the bottom).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np

from ..optvis import as_network as optvis_network
from ..optvis import render as optvis_render
from ..optvis.network import OptvisNetwork
from ._package import deep_dream_image
from .errors import AtlasInputError

# render(network, layer, channels0, params, seed, device, on_iteration) → K×H×W×C float images (any range)
RenderFunction = Callable[[Any, str, Sequence[int], Mapping[str, Any], int, str, Callable[[float], None]], np.ndarray]
CommandLine = Callable[[str, str, int, Mapping[str, Any], int], str]


class RecipeError(AtlasInputError):
    """An unknown recipe or a bad recipe parameter (message names it)."""


@dataclass(frozen=True)
class Recipe:
    """A named way to visualise units; ``defaults`` lists every parameter it takes and its type."""

    name: str
    description: str
    defaults: Mapping[str, Any]
    render: RenderFunction
    command_line: CommandLine
    checks: Mapping[str, Callable[[Any], bool]] = field(default_factory=dict)

    def parameters(self, overrides: Optional[Mapping[str, Any]] = None) -> dict:
        """The defaults with ``overrides`` applied (``None`` values ignored), checked."""
        params = dict(self.defaults)
        for key, value in (overrides or {}).items():
            if value is None:
                continue
            if key not in self.defaults:
                raise RecipeError(f"--{key.replace('_', '-')}: recipe {self.name!r} has no parameter {key!r}")
            kind = type(self.defaults[key])
            try:
                value = kind(value)
            except (TypeError, ValueError):
                raise RecipeError(f"--{key.replace('_', '-')}: expected a {kind.__name__}; got {value!r}") from None
            check = self.checks.get(key)
            if check is not None and not check(value):
                raise RecipeError(f"--{key.replace('_', '-')}: {value!r} is out of range for recipe {self.name!r}")
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
        raise RecipeError(f"--recipe: unknown recipe {name!r}; available: {', '.join(sorted(RECIPES))}") from None


# -- matlab: deepDreamImage ------------------------------------------------------------------


def _render_matlab(network, layer, channels0, params, seed, device, on_iteration) -> np.ndarray:
    return deep_dream_image(
        network,
        layer,
        list(channels0),
        num_iterations=params["iterations"],
        pyramid_levels=params["levels"],
        pyramid_scale=params["scale"],
        output_scaling="none",
        device=device,
        random_state=seed,
        callback=lambda level, iteration, strength: on_iteration(strength),
    )


def _shell_command(words: Sequence[str], options: Mapping[str, Any]) -> str:
    """``words`` then ``--option value`` pairs, quoted for a POSIX shell."""
    return shlex.join([*words, *(text for name, value in options.items() for text in (f"--{name}", str(value)))])


def _matlab_command(model: str, layer: str, channel: int, params, seed: int) -> str:
    options = {"layer": layer, "channels": channel, **{k: params[k] for k in ("levels", "iterations", "scale")}}
    return _shell_command(["deepdream", "dream", model], {**options, "seed": seed, "out": f"unit_{channel}.png"})


register(
    Recipe(
        name="matlab",
        description="MATLAB's deepDreamImage (Laplacian-pyramid gradient ascent from noise); "
        "every unit starts from the same seeded noise, so a unit's image does not depend on its batch",
        defaults={"levels": 3, "iterations": 10, "scale": 1.4},
        render=_render_matlab,
        command_line=_matlab_command,
        checks={"levels": lambda v: v >= 1, "iterations": lambda v: v >= 1, "scale": lambda v: v > 1},
    )
)


# -- lucid: the optvis default recipe (lucent's render_vis) ----------------------------------

_OPTVIS_NETWORKS: dict[int, tuple[Any, OptvisNetwork]] = {}  # id(network) -> (network, its optvis view)


def _optvis_network(network) -> OptvisNetwork:
    """The optvis view of a worker's network, made once per network (a worker renders many batches)."""
    entry = _OPTVIS_NETWORKS.get(id(network))
    if entry is None or entry[0] is not network:
        entry = (network, optvis_network(network.model))
        _OPTVIS_NETWORKS[id(network)] = entry
    return entry[1]


def _render_lucid(network, layer, channels0, params, seed, device, on_iteration) -> np.ndarray:
    objective = [f"{layer}:{channel}" for channel in channels0]  # one unit per batch element
    result = optvis_render(
        _optvis_network(network),
        objective,
        steps=params["steps"],
        param=params["param"],
        size=params["size"],
        seed=seed,
        device=device,
        progress=False,  # the atlas shows its own progress; render's default bar would repeat per batch
        callback=lambda step, loss: on_iteration(-float(loss)),
    )
    return result.images


def _lucid_command(model: str, layer: str, channel: int, params, seed: int) -> str:
    options = {"objective": f"{layer}:{channel}", **{k: params[k] for k in ("param", "size", "steps")}}  # 1-based
    return _shell_command(["deepdream", "render", model], {**options, "seed": seed, "out": f"unit_{channel}.png"})


register(
    Recipe(
        name="lucid",
        description="lucent's render_vis: decorrelated Fourier image, lucent's standard transforms, Adam 0.05 "
        "(deepdreamport.optvis); the curve is minus the batch's loss",
        defaults={"steps": 256, "size": 128, "param": "fft"},
        render=_render_lucid,
        command_line=_lucid_command,
        checks={
            "steps": lambda v: v >= 1,
            "size": lambda v: v >= 16,
            "param": lambda v: v in ("fft", "pixel", "laplacian", "cppn", "maco"),
        },
    )
)
