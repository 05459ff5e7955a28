"""Query tasks on their own thread and event loop, so a busy worker loop does not delay answers.

A query is a synchronous read for its caller (the control plane waits for the answer), while the
worker's main loop may be busy replaying a long history or running an ``async`` activity that
hogs it. The thread owns a copy of the worker's client (same URL, tokens, namespace, retry policy,
metrics and payload settings) because an HTTP connection pool belongs to one event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from dw_core.metrics import WORKER_POLL_DURATION_SECONDS, WORKER_POLLS, MetricsRecorder

from dw_worker.backoff import PollBackoff
from dw_worker.interceptors import WorkerInterceptor
from dw_worker.payloads import PayloadOptions
from dw_worker.query_runner import QueryTaskRunner

logger = logging.getLogger("durable_workflow.worker")


def clone_client(client: Any) -> Any:
    """A new ``dw_client.Client`` with the settings of ``client`` (for use on another event loop)."""
    from dw_client import Client

    warning = client.payload_size_warning_config
    options: dict[str, Any] = {
        "token": client.token,
        "control_token": client.control_token,
        "worker_token": client.worker_token,
        "namespace": client.namespace,
        "timeout": client.timeout,
        "retry_policy": client.retry_policy,
        "metrics": client.metrics,
        "payload_size_warnings": warning is not None,
        "external_storage": client.external_storage,
        "external_storage_threshold_bytes": client.external_storage_threshold_bytes,
        "external_storage_cache": client.external_storage_cache,
        "fast_worker_plane": client.fast_worker_plane,
    }
    if warning is not None:
        options["payload_size_limit_bytes"] = warning.limit_bytes
        options["payload_size_warning_threshold_percent"] = warning.threshold_percent
    return Client(client.base_url, **options)


class QueryThread:
    """Polls and answers query tasks on a daemon thread until :meth:`stop`."""

    def __init__(
        self,
        *,
        client: Any,
        worker_id: str,
        task_queue: str,
        build_id: str | None,
        workflows: Mapping[str, type],
        interceptors: Sequence[WorkerInterceptor],
        metrics: MetricsRecorder,
        payloads: PayloadOptions,
        max_concurrent: int,
        http_timeout: float,
        client_factory: Callable[[Any], Any] = clone_client,
    ) -> None:
        self._source_client = client
        self._client_factory = client_factory
        self._worker_id = worker_id
        self._task_queue = task_queue
        self._build_id = build_id
        self._workflows = workflows
        self._interceptors = interceptors
        self._metrics = metrics
        self._payloads = payloads
        self._max_concurrent = max_concurrent
        self._http_timeout = http_timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name=f"{worker_id}-queries", daemon=True)
        self.error: BaseException | None = None

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(timeout=10)

    def stop(self, timeout: float) -> None:
        """Stop polling, let running queries finish within ``timeout`` seconds, join the thread."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop already finished
                loop.call_soon_threadsafe(stop.set)
        self._thread.join(timeout + 5)

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported, never raised into the interpreter's thread hook
            self.error = exc
            logger.exception("query thread of worker %s stopped with an error", self._worker_id)
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        client = self._client_factory(self._source_client)
        self._ready.set()
        inflight: set[asyncio.Task[Any]] = set()
        try:
            runner = QueryTaskRunner(
                client=client,
                worker_id=self._worker_id,
                task_queue=self._task_queue,
                workflows=self._workflows,
                interceptors=self._interceptors,
                metrics=self._metrics,
                payloads=self._payloads,
            )
            poller = asyncio.create_task(self._poll(client, runner, inflight))
            await self._stop.wait()
            poller.cancel()
            await asyncio.gather(poller, return_exceptions=True)
            if inflight:
                await asyncio.wait(inflight, timeout=self._http_timeout)
        finally:
            await client.aclose()

    async def _poll(self, client: Any, runner: QueryTaskRunner, inflight: set[asyncio.Task[Any]]) -> None:
        assert self._stop is not None
        slots = asyncio.Semaphore(self._max_concurrent)
        backoff = PollBackoff()
        tags = {"task_kind": "query", "task_queue": self._task_queue}
        while not self._stop.is_set():
            await slots.acquire()
            started = time.perf_counter()
            try:
                task = await client.poll_query_task(
                    worker_id=self._worker_id,
                    task_queue=self._task_queue,
                    timeout=self._http_timeout,
                    build_id=self._build_id,
                )
            except asyncio.CancelledError:
                slots.release()
                raise
            except Exception as exc:
                slots.release()
                self._record(tags, "error", started)
                delay = backoff.next_delay()  # the main loop's pollers re-register when needed
                logger.warning("query poll failed (%s); retrying in %.2f s", exc, delay)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
                continue
            backoff.reset()
            if task is None:
                slots.release()
                self._record(tags, "empty", started)
                continue
            self._record(tags, "task", started)
            running = asyncio.create_task(runner.execute(task))
            inflight.add(running)

            def done(finished: asyncio.Task[Any]) -> None:
                inflight.discard(finished)
                slots.release()

            running.add_done_callback(done)

    def _record(self, tags: dict[str, str], outcome: str, started: float) -> None:
        full = {**tags, "outcome": outcome}
        self._metrics.increment(WORKER_POLLS, 1.0, full)
        self._metrics.record(WORKER_POLL_DURATION_SECONDS, time.perf_counter() - started, full)
