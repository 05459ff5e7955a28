"""Activity definitions and the per-attempt activity context.

``@activity.defn(name=...)`` registers a plain or ``async`` function under a language-neutral type
name. While the worker runs an attempt it installs an :class:`ActivityContext` in a context
variable; :func:`context` returns it (and raises outside an attempt). The heartbeat and
cancellation behaviour behind the context is supplied by the worker runtime, which builds the
context with its ``heartbeat`` and ``is_cancelled`` callables and sets ``_current_context``.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["ActivityContext", "ActivityInfo", "context", "defn", "registry"]

F = TypeVar("F", bound=Callable[..., Any])

_registry: dict[str, Callable[..., Any]] = {}
_registry_lock = threading.Lock()


def defn(*, name: str) -> Callable[[F], F]:
    """Register an activity function under the type ``name``; the function is returned unchanged."""
    if not isinstance(name, str) or not name.strip():
        raise TypeError(
            f"@activity.defn(name=...) needs a non-empty type name, got {name!r}; it is the activity_type "
            "workflows schedule"
        )

    def register(fn: F) -> F:
        if not callable(fn):
            raise TypeError(f"@activity.defn decorates a function, got {fn!r}")
        fn.__activity_name__ = name  # type: ignore[attr-defined]
        with _registry_lock:
            _registry[name] = fn
        return fn

    return register


def registry() -> dict[str, Callable[..., Any]]:
    """A copy of the process-wide map of activity type name to function."""
    with _registry_lock:
        return dict(_registry)


@dataclass(frozen=True)
class ActivityInfo:
    """Who and what the running attempt is."""

    task_id: str
    activity_type: str
    activity_attempt_id: str
    attempt_number: int = 1
    task_queue: str = ""
    worker_id: str = ""


class _Completed:
    """An awaitable that is already done (a heartbeat with nothing to wait for)."""

    def __await__(self) -> Generator[Any, None, None]:
        return
        yield  # pragma: no cover - makes this a generator


HeartbeatFunction = Callable[[Mapping[str, Any] | None], Awaitable[None]]


class ActivityContext:
    """The running attempt: its :class:`ActivityInfo`, heartbeats and cancellation state.

    ``heartbeat`` and ``is_cancelled`` are supplied by the worker runtime. ``await
    ctx.heartbeat(details)`` records progress; it raises ``ActivityCancelled`` when the server asked
    to cancel the attempt.
    """

    def __init__(
        self,
        *,
        info: ActivityInfo,
        client: Any = None,
        heartbeat: HeartbeatFunction | None = None,
        is_cancelled: Callable[[], bool] | None = None,
    ) -> None:
        self._info = info
        self.client = client
        self._heartbeat = heartbeat
        self._is_cancelled = is_cancelled

    @property
    def info(self) -> ActivityInfo:
        """Metadata of the running attempt."""
        return self._info

    @property
    def is_cancelled(self) -> bool:
        """True once a heartbeat learned that the attempt was cancelled."""
        return bool(self._is_cancelled()) if self._is_cancelled is not None else False

    def heartbeat(self, details: Mapping[str, Any] | None = None) -> Awaitable[None]:
        """Report progress (``details`` is a JSON object); await it from ``async`` activities.

        Without a worker runtime (e.g. a context built in a unit test) it does nothing.
        """
        if self._heartbeat is None:
            return _Completed()
        return self._heartbeat(dict(details) if details is not None else None)


_current_context: contextvars.ContextVar[ActivityContext | None] = contextvars.ContextVar(
    "durable_workflow_activity_context", default=None
)


def context() -> ActivityContext:
    """The context of the activity attempt running in this task/thread.

    Raises ``RuntimeError`` when called outside an activity execution.
    """
    current = _current_context.get()
    if current is None:
        raise RuntimeError(
            "activity.context() was called outside an activity execution; call it from inside a function "
            "registered with @activity.defn while a worker runs it"
        )
    return current
