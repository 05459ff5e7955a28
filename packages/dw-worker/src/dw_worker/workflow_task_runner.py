"""Runs workflow tasks: page in history, advance the run state (cached or replayed), report commands."""

from __future__ import annotations

import base64
import logging
import time
import traceback
from collections.abc import Mapping, Sequence
from typing import Any, Final, NoReturn

from dw_core import protocol
from dw_core.metrics import WORKER_TASK_DURATION_SECONDS, WORKER_TASKS, MetricsRecorder

from dw_worker import engine
from dw_worker.client_calls import poll_workflow_task, workflow_task_history
from dw_worker.interceptors import WorkerInterceptor, WorkflowTaskInterceptorContext, chain_workflow_task
from dw_worker.payloads import PayloadOptions, UnsupportedTaskCodec, resolve_task_codec
from dw_worker.sticky_cache import StickyWorkflowCache

logger = logging.getLogger("durable_workflow.worker")

# Completion rejections that say "this task is no longer yours / the run moved on": nothing to report.
AMBIGUOUS_COMPLETION_REASONS: Final = frozenset(
    {
        "lease_expired",
        "lease_owner_mismatch",
        "run_already_closed",
        "run_closed",
        "task_not_found",
        "task_not_leased",
        "workflow_task_attempt_mismatch",
    }
)
# The first page comes with the poll. Kept small: a worker with the run cached only needs the tail,
# which it asks for directly; a full replay pages the rest in at the maximum page size.
FIRST_PAGE_SIZE: Final = 16


class _TaskFailed(Exception):
    """The task was reported failed to the server; carries nothing else."""


