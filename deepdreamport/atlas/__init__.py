"""The whole-network atlas: every unit of every (chosen) layer, rendered, recorded and browsable.

Python API: :func:`run_atlas` (render or resume an atlas into a folder: every unit with each
recipe, and the dataset examples), :func:`plan_atlas` (check the arguments, estimate the time),
:func:`verify_atlas` (find missing or corrupt images and render them again) and
:func:`build_gallery` (the static HTML gallery). The command line is ``deepdream atlas``
(:mod:`deepdreamport.atlas.cli`) and ``deepdream serve`` (:mod:`deepdreamport.atlas.serve`, no
torch), arguments in :mod:`.commands`. See ``docs/atlas.md``.

The names load on first use (:mod:`deepdreamport._lazy`), so that ``deepdream atlas --help``
imports no torch.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:  # the same names, for type checkers and import-linter
    from .errors import AtlasInputError
    from .gallery import build_gallery
    from .job import AtlasSummary, plan_atlas, run_atlas
    from .recipes import RECIPES, Recipe, register
    from .verify import verify_atlas

__getattr__, __dir__ = lazy_exports(
    globals(),
    {
        "AtlasInputError": ".errors:AtlasInputError",
        "AtlasSummary": ".job:AtlasSummary",
        "RECIPES": ".recipes:RECIPES",
        "Recipe": ".recipes:Recipe",
        "build_gallery": ".gallery:build_gallery",
        "plan_atlas": ".job:plan_atlas",
        "register": ".recipes:register",
        "run_atlas": ".job:run_atlas",
        "verify_atlas": ".verify:verify_atlas",
    },
)

__all__ = [
    "AtlasInputError",
    "AtlasSummary",
    "RECIPES",
    "Recipe",
    "build_gallery",
    "plan_atlas",
    "register",
    "run_atlas",
    "verify_atlas",
]
