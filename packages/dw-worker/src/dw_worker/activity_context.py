"""The runtime behind ``activity.context()``: heartbeats that report progress and detect cancellation.

``heartbeat()`` works from both kinds of activity: awaited from an ``async def`` activity, and called
plainly from a sync activity running on the worker's thread pool (it then blocks on the worker's
event loop until the server answered, and raises :class:`ActivityCancelled` right there).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Generator, Mapping
from typing import Any

from dw_core.errors import ActivityCancelled

logger = logging.getLogger("durable_workflow.worker")

HeartbeatCall = Callable[[dict[str, Any] | None], Awaitable[Any]]

# Heartbeat reasons after which the attempt can never complete (worker-plane.md §3.14); 0.4.84
# ignores them and lets the activity run to a completion the server will drop.
_DEAD_ATTEMPT_REASONS = frozenset(
    {
        "run_closed",
        "activity_not_running",
        "stale_attempt",
        "task_not_found",
        "stale_task",
        "task_not_leased",
        "activity_execution_missing",
        "workflow_run_missing",
        "attempt_closed",
    }
)


class _Done:
    """An already-finished awaitable, returned by a heartbeat made from a worker thread."""

    def __await__(self) -> Generator[Any, None, None]:
        return
        yield  # pragma: no cover - makes this a generator


class HeartbeatRuntime:
    """Sends heartbeats for one activity attempt and remembers whether it was cancelled."""

    def __init__(self, send: HeartbeatCall, loop: asyncio.AbstractEventLoop) -> None:
        self._send = send
        self._loop = loop
        self.cancelled = False
        self.cancel_reason: str | None = None

    def cancel_locally(self, reason: str) -> None:
        """Mark the attempt cancelled (worker shutdown); the next heartbeat raises ActivityCancelled."""
        self.cancelled = True
        self.cancel_reason = reason

    def heartbeat(self, details: Mapping[str, Any] | None = None) -> Awaitable[None]:
        payload = dict(details) if details is not None else None
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            return self._heartbeat_async(payload)
        # A sync activity on a pool thread: run the call on the worker loop and wait for it.
        future = asyncio.run_coroutine_threadsafe(self._heartbeat_async(payload), self._loop)
        future.result()
        return _Done()

    async def _heartbeat_async(self, details: dict[str, Any] | None) -> None:
        if self.cancelled:
            raise ActivityCancelled(f"activity was cancelled: {self.cancel_reason}")
        try:
            response = await self._send(details)
        except Exception as exc:  # a lost heartbeat must not kill the activity; the next one may land
            logger.warning("activity heartbeat failed: %s", exc)
            return
        if not isinstance(response, Mapping):
            return
        reason = response.get("reason")
        if response.get("cancel_requested"):
            self.cancel_locally(str(reason or "cancel_requested"))
            raise ActivityCancelled(f"activity was cancelled: {self.cancel_reason}")
        if response.get("can_continue") is False and reason in _DEAD_ATTEMPT_REASONS:
            self.cancel_locally(str(reason))
            raise ActivityCancelled(f"activity attempt can no longer complete: {reason}")
