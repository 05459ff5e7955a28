"""Query tasks: a control-plane query becomes a leased task a worker answers (kept in memory)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import deque
from typing import TYPE_CHECKING, Any

from dw_devserver.clock import iso
from dw_devserver.http import ApiError
from dw_devserver.ids import new_id

if TYPE_CHECKING:
    from dw_devserver.runtime import Runtime

MAX_PENDING_PER_QUEUE = 1024


@dataclasses.dataclass
class QueryTask:
    """One query waiting for (or being answered by) a worker."""

    id: str
    namespace: str
    task_queue: str
    workflow_type: str
    run_id: str
    workflow_id: str
    query_name: str
    arguments: dict[str, Any] | None
    future: asyncio.Future[tuple[str, dict[str, Any]]]
    status: str = "pending"
    attempt: int = 0
    lease_owner: str | None = None
    lease_expires_at: float = 0.0


class QueryBroker:
    """Pending query tasks per (namespace, queue), matched to query polls."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._pending: dict[tuple[str, str], deque[QueryTask]] = {}
        self._tasks: dict[str, QueryTask] = {}

    def submit(self, run: dict[str, Any], query_name: str, arguments: dict[str, Any] | None) -> QueryTask:
        """Queue a query for the run's task queue; 409/429 when no worker can take it."""
        key = (run["namespace"], run["task_queue"])
        queue = self._pending.setdefault(key, deque())
        if len(queue) >= MAX_PENDING_PER_QUEUE:
            raise ApiError(429, "query_task_queue_full", "Too many pending queries on this task queue.")
        loop = asyncio.get_running_loop()
        task = QueryTask(
            id=new_id(),
            namespace=run["namespace"],
            task_queue=run["task_queue"],
            workflow_type=run["workflow_type"],
            run_id=run["run_id"],
            workflow_id=run["workflow_id"],
            query_name=query_name,
            arguments=arguments,
            future=loop.create_future(),
        )
        queue.append(task)
        self._tasks[task.id] = task
        self.rt.wakeups.notify(("query", run["namespace"], run["task_queue"]))
        return task

    def forget(self, task: QueryTask) -> None:
        """Drop a finished or timed-out query."""
        self._tasks.pop(task.id, None)
        queue = self._pending.get((task.namespace, task.task_queue))
        if queue is not None and task in queue:
            queue.remove(task)

    def claim(self, namespace: str, queue_name: str, worker_id: str, types: list[str]) -> QueryTask | None:
        """Lease the oldest pending query this worker can answer."""
        queue = self._pending.get((namespace, queue_name))
        if not queue:
            return None
        now = self.rt.clock.now()
        for task in list(queue):
            if types and task.workflow_type not in types:
                continue
            queue.remove(task)
            task.status = "leased"
            task.attempt += 1
            task.lease_owner = worker_id
            task.lease_expires_at = now + self.rt.config.query_task_lease_seconds
            return task
        return None

    def guard(self, task_id: str, lease_owner: Any, attempt: Any) -> QueryTask:
        """Lease checks for complete/fail (worker-plane.md §3.9)."""
        task = self._tasks.get(task_id)
        base = {"query_task_id": task_id, "query_task_attempt": attempt}
        if task is None:
            raise ApiError(404, "query_task_not_found", "Query task not found.", **base)
        if task.status != "leased":
            raise ApiError(409, "query_task_not_leased", "Query task is not leased.", **base)
        if task.lease_owner != lease_owner:
            raise ApiError(
                409,
                "lease_owner_mismatch",
                "Query task is leased to another worker.",
                **base,
                lease_owner=task.lease_owner,
            )
        if task.attempt != attempt:
            raise ApiError(
                409,
                "query_task_attempt_mismatch",
                "Query task attempt does not match.",
                **base,
                current_attempt=task.attempt,
            )
        if task.lease_expires_at < self.rt.clock.now():
            raise ApiError(
                409,
                "lease_expired",
                "Query task lease expired.",
                **base,
                lease_expires_at=iso(task.lease_expires_at),
            )
        return task

    def resolve(self, task: QueryTask, outcome: str, body: dict[str, Any]) -> None:
        """Hand the worker's answer to the waiting control-plane call."""
        task.status = outcome
        if not task.future.done():
            task.future.set_result((outcome, body))
        self.forget(task)

    async def shutdown(self) -> None:
        """Fail every waiting query (server stopping)."""
        for task in list(self._tasks.values()):
            if not task.future.done():
                task.future.set_result(
                    ("failed", {"reason": "server_stopping", "message": "Server is stopping."})
                )
        self._tasks.clear()
        self._pending.clear()
