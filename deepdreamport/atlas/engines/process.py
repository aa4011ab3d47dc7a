"""A local worker process: ``python -m deepdreamport.atlas.engines.process FD``.

Started by :class:`~.local.LocalEngine` as a fresh interpreter (not a ``multiprocessing``
child), so a user's script that calls ``run_atlas`` needs no ``if __name__ == "__main__"``
guard: nothing re-imports the script. It talks to the coordinator over the connection on file
descriptor FD: first ``(spec, device, label)``, then tasks until ``None``.
"""

from __future__ import annotations

import signal
import sys
import traceback
from multiprocessing.connection import Connection


def serve(connection: Connection) -> None:
    from ..worker import UnitRenderer

    spec, device, label = connection.recv()
    try:
        renderer = UnitRenderer(
            spec.model_path, spec.recipes, spec.seed, device=device, threads=spec.threads, label=label
        )
    except Exception as exc:  # reported to the coordinator, which stops the job
        connection.send(("broken", f"{type(exc).__name__}: {exc}"))
        return
    connection.send(("ready", label))
    while True:
        try:
            task = connection.recv()
        except EOFError:
            return
        if task is None:
            return
        try:
            connection.send(("done", renderer.run(task)))
        except Exception as exc:
            connection.send(("failed", f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"))


def main(argv: list[str]) -> int:
    # the coordinator decides what an interrupt means; a worker only stops when told or killed
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    connection = Connection(int(argv[0]))
    try:
        serve(connection)
    except (EOFError, BrokenPipeError, ConnectionResetError):  # the coordinator is gone
        return 0
    finally:
        connection.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
