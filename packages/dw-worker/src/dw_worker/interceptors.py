"""Worker interceptors: code that wraps every workflow task, activity and query task.

The first interceptor given to ``Worker(interceptors=[...])`` is the outermost; interceptors provided
by plugins (the ``durable_workflow`` plugin hook) run inside the explicitly given ones.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, runtime_checkable

__all__ = [
    "ActivityHandler",
    "ActivityInterceptorContext",
    "PassthroughWorkerInterceptor",
    "QueryTaskHandler",
    "QueryTaskInterceptorContext",
    "WorkerInterceptor",
    "WorkflowTaskHandler",
    "WorkflowTaskInterceptorContext",
    "chain_activity",
    "chain_query_task",
    "chain_workflow_task",
]


@dataclass(frozen=True)
class WorkflowTaskInterceptorContext:
    """One workflow task about to be executed (``task`` is the raw polled task)."""

    worker_id: str
    task_queue: str
    task: dict[str, Any]


@dataclass(frozen=True)
class ActivityInterceptorContext:
    """One activity attempt about to run with decoded ``args``; pass a copy with new args to replace them."""

    worker_id: str
    task_queue: str
    task: dict[str, Any]
    activity_type: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class QueryTaskInterceptorContext:
    """One query task about to be answered (``task`` is the raw polled task)."""

    worker_id: str
    task_queue: str
    task: dict[str, Any]


WorkflowTaskHandler = Callable[[WorkflowTaskInterceptorContext], Awaitable["list[dict[str, Any]] | None"]]
"""Runs a workflow task; returns the server commands sent, or ``None`` when the task was failed."""

ActivityHandler = Callable[[ActivityInterceptorContext], Awaitable[Any]]
"""Runs an activity; returns its decoded result or raises what the activity raised."""

QueryTaskHandler = Callable[[QueryTaskInterceptorContext], Awaitable[str]]
"""Runs a query task; returns the outcome (``completed``, ``failed``, ``expired``)."""


@runtime_checkable
class WorkerInterceptor(Protocol):
    """Wraps the three kinds of worker task; each method must await ``next(context)`` to continue."""

    async def execute_workflow_task(
        self, context: WorkflowTaskInterceptorContext, next: WorkflowTaskHandler
    ) -> list[dict[str, Any]] | None: ...

    async def execute_activity(self, context: ActivityInterceptorContext, next: ActivityHandler) -> Any: ...

    async def execute_query_task(
        self, context: QueryTaskInterceptorContext, next: QueryTaskHandler
    ) -> str: ...


class PassthroughWorkerInterceptor:
    """An interceptor that changes nothing; subclass it and override only the hooks you need."""

    async def execute_workflow_task(
        self, context: WorkflowTaskInterceptorContext, next: WorkflowTaskHandler
    ) -> list[dict[str, Any]] | None:
        return await next(context)

    async def execute_activity(self, context: ActivityInterceptorContext, next: ActivityHandler) -> Any:
        return await next(context)

    async def execute_query_task(self, context: QueryTaskInterceptorContext, next: QueryTaskHandler) -> str:
        return await next(context)


_C = TypeVar("_C")
_R = TypeVar("_R")


def _chain(
    interceptors: Sequence[WorkerInterceptor],
    innermost: Callable[[_C], Awaitable[_R]],
    hook: Callable[[WorkerInterceptor, _C, Callable[[_C], Awaitable[_R]]], Awaitable[_R]],
) -> Callable[[_C], Awaitable[_R]]:
    handler = innermost
    for interceptor in reversed(interceptors):
        handler = _bind(interceptor, handler, hook)
    return handler


def _bind(
    interceptor: WorkerInterceptor,
    next_handler: Callable[[_C], Awaitable[_R]],
    hook: Callable[[WorkerInterceptor, _C, Callable[[_C], Awaitable[_R]]], Awaitable[_R]],
) -> Callable[[_C], Awaitable[_R]]:
    async def call(context: _C) -> _R:
        return await hook(interceptor, context, next_handler)

    return call


def chain_workflow_task(
    interceptors: Sequence[WorkerInterceptor], innermost: WorkflowTaskHandler
) -> WorkflowTaskHandler:
    """Compose ``interceptors`` (first = outermost) around the workflow-task handler."""
    return _chain(interceptors, innermost, lambda i, c, n: i.execute_workflow_task(c, n))


def chain_activity(interceptors: Sequence[WorkerInterceptor], innermost: ActivityHandler) -> ActivityHandler:
    """Compose ``interceptors`` (first = outermost) around the activity handler."""
    return _chain(interceptors, innermost, lambda i, c, n: i.execute_activity(c, n))


def chain_query_task(
    interceptors: Sequence[WorkerInterceptor], innermost: QueryTaskHandler
) -> QueryTaskHandler:
    """Compose ``interceptors`` (first = outermost) around the query-task handler."""
    return _chain(interceptors, innermost, lambda i, c, n: i.execute_query_task(c, n))
