"""In-process wake-ups for long-polls: a waiter parks on a key and is released when work arrives."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable


class Wakeups:
    """One asyncio.Event per key (e.g. ``("workflow", namespace, queue)``).

    :meth:`notify` sets the current event and replaces it, so every waiter parked before the
    notify wakes once, and later waiters park on a fresh event. Waiters then re-check storage.
    """

    def __init__(self) -> None:
        self._events: dict[Hashable, asyncio.Event] = {}

    def event(self, key: Hashable) -> asyncio.Event:
        """The event a waiter should park on for ``key``."""
        ev = self._events.get(key)
        if ev is None:
            ev = self._events[key] = asyncio.Event()
        return ev

    def notify(self, key: Hashable) -> None:
        """Release everyone parked on ``key``."""
        ev = self._events.pop(key, None)
        if ev is not None:
            ev.set()

    def notify_all(self) -> None:
        """Release every waiter (used at shutdown)."""
        events = list(self._events.values())
        self._events.clear()
        for ev in events:
            ev.set()

    async def wait(self, key: Hashable, timeout: float) -> bool:
        """Park until notified or ``timeout`` seconds pass; True when notified."""
        if timeout <= 0:
            return False
        ev = self.event(key)
        try:
            await asyncio.wait_for(ev.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True
