"""Handles: a workflow, schedule or standalone activity bound to a client, with per-resource calls."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dw_client.client import Client
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
    from dw_client.models.workflows import (
        WorkflowCommandResult,
        WorkflowExecution,
        WorkflowRun,
        WorkflowRunList,
    )


class WorkflowHandle:
    """A workflow id (and optionally one run of it) bound to a client."""

    def __init__(
        self, client: Client, workflow_id: str, run_id: str | None = None, workflow_type: str = ""
    ) -> None:
        self._client = client
        self.workflow_id = workflow_id
        self.run_id = run_id
        self.workflow_type = workflow_type

    def __repr__(self) -> str:
        return (
            f"WorkflowHandle(workflow_id={self.workflow_id!r}, run_id={self.run_id!r}, "
            f"workflow_type={self.workflow_type!r})"
        )

    def _require_run_id(self, operation: str) -> str:
        if not self.run_id:
            raise ValueError(
                f"{operation} needs a run id: build the handle with run_id=... "
                "(client.get_workflow_handle(workflow_id, run_id=...)) or use the one start_workflow returns"
            )
        return self.run_id

    async def result(self, *, poll_interval: float = 0.5, timeout: float = 30.0) -> Any:
        """Wait for the workflow to close and return its result (see ``Client.get_result``)."""
        return await self._client.get_result(self, poll_interval=poll_interval, timeout=timeout)

    async def describe(self) -> WorkflowExecution:
        """The newest run of this workflow."""
        return await self._client.describe_workflow(self.workflow_id)

    async def get_history(self) -> Any:
        """The whole history of this handle's run."""
        return await self._client.get_history(self.workflow_id, self._require_run_id("get_history"))

    async def export_history(self) -> Any:
        """The replay bundle of this handle's run."""
        return await self._client.export_history(self.workflow_id, self._require_run_id("export_history"))

    async def list_runs(self) -> WorkflowRunList:
        """Every run of this workflow id."""
        return await self._client.list_workflow_runs(self.workflow_id)

    async def describe_run(self, run_id: str | None = None) -> WorkflowRun:
        """One run's detail: ``run_id``, else this handle's run."""
        target = run_id or self._require_run_id("describe_run")
        return await self._client.describe_workflow_run(self.workflow_id, target)

    async def signal(self, signal_name: str, args: list[Any] | None = None) -> None:
        """Send a signal."""
        await self._client.signal_workflow(self.workflow_id, signal_name, args=args)

    async def query(self, query_name: str, args: list[Any] | None = None) -> Any:
        """Run a query; returns the server's JSON answer."""
        return await self._client.query_workflow(self.workflow_id, query_name, args=args)

    async def update(
        self,
        update_name: str,
        args: list[Any] | None = None,
        *,
        wait_for: str | None = None,
        wait_timeout_seconds: int | None = None,
        request_id: str | None = None,
    ) -> Any:
        """Send an update; returns the server's JSON answer."""
        return await self._client.update_workflow(
            self.workflow_id,
            update_name,
            args=args,
            wait_for=wait_for,
            wait_timeout_seconds=wait_timeout_seconds,
            request_id=request_id,
        )

    async def cancel(self, *, reason: str | None = None) -> None:
        """Cancel the workflow."""
        await self._client.cancel_workflow(self.workflow_id, reason=reason)

    async def terminate(self, *, reason: str | None = None) -> None:
        """Terminate the workflow."""
        await self._client.terminate_workflow(self.workflow_id, reason=reason)

    async def repair(self) -> WorkflowCommandResult:
        """Ask the server to repair a stalled run."""
        return await self._client.repair_workflow(self.workflow_id)

    async def archive(self, *, reason: str | None = None) -> WorkflowCommandResult:
        """Archive the closed run."""
        return await self._client.archive_workflow(self.workflow_id, reason=reason)


class ScheduleHandle:
    """A schedule id bound to a client."""

    def __init__(self, client: Client, schedule_id: str) -> None:
        self._client = client
        self.schedule_id = schedule_id

    def __repr__(self) -> str:
        return f"ScheduleHandle(schedule_id={self.schedule_id!r})"

    async def describe(self) -> ScheduleDescription:
        """The schedule's definition, state and counters."""
        return await self._client.describe_schedule(self.schedule_id)

    async def update(
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
        await self._client.update_schedule(
            self.schedule_id,
            spec=spec,
            action=action,
            overlap_policy=overlap_policy,
            jitter_seconds=jitter_seconds,
            max_runs=max_runs,
            memo=memo,
            search_attributes=search_attributes,
            note=note,
        )

    async def pause(self, *, note: str | None = None) -> None:
        """Stop firing until resumed."""
        await self._client.pause_schedule(self.schedule_id, note=note)

    async def resume(self, *, note: str | None = None) -> None:
        """Fire again."""
        await self._client.resume_schedule(self.schedule_id, note=note)

    async def trigger(self, *, overlap_policy: str | None = None) -> ScheduleTriggerResult:
        """Fire once now."""
        return await self._client.trigger_schedule(self.schedule_id, overlap_policy=overlap_policy)

    async def delete(self) -> None:
        """Delete the schedule (its audit history stays readable)."""
        await self._client.delete_schedule(self.schedule_id)

    async def backfill(
        self, *, start_time: str, end_time: str, overlap_policy: str | None = None
    ) -> ScheduleBackfillResult:
        """Fire for every time the spec matches in ``[start_time, end_time)``."""
        return await self._client.backfill_schedule(
            self.schedule_id, start_time=start_time, end_time=end_time, overlap_policy=overlap_policy
        )

    async def history(
        self, *, limit: int | None = None, after_sequence: int | None = None
    ) -> ScheduleHistoryPage:
        """One page of the audit history."""
        return await self._client.get_schedule_history(
            self.schedule_id, limit=limit, after_sequence=after_sequence
        )

    def iter_history(
        self, *, limit: int | None = None, after_sequence: int | None = None
    ) -> AsyncIterator[ScheduleHistoryEvent]:
        """Every audit event from ``after_sequence`` on, following pages."""
        return self._client.iter_schedule_history(
            self.schedule_id, limit=limit, after_sequence=after_sequence
        )


class StandaloneActivityHandle:
    """A standalone activity bound to a client."""

    def __init__(
        self,
        client: Client,
        activity_id: str,
        *,
        workflow_run_id: str | None = None,
        activity_execution_id: str | None = None,
        workflow_type: str = "",
        activity_type: str = "",
    ) -> None:
        self._client = client
        self.activity_id = activity_id
        self.workflow_run_id = workflow_run_id
        self.activity_execution_id = activity_execution_id
        self.workflow_type = workflow_type
        self.activity_type = activity_type

    def __repr__(self) -> str:
        return (
            f"StandaloneActivityHandle(activity_id={self.activity_id!r}, "
            f"activity_type={self.activity_type!r})"
        )

    async def describe(self) -> StandaloneActivityExecution:
        """The activity's state and, once completed, its decoded result."""
        return await self._client.describe_activity(self.activity_id)

    async def result(self, *, poll_interval: float = 0.5, timeout: float = 30.0) -> Any:
        """Wait for the activity to close and return its result."""
        return await self._client.get_activity_result(self, poll_interval=poll_interval, timeout=timeout)

    async def cancel(self, *, reason: str | None = None) -> None:
        """Cancel the activity's host run."""
        await self._client.cancel_workflow(self.activity_id, reason=reason)
