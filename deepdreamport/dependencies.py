"""Optional dependencies: imported when a feature needs them, refused in one line naming the extra.

``pip install deepdreamport`` installs what the MATLAB port needs (``deepDreamImage``,
``deepdream dream``/``layers``/``demo``, ``deepdream parity``) and gradient renders;
the rest comes with extras (``pyproject.toml``)::

    optvis   nevergrad (--optimizer cmaes/ga), onnxruntime (graphs onnx2torch cannot
             convert), scikit-image (the MACO parametrisation's natural statistics)
    atlas    the optvis extra and jinja2 (the gallery); scikit-image is also its
             default example bank
    ray      ray (the atlas's --engine ray)
    mat73    h5py (parity case files saved by MATLAB as v7.3 MAT-files)
    all      every extra

A feature that needs a missing one raises :class:`~deepdreamport.errors.DeepDreamError`
(``deepdreamport:MissingDependency``): ``--optimizer cmaes needs nevergrad: pip install
'deepdreamport[optvis]'`` (exit status 2 on the command line).
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Optional

from .errors import DeepDreamError

MISSING_DEPENDENCY = "deepdreamport:MissingDependency"

OPTIONAL = {  # top-level module -> (distribution to install, the extra that brings it)
    "nevergrad": ("nevergrad", "optvis"),
    "onnxruntime": ("onnxruntime", "optvis"),
    "skimage": ("scikit-image", "optvis"),
    "jinja2": ("jinja2", "atlas"),
    "ray": ("ray", "ray"),
    "h5py": ("h5py", "mat73"),
}
"""Every optional dependency of the package, with its extra."""


def missing_dependency(module: str, purpose: str, extra: Optional[str] = None) -> DeepDreamError:
    """The error for ``purpose`` (what needs it, such as ``--optimizer cmaes``) when ``module`` is missing."""
    distribution, default_extra = OPTIONAL[module.split(".")[0]]
    return DeepDreamError(
        MISSING_DEPENDENCY, f"{purpose} needs {distribution}: pip install 'deepdreamport[{extra or default_extra}]'"
    )


def require(module: str, purpose: str, extra: Optional[str] = None) -> ModuleType:
    """``import module`` (a dotted name of an optional dependency); if it is not installed, the one-line error.

    ``extra`` overrides the extra named (``atlas`` for the atlas's own needs). An ``ImportError``
    from inside an installed package (a missing dependency of *its own*) is not hidden.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        top = module.split(".")[0]
        if exc.name is None or exc.name.split(".")[0] != top:
            raise
        raise missing_dependency(module, purpose, extra) from None
