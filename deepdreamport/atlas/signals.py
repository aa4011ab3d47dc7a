"""Interrupts of an atlas run (Ctrl-C's SIGINT, SIGTERM from ``timeout``, ``kill``, schedulers, SIGHUP).

Every signal means the same: stop, hand back claimed work, exit 128 + the signal (130, 143, 129):
:func:`terminate_as_interrupt` is the command line's own
(:mod:`deepdreamport.doors.signals`). While the gallery is written (:func:`deferred_interrupts`) a
signal is held until the gallery is complete, so an interrupted run never leaves a half-written or
stale gallery; a second signal stops at once (every page is still written whole, by rename).
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from typing import Iterator, Optional

from ._package import HANDLED, Terminated, interrupt_status, terminate_as_interrupt

__all__ = ["deferred_interrupts", "interrupt_status", "say", "terminate_as_interrupt"]

_SIGNALS = (signal.SIGINT, *HANDLED)


def _interrupt(signum: int) -> KeyboardInterrupt:
    return KeyboardInterrupt() if signum == signal.SIGINT else Terminated(signum)


@contextlib.contextmanager
def deferred_interrupts(announce=None) -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP until the block ends, then raise the first as an interrupt.

    ``announce(message)`` is told when the first signal is held; a second signal raises at once.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def hold(signum, frame) -> None:
        received.append(signum)
        if len(received) > 1:
            raise _interrupt(received[0])
        if announce is not None:
            announce("interrupted: finishing the gallery first (interrupt again to stop now)")

    previous: dict[int, Optional[object]] = {}
    for number in _SIGNALS:
        if signal.getsignal(number) is not signal.SIG_IGN:  # a signal the caller ignores (nohup) stays ignored
            previous[number] = signal.signal(number, hold)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if received:
        raise _interrupt(received[0])


def say(message: str) -> None:
    print(f"deepdream atlas: {message}", file=sys.stderr, flush=True)
