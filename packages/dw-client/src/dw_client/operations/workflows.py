"""Workflow operations: start, describe, list, runs, history, signal/query/update, cancel, result."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from dw_core import protocol
from dw_core.errors import (
    ErrorContext,
    WorkflowCancelled,
    WorkflowFailed,
    WorkflowTerminated,
)
from dw_core.payload_errors import PayloadCodecError

from dw_client.handles import WorkflowHandle
from dw_client.models.workflows import (
    WorkflowCommandResult,
    WorkflowExecution,
    WorkflowList,
    WorkflowRun,
    WorkflowRunList,
)
from dw_client.operations._core import ClientCore, drop_none, expect_object
from dw_client.transport import Retry

#: Statuses after which a run will not change any more (``canceled`` is accepted as a spelling).
TERMINAL_STATUSES = frozenset(protocol.TERMINAL_RUN_STATUSES | {protocol.RUN_STATUS_CANCELED_ALIAS})

# Bound on history pages followed in one call, so a server that keeps returning a token cannot loop us.
_MAX_HISTORY_PAGES = 100_000


def _ctx(workflow_id: str, operation: str | None = None) -> ErrorContext:
    return ErrorContext(resource="workflow", resource_id=workflow_id, operation=operation)


def _check_range(name: str, value: int | None, low: int, high: int | None = None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ValueError(f"{name} must be {bound}, got {value}")


class WorkflowOperations(ClientCore):
    """Operations on workflow executions (mixed into ``Client``)."""

    def get_workflow_handle(
        self, workflow_id: str, *, run_id: str | None = None, workflow_type: str = ""
    ) -> WorkflowHandle:
        """A handle to an existing workflow; no network call."""
        return WorkflowHandle(self._as_client(), workflow_id, run_id, workflow_type)

    async def start_workflow(
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
    ) -> WorkflowHandle:
        """Start a workflow run and return its handle.

        ``input`` is the positional argument list, sent as an Avro envelope. ``duplicate_policy`` is
        passed through; servers accept ``fail`` (default) and ``use-existing``. ``priority`` is 0..9
        (lower first), ``fairness_weight`` 1..1000. A refused duplicate raises
        ``WorkflowAlreadyStarted``. Not retried once the request may have reached the server, unless
        ``duplicate_policy="use-existing"`` makes a repeat harmless.
        """
        _check_range("execution_timeout_seconds", execution_timeout_seconds, 1)
        _check_range("run_timeout_seconds", run_timeout_seconds, 1)
        _check_range("priority", priority, 0, 9)
        _check_range("fairness_weight", fairness_weight, 1, 1000)
        if input is not None and not isinstance(input, (list, tuple)):
            raise TypeError(f"input must be a list of workflow arguments, got {type(input).__name__}")
        context = self._payloads.context(
            "workflow_input", workflow_id=workflow_id, workflow_type=workflow_type, task_queue=task_queue
        )
        if search_attributes is not None:
            self._payloads.warn_json(
                search_attributes,
                context=self._payloads.context(
                    "search_attributes", workflow_id=workflow_id, workflow_type=workflow_type
                ),
            )
        body: dict[str, Any] = {
            "workflow_id": workflow_id,
            "workflow_type": workflow_type,
            "task_queue": task_queue,
            "input": self._payloads.envelope_args(input, context=context),
            "execution_timeout_seconds": execution_timeout_seconds,
            "run_timeout_seconds": run_timeout_seconds,
        }
        body.update(
            drop_none(
                duplicate_policy=duplicate_policy,
                memo=memo,
                search_attributes=search_attributes,
                priority=priority,
                fairness_key=fairness_key,
                fairness_weight=fairness_weight,
            )
        )
        reply = await self._transport.call(
            "POST",
            "/workflows",
            body=body,
            retry=Retry.SAFE if duplicate_policy == "use-existing" else Retry.UNSENT_ONLY,
            context=_ctx(workflow_id, "start"),
        )
        data = reply.body if isinstance(reply.body, Mapping) else {}
        return WorkflowHandle(
            self._as_client(),
            str(data.get("workflow_id") or workflow_id),
            data.get("run_id") if isinstance(data.get("run_id"), str) else None,
            str(data.get("workflow_type") or workflow_type),
        )

    async def describe_workflow(self, workflow_id: str) -> WorkflowExecution:
        """The newest run of ``workflow_id`` with its input and output decoded."""
        reply = await self._transport.call(
            "GET",
            "/workflows/{workflow_id}",
            path_params={"workflow_id": workflow_id},
            retry=Retry.SAFE,
            context=_ctx(workflow_id, "describe"),
        )
        data = expect_object(reply.body, "invalid_workflow_response")
        execution = WorkflowExecution.from_dict(data)
        codec = execution.payload_codec
        for field_name in ("input", "output"):
            envelope = data.get(f"{field_name}_envelope")
            if isinstance(envelope, Mapping):
                try:
                    setattr(execution, field_name, self._payloads.decode(envelope, codec))
                except PayloadCodecError:
                    # Keep the server's own decoded copy when this SDK cannot read the envelope.
                    if field_name not in data:
                        raise
        return execution

    async def list_workflows(
        self,
        *,
        workflow_type: str | None = None,
        status: str | None = None,
        query: str | None = None,
        page_size: int | None = None,
        next_page_token: str | None = None,
    ) -> WorkflowList:
        """One page of the namespace's workflows, newest first; only the given filters are sent."""
        _check_range("page_size", page_size, 1)
        reply = await self._transport.call(
            "GET",
            "/workflows",
            query=drop_none(
                workflow_type=workflow_type,
                status=status,
                query=query,
                page_size=page_size,
                next_page_token=next_page_token,
            ),
            retry=Retry.SAFE,
            context=ErrorContext(operation="list"),
        )
        return WorkflowList.from_dict(expect_object(reply.body, "invalid_workflow_list_response"))

    async def get_history(self, workflow_id: str, run_id: str) -> Any:
        """The whole durable history of one run: every page, merged into one ``events`` list.

        Returns the first page's JSON object with ``events`` holding all events in order and
        ``next_page_token`` set to ``None``.
        """
        first: dict[str, Any] | None = None
        events: list[Any] = []
        token: str | None = None
        seen: set[str] = set()
        for _ in range(_MAX_HISTORY_PAGES):
            reply = await self._transport.call(
                "GET",
                "/workflows/{workflow_id}/runs/{run_id}/history",
                path_params={"workflow_id": workflow_id, "run_id": run_id},
                query=drop_none(next_page_token=token),
                retry=Retry.SAFE,
                context=_ctx(workflow_id, "history"),
            )
            page = expect_object(reply.body, "invalid_history_response")
            if first is None:
                first = page
            page_events = page.get("events")
            if isinstance(page_events, list):
                events.extend(page_events)
            next_token = page.get("next_page_token")
            if not isinstance(next_token, str) or not next_token or next_token in seen:
                break
            seen.add(next_token)
            token = next_token
        assert first is not None
        first["events"] = events
        first["next_page_token"] = None
        return first

    async def export_history(self, workflow_id: str, run_id: str) -> Any:
        """The replay bundle (``durable-workflow.v2.history-export``) of one run, as the server sent it."""
        reply = await self._transport.call(
            "GET",
            "/workflows/{workflow_id}/runs/{run_id}/history/export",
            path_params={"workflow_id": workflow_id, "run_id": run_id},
            retry=Retry.SAFE,
            context=_ctx(workflow_id, "history_export"),
        )
        return reply.body

    async def list_workflow_runs(self, workflow_id: str) -> WorkflowRunList:
        """Every run of a continue-as-new chain, oldest first."""
        reply = await self._transport.call(
            "GET",
            "/workflows/{workflow_id}/runs",
            path_params={"workflow_id": workflow_id},
            retry=Retry.SAFE,
            context=_ctx(workflow_id, "list_runs"),
        )
        return WorkflowRunList.from_dict(
            expect_object(reply.body, "invalid_workflow_runs_response"), workflow_id=workflow_id
        )

    async def describe_workflow_run(self, workflow_id: str, run_id: str) -> WorkflowRun:
        """One run's detail (status, deadlines, wait reason, memo, actions, ...)."""
        reply = await self._transport.call(
            "GET",
            "/workflows/{workflow_id}/runs/{run_id}",
            path_params={"workflow_id": workflow_id, "run_id": run_id},
            retry=Retry.SAFE,
            context=_ctx(workflow_id, "describe_run"),
        )
        return WorkflowRun.from_dict(
            expect_object(reply.body, "invalid_workflow_run_response"), workflow_id=workflow_id, run_id=run_id
        )

    def _receiver_body(
        self, args: Sequence[Any] | None, kind: str, workflow_id: str, name_field: str, name: str
    ) -> dict[str, Any]:
        if not args:
            return {}
        context = self._payloads.context(kind, workflow_id=workflow_id, **{name_field: name})
        return {"input": self._payloads.envelope_args(args, context=context)}

    async def signal_workflow(
        self, workflow_id: str, signal_name: str, *, args: list[Any] | None = None
    ) -> None:
        """Send a signal (fire-and-forget). Rejections raise ``SignalFailed``.

        Not retried once the request may have reached the server: a repeat would deliver it twice.
        """
        await self._transport.call(
            "POST",
            "/workflows/{workflow_id}/signal/{name}",
            path_params={"workflow_id": workflow_id, "name": signal_name},
            body=self._receiver_body(args, "signal", workflow_id, "signal_name", signal_name),
            retry=Retry.UNSENT_ONLY,
            context=_ctx(workflow_id, "signal"),
        )

    async def query_workflow(
        self, workflow_id: str, query_name: str, *, args: list[Any] | None = None
    ) -> Any:
        """Run a query and return the server's JSON answer (``result`` holds the value).

        Failures raise ``QueryFailed`` with ``reason``, ``status`` and ``validation_errors``.
        """
        reply = await self._transport.call(
            "POST",
            "/workflows/{workflow_id}/query/{name}",
            path_params={"workflow_id": workflow_id, "name": query_name},
            body=self._receiver_body(args, "query", workflow_id, "query_name", query_name),
            retry=Retry.SAFE,
            context=_ctx(workflow_id, "query"),
        )
        return reply.body

    async def update_workflow(
        self,
        workflow_id: str,
        update_name: str,
        *,
        args: list[Any] | None = None,
        wait_for: str | None = None,
        wait_timeout_seconds: int | None = None,
        request_id: str | None = None,
    ) -> Any:
        """Send an update and return the server's JSON answer (``result`` once completed).

        ``wait_for`` is ``accepted`` (server default) or ``completed``. With a ``request_id`` the
        server deduplicates repeats, so the call is retried like a read; without one it is not
        retried once it may have reached the server.
        """
        _check_range("wait_timeout_seconds", wait_timeout_seconds, 1)
        body = self._receiver_body(args, "update", workflow_id, "update_name", update_name)
        body.update(
            drop_none(wait_for=wait_for, wait_timeout_seconds=wait_timeout_seconds, request_id=request_id)
        )
        timeout = None
        if wait_timeout_seconds is not None and wait_timeout_seconds + 10 > self._transport.timeout:
            # Let the server's completion wait finish before the HTTP read gives up.
            timeout = float(wait_timeout_seconds + 10)
        reply = await self._transport.call(
            "POST",
            "/workflows/{workflow_id}/update/{name}",
            path_params={"workflow_id": workflow_id, "name": update_name},
            body=body,
            retry=Retry.SAFE if request_id else Retry.UNSENT_ONLY,
            context=_ctx(workflow_id, "update"),
            timeout=timeout,
        )
        return reply.body

    async def _command(self, workflow_id: str, command: str, body: dict[str, Any], retry: Retry) -> Any:
        reply = await self._transport.call(
            "POST",
            "/workflows/{workflow_id}/" + command,
            path_params={"workflow_id": workflow_id},
            body=body,
            retry=retry,
            context=_ctx(workflow_id, command),
        )
        return reply.body

    async def cancel_workflow(self, workflow_id: str, *, reason: str | None = None) -> None:
        """Cancel the current run; it closes as ``cancelled``."""
        await self._command(workflow_id, "cancel", drop_none(reason=reason), Retry.UNSENT_ONLY)

    async def terminate_workflow(self, workflow_id: str, *, reason: str | None = None) -> None:
        """Terminate the current run immediately; it closes as ``terminated``."""
        await self._command(workflow_id, "terminate", drop_none(reason=reason), Retry.UNSENT_ONLY)

    async def repair_workflow(self, workflow_id: str) -> WorkflowCommandResult:
        """Ask the server to repair a stalled run (safe to repeat: a second repair is a no-op)."""
        body = await self._command(workflow_id, "repair", {}, Retry.SAFE)
        return WorkflowCommandResult.from_dict(
            expect_object(body, "invalid_workflow_command_response"), workflow_id=workflow_id
        )

    async def archive_workflow(self, workflow_id: str, *, reason: str | None = None) -> WorkflowCommandResult:
        """Archive a closed run (safe to repeat: the second answer is ``archive_not_needed``)."""
        body = await self._command(workflow_id, "archive", drop_none(reason=reason), Retry.SAFE)
        return WorkflowCommandResult.from_dict(
            expect_object(body, "invalid_workflow_command_response"), workflow_id=workflow_id
        )

    async def get_result(
        self, handle: WorkflowHandle, *, poll_interval: float = 0.5, timeout: float = 30.0
    ) -> Any:
        """Wait for the workflow to close and return its result.

        Polls ``describe_workflow`` every ``poll_interval`` seconds, then reads the run's whole history
        (all pages). Raises ``WorkflowFailed`` (also for a timed-out run), ``WorkflowTerminated``,
        ``WorkflowCancelled`` (a ``BaseException``) or ``TimeoutError`` after ``timeout`` seconds. A
        handle pinned to a run that continued as new follows the chain to the run that closed it.
        """
        if poll_interval <= 0:
            raise ValueError(f"poll_interval must be positive, got {poll_interval}")
        deadline = time.monotonic() + timeout
        run_id = handle.run_id
        while True:
            execution = await self.describe_workflow(handle.workflow_id)
            if execution.status in TERMINAL_STATUSES:
                target_run = run_id or execution.run_id
                if not target_run:
                    raise WorkflowFailed(
                        f"workflow {handle.workflow_id} closed but the server reported no run_id to read"
                    )
                history = await self.get_history(handle.workflow_id, target_run)
                outcome = _terminal_outcome(history, execution.payload_codec, self._payloads.decode)
                if outcome is not _CONTINUED:
                    return outcome
                if execution.run_id and execution.run_id != target_run:
                    run_id = execution.run_id
                    continue
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"workflow {handle.workflow_id} did not close within {timeout} s "
                    f"(last status: {execution.status}); raise timeout= or check that a worker polls "
                    f"its task queue"
                )
            await asyncio.sleep(min(poll_interval, remaining))


