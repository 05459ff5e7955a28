"""Binds schedules to the dev server's workflow engine (the :class:`WorkflowPort` they fire through)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dw_devserver.codec import payload_from_request
from dw_devserver.http import ApiError
from dw_devserver.protocol import TERMINAL_STATUSES
from dw_devserver.schedules.service import StartedRun, StartRejected

if TYPE_CHECKING:
    from dw_devserver.runtime import Runtime


class EngineWorkflowPort:
    """Starts, inspects and closes runs through ``rt.engine`` on behalf of schedules."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def start(
        self,
        namespace: str,
        workflow_id: str,
        action: Mapping[str, Any],
        memo: Mapping[str, Any] | None,
        search_attributes: Mapping[str, Any] | None,
    ) -> StartedRun:
        """Start the action's workflow under ``workflow_id``; any refusal becomes :class:`StartRejected`."""
        try:
            blob, _codec = payload_from_request(action.get("input"), "action.input")
            result = self.rt.engine.start_workflow(
                namespace=namespace,
                workflow_id=workflow_id,
                workflow_type=action["workflow_type"],
                task_queue=action.get("task_queue") or "default",
                input=blob,
                duplicate_policy="fail",
                memo=dict(memo) if memo else None,
                search_attributes=dict(search_attributes) if search_attributes else None,
                execution_timeout_seconds=action.get("execution_timeout_seconds"),
                run_timeout_seconds=action.get("run_timeout_seconds"),
                source="schedule",
            )
        except ApiError as err:
            raise StartRejected(f"{err.reason}: {err.message}") from err
        if result.outcome != "started_new":
            raise StartRejected(f"{result.outcome}: workflow id {workflow_id!r} already has a run")
        return StartedRun(result.workflow_id, result.run_id)

    def is_open(self, namespace: str, workflow_id: str, run_id: str | None) -> bool:
        """True while the workflow the schedule started is not closed.

        Checks the workflow's *current* run, so a run that continued-as-new still counts as open.
        """
        row = self.rt.store.one(
            "SELECT r.status FROM workflows w JOIN runs r ON r.run_id = w.current_run_id "
            "WHERE w.workflow_id = ? AND w.namespace = ?",
            (workflow_id, namespace),
        )
        return row is not None and row["status"] not in TERMINAL_STATUSES

    def close(self, namespace: str, workflow_id: str, how: str, reason: str) -> None:
        """Cancel or terminate; a run that closed in the meantime is fine."""
        try:
            if how == "cancel":
                self.rt.engine.cancel_workflow(namespace, workflow_id, reason)
            else:
                self.rt.engine.terminate_workflow(namespace, workflow_id, reason)
        except ApiError:
            pass