class WorkflowTaskRunner:
    """Executes workflow tasks for one worker, keeping run states in the sticky cache between tasks."""

    def __init__(
        self,
        *,
        client: Any,
        worker_id: str,
        task_queue: str,
        workflows: Mapping[str, type],
        interceptors: Sequence[WorkerInterceptor],
        metrics: MetricsRecorder,
        cache: StickyWorkflowCache[Any],
        payloads: PayloadOptions,
        build_id: str | None = None,
        namespace: str | None = None,
    ) -> None:
        self._build_id = build_id
        self._namespace = namespace
        self._client = client
        self._worker_id = worker_id
        self._task_queue = task_queue
        self._workflows = workflows
        self._metrics = metrics
        self._cache = cache
        self._payloads = payloads
        self._handler = chain_workflow_task(interceptors, self._run)
        self.full_replays = 0
        self.incremental_applies = 0
        self.events_applied = 0

    async def poll(self, *, timeout: float) -> dict[str, Any] | None:
        return await poll_workflow_task(
            self._client,
            worker_id=self._worker_id,
            task_queue=self._task_queue,
            timeout=timeout,
            build_id=self._build_id,
            history_page_size=FIRST_PAGE_SIZE if self._cache.enabled else None,
        )

    async def execute(self, task: dict[str, Any]) -> list[dict[str, Any]] | None:
        """Run one polled workflow task end to end; never raises (a bad task must not kill the worker)."""
        started = time.perf_counter()
        outcome = "error"
        commands: list[dict[str, Any]] | None = None
        context = WorkflowTaskInterceptorContext(
            worker_id=self._worker_id, task_queue=self._task_queue, task=task
        )
        try:
            commands = await self._handler(context)
            outcome = "completed" if commands is not None else "failed"
        except Exception as exc:
            self._cache.evict(str(task.get("run_id") or ""), "error")
            logger.exception("workflow task %s failed unexpectedly", task.get("task_id"))
            await self._fail(task, f"unhandled workflow task execution error: {exc}", exc)
        finally:
            tags = {"task_kind": "workflow", "task_queue": self._task_queue, "outcome": outcome}
            self._metrics.increment(WORKER_TASKS, 1.0, tags)
            self._metrics.record(WORKER_TASK_DURATION_SECONDS, time.perf_counter() - started, tags)
        return commands

    # -- the innermost handler ---------------------------------------------------------------------------

    async def _run(self, context: WorkflowTaskInterceptorContext) -> list[dict[str, Any]] | None:
        task = context.task
        run_id = str(task.get("run_id") or "")
        try:
            return await self._run_task(task, run_id)
        except _TaskFailed:
            self._cache.evict(run_id, "failed")
            return None

    async def _run_task(self, task: dict[str, Any], run_id: str) -> list[dict[str, Any]] | None:
        try:
            codec = resolve_task_codec(task.get("payload_codec"))
        except UnsupportedTaskCodec as exc:
            await self._fail_and_stop(task, str(exc), exc)
        workflow_type = str(task.get("workflow_type") or "")
        cls = self._workflows.get(workflow_type)
        if cls is None:
            known = ", ".join(sorted(self._workflows)) or "none"
            await self._fail_and_stop(
                task,
                f"no workflow registered for type {workflow_type!r} on worker {self._worker_id} "
                f"(registered: {known})",
                None,
            )

        cached = self._cache.take(run_id) if run_id else None
        applied = engine.applied_sequence(cached) if cached is not None else 0
        applied_count_before = cached.applied_count if cached is not None else 0
        events = await self._history(task, after=applied)

        state: engine.WorkflowRunState | None = None
        if cached is not None:
            try:
                cached.apply(self._tail(cached, events, applied, task))
            except Exception as exc:
                # A mismatch, or any error: a cached state is never trusted again; replay from scratch.
                reason = "mismatch" if isinstance(exc, engine.HistoryMismatchError) else "error"
                self._cache.record_miss(reason)
                logger.debug("run %s: cached state unusable (%r); replaying the full history", run_id, exc)
                if not events or _sequence(events[0]) != 1:
                    events = await self._history(task, after=0)
            else:
                self._cache.record_hit()
                self.incremental_applies += 1
                self.events_applied += cached.applied_count - applied_count_before
                state = cached
        elif self._cache.enabled:
            self._cache.record_miss("absent")

        if state is None:
            state = await self._replay(task, cls, workflow_type, run_id, codec, events)

        update_id = task.get("workflow_update_id")
        queue = str(task.get("task_queue") or self._task_queue)
        try:
            if isinstance(update_id, str) and update_id:
                commands = engine.update_commands(
                    state, update_id, task_queue=queue, payload_codec=codec, payloads=self._payloads
                )
            else:
                commands = engine.wire_commands(
                    state, task_queue=queue, payload_codec=codec, payloads=self._payloads
                )
        except Exception as exc:
            await self._fail_and_stop(task, f"replay failed: {exc}", exc)

        if not await self._complete(task, commands):
            return None
        if not run_id:
            return commands
        if engine.is_closing(commands) or state.is_finished:
            self._cache.evict(run_id, "completed")
        elif state.reusable:
            self._cache.put(run_id, state)
        return commands

    async def _replay(
        self,
        task: dict[str, Any],
        cls: type,
        workflow_type: str,
        run_id: str,
        codec: str,
        events: list[dict[str, Any]],
    ) -> engine.WorkflowRunState:
        try:
            start_input = (
                self._payloads.decode(task.get("arguments"), codec) if task.get("arguments") else None
            )
        except Exception as exc:
            await self._fail_and_stop(task, f"workflow start input could not be decoded: {exc}", exc)
        try:
            state = engine.new_run_state(
                cls,
                workflow_id=str(task.get("workflow_id") or ""),
                run_id=run_id,
                workflow_type=workflow_type,
                start_input=start_input,
                payload_codec=codec,
                task_queue=str(task.get("task_queue") or self._task_queue),
                namespace=self._namespace,
                payloads=self._payloads,
            )
            state.apply(events)
        except Exception as exc:
            await self._fail_and_stop(task, f"replay failed: {exc}", exc)
        self.full_replays += 1
        self.events_applied += len(events)
        return state

    @staticmethod
    def _tail(
        cached: engine.WorkflowRunState, events: list[dict[str, Any]], applied: int, task: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """The events ``cached`` has not applied, after checking the history still contains its last one."""
        last = _int(task.get("last_history_sequence"))
        if last is not None and last < applied:
            raise engine.HistoryMismatchError(
                f"task history ends at {last}, the cached state applied {applied}"
            )
        anchor = next((event for event in events if _sequence(event) == applied), None)
        if anchor is None:
            raise engine.HistoryMismatchError(
                f"event {applied} the cached state applied is not in this history"
            )
        if anchor.get("id") != cached.last_event_id:
            raise engine.HistoryMismatchError(
                f"event {applied} is {anchor.get('id')!r} here but {cached.last_event_id!r} in the cache"
            )
        return [event for event in events if _sequence(event) > applied]

    # -- history ----------------------------------------------------------------------------------------

    async def _history(self, task: dict[str, Any], *, after: int) -> list[dict[str, Any]]:
        """The task's history: all of it, or (``after`` > 0) the events from sequence ``after`` on.

        The event at ``after`` itself is included so the caller can check it is the one it applied.
        """
        first_page = [e for e in (task.get("history_events") or []) if isinstance(e, dict)]
        token = task.get("next_history_page_token")
        if after > 0 and first_page and _sequence(first_page[-1]) < after:
            # Everything we need lies past the first page: ask for exactly that tail.
            events: list[dict[str, Any]] = []
            token = base64.b64encode(str(after - 1).encode()).decode() if token else None
        else:
            events = list(first_page)
        while token:
            try:
                page = await workflow_task_history(
                    self._client,
                    task_id=str(task["task_id"]),
                    next_history_page_token=token,
                    lease_owner=str(task.get("lease_owner") or self._worker_id),
                    workflow_task_attempt=_int(task.get("workflow_task_attempt")) or 1,
                    # Fewer round trips on a full replay; a cached run asks for the tail only.
                    history_page_size=protocol.MAX_HISTORY_PAGE_SIZE,
                )
            except Exception as exc:
                # 0.4.84 replays whatever it has; a truncated history gives wrong commands, so we stop.
                await self._fail_and_stop(task, f"history page could not be read: {exc}", exc)
            page_events = page.get("history_events") if isinstance(page, dict) else None
            events.extend(e for e in (page_events or []) if isinstance(e, dict))
            token = page.get("next_history_page_token") if isinstance(page, dict) else None
        return events

    # -- reporting --------------------------------------------------------------------------------------

    async def _complete(self, task: dict[str, Any], commands: list[dict[str, Any]]) -> bool:
        try:
            await self._client.complete_workflow_task(
                task_id=str(task["task_id"]),
                lease_owner=str(task.get("lease_owner") or self._worker_id),
                workflow_task_attempt=_int(task.get("workflow_task_attempt")) or 1,
                commands=commands,
            )
        except Exception as exc:
            reason = getattr(exc, "server_reason", None)
            status = getattr(exc, "status", None)
            self._cache.evict(str(task.get("run_id") or ""), "failed")
            if reason in AMBIGUOUS_COMPLETION_REASONS or status is None or status >= 500 or status == 429:
                logger.info(
                    "workflow task %s completion not recorded (%s); leaving it to the server",
                    task.get("task_id"),
                    exc,
                )
                return False
            await self._fail(
                task, f"workflow task completion failed after commands were produced: {exc}", exc
            )
            return False
        return True

    async def _fail_and_stop(self, task: dict[str, Any], message: str, exc: BaseException | None) -> NoReturn:
        await self._fail(task, message, exc)
        raise _TaskFailed(message)

    async def _fail(self, task: dict[str, Any], message: str, exc: BaseException | None) -> None:
        if exc is not None:
            logger.warning("workflow task %s failed: %s", task.get("task_id"), message)
        try:
            await self._client.fail_workflow_task(
                task_id=str(task["task_id"]),
                lease_owner=str(task.get("lease_owner") or self._worker_id),
                workflow_task_attempt=_int(task.get("workflow_task_attempt")) or 1,
                message=message,
                failure_type=type(exc).__name__ if exc is not None else None,
                stack_trace="".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
                if exc is not None
                else None,
            )
        except Exception as fail_error:
            logger.warning(
                "could not report failure of workflow task %s: %s", task.get("task_id"), fail_error
            )


def _int(raw: Any) -> int | None:
    if isinstance(raw, bool):
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def _sequence(event: Mapping[str, Any]) -> int:
    return _int(event.get("sequence")) or 0
