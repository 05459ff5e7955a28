"""The Worker: registers with the server, polls its task queue and runs workflows, activities and queries."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
import uuid
import warnings
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

from dw_core.metrics import NOOP_METRICS, WORKER_POLL_DURATION_SECONDS, WORKER_POLLS, MetricsRecorder

from dw_worker.activity_runner import ActivityTaskRunner
from dw_worker.backoff import PollBackoff
from dw_worker.handshake import (
    QUERY_TASKS_CAPABILITY,
    ServerCompatibility,
    ServerCompatibilityError,
    check_cluster_info,
)
from dw_worker.interceptors import WorkerInterceptor
from dw_worker.payloads import PayloadOptions
from dw_worker.plugin_interceptors import plugin_interceptors
from dw_worker.process_metrics import ProcessMetricsSampler
from dw_worker.query_runner import QueryTaskRunner
from dw_worker.query_thread import QueryThread
from dw_worker.registration import (
    WorkflowDefinitionChanged,
    activity_type_name,
    fingerprints,
    guard_definitions,
    index_by_name,
    workflow_type_name,
)
from dw_worker.sticky_cache import StickyWorkflowCache
from dw_worker.workflow_task_runner import WorkflowTaskRunner

logger = logging.getLogger("durable_workflow.worker")

TERMINAL_STATUSES: Final = frozenset({"completed", "failed", "terminated", "canceled", "cancelled"})
DEFAULT_MAX_CACHED_WORKFLOWS: Final = 1000
# A worker that heartbeats less often than a third of the staleness window risks being treated as dead
# (0.4.84's 60 s cadence sits exactly on the server's 60 s window).
_MAX_HEARTBEAT_WITHOUT_SERVER_HINT: Final = 20.0


class Worker:
    """Runs workflows and activities from one task queue.

    Use ``await worker.run()`` (returns after :meth:`stop`), ``async with worker:`` (runs in the
    background for the block), or :meth:`run_until` to drive a single workflow to its end.

    Every server call goes through the public methods of ``client``; how they travel (including the
    fast worker-plane path) is the client's business: ``Client(..., fast_worker_plane=False)``.
    ``fast_worker_plane`` here is deprecated: ``False`` switches the fast path off on ``client``.
    """

    def __init__(
        self,
        client: Any,
        *,
        task_queue: str,
        workflows: Iterable[type] = (),
        activities: Iterable[Callable[..., Any]] = (),
        worker_id: str | None = None,
        build_id: str | None = None,
        poll_timeout: float = 35.0,
        max_concurrent_workflow_tasks: int = 10,
        max_concurrent_activity_tasks: int = 10,
        shutdown_timeout: float = 30.0,
        heartbeat_interval: float = 60.0,
        metrics: MetricsRecorder | None = None,
        interceptors: Iterable[WorkerInterceptor] = (),
        external_storage: Any = None,
        external_storage_threshold_bytes: int | None = None,
        external_storage_cache: Any = None,
        max_cached_workflows: int = DEFAULT_MAX_CACHED_WORKFLOWS,
        max_activity_threads: int | None = None,
        fast_worker_plane: bool | None = None,
    ) -> None:
        if not isinstance(task_queue, str) or not task_queue.strip():
            raise ValueError("task_queue must be a non-empty string naming the queue this worker serves")
        if build_id is not None and (not isinstance(build_id, str) or not build_id.strip()):
            raise ValueError("build_id must be a non-blank string, or None for an unversioned worker")
        for name, value in (
            ("max_concurrent_workflow_tasks", max_concurrent_workflow_tasks),
            ("max_concurrent_activity_tasks", max_concurrent_activity_tasks),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        if heartbeat_interval <= 0:
            raise ValueError(f"heartbeat_interval must be > 0 seconds, got {heartbeat_interval!r}")
        if poll_timeout <= 0:
            raise ValueError(f"poll_timeout must be > 0 seconds, got {poll_timeout!r}")
        if shutdown_timeout < 0:
            raise ValueError(f"shutdown_timeout must be >= 0 seconds, got {shutdown_timeout!r}")
        if external_storage_threshold_bytes is not None and external_storage_threshold_bytes < 1:
            raise ValueError("external_storage_threshold_bytes must be >= 1 (or None to never offload)")

        self.client = client
        self.task_queue = task_queue
        self.workflows: dict[str, type] = index_by_name(workflows, workflow_type_name, "workflow")
        self.activities: dict[str, Callable[..., Any]] = index_by_name(
            activities, activity_type_name, "activity"
        )
        self.worker_id = worker_id or f"py-worker-{uuid.uuid4().hex[:8]}"
        self.interceptors: tuple[WorkerInterceptor, ...] = (
            *tuple(interceptors),
            *plugin_interceptors(task_queue=task_queue, worker_id=self.worker_id),
        )
        self.build_id = build_id
        self.poll_timeout = float(poll_timeout)
        self.max_concurrent_workflow_tasks = max_concurrent_workflow_tasks
        self.max_concurrent_activity_tasks = max_concurrent_activity_tasks
        self.shutdown_timeout = float(shutdown_timeout)
        self.heartbeat_interval = float(heartbeat_interval)
        self.metrics: MetricsRecorder = metrics or getattr(client, "metrics", None) or NOOP_METRICS
        self.external_storage = external_storage or getattr(client, "external_storage", None)
        self.external_storage_threshold_bytes = external_storage_threshold_bytes or getattr(
            client, "external_storage_threshold_bytes", None
        )
        self.external_storage_cache = external_storage_cache or getattr(
            client, "external_storage_cache", None
        )
        self.workflow_definition_fingerprints = fingerprints(self.workflows)
        guard_definitions(self.worker_id, self.workflow_definition_fingerprints)

        self.cache: StickyWorkflowCache[Any] = StickyWorkflowCache(
            max_cached_workflows, metrics=self.metrics, task_queue=task_queue
        )
        self._payloads = PayloadOptions(
            external_storage=self.external_storage,
            external_storage_threshold_bytes=self.external_storage_threshold_bytes,
            external_storage_cache=self.external_storage_cache,
        )
        self._max_activity_threads = max_activity_threads or max_concurrent_activity_tasks
        if fast_worker_plane is not None:
            _deprecated_fast_worker_plane(client, fast_worker_plane)
        self._compatibility: ServerCompatibility | None = None
        self._stopping: asyncio.Event | None = None
        self._stopped: asyncio.Event | None = None
        self._running = False
        self._inflight: dict[str, set[asyncio.Task[Any]]] = {
            "workflow": set(),
            "activity": set(),
            "query": set(),
        }
        self._process_metrics = ProcessMetricsSampler()
        self._effective_heartbeat = min(self.heartbeat_interval, _MAX_HEARTBEAT_WITHOUT_SERVER_HINT)
        self._executor: ThreadPoolExecutor | None = None
        self._workflow_runner: WorkflowTaskRunner | None = None
        self._activity_runner: ActivityTaskRunner | None = None
        self._query_runner: QueryTaskRunner | None = None
        self._background: asyncio.Task[None] | None = None
        self._ready: asyncio.Event | None = None
        self.shutdown_report: dict[str, int] = {}

    # -- public lifecycle -------------------------------------------------------------------------------

    async def run(self, *, handle_signals: bool = False) -> None:
        """Check the server, register, then poll until :meth:`stop` (or a signal, with ``handle_signals``)."""
        if self._running:
            raise RuntimeError(f"worker {self.worker_id} is already running")
        self._running = True
        self._stopping = asyncio.Event()
        self._stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        installed: list[signal.Signals] = []
        try:
            await self._start()
            if self._ready is not None:
                self._ready.set()
            if handle_signals:
                for signum in (signal.SIGINT, signal.SIGTERM):
                    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                        loop.add_signal_handler(signum, self._request_stop, signum)
                        installed.append(signum)
            loops = [
                asyncio.create_task(self._poll_loop("workflow"), name=f"{self.worker_id}-workflow-poller"),
                asyncio.create_task(self._poll_loop("activity"), name=f"{self.worker_id}-activity-poller"),
                asyncio.create_task(self._heartbeat_loop(), name=f"{self.worker_id}-heartbeat"),
            ]
            query_thread = None
            if self._compatibility is not None and self._compatibility.query_tasks:
                query_thread = self._query_thread()
                if query_thread is not None:
                    query_thread.start()
                else:
                    loops.append(
                        asyncio.create_task(self._poll_loop("query"), name=f"{self.worker_id}-query-poller")
                    )
            try:
                await self._stopping.wait()
            except asyncio.CancelledError:
                # Cancelling run() is a way to stop it (as in 0.4.84): shut down gracefully and return.
                self._stopping.set()
            finally:
                for task in loops:
                    task.cancel()
                await asyncio.gather(*loops, return_exceptions=True)
                if query_thread is not None:
                    await asyncio.to_thread(query_thread.stop, self.shutdown_timeout)
                await self._drain()
        finally:
            for signum in installed:
                loop.remove_signal_handler(signum)
            self.cache.clear("shutdown")
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)
                self._executor = None
            self._running = False
            self._stopped.set()

    async def stop(self) -> None:
        """Stop polling, let running tasks finish within ``shutdown_timeout``, then cancel the rest."""
        if self._stopping is None or self._stopped is None:
            return
        self._stopping.set()
        if self._background is not None and self._background is not asyncio.current_task():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._background
        else:
            await self._stopped.wait()

    async def __aenter__(self) -> Worker:
        ready = asyncio.Event()
        self._ready = ready
        self._background = asyncio.create_task(self.run(), name=f"{self.worker_id}-run")
        waiter = asyncio.create_task(ready.wait())
        await asyncio.wait({waiter, self._background}, return_when=asyncio.FIRST_COMPLETED)
        if not ready.is_set():
            waiter.cancel()
            background, self._background = self._background, None
            background.result()  # re-raises the startup error (e.g. ServerCompatibilityError)
            raise RuntimeError(f"worker {self.worker_id} stopped before it started")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()
        self._background = None

    async def run_until(self, *, workflow_id: str, timeout: float = 60.0, poll_interval: float = 0.5) -> Any:
        """Run the worker until ``workflow_id`` reaches a terminal status; returns its description.

        Raises :class:`TimeoutError` when it is still open after ``timeout`` seconds. The worker is
        always stopped on exit.
        """
        deadline = time.monotonic() + timeout
        async with self:
            while True:
                description = await self.client.describe_workflow(workflow_id)
                status = str(getattr(description, "status", "") or "").lower()
                if status in TERMINAL_STATUSES:
                    return description
                if time.monotonic() >= deadline:
                    raise TimeoutError(
                        f"workflow {workflow_id!r} still {status or 'open'} after {timeout} s "
                        "(is a worker for every activity/child type running?)"
                    )
                await asyncio.sleep(min(poll_interval, max(0.0, deadline - time.monotonic())))

    @property
    def workflow_task_stats(self) -> dict[str, int]:
        """How workflow tasks were served: full replays, incremental (cached) applies, events applied."""
        runner = self._workflow_runner
        return {
            "full_replays": runner.full_replays if runner else 0,
            "incremental_applies": runner.incremental_applies if runner else 0,
            "events_applied": runner.events_applied if runner else 0,
            "cache_hits": self.cache.hits,
            "cache_misses": self.cache.misses,
            "cache_evictions": self.cache.evictions,
        }

    # -- startup ----------------------------------------------------------------------------------------

    async def _start(self) -> None:
        try:
            info = await self.client.get_cluster_info()
        except Exception as exc:
            raise ServerCompatibilityError(f"unable to read /api/cluster/info: {exc}") from exc
        self._compatibility = check_cluster_info(info)
        self._executor = ThreadPoolExecutor(
            max_workers=self._max_activity_threads, thread_name_prefix=f"{self.worker_id}-activity"
        )
        self._workflow_runner = WorkflowTaskRunner(
            client=self.client,
            worker_id=self.worker_id,
            task_queue=self.task_queue,
            workflows=self.workflows,
            interceptors=self.interceptors,
            metrics=self.metrics,
            cache=self.cache,
            payloads=self._payloads,
            build_id=self.build_id,
            namespace=getattr(self.client, "namespace", None),
        )
        self._activity_runner = ActivityTaskRunner(
            client=self.client,
            worker_id=self.worker_id,
            task_queue=self.task_queue,
            activities=self.activities,
            interceptors=self.interceptors,
            metrics=self.metrics,
            executor=self._executor,
            payloads=self._payloads,
        )
        self._query_runner = QueryTaskRunner(
            client=self.client,
            worker_id=self.worker_id,
            task_queue=self.task_queue,
            workflows=self.workflows,
            interceptors=self.interceptors,
            metrics=self.metrics,
            payloads=self._payloads,
        )
        await self._register()

    def _query_thread(self) -> QueryThread | None:
        """Queries get their own thread and loop with a cloned client, when the client can be cloned."""
        try:
            from dw_client import Client
        except ImportError:  # pragma: no cover - dw-client is a dependency
            return None
        if type(self.client) is not Client or self._compatibility is None:
            return None
        return QueryThread(
            client=self.client,
            worker_id=self.worker_id,
            task_queue=self.task_queue,
            build_id=self.build_id,
            workflows=self.workflows,
            interceptors=self.interceptors,
            metrics=self.metrics,
            payloads=self._payloads,
            max_concurrent=self.max_concurrent_workflow_tasks,
            http_timeout=self._compatibility.poll_http_timeout(self.poll_timeout),
        )

    async def _register(self) -> None:
        capabilities = (
            [QUERY_TASKS_CAPABILITY]
            if self._compatibility is not None and self._compatibility.query_tasks
            else []
        )
        try:
            ack = await self._send_registration(capabilities)
        except Exception as exc:
            if getattr(exc, "server_reason", None) == "workflow_definition_changed":
                body = getattr(exc, "body", None)
                workflow_type = body.get("workflow_type") if isinstance(body, dict) else None
                raise WorkflowDefinitionChanged(
                    f"the server refused worker {self.worker_id!r}: an active registration with this id "
                    f"holds a different definition of workflow type {workflow_type!r}. Stop the other "
                    "process using this worker_id, or give this worker a new worker_id"
                ) from exc
            raise
        self._adopt_cadence(ack)

    async def _send_registration(self, capabilities: list[str]) -> Any:
        return await self.client.register_worker(
            worker_id=self.worker_id,
            task_queue=self.task_queue,
            supported_workflow_types=sorted(self.workflows),
            workflow_definition_fingerprints=dict(self.workflow_definition_fingerprints),
            supported_activity_types=sorted(self.activities),
            max_concurrent_workflow_tasks=self.max_concurrent_workflow_tasks,
            max_concurrent_activity_tasks=self.max_concurrent_activity_tasks,
            runtime="python",
            build_id=self.build_id,
            capabilities=capabilities,
            task_slots=self._task_slots(),
            process_metrics=self._process_metrics.sample(),
        )

    # -- loops ------------------------------------------------------------------------------------------

    def _request_stop(self, signum: signal.Signals | None = None) -> None:
        if signum is not None:
            logger.info("worker %s received signal %s; shutting down", self.worker_id, signum)
        if self._stopping is not None:
            self._stopping.set()

    def _limit(self, kind: str) -> int:
        if kind == "workflow":
            return self.max_concurrent_workflow_tasks
        if kind == "activity":
            return self.max_concurrent_activity_tasks
        return self.max_concurrent_workflow_tasks

    def _task_slots(self) -> dict[str, int]:
        return {
            "workflow_available": max(
                0, self.max_concurrent_workflow_tasks - len(self._inflight["workflow"])
            ),
            "activity_available": max(
                0, self.max_concurrent_activity_tasks - len(self._inflight["activity"])
            ),
        }

    async def _poll_loop(self, kind: str) -> None:
        assert self._stopping is not None and self._compatibility is not None
        slots = asyncio.Semaphore(self._limit(kind))
        backoff = PollBackoff()
        http_timeout = self._compatibility.poll_http_timeout(self.poll_timeout)
        tags_base = {"task_kind": kind, "task_queue": self.task_queue}
        poll, handle = self._poll_and_handle(kind, http_timeout)
        while not self._stopping.is_set():
            await slots.acquire()
            started = time.perf_counter()
            try:
                task = await poll()
            except asyncio.CancelledError:
                slots.release()
                raise
            except Exception as exc:
                slots.release()
                self._record_poll(tags_base, "error", started)
                recovered = await self._recover_from_poll_error(exc)
                delay = backoff.next_delay()  # even after re-registering: never spin on a refusing server
                if not recovered:
                    logger.warning("%s poll failed (%s); retrying in %.2f s", kind, exc, delay)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)
                continue
            backoff.reset()
            if task is None:
                slots.release()
                self._record_poll(tags_base, "empty", started)
                continue
            self._record_poll(tags_base, "task", started)
            running: asyncio.Task[Any] = asyncio.create_task(handle(task))
            inflight = self._inflight[kind]
            inflight.add(running)

            def done(finished: asyncio.Task[Any], inflight: set[asyncio.Task[Any]] = inflight) -> None:
                inflight.discard(finished)
                slots.release()

            running.add_done_callback(done)

    def _poll_and_handle(
        self, kind: str, http_timeout: float
    ) -> tuple[
        Callable[[], Awaitable[dict[str, Any] | None]], Callable[[dict[str, Any]], Coroutine[Any, Any, Any]]
    ]:
        if kind == "workflow":
            workflow_runner = self._workflow_runner
            assert workflow_runner is not None
            return (lambda: workflow_runner.poll(timeout=http_timeout), workflow_runner.execute)
        if kind == "activity":
            assert self._activity_runner is not None
            return (
                lambda: self.client.poll_activity_task(
                    worker_id=self.worker_id,
                    task_queue=self.task_queue,
                    timeout=http_timeout,
                    build_id=self.build_id,
                ),
                self._activity_runner.execute,
            )
        assert self._query_runner is not None
        return (
            lambda: self.client.poll_query_task(
                worker_id=self.worker_id, task_queue=self.task_queue, timeout=http_timeout
            ),
            self._query_runner.execute,
        )

    async def _recover_from_poll_error(self, exc: Exception) -> bool:
        """A poll refused with 412 ``worker_not_registered`` (server restarted or pruned us): re-register."""
        reason = getattr(exc, "server_reason", None)
        if getattr(exc, "status", None) != 412 and reason != "worker_not_registered":
            return False
        logger.warning("server no longer knows worker %s; registering again", self.worker_id)
        try:
            await self._register()
        except Exception as register_error:
            logger.warning("re-registration of worker %s failed: %s", self.worker_id, register_error)
            return False
        return True

    def _record_poll(self, tags_base: dict[str, str], outcome: str, started: float) -> None:
        tags = {**tags_base, "outcome": outcome}
        self.metrics.increment(WORKER_POLLS, 1.0, tags)
        self.metrics.record(WORKER_POLL_DURATION_SECONDS, time.perf_counter() - started, tags)

    async def _heartbeat_loop(self) -> None:
        assert self._stopping is not None
        while not self._stopping.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._effective_heartbeat)
                return
            try:
                ack = await self.client.heartbeat_worker(
                    worker_id=self.worker_id,
                    task_slots=self._task_slots(),
                    process_metrics=self._process_metrics.sample(),
                )
            except Exception as exc:
                logger.warning("worker heartbeat failed (will retry next tick): %s", exc)
                continue
            self._adopt_cadence(ack)

    def _adopt_cadence(self, ack: Any) -> None:
        if not isinstance(ack, dict):
            return
        interval = self.heartbeat_interval
        advertised = ack.get("heartbeat_interval_seconds")
        if isinstance(advertised, int) and not isinstance(advertised, bool) and advertised > 0:
            interval = float(advertised)
            self.heartbeat_interval = interval
        stale_after = ack.get("stale_after_seconds")
        if isinstance(stale_after, (int, float)) and not isinstance(stale_after, bool) and stale_after > 0:
            self._effective_heartbeat = min(interval, stale_after / 3)
        else:
            self._effective_heartbeat = min(interval, _MAX_HEARTBEAT_WITHOUT_SERVER_HINT)

    # -- shutdown ---------------------------------------------------------------------------------------

    async def _drain(self) -> None:
        pending = {task for tasks in self._inflight.values() for task in tasks}
        report = {"finished": 0, "cancelled": 0}
        if pending:
            logger.info(
                "worker %s stopping: waiting up to %.1f s for %d running task(s)",
                self.worker_id,
                self.shutdown_timeout,
                len(pending),
            )
            done, still_running = await asyncio.wait(pending, timeout=self.shutdown_timeout)
            report["finished"] = len(done)
            if still_running:
                if self._activity_runner is not None:
                    self._activity_runner.cancel_all("worker shutdown timeout")
                for task in still_running:
                    task.cancel()
                await asyncio.gather(*still_running, return_exceptions=True)
                report["cancelled"] = len(still_running)
                logger.warning(
                    "worker %s cancelled %d task(s) still running after the %.1f s shutdown timeout",
                    self.worker_id,
                    len(still_running),
                    self.shutdown_timeout,
                )
        self.shutdown_report = report


def _deprecated_fast_worker_plane(client: Any, enabled: bool) -> None:
    """``Worker(fast_worker_plane=...)``: the transport is the client's; ``False`` still switches it off."""
    warnings.warn(
        "Worker(fast_worker_plane=...) is deprecated: worker-plane calls travel the way the client "
        "sends them; pass Client(..., fast_worker_plane=False) instead"
        + (" (this worker switched the fast path off on the client it was given)" if not enabled else ""),
        DeprecationWarning,
        stacklevel=3,
    )
    if not enabled:
        disable = getattr(client, "disable_fast_worker_plane", None)
        if callable(disable):
            disable()
