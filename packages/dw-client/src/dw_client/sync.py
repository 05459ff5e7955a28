"""Blocking ``Client``: the async client driven on one private event-loop thread.

Every call is submitted to a background thread that owns one event loop for the whole life of the
client, so the connection pool is always used from the loop it was created on (0.4.84 ran each
call under a fresh ``asyncio.run`` and broke on its second call against a keep-alive server). Calls
may come from any number of threads. ``close()`` closes the pool and ends the thread.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import Future
from types import TracebackType
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar

from dw_client.client import Client as AsyncClient
from dw_client.handles import ScheduleHandle, StandaloneActivityHandle, WorkflowHandle
from dw_client.models.activities import StandaloneActivityExecution
from dw_client.models.schedules import (
    ScheduleAction,
    ScheduleBackfillResult,
    ScheduleDescription,
    ScheduleHistoryEvent,
    ScheduleHistoryPage,
    ScheduleSpec,
    ScheduleTriggerResult,
)
from dw_client.models.workflows import WorkflowCommandResult, WorkflowExecution, WorkflowRun, WorkflowRunList

if TYPE_CHECKING:
    from dw_core.external_storage import ExternalPayloadCache, ExternalStorageDriver
    from dw_core.metrics import MetricsRecorder
    from dw_core.retry_policy import TransportRetryPolicy

__all__ = ["Client", "SyncScheduleHandle", "SyncStandaloneActivityHandle", "SyncWorkflowHandle"]

P = ParamSpec("P")
T = TypeVar("T")


class LoopThread:
    """A daemon thread running one event loop until :meth:`stop`."""

    def __init__(self, name: str = "durable-workflow-sync-client") -> None:
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()
        self._ready.wait()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._ready.set)
        try:
            self.loop.run_forever()
        finally:
            # Let cancelled tasks unwind before the loop goes away.
            pending = asyncio.all_tasks(self.loop)
            for task in pending:
                task.cancel()
            if pending:
                self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

    @property
    def thread(self) -> threading.Thread:
        """The loop's thread (ends after :meth:`stop`)."""
        return self._thread

    @property
    def running(self) -> bool:
        """Whether the loop still accepts work."""
        return self._thread.is_alive() and not self.loop.is_closed()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and block until it finishes; its exception propagates."""
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError(
                "a sync Client call was made from its own loop thread; use the async Client there"
            )
        if not self.running:
            coro.close()
            raise RuntimeError("this sync Client is closed; create a new Client to send more requests")
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result()
        except BaseException:
            # KeyboardInterrupt or similar while waiting: do not leave the request running.
            future.cancel()
            raise

    def stop(self) -> None:
        """Stop the loop and wait for the thread to end (idempotent)."""
        if self._thread.is_alive() and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.loop.stop)
        if threading.current_thread() is not self._thread:
            self._thread.join()


# Sync handles built outside a sync Client find their loop through the async client they wrap.
_RUNNERS: weakref.WeakKeyDictionary[AsyncClient, LoopThread] = weakref.WeakKeyDictionary()


def _refuse_inside_event_loop() -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(
        "durable_workflow.sync.Client blocks and cannot be called from inside a running event loop; "
        "use the async durable_workflow.Client (await client.<method>(...)) there"
    )


def _run_blocking(runner: LoopThread, coro: Coroutine[Any, Any, T]) -> T:
    try:
        _refuse_inside_event_loop()
    except RuntimeError:
        coro.close()
        raise
    return runner.run(coro)


def _runner_for(async_client: AsyncClient, runner: LoopThread | None) -> LoopThread:
    found = runner or _RUNNERS.get(async_client)
    if found is None:
        raise TypeError(
            "this async handle does not belong to a durable_workflow.sync.Client; get sync handles from the "
            "sync client (start_workflow, get_workflow_handle, ...)"
        )
    return found


def _blocking(
    method: Callable[Concatenate[AsyncClient, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[Client, P], T]:
    name = method.__name__

    def call(self: Client, /, *args: P.args, **kwargs: P.kwargs) -> T:
        _refuse_inside_event_loop()
        # Looked up on the instance so the call reaches the live async client's method.
        coro: Coroutine[Any, Any, T] = getattr(self._async, name)(*args, **kwargs)
        return self._runner.run(coro)

    call.__name__ = name
    call.__qualname__ = f"Client.{name}"
    call.__doc__ = method.__doc__
    return call


_H = TypeVar("_H", WorkflowHandle, ScheduleHandle, StandaloneActivityHandle)


class _BlockingHandle(Generic[_H]):
    """What every blocking handle shares: the async handle it wraps and the loop thread it runs on."""

    _handle: _H

    def __init__(self, async_handle: _H, runner: LoopThread | None = None) -> None:
        self._handle = async_handle
        self._runner = _runner_for(async_handle._client, runner)

    def __repr__(self) -> str:
        return f"Sync{self._handle!r}"

    @property
    def async_handle(self) -> _H:
        """The async handle this wraps."""
        return self._handle

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return _run_blocking(self._runner, coro)


class SyncWorkflowHandle(_BlockingHandle[WorkflowHandle]):
    """Blocking view of a :class:`~dw_client.handles.WorkflowHandle`."""

    @property
    def workflow_id(self) -> str:
        """The workflow id."""
        return self._handle.workflow_id

    @property
    def run_id(self) -> str | None:
        """The run this handle is pinned to, if any."""
        return self._handle.run_id

    @property
    def workflow_type(self) -> str:
        """The workflow type, when known."""
        return self._handle.workflow_type

    def result(self, *, poll_interval: float = 0.5, timeout: float = 30.0) -> Any:
        """Wait for the workflow to close and return its result."""
        return self._run(self._handle.result(poll_interval=poll_interval, timeout=timeout))

    def describe(self) -> WorkflowExecution:
        """The newest run of this workflow."""
        return self._run(self._handle.describe())

    def get_history(self) -> Any:
        """The whole history of this handle's run."""
        return self._run(self._handle.get_history())

    def export_history(self) -> Any:
        """The replay bundle of this handle's run."""
        return self._run(self._handle.export_history())

    def list_runs(self) -> WorkflowRunList:
        """Every run of this workflow id."""
        return self._run(self._handle.list_runs())

    def describe_run(self, run_id: str | None = None) -> WorkflowRun:
        """One run's detail."""
        return self._run(self._handle.describe_run(run_id))

    def signal(self, signal_name: str, args: list[Any] | None = None) -> None:
        """Send a signal."""
        self._run(self._handle.signal(signal_name, args))

    def query(self, query_name: str, args: list[Any] | None = None) -> Any:
        """Run a query; returns the server's JSON answer."""
        return self._run(self._handle.query(query_name, args))

    def update(
        self,
        update_name: str,
        args: list[Any] | None = None,
        *,
        wait_for: str | None = None,
        wait_timeout_seconds: int | None = None,
        request_id: str | None = None,
    ) -> Any:
        """Send an update; returns the server's JSON answer."""
        return self._run(
            self._handle.update(
                update_name,
                args,
                wait_for=wait_for,
                wait_timeout_seconds=wait_timeout_seconds,
                request_id=request_id,
            )
        )

    def cancel(self, *, reason: str | None = None) -> None:
        """Cancel the workflow."""
        self._run(self._handle.cancel(reason=reason))

    def terminate(self, *, reason: str | None = None) -> None:
        """Terminate the workflow."""
        self._run(self._handle.terminate(reason=reason))

    def repair(self) -> WorkflowCommandResult:
        """Ask the server to repair a stalled run."""
        return self._run(self._handle.repair())

    def archive(self, *, reason: str | None = None) -> WorkflowCommandResult:
        """Archive the closed run."""
        return self._run(self._handle.archive(reason=reason))


