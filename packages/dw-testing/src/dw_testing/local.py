"""``LocalServerEnvironment``: the embedded dev server in process, a connected client and workers.

For end-to-end tests that need the real protocol (a real ``Worker``, the real ``Client``, the
server's timers, retries and history) without Docker or a separate process::

    async with LocalServerEnvironment.start() as env:
        async with env.worker(workflows=[Greeter], activities=[greet]):
            assert await env.execute_workflow(Greeter, "Ada") == "Hello, Ada!"

Time skipping (on by default) runs the server on a virtual clock. While a test awaits a result
through :meth:`LocalServerEnvironment.result` / :meth:`~LocalServerEnvironment.execute_workflow`,
the environment jumps the clock to the next timer whenever the server is idle (no workflow task
or activity ready or running), so a workflow that sleeps for a day finishes in milliseconds and
timers fire in due order. :meth:`~LocalServerEnvironment.skip` moves the clock explicitly.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import datetime, timezone
from typing import Any, Final

from dw_client import Client
from dw_client.handles import WorkflowHandle
from dw_core.workflow import ReplayOutcome, get_definition, replay_history
from dw_devserver import DevServer
from dw_worker.worker import Worker

__all__ = ["LocalServerEnvironment"]

TERMINAL_STATUSES: Final = frozenset({"completed", "failed", "terminated", "canceled", "cancelled"})
DEFAULT_RESULT_TIMEOUT: Final = 60.0
_IDLE_CHECK_INTERVAL: Final = 0.01
_DESCRIBE_INTERVAL: Final = 0.05
#: Run/execution timeouts of workflows started through the environment unless given: with time
#: skipping a test can sleep for days, which the client's defaults (3600 s / 600 s) would cut short.
DEFAULT_WORKFLOW_TIMEOUT_SECONDS: Final = 365 * 86400


def _workflow_type(workflow: type | str) -> str:
    if isinstance(workflow, str):
        if not workflow:
            raise ValueError("workflow type must be a non-empty string")
        return workflow
    return get_definition(workflow).name


class LocalServerEnvironment:
    """A running in-process dev server with a connected :attr:`client`; build it with :meth:`start`."""

    def __init__(self, server: DevServer, client: Client, *, time_skipping: bool, task_queue: str) -> None:
        self.server = server
        self.client = client
        self.time_skipping = time_skipping
        self.task_queue = task_queue
        """The queue :meth:`worker` and :meth:`start_workflow` use when none is given (unique per env)."""

    @classmethod
    @contextlib.asynccontextmanager
    async def start(
        cls,
        *,
        time_skipping: bool = True,
        db: str | None = None,
        namespace: str = "default",
        task_queue: str | None = None,
        **server_options: Any,
    ) -> AsyncIterator[LocalServerEnvironment]:
        """Start the dev server on a free 127.0.0.1 port and yield a connected environment.

        ``db`` is an SQLite file path (default: in memory). ``server_options`` are
        ``dw_devserver.ServerConfig`` fields (e.g. ``long_poll_timeout=2``).
        """
        server_options.setdefault("long_poll_timeout", 5.0)
        async with contextlib.AsyncExitStack() as stack:
            server = await stack.enter_async_context(
                DevServer.start(db=db, virtual_clock=time_skipping, **server_options)
            )
            client = await stack.enter_async_context(Client(server.url, namespace=namespace))
            yield cls(
                server,
                client,
                time_skipping=time_skipping,
                task_queue=task_queue or f"test-queue-{uuid.uuid4().hex[:8]}",
            )

    @property
    def url(self) -> str:
        """The server's base URL (``http://127.0.0.1:<port>``)."""
        return self.server.url

    # -- workers --------------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def worker(
        self,
        task_queue: str | None = None,
        *,
        workflows: Iterable[type] = (),
        activities: Iterable[Callable[..., Any]] = (),
        **worker_options: Any,
    ) -> AsyncIterator[Worker]:
        """Run a real ``Worker`` for the block (registered and polling when the block starts)."""
        worker_options.setdefault("shutdown_timeout", 5.0)
        worker = Worker(
            self.client,
            task_queue=task_queue or self.task_queue,
            workflows=workflows,
            activities=activities,
            **worker_options,
        )
        async with worker:
            yield worker

    # -- workflows ------------------------------------------------------------------------------------

    async def start_workflow(
        self,
        workflow: type | str,
        *args: Any,
        id: str | None = None,
        task_queue: str | None = None,
        **start_options: Any,
    ) -> WorkflowHandle:
        """Start ``workflow`` (a ``@workflow.defn`` class or type name) with ``args``; returns its handle.

        ``start_options`` go to ``Client.start_workflow``; ``execution_timeout_seconds`` and
        ``run_timeout_seconds`` default to a year here, so long virtual sleeps are not cut short.
        """
        workflow_type = _workflow_type(workflow)
        start_options.setdefault("execution_timeout_seconds", DEFAULT_WORKFLOW_TIMEOUT_SECONDS)
        start_options.setdefault("run_timeout_seconds", DEFAULT_WORKFLOW_TIMEOUT_SECONDS)
        handle: WorkflowHandle = await self.client.start_workflow(
            workflow_type=workflow_type,
            task_queue=task_queue or self.task_queue,
            workflow_id=id or f"{workflow_type}-{uuid.uuid4().hex[:12]}",
            input=list(args),
            **start_options,
        )
        return handle

    async def execute_workflow(
        self,
        workflow: type | str,
        *args: Any,
        id: str | None = None,
        task_queue: str | None = None,
        timeout: float = DEFAULT_RESULT_TIMEOUT,
        **start_options: Any,
    ) -> Any:
        """Start ``workflow`` and return its result (skipping time while the server is idle)."""
        handle = await self.start_workflow(workflow, *args, id=id, task_queue=task_queue, **start_options)
        return await self.result(handle, timeout=timeout)

    async def result(self, handle: WorkflowHandle, *, timeout: float = DEFAULT_RESULT_TIMEOUT) -> Any:
        """Wait for ``handle``'s workflow to close and return its result (errors as ``Client.get_result``).

        With time skipping, whenever nothing is ready or running on the server the virtual clock
        jumps to the next due timer. ``timeout`` is in real seconds.
        """
        deadline = time.monotonic() + timeout
        next_describe = 0.0
        while True:
            now = time.monotonic()
            if now >= next_describe:
                description = await self.client.describe_workflow(handle.workflow_id)
                if str(description.status or "").lower() in TERMINAL_STATUSES:
                    return await self.client.get_result(
                        handle, poll_interval=_DESCRIBE_INTERVAL, timeout=max(1.0, deadline - now)
                    )
                next_describe = now + _DESCRIBE_INTERVAL
            if now >= deadline:
                raise TimeoutError(
                    f"workflow {handle.workflow_id!r} still {description.status or 'open'} "
                    f"after {timeout} s; "
                    "is a worker running for its task queue with every workflow and activity it uses "
                    "(async with env.worker(workflows=[...], activities=[...]))? Does it wait for a signal?"
                )
            if self.time_skipping and await self._skip_if_idle():
                continue
            await asyncio.sleep(_IDLE_CHECK_INTERVAL)

    async def get_history(self, handle: WorkflowHandle) -> list[dict[str, Any]]:
        """The history events of ``handle``'s run (the newest run when the handle names none)."""
        run_id = handle.run_id or (await self.client.describe_workflow(handle.workflow_id)).run_id
        if not run_id:
            raise ValueError(f"workflow {handle.workflow_id!r} has no run yet")
        page = await self.client.get_history(handle.workflow_id, run_id)
        events = page.get("events") if isinstance(page, dict) else None
        return list(events or [])

    async def replay(self, handle: WorkflowHandle, workflow_cls: type) -> ReplayOutcome:
        """Replay the recorded history of ``handle``'s run against ``workflow_cls`` (current code).

        The start input comes from the server (history does not carry it). Raises
        ``NonDeterministicReplayError`` when the code no longer matches the history.
        """
        description = await self.client.describe_workflow(handle.workflow_id)
        run_id = handle.run_id or description.run_id
        if not run_id:
            raise ValueError(f"workflow {handle.workflow_id!r} has no run yet")
        page = await self.client.get_history(handle.workflow_id, run_id)
        events = list(page.get("events") or []) if isinstance(page, dict) else []
        start_input = description.input if description.run_id == run_id else None
        if start_input is not None and not isinstance(start_input, list):
            start_input = [start_input]
        return replay_history(
            workflow_cls,
            events,
            start_input,
            run_id=run_id,
            payload_codec=description.payload_codec or "avro",
        )

    # -- time -------------------------------------------------------------------------------------------

    def now(self) -> datetime:
        """The server's current time (virtual with time skipping)."""
        return datetime.fromtimestamp(self.server.runtime.clock.now(), tz=timezone.utc)

    async def skip(self, seconds: float) -> datetime:
        """Move the virtual clock forward ``seconds`` and fire whatever came due; returns the new time."""
        if not self.time_skipping:
            raise RuntimeError(
                "skip() needs time skipping: use LocalServerEnvironment.start(time_skipping=True)"
            )
        if seconds < 0:
            raise ValueError(f"time only moves forward; got skip({seconds})")
        await self.server.skip(seconds)
        return self.now()

    def next_timer_due(self) -> datetime | None:
        """When the earliest pending timer fires, or ``None`` without pending timers."""
        due = self.server.runtime.engine.next_timer_due()
        return None if due is None else datetime.fromtimestamp(due, tz=timezone.utc)

    async def _skip_if_idle(self) -> bool:
        """Jump to the next due time when nothing can progress without time passing.

        ``engine.idle_until()`` reads one consistent snapshot: every state change on the server is
        one transaction (a completed task and the work it creates commit together), so a
        half-finished step never looks idle.
        """
        due = self.server.runtime.engine.idle_until()
        if due is None:
            return False
        await self.server.skip(max(0.0, due - self.server.runtime.clock.now()))
        return True