class _Continued:
    pass


_CONTINUED: Any = _Continued()


def _terminal_outcome(
    history: Any, describe_codec: str | None, decode: Callable[[Any, str | None], Any]
) -> Any:
    """Result of the newest terminal event (or raise its error); ``_CONTINUED`` after continue-as-new."""
    events = history.get("events") if isinstance(history, Mapping) else None
    if not isinstance(events, list):
        return None
    for event in reversed(events):
        if not isinstance(event, Mapping):
            continue
        event_type = event.get("event_type")
        payload = event.get("payload") if isinstance(event.get("payload"), Mapping) else {}
        assert isinstance(payload, Mapping)
        message = payload.get("message") if isinstance(payload.get("message"), str) else None
        reason = payload.get("reason") if isinstance(payload.get("reason"), str) else None
        if event_type == protocol.WORKFLOW_COMPLETED:
            codec = payload.get("payload_codec") or describe_codec
            output = payload.get("output")
            if output is None:
                return None
            return decode(output, codec if isinstance(codec, str) else None)
        if event_type == protocol.WORKFLOW_FAILED:
            exception_class = payload.get("exception_class") or payload.get("exception_type")
            raise WorkflowFailed(
                message or "workflow failed", exception_class if isinstance(exception_class, str) else None
            )
        if event_type == protocol.WORKFLOW_TIMED_OUT:
            raise WorkflowFailed(message or "workflow timed out", "WorkflowTimedOut")
        if event_type == protocol.WORKFLOW_TERMINATED:
            raise WorkflowTerminated(reason or "workflow was terminated")
        if event_type == protocol.WORKFLOW_CANCELLED:
            raise WorkflowCancelled(reason or "workflow was cancelled")
        if event_type == protocol.WORKFLOW_CONTINUED_AS_NEW:
            return _CONTINUED
    return None
