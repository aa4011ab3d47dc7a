"""The local engine: a pool of worker processes on this machine.

One worker per CUDA device when there are GPUs, else ``workers`` CPU processes
sharing the cores. Each worker has its own pipe, so the coordinator knows which
batch a worker holds; a worker that dies (even by SIGKILL) is noticed through
its process sentinel, its batch is reported failed, and a new worker takes its
place.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import traceback
from multiprocessing.connection import wait as wait_for
from typing import Optional

import torch

from ..errors import EngineError
from ..worker import RenderTask, UnitRenderer
from . import Outcome, WorkerSpec

# A pool whose workers died this many times more than it has workers gives up (a crash loop, not bad luck).
_DEATHS_TOLERATED = 5


def _worker_main(connection, spec: WorkerSpec, device: str, threads: int) -> None:
    # the coordinator decides what an interrupt means; a worker only stops when told or killed
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        renderer = UnitRenderer(
            spec.model_path,
            spec.recipe,
            spec.params,
            spec.seed,
            device=device,
            threads=threads,
            label=f"local:{os.getpid()}",
        )
    except Exception as exc:  # reported to the coordinator, which stops the job
        connection.send(("broken", f"{type(exc).__name__}: {exc}"))
        return
    while True:
        try:
            task = connection.recv()
        except EOFError:
            return
        if task is None:
            return
        try:
            connection.send(("done", renderer.render(task)))
        except Exception as exc:
            connection.send(("failed", f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"))


def default_devices(workers: Optional[int]) -> list[str]:
    """One device name per worker: every CUDA device, or ``workers`` (default 2) CPU workers."""

    if torch.cuda.is_available():
        count = torch.cuda.device_count()
        return [f"cuda:{i % count}" for i in range(workers or count)]
    return ["cpu"] * (workers or min(2, os.cpu_count() or 1))


class LocalEngine:
    """Worker processes (spawned, so each loads torch and the network afresh and once)."""

    def __init__(self, spec: WorkerSpec, workers: Optional[int] = None):
        self.spec = spec
        self.devices = default_devices(workers)
        cpu_workers = sum(1 for d in self.devices if d == "cpu") or 1
        self.threads = max(1, (os.cpu_count() or 1) // cpu_workers)
        self._context = multiprocessing.get_context("spawn")
        self._workers: dict[str, tuple] = {}  # label → (process, connection, device)
        self._busy: dict[str, RenderTask] = {}
        self._deaths = 0

    @property
    def size(self) -> int:
        return len(self.devices)

    def _spawn(self, device: str) -> None:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=_worker_main, args=(child, self.spec, device, self.threads), daemon=True)
        process.start()
        child.close()
        self._workers[f"local:{process.pid}"] = (process, parent, device)

    def start(self) -> None:
        for device in self.devices:
            self._spawn(device)

    def idle_workers(self) -> list[str]:
        return [label for label in self._workers if label not in self._busy]

    def in_flight(self) -> int:
        return len(self._busy)

    def submit(self, label: str, task: RenderTask) -> None:
        self._workers[label][1].send(task)
        self._busy[label] = task

    def wait(self, timeout: float) -> list[Outcome]:
        """Outcomes that arrived within ``timeout`` seconds (possibly none)."""
        handles = {}
        for label, (process, connection, _) in self._workers.items():
            handles[connection] = label
            handles[process.sentinel] = label
        outcomes: list[Outcome] = []
        ready_labels = {handles[h] for h in wait_for(list(handles), timeout)}
        for label in ready_labels:
            process, connection, device = self._workers[label]
            message = None
            try:
                if connection.poll():
                    message = connection.recv()
            except (EOFError, OSError):
                message = None
            if message is not None and message[0] == "broken":
                raise EngineError(f"worker {label} cannot start: {message[1]}")
            if message is not None:
                task = self._busy.pop(label)
                if message[0] == "done":
                    outcomes.append(Outcome(label, task, result=message[1]))
                else:
                    outcomes.append(Outcome(label, task, error=message[1]))
                continue
            if process.is_alive():
                continue
            # the worker died: its batch failed, a fresh worker takes its place
            process.join()
            del self._workers[label]
            task = self._busy.pop(label, None)
            if task is not None:
                outcomes.append(Outcome(label, task, error=f"worker {label} died (exit code {process.exitcode})"))
            self._deaths += 1
            if self._deaths > _DEATHS_TOLERATED + self.size:
                raise EngineError(f"local workers died {self._deaths} times; giving up")
            self._spawn(device)
        return outcomes

    def close(self) -> None:
        """Stop every worker: idle ones are asked to exit, busy ones (an interrupted job) are killed."""
        for label, (process, connection, _) in self._workers.items():
            if label in self._busy:
                process.kill()
                continue
            try:
                connection.send(None)
            except (OSError, BrokenPipeError):
                pass
        for process, connection, _ in self._workers.values():
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join()
            connection.close()
        self._workers.clear()
        self._busy.clear()
