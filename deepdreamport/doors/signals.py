"""SIGTERM (and SIGHUP) treated like Ctrl-C: the run stops through the same clean-up as an interrupt.

``timeout``, ``kill``, batch schedulers (Slurm, Kubernetes) and CI runners stop a
process with SIGTERM, whose default action ends Python at once: no ``finally``
runs, so temporary ``.part`` files stay and the atlas's claimed units stay
claimed. While a command runs, :func:`terminate_as_interrupt` makes SIGTERM and
SIGHUP raise :class:`Terminated`, a :class:`KeyboardInterrupt`, so every
``finally`` and ``except KeyboardInterrupt`` that cleans up after Ctrl-C runs
for them too. The exit status is ``128 + signal number``, the shells'
convention: 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP
(:func:`interrupt_status`).

A second signal while the first is being handled acts as the default (ends the
process), so a clean-up that hangs can still be stopped. A signal the caller
ignores (``nohup`` ignores SIGHUP) stays ignored. Only the main thread can set
handlers; elsewhere this does nothing. Standard library only.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator, Optional

HANDLED = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))
"""The signals turned into :class:`Terminated`."""


class Terminated(KeyboardInterrupt):
    """The process was asked to stop (SIGTERM, SIGHUP): cleaned up like Ctrl-C."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = int(signum)

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


def interrupt_status(interrupt: BaseException) -> int:
    """The exit status of an interrupted command: 128 + the signal (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP)."""
    return 128 + (interrupt.signum if isinstance(interrupt, Terminated) else int(signal.SIGINT))


def interrupt_name(interrupt: BaseException) -> str:
    """``'SIGTERM'``, ``'SIGHUP'`` or ``'SIGINT'`` (Ctrl-C)."""
    return interrupt.name if isinstance(interrupt, Terminated) else "SIGINT"


class Received:
    """What :func:`terminate_as_interrupt` saw: ``signum`` of the first handled signal, ``None`` if none came."""

    def __init__(self) -> None:
        self.signum: Optional[int] = None

    def status(self, status: int) -> int:
        """A handler's exit status, made ``128 + signum`` when it reported an interrupt (130) caused by a signal here."""
        return 128 + self.signum if self.signum is not None and status == 130 else status


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[Received]:
    """While the block runs, SIGTERM and SIGHUP raise :class:`Terminated`; the previous handlers come back after."""
    received = Received()
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def raise_terminated(signum, _frame) -> None:
        signal.signal(signum, signal.SIG_DFL)  # a second one ends the process, should the clean-up hang
        if received.signum is None:
            received.signum = int(signum)
        raise Terminated(signum)

    previous = {}
    for signum in HANDLED:
        current = signal.getsignal(signum)
        if current is signal.SIG_IGN:
            continue
        previous[signum] = signal.SIG_DFL if current is None else current
        signal.signal(signum, raise_terminated)
    try:
        yield received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
