"""The Ray engine: one Ray actor per worker, each loading the network once.

``address`` joins an existing cluster (``ray.init(address)``); without it a
local Ray instance is started (or the one already running in this process is
used). Actors ask for one CPU, and one GPU each where the cluster has GPUs.
Results come back to the coordinating process, the one writer of the
database. An actor that dies (its process killed) fails its batch and is
replaced. Ray is an optional dependency: ``pip install 'deepdreamport[ray]'``.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Optional

from ..errors import AtlasInputError, EngineError
from ..worker import RenderTask, UnitRenderer
from . import Outcome, WorkerSpec

ADDRESS_TIMEOUT_S = 5.0
_ACTOR_START_TIMEOUT_S = 300.0
_DEATHS_TOLERATED = 5
# Local Ray workers must import this package from where the coordinator imports it.
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[3])


def import_ray():
    """The ``ray`` module, or a clear error naming the extra to install."""
    try:
        import ray
    except ImportError:
        raise AtlasInputError("--engine ray: Ray is not installed; pip install 'deepdreamport[ray]'") from None
    return ray


def check_address(address: str, timeout: float = ADDRESS_TIMEOUT_S) -> None:
    """Fail within ``timeout`` seconds unless something listens at ``address`` (``host:port`` or ``auto``)."""
    if address == "auto":  # Ray finds the cluster itself and fails on its own terms
        return
    target = address.split("://", 1)[-1]
    host, _, port = target.rpartition(":")
    try:
        port_number = int(port)
    except ValueError:
        raise AtlasInputError(f"--ray-address: expected HOST:PORT (or auto); got {address!r}") from None
    try:
        with socket.create_connection((host or "127.0.0.1", port_number), timeout=timeout):
            pass
    except OSError as exc:
        raise AtlasInputError(f"--ray-address: no Ray cluster answers at {address!r} ({exc.strerror or exc})") from None


class _RemoteRenderer:
    """The actor body: a :class:`UnitRenderer` living in a Ray worker process."""

    def __init__(self, spec: WorkerSpec, device: str):
        self.renderer = UnitRenderer(
            spec.model_path, spec.recipe, spec.params, spec.seed, device=device, threads=1, label=f"ray:{os.getpid()}"
        )

    def label(self) -> str:
        return self.renderer.label

    def render(self, task: RenderTask):
        return self.renderer.render(task)


class RayEngine:
    """``workers`` Ray actors (default: one per GPU of the cluster, else 2)."""

    def __init__(self, spec: WorkerSpec, workers: Optional[int] = None, address: Optional[str] = None):
        self.ray = import_ray()
        self.spec = spec
        self.requested = workers
        self.address = address
        self._owns_ray = False
        self._actors: dict[str, object] = {}
        self._busy: dict[str, tuple[object, RenderTask]] = {}  # label → (object ref, task)
        self._deaths = 0

    @property
    def size(self) -> int:
        return len(self._actors)

    def start(self) -> None:
        ray = self.ray
        if not ray.is_initialized():
            options = dict(include_dashboard=False, log_to_driver=False, configure_logging=False)
            if self.address:
                ray.init(address=self.address, **options)
            else:
                ray.init(
                    num_cpus=self.requested or 2, runtime_env={"env_vars": {"PYTHONPATH": _PACKAGE_ROOT}}, **options
                )
            self._owns_ray = True
        gpus = ray.cluster_resources().get("GPU", 0)
        self.gpus_per_worker = 1 if gpus >= 1 else 0
        self.device = "cuda" if self.gpus_per_worker else "cpu"
        count = self.requested or (int(gpus) if gpus >= 1 else 2)
        self._actor_class = ray.remote(_RemoteRenderer)
        self._start_actors(count)

    def _start_actors(self, count: int) -> None:
        """Start ``count`` actors at once (each loads torch and the network: seconds) and wait until all are ready."""
        actors = [
            self._actor_class.options(num_cpus=1, num_gpus=self.gpus_per_worker, max_restarts=0).remote(
                self.spec, self.device
            )
            for _ in range(count)
        ]
        try:
            labels = self.ray.get([actor.label.remote() for actor in actors], timeout=_ACTOR_START_TIMEOUT_S)
        except Exception as exc:
            raise EngineError(f"a Ray worker cannot start: {exc}") from None
        self._actors.update(zip(labels, actors))

    def idle_workers(self) -> list[str]:
        return [label for label in self._actors if label not in self._busy]

    def in_flight(self) -> int:
        return len(self._busy)

    def submit(self, label: str, task: RenderTask) -> None:
        self._busy[label] = (self._actors[label].render.remote(task), task)

    def wait(self, timeout: float) -> list[Outcome]:
        ray = self.ray
        by_ref = {ref: label for label, (ref, _) in self._busy.items()}
        if not by_ref:
            return []
        ready, _ = ray.wait(list(by_ref), num_returns=len(by_ref), timeout=timeout)
        outcomes = []
        for ref in ready:
            label = by_ref[ref]
            _, task = self._busy.pop(label)
            try:
                outcomes.append(Outcome(label, task, result=ray.get(ref)))
            except ray.exceptions.RayActorError as exc:
                outcomes.append(Outcome(label, task, error=f"worker {label} died ({type(exc).__name__})"))
                del self._actors[label]
                self._deaths += 1
                if self._deaths > _DEATHS_TOLERATED + len(self._actors) + 1:
                    raise EngineError(f"Ray workers died {self._deaths} times; giving up") from None
                self._start_actors(1)
            except ray.exceptions.RayTaskError as exc:
                outcomes.append(Outcome(label, task, error=str(exc).splitlines()[-1][:2000]))
        return outcomes

    def close(self) -> None:
        for actor in self._actors.values():
            try:
                self.ray.kill(actor)
            except Exception:  # an actor already gone needs no killing
                pass
        self._actors.clear()
        self._busy.clear()
        if self._owns_ray:
            self.ray.shutdown()