class SyncScheduleHandle(_BlockingHandle[ScheduleHandle]):
    """Blocking view of a :class:`~dw_client.handles.ScheduleHandle`."""

    @property
    def schedule_id(self) -> str:
        """The schedule id."""
        return self._handle.schedule_id

    def describe(self) -> ScheduleDescription:
        """The schedule's definition, state and counters."""
        return self._run(self._handle.describe())

    def update(
        self,
        *,
        spec: ScheduleSpec | dict[str, Any] | None = None,
        action: ScheduleAction | dict[str, Any] | None = None,
        overlap_policy: str | None = None,
        jitter_seconds: int | None = None,
        max_runs: int | None = None,
        memo: dict[str, Any] | None = None,
        search_attributes: dict[str, Any] | None = None,
        note: str | None = None,
    ) -> None:
        """Change the given fields only."""
        self._run(
            self._handle.update(
                spec=spec,
                action=action,
                overlap_policy=overlap_policy,
                jitter_seconds=jitter_seconds,
                max_runs=max_runs,
                memo=memo,
                search_attributes=search_attributes,
                note=note,
            )
        )

    def pause(self, *, note: str | None = None) -> None:
        """Stop firing until resumed."""
        self._run(self._handle.pause(note=note))

    def resume(self, *, note: str | None = None) -> None:
        """Fire again."""
        self._run(self._handle.resume(note=note))

    def trigger(self, *, overlap_policy: str | None = None) -> ScheduleTriggerResult:
        """Fire once now."""
        return self._run(self._handle.trigger(overlap_policy=overlap_policy))

    def delete(self) -> None:
        """Delete the schedule."""
        self._run(self._handle.delete())

    def backfill(
        self, *, start_time: str, end_time: str, overlap_policy: str | None = None
    ) -> ScheduleBackfillResult:
        """Fire for every time the spec matches in the window."""
        return self._run(
            self._handle.backfill(start_time=start_time, end_time=end_time, overlap_policy=overlap_policy)
        )

    def history(self, *, limit: int | None = None, after_sequence: int | None = None) -> ScheduleHistoryPage:
        """One page of the audit history."""
        return self._run(self._handle.history(limit=limit, after_sequence=after_sequence))

    def iter_history(
        self, *, limit: int | None = None, after_sequence: int | None = None
    ) -> Iterator[ScheduleHistoryEvent]:
        """Every audit event from ``after_sequence`` on, following pages."""
        return _iter_history(self.history, limit, after_sequence)


