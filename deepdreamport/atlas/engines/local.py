"""The local engine: worker processes on this machine.

One worker per CUDA device when there are GPUs, else ``workers`` CPU processes of one thread
each (default: one per core, at most one per 2 GiB of memory). Each worker is a fresh
interpreter running :mod:`.process` (so a user's script is never re-imported and needs no
``__main__`` guard) with its own connection, so the coordinator knows which task a worker
holds; a worker that dies (even by SIGKILL) is noticed through its process (a pidfd where
Linux has them), its task is reported failed, and a new worker takes its place. Work is claimed
for a worker only once it has loaded (it says so), so claims never wait on a start.
"""

from __future__ import annotations

import os
import subprocess
import sys
from multiprocessing import Pipe
from multiprocessing.connection import wait as wait_for
from pathlib import Path
from typing import Optional

import torch

from ..errors import EngineError
from ..worker import Task
from . import Outcome, WorkerSpec

# A pool whose workers died this many times more than it has workers gives up (a crash loop, not bad luck).
_DEATHS_TOLERATED = 5
_MEMORY_PER_WORKER = 2 << 30
# Workers import this package from where the coordinator imports it.
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[3])


def _total_memory() -> Optional[int]:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def default_cpu_workers() -> int:
    """One single-threaded worker per core, at most one per 2 GiB of memory (each holds torch and the network)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    memory = _total_memory()
    by_memory = max(1, memory // _MEMORY_PER_WORKER) if memory else cores
    return max(1, min(cores, by_memory))


def default_devices(workers: Optional[int]) -> list[str]:
    """One device name per worker: every CUDA device, or ``workers`` (default :func:`default_cpu_workers`) CPU workers."""

    if torch.cuda.is_available():
        count = torch.cuda.device_count()
        return [f"cuda:{i % count}" for i in range(workers or count)]
    return ["cpu"] * (workers or default_cpu_workers())


class _Worker:
    def __init__(self, process: subprocess.Popen, connection, device: str):
        self.process = process
        self.connection = connection
        self.device = device
        self.ready = False  # loaded torch and the network: tasks go to ready workers only
        self.sentinel = None
        if hasattr(os, "pidfd_open"):
            try:
                self.sentinel = os.pidfd_open(process.pid)
            except OSError:
                self.sentinel = None

    def close(self) -> None:
        self.connection.close()
        if self.sentinel is not None:
            os.close(self.sentinel)
            self.sentinel = None


class LocalEngine:
    """Worker processes (fresh interpreters: each loads torch and the network once)."""

    def __init__(self, spec: WorkerSpec, workers: Optional[int] = None):
        self.spec = spec
        self.devices = default_devices(workers)
        self._workers: dict[str, _Worker] = {}
        self._busy: dict[str, Task] = {}
        self._deaths = 0

    @property
    def size(self) -> int:
        return len(self.devices)

    def _spawn(self, device: str) -> None:
        parent, child = Pipe()
        environment = dict(os.environ)
        environment["PYTHONPATH"] = os.pathsep.join(
            [_PACKAGE_ROOT, *([environment["PYTHONPATH"]] if environment.get("PYTHONPATH") else [])]
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "deepdreamport.atlas.engines.process", str(child.fileno())],
            pass_fds=(child.fileno(),),
            stdin=subprocess.DEVNULL,
            env=environment,
        )
        child.close()
        label = f"local:{process.pid}"
        parent.send((self.spec, device, label))
        self._workers[label] = _Worker(process, parent, device)

    def start(self) -> None:
        for device in self.devices:
            self._spawn(device)

    def idle_workers(self) -> list[str]:
        return [label for label, worker in self._workers.items() if worker.ready and label not in self._busy]

    def in_flight(self) -> int:
        return len(self._busy)

    def starting(self) -> int:
        return sum(not worker.ready for worker in self._workers.values())

    def submit(self, label: str, task: Task) -> None:
        self._workers[label].connection.send(task)
        self._busy[label] = task

    def wait(self, timeout: float) -> list[Outcome]:
        """Outcomes that arrived within ``timeout`` seconds (possibly none)."""
        handles = {}
        for label, worker in self._workers.items():
            handles[worker.connection] = label
            if worker.sentinel is not None:
                handles[worker.sentinel] = label
        outcomes: list[Outcome] = []
        ready_labels = {handles[h] for h in wait_for(list(handles), timeout)}
        ready_labels |= {label for label, worker in self._workers.items() if worker.process.poll() is not None}
        for label in ready_labels:
            worker = self._workers[label]
            message = None
            while True:
                try:
                    message = worker.connection.recv() if worker.connection.poll() else None
                except (EOFError, OSError):
                    message = None
                if message is None or message[0] != "ready":
                    break
                worker.ready = True
            if message is not None and message[0] == "broken":
                raise EngineError(f"worker {label} cannot start: {message[1]}")
            if message is not None:
                task = self._busy.pop(label)
                if message[0] == "done":
                    outcomes.append(Outcome(label, task, result=message[1]))
                else:
                    outcomes.append(Outcome(label, task, error=message[1]))
                continue
            if worker.process.poll() is None:
                continue
            # the worker died: its task failed, a fresh worker takes its place
            del self._workers[label]
            worker.close()
            task = self._busy.pop(label, None)
            if task is not None:
                outcomes.append(
                    Outcome(label, task, error=f"worker {label} died (exit code {worker.process.returncode})")
                )
            self._deaths += 1
            if self._deaths > _DEATHS_TOLERATED + self.size:
                raise EngineError(f"local workers died {self._deaths} times; giving up")
            self._spawn(worker.device)
        return outcomes

    def close(self) -> None:
        """Stop every worker: idle ones are asked to exit, busy ones (an interrupted job) are killed."""
        for label, worker in self._workers.items():
            if label in self._busy:
                worker.process.kill()
                continue
            try:
                worker.connection.send(None)
            except (OSError, BrokenPipeError):
                pass
        for worker in self._workers.values():
            try:
                worker.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()
            worker.close()
        self._workers.clear()
        self._busy.clear()
