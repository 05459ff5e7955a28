"""Child workflows: starting a child run, parent-close policies, child retries and telling the
parent how its child closed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dw_devserver.clock import iso
from dw_devserver.codec import event_value
from dw_devserver.ids import new_id
from dw_devserver.protocol import TERMINAL_STATUSES
from dw_devserver.store import Transaction, loads

if TYPE_CHECKING:
    from dw_devserver.engine import Engine


class ChildWorkflows:
    """Parent/child links of runs (called inside the caller's transaction)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.store = engine.store

    def apply_parent_close_policy(self, tx: Transaction, run: dict[str, Any]) -> None:
        children = tx.all(
            "SELECT * FROM runs WHERE parent_run_id = ?"
            " AND status NOT IN ('completed', 'failed', 'cancelled',"
            " 'terminated') AND parent_close_policy IN ('request_cancel', 'terminate')",
            (run["run_id"],),
        )
        for row in children:
            child = dict(row)
            kind = "cancel" if child["parent_close_policy"] == "request_cancel" else "terminate"
            self.engine.lifecycle.close_by_operator(
                tx, child, kind, f"Parent workflow {run['workflow_id']} closed.", None
            )

    def retry_child(self, tx: Transaction, child: dict[str, Any], close_payload: dict[str, Any]) -> bool:
        """Start the next attempt of a failed child when its retry policy allows; True if started."""
        policy = loads(child["retry_policy"], None)
        attempt = int(child["retry_attempt"] or 1)
        if (
            not policy
            or attempt >= int(policy.get("max_attempts") or 1)
            or close_payload.get("non_retryable")
        ):
            return False
        failure_type = close_payload.get("exception_type")
        if failure_type is not None and failure_type in (policy.get("non_retryable_error_types") or []):
            return False
        parent_run = self.engine.run(child["parent_run_id"], tx)
        if parent_run is None or parent_run["status"] in TERMINAL_STATUSES:
            return False
        backoffs = policy.get("backoff_seconds") or []
        delay = backoffs[min(attempt - 1, len(backoffs) - 1)] if backoffs else 0
        link = {
            "workflow_id": child["parent_workflow_id"],
            "run_id": child["parent_run_id"],
            "sequence": child["parent_sequence"],
            "parent_close_policy": child["parent_close_policy"],
            "child_call_id": child["child_call_id"],
            "workflow_link_id": child["workflow_link_id"],
            "retry_policy": policy,
            "retry_attempt": attempt + 1,
            "retry_of_run_id": child["run_id"],
        }
        retry = self.engine.lifecycle.create_run(
            tx,
            namespace=child["namespace"],
            workflow_id=child["workflow_id"],
            workflow_type=child["workflow_type"],
            task_queue=child["task_queue"],
            input=child["input"],
            payload_codec=child["payload_codec"],
            memo=loads(child["memo"], {}),
            search_attributes=loads(child["search_attributes"], {}),
            business_key=child["business_key"],
            execution_timeout_seconds=child["execution_timeout_seconds"],
            run_timeout_seconds=child["run_timeout_seconds"],
            command_id=None,
            accepted=False,
            execution_deadline_at=child["execution_deadline_at"],
            parent=link,
            task_delay=float(delay),
        )
        payload = self.child_common(retry)
        payload.update(
            child_status=retry["status"],
            parent_close_policy=child["parent_close_policy"],
            retry_policy=policy,
            retry_attempt=attempt + 1,
            retry_of_child_workflow_run_id=child["run_id"],
            retry_backoff_seconds=delay,
        )
        self.engine.append_event(tx, parent_run, "ChildRunStarted", payload)
        tx.execute(
            "UPDATE steps SET ref_id = ? WHERE run_id = ? AND sequence = ?",
            (retry["run_id"], parent_run["run_id"], child["parent_sequence"]),
        )
        return True

    def notify_parent(
        self,
        tx: Transaction,
        child: dict[str, Any],
        status: str,
        closed_reason: str,
        output: str | None,
        close_payload: dict[str, Any],
    ) -> None:
        parent = self.engine.run(child["parent_run_id"], tx)
        if parent is None or parent["status"] in TERMINAL_STATUSES:
            return
        common = self.child_common(child)
        common.update(child_status=status, closed_reason=closed_reason, closed_at=iso(child["closed_at"]))
        if status == "completed":
            event = "ChildRunCompleted"
            common.update(
                output=event_value(output), result=event_value(output), payload_codec=child["payload_codec"]
            )
        elif status == "failed":
            event = "ChildRunFailed"
            common.update(
                failure_id=close_payload.get("failure_id") or new_id(),
                failure_category="child_workflow",
                exception_type=close_payload.get("exception_type"),
                exception_class=close_payload.get("exception_class") or "ChildWorkflowFailed",
                message=close_payload.get("message"),
                exception=close_payload.get("exception"),
                code=0,
            )
        else:
            event = "ChildRunCancelled" if status == "cancelled" else "ChildRunTerminated"
            common.update(
                failure_id=new_id(),
                failure_category=status,
                exception_class="ChildWorkflowCancelled"
                if status == "cancelled"
                else "ChildWorkflowTerminated",
                message=close_payload.get("message"),
            )
        self.engine.append_event(tx, parent, event, common)
        tx.execute(
            "UPDATE steps SET status = 'resolved' WHERE run_id = ? AND sequence = ?",
            (parent["run_id"], child["parent_sequence"]),
        )
        self.engine.ensure_workflow_task(
            tx,
            parent,
            {
                "resume_source_kind": "child_workflow_run",
                "child_workflow_run_id": child["run_id"],
                "workflow_sequence": child["parent_sequence"],
                "workflow_event_type": event,
            },
        )

    def child_common(self, child: dict[str, Any]) -> dict[str, Any]:
        return {
            "sequence": child["parent_sequence"],
            "workflow_link_id": child["workflow_link_id"],
            "child_call_id": child["child_call_id"],
            "child_workflow_instance_id": child["workflow_id"],
            "child_workflow_run_id": child["run_id"],
            "child_workflow_class": child["workflow_type"],
            "child_workflow_type": child["workflow_type"],
            "child_run_number": child["run_number"],
        }

    def start_child(
        self, tx: Transaction, parent: dict[str, Any], cmd: dict[str, Any], step: int, task_id: str
    ) -> dict[str, Any]:
        """Create a child instance + run for a ``start_child_workflow`` command."""
        child_id = cmd.get("workflow_id") or f"{parent['workflow_id']}:child:{step}:{new_id()[-8:].lower()}"
        if tx.one("SELECT 1 FROM workflows WHERE workflow_id = ?", (child_id,)) is not None:
            child_id = f"{child_id}:{new_id().lower()}"
        tx.insert(
            "workflows",
            {
                "workflow_id": child_id,
                "namespace": parent["namespace"],
                "workflow_type": cmd["workflow_type"],
                "current_run_id": None,
                "run_count": 0,
                "command_count": 0,
                "created_at": self.engine.now(),
            },
        )
        link = {
            "workflow_id": parent["workflow_id"],
            "run_id": parent["run_id"],
            "sequence": step,
            "parent_close_policy": cmd["parent_close_policy"],
            "child_call_id": new_id(),
            "workflow_link_id": new_id(),
            "retry_policy": cmd.get("retry_policy"),
        }
        return self.engine.lifecycle.create_run(
            tx,
            namespace=parent["namespace"],
            workflow_id=child_id,
            workflow_type=cmd["workflow_type"],
            task_queue=cmd.get("queue") or parent["task_queue"],
            input=cmd.get("arguments"),
            payload_codec=cmd.get("payload_codec") or "avro",
            memo={},
            search_attributes={},
            business_key=None,
            execution_timeout_seconds=cmd.get("execution_timeout_seconds"),
            run_timeout_seconds=cmd.get("run_timeout_seconds"),
            command_id=None,
            accepted=False,
            parent=link,
        )
