"""Engines run :class:`~deepdreamport.atlas.worker.UnitRenderer` batches on workers.

An engine has named workers; the coordinator asks for idle ones, claims a
batch for each in the database, submits it, and collects :class:`Outcome`
objects. Engines never write to the atlas folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..worker import BatchResult, RenderTask


@dataclass(frozen=True)
class Outcome:
    """A finished batch: ``result`` on success, else ``error`` (the worker failed or died)."""

    worker: str
    task: RenderTask
    result: Optional[BatchResult] = None
    error: Optional[str] = None


@dataclass(frozen=True)
class WorkerSpec:
    """What every worker loads once."""

    model_path: str
    recipe: str
    params: dict
    seed: int
