"""Server time: the wall clock, or a virtual clock that tests move forward explicitly."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone


class Clock:
    """Source of "now" (epoch seconds) for every engine decision: timers, deadlines, leases.

    In virtual mode time stands still until :meth:`advance` moves it, so a test can fire a
    one-hour timer instantly. Long-poll waits always use real time so no request hangs.
    """

    def __init__(self, virtual: bool = False, start: float | None = None) -> None:
        self.virtual = virtual
        self._offset = 0.0
        self._frozen = start if start is not None else time.time()
        self._listeners: list[Callable[[], None]] = []

    def now(self) -> float:
        """Current time in epoch seconds."""
        if self.virtual:
            return self._frozen
        return time.time() + self._offset

    def advance(self, seconds: float) -> float:
        """Move time forward (virtual mode moves the frozen instant; real mode adds an offset)."""
        if seconds < 0:
            raise ValueError("time can only move forward")
        if self.virtual:
            self._frozen += seconds
        else:
            self._offset += seconds
        for listener in list(self._listeners):
            listener()
        return self.now()

    def on_advance(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every :meth:`advance` (the scheduler re-checks due work)."""
        self._listeners.append(listener)


def iso(ts: float | None) -> str | None:
    """ISO-8601 UTC with microseconds and ``Z``, the server's timestamp style."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