def _iter_history(
    fetch: Callable[..., ScheduleHistoryPage], limit: int | None, after_sequence: int | None
) -> Iterator[ScheduleHistoryEvent]:
    cursor = after_sequence
    while True:
        page = fetch(limit=limit, after_sequence=cursor)
        yield from page.events
        if not page.has_more or page.next_cursor is None or page.next_cursor == cursor:
            return
        cursor = page.next_cursor


class SyncStandaloneActivityHandle(_BlockingHandle[StandaloneActivityHandle]):
    """Blocking view of a :class:`~dw_client.handles.StandaloneActivityHandle`."""

    @property
    def activity_id(self) -> str:
        """The activity id."""
        return self._handle.activity_id

    @property
    def workflow_run_id(self) -> str | None:
        """The host run id."""
        return self._handle.workflow_run_id

    @property
    def activity_execution_id(self) -> str | None:
        """The activity execution id."""
        return self._handle.activity_execution_id

    @property
    def workflow_type(self) -> str:
        """The host workflow type."""
        return self._handle.workflow_type

    @property
    def activity_type(self) -> str:
        """The activity type."""
        return self._handle.activity_type

    def describe(self) -> StandaloneActivityExecution:
        """The activity's state and result."""
        return self._run(self._handle.describe())

    def result(self, *, poll_interval: float = 0.5, timeout: float = 30.0) -> Any:
        """Wait for the activity to close and return its result."""
        return self._run(self._handle.result(poll_interval=poll_interval, timeout=timeout))

    def cancel(self, *, reason: str | None = None) -> None:
        """Cancel the activity."""
        self._run(self._handle.cancel(reason=reason))


def _shutdown(runner: LoopThread, async_client: AsyncClient) -> None:
    """Close the pool on its own loop, then end the loop thread (used by ``close`` and at GC)."""
    if runner.running and threading.current_thread() is not runner.thread:
        future = asyncio.run_coroutine_threadsafe(async_client.aclose(), runner.loop)
        try:
            future.result(timeout=10)
        except Exception:  # the loop is going away either way; a failed close must not hide that
            future.cancel()
    runner.stop()


