"""Answers query tasks: replay the run from the task's history and call the query handler."""

from __future__ import annotations

import inspect
import logging
import time
import traceback
from collections.abc import Mapping, Sequence
from typing import Any, Final

from dw_core.errors import QueryFailed
from dw_core.metrics import WORKER_TASK_DURATION_SECONDS, WORKER_TASKS, MetricsRecorder

from dw_worker import engine
from dw_worker.interceptors import QueryTaskInterceptorContext, WorkerInterceptor, chain_query_task
from dw_worker.payloads import PayloadOptions, UnsupportedTaskCodec, resolve_task_codec

logger = logging.getLogger("durable_workflow.worker")

EXPIRED_QUERY_REASONS: Final = frozenset(
    {"lease_expired", "query_task_not_found", "query_task_not_leased", "query_task_timed_out"}
)


class _QueryFailure(Exception):
    def __init__(self, message: str, reason: str, failure_type: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.failure_type = failure_type


class QueryTaskRunner:
    """Executes query tasks; never touches the sticky cache (a query must not advance a live run)."""

    def __init__(
        self,
        *,
        client: Any,
        worker_id: str,
        task_queue: str,
        workflows: Mapping[str, type],
        interceptors: Sequence[WorkerInterceptor],
        metrics: MetricsRecorder,
        payloads: PayloadOptions,
    ) -> None:
        self._client = client
        self._worker_id = worker_id
        self._task_queue = task_queue
        self._workflows = workflows
        self._metrics = metrics
        self._payloads = payloads
        self._handler = chain_query_task(interceptors, self._run)

    async def execute(self, task: dict[str, Any]) -> str:
        started = time.perf_counter()
        outcome = "error"
        context = QueryTaskInterceptorContext(
            worker_id=self._worker_id, task_queue=self._task_queue, task=task
        )
        try:
            outcome = await self._handler(context)
        except Exception:
            logger.exception("query task %s failed unexpectedly", task.get("query_task_id"))
        finally:
            tags = {"task_kind": "query", "task_queue": self._task_queue, "outcome": outcome}
            self._metrics.increment(WORKER_TASKS, 1.0, tags)
            self._metrics.record(WORKER_TASK_DURATION_SECONDS, time.perf_counter() - started, tags)
        return outcome

    async def _run(self, context: QueryTaskInterceptorContext) -> str:
        task = context.task
        try:
            value, codec = await self._answer(task)
        except _QueryFailure as failure:
            return await self._report_failure(task, failure)
        try:
            await self._client.complete_query_task(
                query_task_id=str(task["query_task_id"]),
                lease_owner=str(task.get("lease_owner") or self._worker_id),
                query_task_attempt=_attempt(task),
                result=value,
                codec=codec,
                workflow_id=task.get("workflow_id"),
                run_id=task.get("run_id"),
                query_name=task.get("query_name"),
                **self._payloads.storage_kwargs(),
            )
        except Exception as exc:
            reason = getattr(exc, "server_reason", None)
            if reason in EXPIRED_QUERY_REASONS:
                return "expired"
            return await self._report_failure(
                task,
                _QueryFailure(
                    f"query result could not be delivered: {exc}", reason or "query_result_completion_failed"
                ),
            )
        return "completed"

    async def _answer(self, task: dict[str, Any]) -> tuple[Any, str]:
        try:
            codec = resolve_task_codec(task.get("payload_codec"))
        except UnsupportedTaskCodec as exc:
            raise _QueryFailure(str(exc), "query_payload_decode_failed", "UnsupportedPayloadCodec") from exc
        workflow_type = str(task.get("workflow_type") or "")
        cls = self._workflows.get(workflow_type)
        if cls is None:
            raise _QueryFailure(
                f"no workflow registered for type {workflow_type!r} on worker {self._worker_id}",
                "query_workflow_type_not_registered",
                "WorkflowTypeNotRegistered",
            )
        try:
            start_input = (
                self._payloads.decode(task.get("workflow_arguments"), codec)
                if task.get("workflow_arguments")
                else None
            )
            raw_args = (
                self._payloads.decode(task.get("query_arguments"), codec)
                if task.get("query_arguments")
                else None
            )
        except Exception as exc:
            raise _QueryFailure(
                f"query payload could not be decoded: {exc}",
                "query_payload_decode_failed",
                type(exc).__name__,
            ) from exc
        args = [] if raw_args is None else list(raw_args) if isinstance(raw_args, list) else [raw_args]
        try:
            state = engine.new_run_state(
                cls,
                workflow_id=str(task.get("workflow_id") or ""),
                run_id=str(task.get("run_id") or ""),
                workflow_type=workflow_type,
                start_input=start_input,
                payload_codec=codec,
                task_queue=str(task.get("task_queue") or self._task_queue),
                namespace=getattr(self._client, "namespace", None),
                payloads=self._payloads,
            )
            state.apply(query_history(task))
        except Exception as exc:
            raise _QueryFailure(
                f"workflow replay failed before query: {exc}",
                "query_workflow_state_unavailable",
                type(exc).__name__,
            ) from exc
        query_name = str(task.get("query_name") or "")
        try:
            value = state.query(query_name, args)
            if inspect.isawaitable(value):
                value = await value
        except QueryFailed as exc:
            reason = exc.reason or "query_rejected"
            failure_type = (
                "UnknownQuery" if reason == "rejected_unknown_query" else type(exc.__cause__ or exc).__name__
            )
            raise _QueryFailure(str(exc), reason, failure_type) from exc
        except Exception as exc:
            raise _QueryFailure(str(exc) or type(exc).__name__, "query_rejected", type(exc).__name__) from exc
        return value, codec

    async def _report_failure(self, task: dict[str, Any], failure: _QueryFailure) -> str:
        try:
            await self._client.fail_query_task(
                query_task_id=str(task["query_task_id"]),
                lease_owner=str(task.get("lease_owner") or self._worker_id),
                query_task_attempt=_attempt(task),
                message=str(failure),
                reason=failure.reason,
                failure_type=failure.failure_type,
                stack_trace="".join(traceback.format_exception(failure)) if failure.__cause__ else None,
            )
        except Exception as exc:
            if getattr(exc, "server_reason", None) in EXPIRED_QUERY_REASONS:
                return "expired"
            logger.warning("could not report failure of query task %s: %s", task.get("query_task_id"), exc)
            return "error"
        return "failed"


def query_history(task: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The run's history for a query: inline events, or the attached export when it holds more."""
    inline = [e for e in (task.get("history_events") or []) if isinstance(e, dict)]
    export = task.get("history_export")
    exported_raw = export.get("history_events") if isinstance(export, Mapping) else None
    if isinstance(exported_raw, list) and len(exported_raw) > len(inline):
        exported = []
        for event in exported_raw:
            if isinstance(event, dict):
                normalised = dict(event)
                if "event_type" not in normalised and "type" in normalised:
                    normalised["event_type"] = normalised["type"]
                exported.append(normalised)
        return exported
    return inline


def _attempt(task: Mapping[str, Any]) -> int:
    try:
        return max(1, int(task.get("query_task_attempt") or 1))
    except (TypeError, ValueError):
        return 1
