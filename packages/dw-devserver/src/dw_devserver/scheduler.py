"""The one loop that fires due work: timers, timeouts, retries, lease expiries, plus plug-in ticks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from dw_devserver.clock import Clock

log = logging.getLogger("dw_devserver.scheduler")

#: A tick receives "now" (epoch seconds, server clock) and returns the time it next wants to run
#: (or None when it has nothing scheduled). It may be sync or async.
Tick = Callable[[float], "float | Awaitable[float | None] | None"]


class Scheduler:
    """Runs every registered tick whenever something may have come due.

    Ticks run in registration order on the event loop; each should do its work in storage
    transactions and return its next due time so the loop can sleep exactly that long (real
    clock) or until :meth:`wake` is called (virtual clock advance, new timer written).
    """

    def __init__(self, clock: Clock, max_sleep: float = 1.0) -> None:
        self.clock = clock
        self.max_sleep = max_sleep
        self._ticks: list[tuple[str, Tick]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._running = False
        #: when the loop next plans to run the ticks (None: nothing planned)
        self._planned: float | None = None
        self._in_run = False
        clock.on_advance(self.wake)

    def add_tick(self, callback: Tick, name: str | None = None) -> None:
        """Register periodic work (part B: schedule fires)."""
        self._ticks.append((name or str(getattr(callback, "__name__", "tick")), callback))

    def wake(self) -> None:
        """Ask the loop to run the ticks again now."""
        self._idle.clear()
        self._wake.set()

    def due(self, when: float | None) -> None:
        """Something comes due at ``when``: wake the loop only if it planned to sleep past that."""
        if when is None:
            return
        if self._in_run or self._planned is None or when < self._planned:
            self._planned = when
            self.wake()

    async def run_once(self) -> float | None:
        """Run all ticks once; returns the earliest next due time they reported."""
        now = self.clock.now()
        self._in_run = True
        try:
            return await self._run_ticks(now)
        finally:
            self._in_run = False

    async def _run_ticks(self, now: float) -> float | None:
        next_due: float | None = None
        for name, tick in self._ticks:
            try:
                result = tick(now)
                if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
                    result = await result
            except Exception:
                log.exception("scheduler tick %s failed", name)
                result = now + 1.0
            if isinstance(result, (int, float)) and (next_due is None or result < next_due):
                next_due = float(result)
        return next_due

    async def settle(self, rounds: int = 50) -> None:
        """Run ticks until nothing is due any more (used after a virtual-clock skip)."""
        for _ in range(rounds):
            next_due = await self.run_once()
            if next_due is None or next_due > self.clock.now():
                return

    def start(self) -> None:
        """Start the background loop on the running event loop."""
        if self._task is None:
            self._running = True
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="dw-devserver-scheduler")

    async def stop(self) -> None:
        """Stop the loop."""
        self._running = False
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while self._running:
            self._wake.clear()
            next_due = await self.run_once()
            self._planned = next_due
            now = self.clock.now()
            if self.clock.virtual:
                delay = self.max_sleep if next_due is None or next_due > now else 0.0
            else:
                delay = self.max_sleep if next_due is None else max(0.0, min(self.max_sleep, next_due - now))
            if delay > 0:
                self._idle.set()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)
            else:
                await asyncio.sleep(0)
