"""Standalone activities: an activity job run without user workflow code (control-plane.md §8.4).

Each one lives on a host run of workflow type :data:`STANDALONE_WORKFLOW_TYPE` whose workflow id is
the activity id, so history, cancel and terminate work as for any run. The host run never gets a
workflow task: the activity is scheduled at start and its outcome closes the run directly.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from dw_devserver.clock import iso
from dw_devserver.codec import envelope, event_value
from dw_devserver.http import ApiError
from dw_devserver.ids import new_id
from dw_devserver.protocol import status_bucket
from dw_devserver.store import Transaction, loads

if TYPE_CHECKING:
    from dw_devserver.engine import Engine

#: workflow type of the host runs (the value the published SDK's tests show)
STANDALONE_WORKFLOW_TYPE = "dw.standalone_activity"


@dataclasses.dataclass(frozen=True)
class StandaloneStart:
    """A validated start request (see :meth:`StandaloneActivities.start`)."""

    activity_type: str
    task_queue: str
    activity_id: str | None = None
    activity_class: str | None = None
    business_key: str | None = None
    input: str | None = None
    payload_codec: str = "avro"
    retry_policy: dict[str, Any] | None = None
    start_to_close_timeout: int | None = None
    schedule_to_start_timeout: int | None = None
    schedule_to_close_timeout: int | None = None
    heartbeat_timeout: int | None = None


class StandaloneActivities:
    """Start, describe and list standalone activities; close their host run on the outcome."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.store = engine.store

    @staticmethod
    def is_host(run: dict[str, Any]) -> bool:
        """Whether ``run`` hosts a standalone activity (its outcome closes the run)."""
        return bool(run["workflow_type"] == STANDALONE_WORKFLOW_TYPE)

    def start(self, namespace: str, request: StandaloneStart) -> dict[str, Any]:
        """Create the host run and schedule the activity in one transaction; 409 on a used id."""
        with self.store.transaction() as tx:
            started = self.engine.start_workflow(
                namespace=namespace,
                workflow_type=STANDALONE_WORKFLOW_TYPE,
                task_queue=request.task_queue,
                workflow_id=request.activity_id,
                input=request.input,
                payload_codec=request.payload_codec,
                business_key=request.business_key,
                source="standalone_activity",
                tx=tx,
                dispatch_workflow_task=False,
            )
            if started.outcome != "started_new":
                raise ApiError(
                    409,
                    "duplicate_not_allowed",
                    f"Activity id '{started.workflow_id}' is already used; pick another activity_id "
                    "or omit it to get a generated one.",
                    activity_id=started.workflow_id,
                    outcome=started.outcome,
                )
            run = self.engine.run(started.run_id, tx)
            assert run is not None
            tx.update("runs", {"run_id": run["run_id"]}, {"status": "running"})
            run["status"] = "running"
            command = {
                "activity_type": request.activity_type,
                "queue": request.task_queue,
                "arguments": request.input,
                "payload_codec": request.payload_codec,
                "retry_policy": request.retry_policy,
                "start_to_close_timeout": request.start_to_close_timeout,
                "schedule_to_start_timeout": request.schedule_to_start_timeout,
                "schedule_to_close_timeout": request.schedule_to_close_timeout,
                "heartbeat_timeout": request.heartbeat_timeout,
            }
            execution_id = self.engine.activities.schedule(
                tx, run, command, 1, started.command_id or new_id()
            )
            tx.insert(
                "standalone_activities",
                {
                    "activity_id": started.workflow_id,
                    "namespace": namespace,
                    "run_id": run["run_id"],
                    "execution_id": execution_id,
                    "activity_type": request.activity_type,
                    "activity_class": request.activity_class or request.activity_type,
                    "created_at": self.engine.now(),
                },
            )
            return self.describe(namespace, started.workflow_id, tx)

    def close_host(
        self,
        tx: Transaction,
        run: dict[str, Any],
        execution: dict[str, Any],
        *,
        result: str | None,
        result_codec: str,
        failure: dict[str, Any] | None,
    ) -> None:
        """Close the host run with the activity's final outcome (no retry left)."""
        if failure is None:
            self.engine.lifecycle.close_run(
                tx,
                run,
                "completed",
                "completed",
                "WorkflowCompleted",
                {"output": event_value(result), "payload_codec": result_codec},
                output=result,
            )
            return
        message = str(failure.get("message") or f"Activity {execution['activity_type']} failed.")
        timed_out = failure.get("timeout_kind") is not None
        self.engine.lifecycle.close_run(
            tx,
            run,
            "failed",
            "failed",
            "WorkflowFailed",
            {
                "failure_id": new_id(),
                "source_kind": "activity_execution",
                "source_id": execution["id"],
                "failure_category": "timeout" if timed_out else "activity",
                "non_retryable": True,
                "exception_type": failure.get("exception_type"),
                "exception_class": failure.get("exception_class") or "ActivityFailure",
                "message": message,
                "timeout_kind": failure.get("timeout_kind"),
            },
            failure={
                "message": message,
                "exception_type": failure.get("exception_type"),
                "timeout_kind": failure.get("timeout_kind"),
            },
        )

    def describe(self, namespace: str, activity_id: str, tx: Transaction | None = None) -> dict[str, Any]:
        """The describe body; 404 ``activity_not_found`` when unknown in ``namespace``."""
        src = tx or self.store
        row = src.one(
            _VIEW_SQL + " WHERE s.namespace = ? AND s.activity_id = ?",
            (namespace, activity_id),
        )
        if row is None:
            raise ApiError(
                404,
                "activity_not_found",
                f"Standalone activity '{activity_id}' was not found in namespace '{namespace}'.",
                activity_id=activity_id,
            )
        return self._view(dict(row), with_result=True)

    def list(
        self, namespace: str, *, bucket: str | None, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        """One page (newest first) and the total count matching ``bucket`` (a status or bucket name)."""
        rows = [
            dict(r)
            for r in self.store.all(
                _VIEW_SQL + " WHERE s.namespace = ? ORDER BY s.created_at DESC, s.activity_id",
                (namespace,),
            )
        ]
        if bucket is not None:
            rows = [r for r in rows if bucket in (r["run_status"], status_bucket(r["run_status"]))]
        page = rows[offset : offset + limit]
        return [self._view(r, with_result=False) for r in page], len(rows)

    def _view(self, row: dict[str, Any], *, with_result: bool) -> dict[str, Any]:
        scheduled = row["scheduled_at"]
        to_start = row["schedule_to_start_timeout"]
        to_close = row["schedule_to_close_timeout"]
        body: dict[str, Any] = {
            "activity_id": row["activity_id"],
            "workflow_run_id": row["run_id"],
            "activity_execution_id": row["execution_id"],
            "workflow_type": STANDALONE_WORKFLOW_TYPE,
            "activity_type": row["activity_type"],
            "activity_class": row["activity_class"],
            "task_queue": row["task_queue"],
            "namespace": row["namespace"],
            "status": row["run_status"],
            "status_bucket": status_bucket(row["run_status"]),
            "activity_status": row["activity_status"],
            "closed_reason": row["closed_reason"],
            "business_key": row["business_key"],
            "payload_codec": row["run_codec"],
            "started_at": iso(row["started_at"]),
            "closed_at": iso(row["closed_at"]),
            "last_progress_at": iso(row["last_progress_at"]),
            "last_heartbeat_at": iso(row["last_heartbeat_at"]),
            "schedule_to_start_deadline_at": iso(scheduled + to_start) if to_start else None,
            "schedule_to_close_deadline_at": iso(scheduled + to_close) if to_close else None,
            "attempt_count": row["attempt_count"],
            "failure": _json_or_none(row["failure"]),
        }
        if with_result:
            body["result"] = envelope(row["output"], row["run_codec"] or "avro")
        return body


def _json_or_none(value: Any) -> Any:
    return loads(value) if isinstance(value, str) else value


_VIEW_SQL = (
    "SELECT s.activity_id, s.namespace, s.run_id, s.execution_id, s.activity_type, s.activity_class,"
    " r.status AS run_status, r.closed_reason, r.business_key, r.payload_codec AS run_codec,"
    " r.started_at, r.closed_at, r.last_progress_at, r.output, r.failure,"
    " a.task_queue, a.status AS activity_status, a.last_heartbeat_at, a.scheduled_at,"
    " a.schedule_to_start_timeout, a.schedule_to_close_timeout, a.attempt_count"
    " FROM standalone_activities s JOIN runs r ON r.run_id = s.run_id"
    " JOIN activity_executions a ON a.id = s.execution_id"
)
