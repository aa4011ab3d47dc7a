"""Engines run :class:`~deepdreamport.atlas.worker.UnitRenderer` tasks on workers.

An engine has named workers; the coordinator asks for idle ones, claims work for each in
the database (a batch of renders or a chunk of example items), submits it, and collects
:class:`Outcome` objects. Engines never write to the atlas folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from ..worker import DEFAULT_THREADS, Task


@dataclass(frozen=True)
class Outcome:
    """A finished task: ``result`` on success, else ``error`` (the worker failed or died)."""

    worker: str
    task: Task
    result: Optional[Any] = None
    error: Optional[str] = None


@dataclass(frozen=True)
class WorkerSpec:
    """What every worker loads once: the model, each recipe's parameters, the atlas seed, CPU threads."""

    model_path: str
    recipes: dict
    seed: int
    threads: int = DEFAULT_THREADS
