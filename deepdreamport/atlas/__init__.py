"""The whole-network atlas: every unit of every (chosen) layer, rendered, recorded and browsable.

Python API: :func:`run_atlas` (render or resume an atlas into a folder),
:func:`verify_atlas` (find missing or corrupt images and render them again) and
:func:`build_gallery` (the static HTML gallery). The command line is
``deepdream atlas`` / ``deepdream serve`` (:mod:`deepdreamport.atlas.cli`).
"""

from .errors import AtlasInputError
from .gallery import build_gallery
from .job import AtlasSummary, plan_atlas, run_atlas
from .recipes import RECIPES, Recipe, register
from .verify import verify_atlas

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