class Client:
    """Blocking client with the same operations as the async ``Client``.

    Use it as ``with Client(url) as client: ...`` or call ``close()``. Calls may be made from any
    thread, any number of times; a call made from inside a running event loop raises
    ``RuntimeError`` rather than block that loop (use the async client there).
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        control_token: str | None = None,
        worker_token: str | None = None,
        namespace: str = "default",
        timeout: float = 60.0,
        retry_policy: TransportRetryPolicy | None = None,
        metrics: MetricsRecorder | None = None,
        payload_size_limit_bytes: int = 2_097_152,
        payload_size_warning_threshold_percent: int = 80,
        payload_size_warnings: bool = True,
        external_storage: ExternalStorageDriver | None = None,
        external_storage_threshold_bytes: int | None = None,
        external_storage_cache: ExternalPayloadCache | None = None,
        fast_worker_plane: bool = True,
    ) -> None:
        runner = LoopThread()

        async def build() -> AsyncClient:
            return AsyncClient(
                base_url,
                token=token,
                control_token=control_token,
                worker_token=worker_token,
                namespace=namespace,
                timeout=timeout,
                retry_policy=retry_policy,
                metrics=metrics,
                payload_size_limit_bytes=payload_size_limit_bytes,
                payload_size_warning_threshold_percent=payload_size_warning_threshold_percent,
                payload_size_warnings=payload_size_warnings,
                external_storage=external_storage,
                external_storage_threshold_bytes=external_storage_threshold_bytes,
                external_storage_cache=external_storage_cache,
                fast_worker_plane=fast_worker_plane,
            )

        try:
            self._async = runner.run(build())
        except BaseException:
            runner.stop()
            raise
        self._runner = runner
        _RUNNERS[self._async] = runner
        # A client that is never closed still closes its pool and ends its thread when collected.
        self._finalizer = weakref.finalize(self, _shutdown, runner, self._async)

    def __repr__(self) -> str:
        return f"sync.Client(base_url={self.base_url!r}, namespace={self.namespace!r})"

    @property
    def async_client(self) -> AsyncClient:
        """The async client doing the work (use it only from the loop thread)."""
        return self._async

    @property
    def base_url(self) -> str:
        """Server root URL."""
        return self._async.base_url

    @property
    def namespace(self) -> str:
        """Namespace sent on every call."""
        return self._async.namespace

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has run."""
        return not self._runner.running

    def close(self) -> None:
        """Close the connection pool and end the loop thread (idempotent)."""
        if not self._runner.running:
            return
        self._finalizer()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return _run_blocking(self._runner, coro)

    # -- handles ----------------------------------------------------------------------------------

    def get_workflow_handle(
        self, workflow_id: str, *, run_id: str | None = None, workflow_type: str = ""
    ) -> SyncWorkflowHandle:
        """A handle to an existing workflow; no network call."""
        handle = self._async.get_workflow_handle(workflow_id, run_id=run_id, workflow_type=workflow_type)
        return SyncWorkflowHandle(handle, self._runner)

    def start_workflow(
        self,
        *,
        workflow_type: str,
        task_queue: str,
        workflow_id: str,
        input: list[Any] | None = None,
        execution_timeout_seconds: int = 3600,
        run_timeout_seconds: int = 600,
        duplicate_policy: str | None = None,
        memo: dict[str, Any] | None = None,
        search_attributes: dict[str, Any] | None = None,
        priority: int | None = None,
        fairness_key: str | None = None,
        fairness_weight: int | None = None,
    ) -> SyncWorkflowHandle:
        """Start a workflow run and return its handle (see the async ``start_workflow``)."""
        handle = self._call(
            self._async.start_workflow(
                workflow_type=workflow_type,
                task_queue=task_queue,
                workflow_id=workflow_id,
                input=input,
                execution_timeout_seconds=execution_timeout_seconds,
                run_timeout_seconds=run_timeout_seconds,
                duplicate_policy=duplicate_policy,
                memo=memo,
                search_attributes=search_attributes,
                priority=priority,
                fairness_key=fairness_key,
                fairness_weight=fairness_weight,
            )
        )
        return SyncWorkflowHandle(handle, self._runner)

    def get_result(
        self,
        handle: SyncWorkflowHandle | WorkflowHandle,
        *,
        poll_interval: float = 0.5,
        timeout: float = 30.0,
    ) -> Any:
        """Wait for the workflow to close and return its result."""
        async_handle = handle.async_handle if isinstance(handle, SyncWorkflowHandle) else handle
        return self._call(self._async.get_result(async_handle, poll_interval=poll_interval, timeout=timeout))

    def get_schedule_handle(self, schedule_id: str) -> SyncScheduleHandle:
        """A handle to an existing schedule; no network call."""
        return SyncScheduleHandle(self._async.get_schedule_handle(schedule_id), self._runner)

    def create_schedule(
        self,
        *,
        schedule_id: str | None = None,
        spec: ScheduleSpec | dict[str, Any],
        action: ScheduleAction | dict[str, Any],
        overlap_policy: str | None = None,
        jitter_seconds: int | None = None,
        max_runs: int | None = None,
        memo: dict[str, Any] | None = None,
        search_attributes: dict[str, Any] | None = None,
        paused: bool = False,
        note: str | None = None,
    ) -> SyncScheduleHandle:
        """Create a schedule and return its handle."""
        handle = self._call(
            self._async.create_schedule(
                schedule_id=schedule_id,
                spec=spec,
                action=action,
                overlap_policy=overlap_policy,
                jitter_seconds=jitter_seconds,
                max_runs=max_runs,
                memo=memo,
                search_attributes=search_attributes,
                paused=paused,
                note=note,
            )
        )
        return SyncScheduleHandle(handle, self._runner)

    def iter_schedule_history(
        self, schedule_id: str, *, limit: int | None = None, after_sequence: int | None = None
    ) -> Iterator[ScheduleHistoryEvent]:
        """Every audit event of a schedule from ``after_sequence`` on, following pages."""

        def fetch(*, limit: int | None, after_sequence: int | None) -> ScheduleHistoryPage:
            return self.get_schedule_history(schedule_id, limit=limit, after_sequence=after_sequence)

        return _iter_history(fetch, limit, after_sequence)

    def start_activity(
        self,
        *,
        activity_type: str,
        task_queue: str,
        activity_id: str | None = None,
        activity_class: str | None = None,
        input: list[Any] | None = None,
        business_key: str | None = None,
        retry_policy: dict[str, Any] | None = None,
        start_to_close_timeout_seconds: int | None = None,
        schedule_to_start_timeout_seconds: int | None = None,
        schedule_to_close_timeout_seconds: int | None = None,
        heartbeat_timeout_seconds: int | None = None,
    ) -> SyncStandaloneActivityHandle:
        """Start a standalone activity and return its handle."""
        handle = self._call(
            self._async.start_activity(
                activity_type=activity_type,
                task_queue=task_queue,
                activity_id=activity_id,
                activity_class=activity_class,
                input=input,
                business_key=business_key,
                retry_policy=retry_policy,
                start_to_close_timeout_seconds=start_to_close_timeout_seconds,
                schedule_to_start_timeout_seconds=schedule_to_start_timeout_seconds,
                schedule_to_close_timeout_seconds=schedule_to_close_timeout_seconds,
                heartbeat_timeout_seconds=heartbeat_timeout_seconds,
            )
        )
        return SyncStandaloneActivityHandle(handle, self._runner)

    def get_activity_handle(
        self,
        activity_id: str,
        *,
        workflow_run_id: str | None = None,
        activity_execution_id: str | None = None,
        activity_type: str = "",
    ) -> SyncStandaloneActivityHandle:
        """A handle to an existing standalone activity; no network call."""
        handle = self._async.get_activity_handle(
            activity_id,
            workflow_run_id=workflow_run_id,
            activity_execution_id=activity_execution_id,
            activity_type=activity_type,
        )
        return SyncStandaloneActivityHandle(handle, self._runner)

    def get_activity_result(
        self,
        handle: SyncStandaloneActivityHandle | StandaloneActivityHandle,
        *,
        poll_interval: float = 0.5,
        timeout: float = 30.0,
    ) -> Any:
        """Wait for a standalone activity to close and return its result."""
        async_handle = handle.async_handle if isinstance(handle, SyncStandaloneActivityHandle) else handle
        return self._call(
            self._async.get_activity_result(async_handle, poll_interval=poll_interval, timeout=timeout)
        )

    # -- everything else: the async operation, blocking -------------------------------------------

    get_cluster_info = _blocking(AsyncClient.get_cluster_info)
    health = _blocking(AsyncClient.health)
    describe_workflow = _blocking(AsyncClient.describe_workflow)
    list_workflows = _blocking(AsyncClient.list_workflows)
    get_history = _blocking(AsyncClient.get_history)
    export_history = _blocking(AsyncClient.export_history)
    list_workflow_runs = _blocking(AsyncClient.list_workflow_runs)
    describe_workflow_run = _blocking(AsyncClient.describe_workflow_run)
    signal_workflow = _blocking(AsyncClient.signal_workflow)
    query_workflow = _blocking(AsyncClient.query_workflow)
    update_workflow = _blocking(AsyncClient.update_workflow)
    cancel_workflow = _blocking(AsyncClient.cancel_workflow)
    terminate_workflow = _blocking(AsyncClient.terminate_workflow)
    repair_workflow = _blocking(AsyncClient.repair_workflow)
    archive_workflow = _blocking(AsyncClient.archive_workflow)
    send_webhook_bridge_event = _blocking(AsyncClient.send_webhook_bridge_event)
    describe_activity = _blocking(AsyncClient.describe_activity)
    list_activities = _blocking(AsyncClient.list_activities)
    list_schedules = _blocking(AsyncClient.list_schedules)
    describe_schedule = _blocking(AsyncClient.describe_schedule)
    update_schedule = _blocking(AsyncClient.update_schedule)
    pause_schedule = _blocking(AsyncClient.pause_schedule)
    resume_schedule = _blocking(AsyncClient.resume_schedule)
    trigger_schedule = _blocking(AsyncClient.trigger_schedule)
    backfill_schedule = _blocking(AsyncClient.backfill_schedule)
    delete_schedule = _blocking(AsyncClient.delete_schedule)
    get_schedule_history = _blocking(AsyncClient.get_schedule_history)
    list_namespaces = _blocking(AsyncClient.list_namespaces)
    describe_namespace = _blocking(AsyncClient.describe_namespace)
    create_namespace = _blocking(AsyncClient.create_namespace)
    update_namespace = _blocking(AsyncClient.update_namespace)
    delete_namespace = _blocking(AsyncClient.delete_namespace)
    set_namespace_external_storage = _blocking(AsyncClient.set_namespace_external_storage)
    test_external_storage = _blocking(AsyncClient.test_external_storage)
    list_task_queues = _blocking(AsyncClient.list_task_queues)
    describe_task_queue = _blocking(AsyncClient.describe_task_queue)
    list_task_queue_build_ids = _blocking(AsyncClient.list_task_queue_build_ids)
    drain_task_queue_build_id = _blocking(AsyncClient.drain_task_queue_build_id)
    promote_task_queue_build_id = _blocking(AsyncClient.promote_task_queue_build_id)
    resume_task_queue_build_id = _blocking(AsyncClient.resume_task_queue_build_id)
    list_workers = _blocking(AsyncClient.list_workers)
    describe_worker = _blocking(AsyncClient.describe_worker)
    deregister_worker = _blocking(AsyncClient.deregister_worker)
    list_search_attributes = _blocking(AsyncClient.list_search_attributes)
    create_search_attribute = _blocking(AsyncClient.create_search_attribute)
    delete_search_attribute = _blocking(AsyncClient.delete_search_attribute)
    repair_status = _blocking(AsyncClient.repair_status)
    repair_pass = _blocking(AsyncClient.repair_pass)
    retention_status = _blocking(AsyncClient.retention_status)
    retention_pass = _blocking(AsyncClient.retention_pass)
    activity_timeout_status = _blocking(AsyncClient.activity_timeout_status)
    activity_timeout_pass = _blocking(AsyncClient.activity_timeout_pass)
    register_worker = _blocking(AsyncClient.register_worker)
    heartbeat_worker = _blocking(AsyncClient.heartbeat_worker)
    poll_workflow_task = _blocking(AsyncClient.poll_workflow_task)
    poll_activity_task = _blocking(AsyncClient.poll_activity_task)
    poll_query_task = _blocking(AsyncClient.poll_query_task)
    workflow_task_history = _blocking(AsyncClient.workflow_task_history)
    heartbeat_workflow_task = _blocking(AsyncClient.heartbeat_workflow_task)
    complete_workflow_task = _blocking(AsyncClient.complete_workflow_task)
    fail_workflow_task = _blocking(AsyncClient.fail_workflow_task)
    complete_query_task = _blocking(AsyncClient.complete_query_task)
    fail_query_task = _blocking(AsyncClient.fail_query_task)
    complete_activity_task = _blocking(AsyncClient.complete_activity_task)
    fail_activity_task = _blocking(AsyncClient.fail_activity_task)
    heartbeat_activity_task = _blocking(AsyncClient.heartbeat_activity_task)
