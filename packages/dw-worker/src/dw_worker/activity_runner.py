"""Runs one activity attempt: decode arguments, run the function, report the outcome to the server."""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import functools
import inspect
import logging
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from typing import Any

from dw_core.errors import ActivityCancelled, NonRetryableError
from dw_core.metrics import WORKER_TASK_DURATION_SECONDS, WORKER_TASKS, MetricsRecorder

from dw_worker.activity_context import HeartbeatRuntime
from dw_worker.activity_context_binding import activity_context_scope
from dw_worker.client_calls import accepts
from dw_worker.interceptors import ActivityInterceptorContext, WorkerInterceptor, chain_activity
from dw_worker.payloads import PayloadOptions, UnsupportedTaskCodec, resolve_task_codec

logger = logging.getLogger("durable_workflow.worker")


class WorkerShutdownCancelled(BaseException):
    """Raised inside an activity when the worker's shutdown timeout ran out before it finished."""


@dataclasses.dataclass
class RunningActivity:
    """An attempt in flight, so shutdown can cancel it."""

    task_id: str
    heartbeat: HeartbeatRuntime
    asyncio_task: asyncio.Task[Any] | None = None


class ActivityTaskRunner:
    """Executes activity tasks for one worker (async functions on the loop, sync ones on ``executor``)."""

    def __init__(
        self,
        *,
        client: Any,
        worker_id: str,
        task_queue: str,
        activities: Mapping[str, Callable[..., Any]],
        interceptors: Sequence[WorkerInterceptor],
        metrics: MetricsRecorder,
        executor: Executor,
        payloads: PayloadOptions,
    ) -> None:
        self._client = client
        self._worker_id = worker_id
        self._task_queue = task_queue
        self._activities = activities
        self._metrics = metrics
        self._executor = executor
        self._payloads = payloads
        self._handler = chain_activity(interceptors, self._invoke)
        self.running: dict[str, RunningActivity] = {}

    async def execute(self, task: dict[str, Any]) -> str:
        """Run one polled activity task to a reported outcome; returns the outcome metric tag."""
        started = time.perf_counter()
        outcome = "error"
        try:
            outcome = await self._execute(task)
        except Exception:
            logger.exception("activity task %s crashed the worker's runner", task.get("task_id"))
        finally:
            tags = {"task_kind": "activity", "task_queue": self._task_queue, "outcome": outcome}
            self._metrics.increment(WORKER_TASKS, 1.0, tags)
            self._metrics.record(WORKER_TASK_DURATION_SECONDS, time.perf_counter() - started, tags)
        return outcome

    async def _execute(self, task: dict[str, Any]) -> str:
        task_id = str(task["task_id"])
        attempt_id = str(task.get("activity_attempt_id") or task.get("attempt_id") or "")
        lease_owner = str(task.get("lease_owner") or self._worker_id)
        activity_type = str(task.get("activity_type") or "")
        ids = {"task_id": task_id, "activity_attempt_id": attempt_id, "lease_owner": lease_owner}

        try:
            codec = resolve_task_codec(task.get("payload_codec"))
        except UnsupportedTaskCodec as exc:
            await self._fail(
                ids, activity_type, str(exc), "UnsupportedPayloadCodec", None, True, None, "avro"
            )
            return "decode_error"

        fn = self._activities.get(activity_type)
        if fn is None:
            known = ", ".join(sorted(self._activities)) or "none"
            message = (
                f"no activity registered for type {activity_type!r} on worker {self._worker_id} "
                f"(registered: {known}); register it with Worker(activities=[...])"
            )
            await self._fail(
                ids, activity_type, message, "ActivityTypeNotRegistered", None, False, None, codec
            )
            return "no_handler"

        try:
            args = self._decode_arguments(task.get("arguments"), codec)
        except Exception as exc:
            message = f"activity arguments could not be decoded: {exc}"
            await self._fail(ids, activity_type, message, type(exc).__name__, _stack(exc), True, None, codec)
            return "decode_error"

        loop = asyncio.get_running_loop()

        async def send_heartbeat(details: dict[str, Any] | None) -> Any:
            return await self._client.heartbeat_activity_task(**ids, details=details)

        heartbeat = HeartbeatRuntime(send_heartbeat, loop)
        running = RunningActivity(task_id=task_id, heartbeat=heartbeat, asyncio_task=asyncio.current_task())
        self.running[task_id] = running
        context = ActivityInterceptorContext(
            worker_id=self._worker_id,
            task_queue=self._task_queue,
            task=task,
            activity_type=activity_type,
            args=args,
        )
        info = {
            "task_id": task_id,
            "activity_type": activity_type,
            "activity_attempt_id": attempt_id,
            "attempt_number": _attempt_number(task.get("attempt_number")),
            "task_queue": str(task.get("task_queue") or self._task_queue),
            "worker_id": self._worker_id,
        }
        try:
            with activity_context_scope(info, heartbeat, self._client):
                result = await self._handler(context)
        except ActivityCancelled as exc:
            await self._fail(
                ids, activity_type, f"activity cancelled: {exc}", "ActivityCancelled", None, True, None, codec
            )
            return "cancelled"
        except (asyncio.CancelledError, WorkerShutdownCancelled):
            # Shutdown ran out of time: say so, retryable, so another worker can take the attempt over.
            message = "activity interrupted by worker shutdown before it finished"
            await self._fail(ids, activity_type, message, "WorkerShutdown", None, False, None, codec)
            return "cancelled"
        except NonRetryableError as exc:
            details = getattr(exc, "details", None)
            await self._fail(
                ids, activity_type, str(exc), type(exc).__name__, _stack(exc), True, details, codec
            )
            return "failed_non_retryable"
        except Exception as exc:
            details = getattr(exc, "details", None)
            await self._fail(
                ids,
                activity_type,
                str(exc) or type(exc).__name__,
                type(exc).__name__,
                _stack(exc),
                False,
                details,
                codec,
            )
            return "failed"
        finally:
            self.running.pop(task_id, None)

        try:
            await self._client.complete_activity_task(
                **ids,
                result=result,
                codec=codec,
                activity_name=activity_type,
                **self._payloads.storage_kwargs(),
            )
        except Exception as exc:
            logger.warning("could not report completion of activity task %s: %s", task_id, exc)
            return "complete_error"
        return "completed"

    async def _invoke(self, context: ActivityInterceptorContext) -> Any:
        fn = self._activities[context.activity_type]
        if inspect.iscoroutinefunction(fn):
            return await fn(*context.args)
        loop = asyncio.get_running_loop()
        call = functools.partial(contextvars.copy_context().run, fn, *context.args)
        result = await loop.run_in_executor(self._executor, call)
        if inspect.isawaitable(result):
            result = await result
        return result

    def _decode_arguments(self, arguments: Any, codec: str) -> tuple[Any, ...]:
        if arguments is None:
            return ()
        value = self._payloads.decode(arguments, codec)
        if value is None:
            return ()
        if isinstance(value, list):
            return tuple(value)
        return (value,)

    async def _fail(
        self,
        ids: Mapping[str, str],
        activity_type: str,
        message: str,
        failure_type: str,
        stack_trace: str | None,
        non_retryable: bool,
        details: Any,
        codec: str,
    ) -> None:
        fail = self._client.fail_activity_task
        storage = self._payloads.storage_kwargs() if details is not None else {}
        if storage and not accepts(fail, "external_storage"):
            storage = {}
        try:
            await fail(
                **ids,
                message=message,
                failure_type=failure_type,
                stack_trace=stack_trace,
                non_retryable=non_retryable,
                details=details,
                codec=codec,
                activity_name=activity_type,
                **storage,
            )
        except Exception as exc:
            logger.warning("could not report failure of activity task %s: %s", ids["task_id"], exc)

    def cancel_all(self, reason: str) -> int:
        """Cancel every running attempt (shutdown timeout); returns how many were running."""
        for running in list(self.running.values()):
            running.heartbeat.cancel_locally(reason)
            if running.asyncio_task is not None:
                running.asyncio_task.cancel()
        return len(self.running)


def _attempt_number(raw: Any) -> int:
    try:
        number = int(raw)
    except (TypeError, ValueError):
        return 1
    return number if number >= 1 else 1


def _stack(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
