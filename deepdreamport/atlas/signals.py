"""Interrupts (Ctrl-C's SIGINT, and SIGTERM from ``timeout``, ``kill``, schedulers) for the atlas.

Both signals mean the same: stop, hand back claimed work, exit 130 (:func:`terminate_as_interrupt`).
While the gallery is written (:func:`deferred_interrupts`) a signal is held until the gallery is
complete, so an interrupted run never leaves a half-written or stale gallery; a second signal
stops at once (every page is still written whole, by rename).
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from typing import Iterator, Optional

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM raises ``KeyboardInterrupt`` here, as SIGINT does (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def deferred_interrupts(announce=None) -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends, then raise ``KeyboardInterrupt`` if one came.

    ``announce(message)`` is told when the first signal is held; a second signal raises at once.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def hold(signum, frame) -> None:
        received.append(signum)
        if len(received) > 1:
            raise KeyboardInterrupt
        if announce is not None:
            announce("interrupted: finishing the gallery first (interrupt again to stop now)")

    previous: dict[int, Optional[object]] = {number: signal.signal(number, hold) for number in _SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if received:
        raise KeyboardInterrupt


def say(message: str) -> None:
    print(f"deepdream atlas: {message}", file=sys.stderr, flush=True)
