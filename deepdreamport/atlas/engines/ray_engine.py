"""The Ray engine: one Ray actor per worker, each loading the network once, on any node of a cluster.

``address`` joins an existing cluster (``ray.init(address)``: the package, the model path and
any examples folder must be reachable on every node); without it a local Ray instance is
started (or the one already running in this process is used). Actors ask for one CPU, and one
GPU each where the cluster has GPUs, and start without blocking the job: a task goes to an
actor once it has loaded. Results come back to the coordinating process, the one writer of the
database. An actor that dies (its process killed, or its whole node lost) fails its task,
which is claimed again, and a replacement actor is asked for; one that cannot be placed (the
cluster lost the node's CPUs) waits without holding the job up. Ray is an optional
dependency: ``pip install 'deepdreamport[ray]'``.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Optional

from .._package import missing_dependency
from ..errors import AtlasInputError, EngineError
from ..worker import Task, UnitRenderer
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
        raise AtlasInputError(missing_dependency("ray", "the Ray engine").message, "engine") from None
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
        raise AtlasInputError(f"expected HOST:PORT (or auto); got {address!r}", "ray_address") from None
    try:
        with socket.create_connection((host or "127.0.0.1", port_number), timeout=timeout):
            pass
    except OSError as exc:
        raise AtlasInputError(f"no Ray cluster answers at {address!r} ({exc.strerror or exc})", "ray_address") from None


class _RemoteRenderer:
    """The actor body: a :class:`UnitRenderer` living in a Ray worker process (label ``ray:PID:NODE``)."""

    def __init__(self, spec: WorkerSpec, device: str):
        import ray

        node = ray.get_runtime_context().get_node_id()[:8]
        self.renderer = UnitRenderer(
            spec.model_path,
            spec.recipes,
            spec.seed,
            device=device,
            threads=spec.threads,
            label=f"ray:{os.getpid()}:{node}",
        )

    def label(self) -> str:
        return self.renderer.label

    def run(self, task: Task):
        return self.renderer.run(task)


class RayEngine:
    """``workers`` Ray actors (default: one per GPU of the cluster, else one per CPU of the cluster)."""

    def __init__(self, spec: WorkerSpec, workers: Optional[int] = None, address: Optional[str] = None):
        self.ray = import_ray()
        self.spec = spec
        self.requested = workers
        self.address = address
        self._owns_ray = False
        self._actors: dict[str, object] = {}
        self._starting: dict[object, object] = {}  # label ref → actor
        self._busy: dict[str, tuple[object, Task]] = {}  # label → (object ref, task)
        self._deaths = 0
        self._started_at = 0.0

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
        resources = ray.cluster_resources()
        gpus = resources.get("GPU", 0)
        self.gpus_per_worker = 1 if gpus >= 1 else 0
        self.device = "cuda" if self.gpus_per_worker else "cpu"
        count = self.requested or (int(gpus) if gpus >= 1 else max(1, int(resources.get("CPU", 2))))
        self._actor_class = ray.remote(_RemoteRenderer)
        self._started_at = time.monotonic()
        for _ in range(count):
            self._start_actor()

    def _start_actor(self) -> None:
        """Ask for one actor (it loads torch and the network: seconds); it becomes idle once ready."""
        actor = self._actor_class.options(num_cpus=1, num_gpus=self.gpus_per_worker, max_restarts=0).remote(
            self.spec, self.device
        )
        self._starting[actor.label.remote()] = actor

    def _collect_started(self, timeout: float = 0.0) -> None:
        if not self._starting:
            return
        ready, _ = self.ray.wait(list(self._starting), num_returns=len(self._starting), timeout=timeout)
        for ref in ready:
            actor = self._starting.pop(ref)
            try:
                label = self.ray.get(ref)
            except Exception as exc:  # the actor could not load the network, or its node went away
                self._deaths += 1
                if not self._actors and not self._starting:
                    raise EngineError(f"a Ray worker cannot start: {str(exc).splitlines()[-1][:500]}") from None
                self._check_deaths()
                self._start_actor()
                continue
            self._actors[label] = actor
        if not self._actors and self._starting and time.monotonic() - self._started_at > _ACTOR_START_TIMEOUT_S:
            raise EngineError(f"no Ray worker started within {_ACTOR_START_TIMEOUT_S:.0f} s (not enough free CPUs?)")

    def _check_deaths(self) -> None:
        if self._deaths > _DEATHS_TOLERATED + len(self._actors) + len(self._starting) + 1:
            raise EngineError(f"Ray workers died {self._deaths} times; giving up")

    def idle_workers(self) -> list[str]:
        self._collect_started()
        return [label for label in self._actors if label not in self._busy]

    def in_flight(self) -> int:
        return len(self._busy)

    def starting(self) -> int:
        return len(self._starting)

    def submit(self, label: str, task: Task) -> None:
        self._busy[label] = (self._actors[label].run.remote(task), task)

    def wait(self, timeout: float) -> list[Outcome]:
        ray = self.ray
        by_ref = {ref: label for label, (ref, _) in self._busy.items()}
        if not by_ref:
            self._collect_started(timeout)
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
                self._check_deaths()
                self._start_actor()
            except ray.exceptions.RayTaskError as exc:
                outcomes.append(Outcome(label, task, error=str(exc).splitlines()[-1][:2000]))
        return outcomes

    def close(self) -> None:
        for actor in [*self._actors.values(), *self._starting.values()]:
            try:
                self.ray.kill(actor)
            except Exception:  # an actor already gone needs no killing
                pass
        self._actors.clear()
        self._starting.clear()
        self._busy.clear()
        if self._owns_ray:
            self.ray.shutdown()
