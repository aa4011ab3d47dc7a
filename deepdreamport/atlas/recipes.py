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
    from ._package import deep_dream_image

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


def _matlab_command(model: str, layer: str, channel: int, params, seed: int) -> str:
    return shlex.join([
        "deepdream", "dream", model, "--layer", layer, "--channels", str(channel),
        "--levels", str(params["levels"]), "--iterations", str(params["iterations"]),
        "--scale", str(params["scale"]), "--seed", str(seed),
        "--out", f"unit_{channel}.png",
    ])


register(Recipe(
    name="matlab",
    description="MATLAB's deepDreamImage (Laplacian-pyramid gradient ascent from noise); "
    "every unit starts from the same seeded noise, so a unit's image does not depend on its batch",
    defaults={"levels": 3, "iterations": 10, "scale": 1.4},
    render=_render_matlab,
    command_line=_matlab_command,
    checks={"levels": lambda v: v >= 1, "iterations": lambda v: v >= 1, "scale": lambda v: v > 1},
))
