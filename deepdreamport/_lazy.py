"""A package's public names, imported on first use (PEP 562 module ``__getattr__``).

Why: importing torch takes ~2 s and onnx2torch another ~1.7 s (it imports
torchvision, which imports torch._dynamo and sympy). A package ``__init__`` that
imports its whole API eagerly makes every ``import deepdreamport.<anything>``
pay for all of it, so ``deepdream --help`` took 5 s. With the names resolved
on first use, ``deepdream``'s argument parsing imports no torch, and each
command imports only what it runs.

An exported name must not be the name of one of the package's own submodules:
importing that submodule binds the package attribute to the module, so the name
would mean the module or the function depending on import order
(``tests/test_lazy_exports.py`` checks this for every lazy package).
"""

from __future__ import annotations

import importlib
from typing import Any, Callable


def load(spec: str, package: str | None = None) -> Any:
    """``"module:attribute"`` → that attribute; ``"module"`` → the module (relative to ``package``)."""
    module_name, _, attribute = spec.partition(":")
    module = importlib.import_module(module_name, package)
    return getattr(module, attribute) if attribute else module


def lazy_exports(
    namespace: dict[str, Any], exports: dict[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for the package whose ``globals()`` is ``namespace``.

    ``exports`` maps each public name to ``".module:attribute"`` (or ``".module"`` for a
    submodule), relative to the package. A resolved name is stored in ``namespace``, so
    it is looked up once.
    """
    package = namespace["__name__"]

    def __getattr__(name: str) -> Any:
        spec = exports.get(name)
        if spec is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = load(spec, package)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
