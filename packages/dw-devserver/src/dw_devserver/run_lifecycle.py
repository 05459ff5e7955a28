"""Workflow run lifecycle: start (new instance or run), operator cancel/terminate, repair,
archive, closing a run and continue-as-new."""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

from dw_devserver.build_id_routing import marker_for_new_run
from dw_devserver.clock import iso
from dw_devserver.http import ApiError
from dw_devserver.ids import new_id
from dw_devserver.protocol import TERMINAL_STATUSES
from dw_devserver.store import Transaction, loads

if TYPE_CHECKING:
    from dw_devserver.engine import Engine


@dataclasses.dataclass
class StartResult:
    """Outcome of :meth:`Engine.start_workflow`."""

    outcome: str
    workflow_id: str
    run_id: str
    workflow_type: str
    namespace: str
    status: str
    business_key: str | None
    command_id: str | None = None

    @property
    def http_status(self) -> int:
        """201 new, 200 existing, 409 duplicate."""
        return {"started_new": 201, "returned_existing_active": 200}.get(self.outcome, 409)


class RunLifecycle:
    """Creates and closes runs; every public method is one store transaction (or joins the caller's)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.store = engine.store

    def start_workflow(
        self,
        *,
        namespace: str,
        workflow_type: str,
        task_queue: str,
        workflow_id: str | None = None,
        input: str | None = None,
        payload_codec: str = "avro",
        duplicate_policy: str = "fail",
        memo: dict[str, Any] | None = None,
        search_attributes: dict[str, Any] | None = None,
        business_key: str | None = None,
        execution_timeout_seconds: int | None = None,
        run_timeout_seconds: int | None = None,
        source: str = "control_plane",
        tx: Transaction | None = None,
        dispatch_workflow_task: bool = True,
    ) -> StartResult:
        """Start a new workflow instance (or return/reject per ``duplicate_policy``)."""
        if tx is None:
            with self.store.transaction() as own:
                return self.start_workflow(
                    namespace=namespace,
                    workflow_type=workflow_type,
                    task_queue=task_queue,
                    workflow_id=workflow_id,
                    input=input,
                    payload_codec=payload_codec,
                    duplicate_policy=duplicate_policy,
                    memo=memo,
                    search_attributes=search_attributes,
                    business_key=business_key,
                    execution_timeout_seconds=execution_timeout_seconds,
                    run_timeout_seconds=run_timeout_seconds,
                    source=source,
                    tx=own,
                    dispatch_workflow_task=dispatch_workflow_task,
                )
        workflow_id = workflow_id or new_id()
        existing = tx.one("SELECT * FROM workflows WHERE workflow_id = ?", (workflow_id,))
        if existing is not None:
            if existing["namespace"] != namespace:
                raise ApiError(
                    409,
                    "workflow_id_reserved_in_namespace",
                    f"Workflow id '{workflow_id}' is already used in another namespace.",
                    workflow_id=workflow_id,
                )
            if existing["workflow_type"] != workflow_type:
                from dw_devserver.http import validation_error

                raise validation_error(
                    {
                        "workflow_type": [
                            f"Workflow '{workflow_id}' already exists with a different workflow type."
                        ]
                    }
                )
            current = self.engine.run(existing["current_run_id"], tx)
            assert current is not None
            active = current["status"] not in TERMINAL_STATUSES
            outcome = (
                "returned_existing_active"
                if (duplicate_policy == "use-existing" and active)
                else ("rejected_duplicate")
            )
            return StartResult(
                outcome,
                workflow_id,
                current["run_id"],
                workflow_type,
                namespace,
                current["status"],
                current["business_key"],
            )
        command_id = new_id()
        tx.insert(
            "workflows",
            {
                "workflow_id": workflow_id,
                "namespace": namespace,
                "workflow_type": workflow_type,
                "current_run_id": None,
                "run_count": 0,
                "command_count": 1,
                "created_at": self.engine.now(),
            },
        )
        run = self.create_run(
            tx,
            namespace=namespace,
            workflow_id=workflow_id,
            workflow_type=workflow_type,
            task_queue=task_queue,
            input=input,
            payload_codec=payload_codec,
            memo=memo or {},
            search_attributes=search_attributes or {},
            business_key=business_key,
            execution_timeout_seconds=execution_timeout_seconds,
            run_timeout_seconds=run_timeout_seconds,
            command_id=command_id,
            accepted=True,
            source=source,
            dispatch_workflow_task=dispatch_workflow_task,
        )
        return StartResult(
            "started_new",
            workflow_id,
            run["run_id"],
            workflow_type,
            namespace,
            run["status"],
            business_key,
            command_id,
        )

    def create_run(
        self,
        tx: Transaction,
        *,
        namespace: str,
        workflow_id: str,
        workflow_type: str,
        task_queue: str,
        input: str | None,
        payload_codec: str,
        memo: dict[str, Any],
        search_attributes: dict[str, Any],
        business_key: str | None,
        execution_timeout_seconds: int | None,
        run_timeout_seconds: int | None,
        command_id: str | None,
        accepted: bool,
        execution_deadline_at: float | None = None,
        parent: dict[str, Any] | None = None,
        continued_from: str | None = None,
        task_delay: float = 0.0,
        source: str = "control_plane",
        dispatch_workflow_task: bool = True,
    ) -> dict[str, Any]:
        now = self.engine.now()
        wf = tx.one("SELECT run_count FROM workflows WHERE workflow_id = ?", (workflow_id,))
        run_number = int(wf["run_count"]) + 1 if wf else 1
        run_id = new_id()
        if execution_deadline_at is None and execution_timeout_seconds:
            execution_deadline_at = now + execution_timeout_seconds
        run_deadline_at = now + run_timeout_seconds if run_timeout_seconds else None
        if execution_deadline_at is not None and run_deadline_at is not None:
            run_deadline_at = min(run_deadline_at, execution_deadline_at)
        parent = parent or {}
        run: dict[str, Any] = {
            "run_id": run_id,
            "workflow_id": workflow_id,
            "namespace": namespace,
            "run_number": run_number,
            "workflow_type": workflow_type,
            "task_queue": task_queue,
            "status": "pending",
            "closed_reason": None,
            "business_key": business_key,
            "payload_codec": payload_codec,
            "input": input,
            "output": None,
            "memo": json.dumps(memo),
            "search_attributes": json.dumps(search_attributes),
            "execution_timeout_seconds": execution_timeout_seconds,
            "run_timeout_seconds": run_timeout_seconds,
            "execution_deadline_at": execution_deadline_at,
            "run_deadline_at": run_deadline_at,
            "started_at": now,
            "closed_at": None,
            "last_progress_at": now,
            "last_history_sequence": 0,
            "wait_kind": None,
            "parent_workflow_id": parent.get("workflow_id"),
            "parent_run_id": parent.get("run_id"),
            "parent_sequence": parent.get("sequence"),
            "parent_close_policy": parent.get("parent_close_policy"),
            "child_call_id": parent.get("child_call_id"),
            "workflow_link_id": parent.get("workflow_link_id"),
            "continued_from_run_id": continued_from,
            "retry_policy": json.dumps(parent["retry_policy"]) if parent.get("retry_policy") else None,
            "retry_attempt": parent.get("retry_attempt", 1),
            "failure": None,
            "archived_at": None,
            "archive_reason": None,
            "sort_key": now,
            "compatibility": marker_for_new_run(
                tx, namespace, task_queue, continued_from or parent.get("run_id")
            ),
        }
        tx.insert("runs", run)
        tx.execute(
            "UPDATE workflows SET current_run_id = ?, run_count = ? WHERE workflow_id = ?",
            (run_id, run_number, workflow_id),
        )
        common = {
            "workflow_command_id": command_id,
            "workflow_instance_id": workflow_id,
            "workflow_run_id": run_id,
            "workflow_class": workflow_type,
            "workflow_type": workflow_type,
            "business_key": business_key,
            "visibility_labels": None,
            "memo": memo or None,
            "search_attributes": search_attributes or None,
        }
        if accepted:
            command = {"id": command_id, "type": "start", "source": source, "status": "accepted"}
            self.engine.append_event(
                tx,
                run,
                "StartAccepted",
                {**common, "outcome": "started_new", "command": command},
                command_id=command_id,
                keep_nulls=True,
            )
        self.engine.append_event(
            tx,
            run,
            "WorkflowStarted",
            {
                **common,
                "execution_timeout_seconds": execution_timeout_seconds,
                "run_timeout_seconds": run_timeout_seconds,
                "execution_deadline_at": iso(execution_deadline_at),
                "run_deadline_at": iso(run_deadline_at),
                # not in the engine contract: lets the 0.4.84 SDK derive a deterministic ctx.now()
                "timestamp": iso(now),
                "parent_workflow_instance_id": parent.get("workflow_id"),
                "parent_workflow_run_id": parent.get("run_id"),
                "parent_sequence": parent.get("sequence"),
                "workflow_link_id": parent.get("workflow_link_id"),
                "child_call_id": parent.get("child_call_id"),
                "retry_policy": parent.get("retry_policy"),
                "retry_attempt": parent.get("retry_attempt"),
                "retry_of_child_workflow_run_id": parent.get("retry_of_run_id"),
                "continued_from_run_id": continued_from,
            },
            command_id=command_id,
        )
        if not dispatch_workflow_task:
            # a host run driven by the server itself (standalone activity): no workflow code to run
            self.engine.due(tx, run_deadline_at)
            return run
        task_id = self.engine.ensure_workflow_task(tx, run, {"resume_source_kind": "workflow_start"})
        if task_delay > 0 and task_id is not None:
            tx.update("workflow_tasks", {"id": task_id}, {"available_at": now + task_delay})
            self.engine.due(tx, now + task_delay)
        self.engine.due(tx, run_deadline_at)
        return run

    def cancel_workflow(self, namespace: str, workflow_id: str, reason: str | None) -> dict[str, Any]:
        """Close the current run as ``cancelled`` (activities, timers, tasks cancelled)."""
        return self._operator_close(namespace, workflow_id, reason, "cancel")

    def terminate_workflow(self, namespace: str, workflow_id: str, reason: str | None) -> dict[str, Any]:
        """Close the current run as ``terminated``."""
        return self._operator_close(namespace, workflow_id, reason, "terminate")

    def _operator_close(
        self, namespace: str, workflow_id: str, reason: str | None, kind: str
    ) -> dict[str, Any]:
        with self.store.transaction() as tx:
            run = self.engine.current_run(namespace, workflow_id, tx)
            if run["status"] in TERMINAL_STATUSES:
                raise self.engine.reject_closed(run)
            command_id, command_seq = self.engine.next_command(tx, workflow_id)
            self.close_by_operator(tx, run, kind, reason, command_id)
            outcome = "cancelled" if kind == "cancel" else "terminated"
            return self.engine.command_result(run, outcome, command_id, command_seq)

    def close_by_operator(
        self, tx: Transaction, run: dict[str, Any], kind: str, reason: str | None, command_id: str | None
    ) -> None:
        """Write the request/closed event pair and close ``run`` (also used by parent-close policies)."""
        requested, closed, status = (
            ("CancelRequested", "WorkflowCancelled", "cancelled")
            if kind == "cancel"
            else ("TerminateRequested", "WorkflowTerminated", "terminated")
        )
        base = {
            "workflow_command_id": command_id,
            "workflow_instance_id": run["workflow_id"],
            "workflow_run_id": run["run_id"],
        }
        self.engine.append_event(
            tx, run, requested, {**base, "command_type": kind, "reason": reason}, command_id=command_id
        )
        self.engine.activities.cancel_open(tx, run, command_id)
        message = reason or f"Workflow {status}."
        self.close_run(
            tx,
            run,
            status,
            status,
            closed,
            {
                **base,
                "failure_id": new_id(),
                "failure_category": status,
                "closed_reason": status,
                "exception_class": "WorkflowCancelled" if kind == "cancel" else "WorkflowTerminated",
                "message": message,
                "reason": reason,
            },
            command_id=command_id,
            failure={"message": message, "reason": reason},
        )

    def repair_workflow(self, namespace: str, workflow_id: str) -> dict[str, Any]:
        """Re-dispatch a workflow task when an open run has nothing that would wake it."""
        with self.store.transaction() as tx:
            run = self.engine.current_run(namespace, workflow_id, tx)
            if run["status"] in TERMINAL_STATUSES:
                raise self.engine.reject_closed(run)
            command_id, command_seq = self.engine.next_command(tx, workflow_id)
            live = tx.one(
                "SELECT 1 FROM workflow_tasks WHERE run_id = ? AND status IN ('ready', 'leased')"
                " UNION ALL SELECT 1 FROM steps WHERE run_id = ? AND status = 'open'"
                " UNION ALL SELECT 1 FROM condition_waits WHERE run_id = ? AND status = 'open' LIMIT 1",
                (run["run_id"], run["run_id"], run["run_id"]),
            )
            outcome = "repair_not_needed" if live is not None else "repair_dispatched"
            self.engine.append_event(
                tx,
                run,
                "RepairRequested",
                {
                    "workflow_command_id": command_id,
                    "workflow_instance_id": workflow_id,
                    "workflow_run_id": run["run_id"],
                    "command_type": "repair",
                    "outcome": outcome,
                },
                command_id=command_id,
            )
            if live is None:
                self.engine.ensure_workflow_task(tx, run, {"resume_source_kind": "repair"})
            return self.engine.command_result(run, outcome, command_id, command_seq)

    def archive_workflow(self, namespace: str, workflow_id: str, reason: str | None) -> dict[str, Any]:
        """Mark a closed run archived (409 ``run_not_closed`` while it is open)."""
        with self.store.transaction() as tx:
            run = self.engine.current_run(namespace, workflow_id, tx)
            if run["status"] not in TERMINAL_STATUSES:
                body = self.engine.command_result(
                    run, "rejected_run_not_closed", None, None, accepted=False, reason="run_not_closed"
                )
                body.pop("reason")
                raise ApiError(409, "run_not_closed", "Only closed runs can be archived.", **body)
            if run["archived_at"] is not None:
                return self.engine.command_result(run, "archive_not_needed", None, None)
            command_id, command_seq = self.engine.next_command(tx, workflow_id)
            base = {
                "workflow_command_id": command_id,
                "workflow_instance_id": workflow_id,
                "workflow_run_id": run["run_id"],
            }
            self.engine.append_event(
                tx,
                run,
                "ArchiveRequested",
                {**base, "command_type": "archive", "outcome": "archived", "reason": reason},
                command_id=command_id,
            )
            self.engine.append_event(
                tx,
                run,
                "WorkflowArchived",
                {**base, "archive_command_id": command_id, "reason": reason},
                command_id=command_id,
            )
            tx.update(
                "runs",
                {"run_id": run["run_id"]},
                {"archived_at": self.engine.now(), "archive_reason": reason},
            )
            return self.engine.command_result(run, "archived", command_id, command_seq)

    def close_run(
        self,
        tx: Transaction,
        run: dict[str, Any],
        status: str,
        closed_reason: str,
        event_type: str,
        payload: dict[str, Any],
        *,
        task_id: str | None = None,
        command_id: str | None = None,
        output: str | None = None,
        failure: dict[str, Any] | None = None,
    ) -> None:
        """Close ``run``: terminal event, status, cancel leftovers, parent-close policy, notify parent."""
        now = self.engine.now()
        self.engine.append_event(tx, run, event_type, payload, task_id=task_id, command_id=command_id)
        run.update(status=status, closed_reason=closed_reason, closed_at=now, output=output)
        tx.update(
            "runs",
            {"run_id": run["run_id"]},
            {
                "status": status,
                "closed_reason": closed_reason,
                "closed_at": now,
                "output": output,
                "failure": failure,
                "wait_kind": None,
                "sort_key": now,
            },
        )
        rid = run["run_id"]
        tx.execute(
            "UPDATE workflow_tasks SET status = 'cancelled'"
            " WHERE run_id = ? AND status IN ('ready', 'leased')",
            (rid,),
        )
        tx.execute("UPDATE timers SET status = 'cancelled' WHERE run_id = ? AND status = 'pending'", (rid,))
        tx.execute(
            "UPDATE condition_waits SET status = 'closed' WHERE run_id = ? AND status = 'open'", (rid,)
        )
        tx.execute("UPDATE steps SET status = 'closed' WHERE run_id = ? AND status = 'open'", (rid,))
        self.engine.activities.abandon_open(tx, run)
        for upd in tx.all("SELECT id FROM updates WHERE run_id = ? AND status = 'accepted'", (rid,)):
            tx.update(
                "updates",
                {"id": upd["id"]},
                {
                    "status": "failed",
                    "closed_at": now,
                    "failure": {
                        "message": "Workflow run closed before the update was applied.",
                        "reason": "run_closed",
                    },
                },
            )
            self.engine.messages.release_update(tx, upd["id"])
        if closed_reason != "continued":
            self.engine.children.apply_parent_close_policy(tx, run)
            children = self.engine.children
            if run["parent_run_id"] and not (status == "failed" and children.retry_child(tx, run, payload)):
                children.notify_parent(tx, run, status, closed_reason, output, payload)

    def continue_as_new(
        self, tx: Transaction, run: dict[str, Any], cmd: dict[str, Any], step: int, task_id: str
    ) -> dict[str, Any]:
        """Close ``run`` as continued and start the next run of the same instance."""
        arguments = cmd.get("arguments") if cmd.get("arguments") else run["input"]
        parent = None
        if run["parent_run_id"]:
            parent = {
                "workflow_id": run["parent_workflow_id"],
                "run_id": run["parent_run_id"],
                "sequence": run["parent_sequence"],
                "parent_close_policy": run["parent_close_policy"],
                "child_call_id": run["child_call_id"],
                "workflow_link_id": run["workflow_link_id"],
            }
        wf = tx.one("SELECT run_count FROM workflows WHERE workflow_id = ?", (run["workflow_id"],))
        next_number = int(wf["run_count"]) + 1 if wf else run["run_number"] + 1
        self.close_run(
            tx,
            run,
            "completed",
            "continued",
            "WorkflowContinuedAsNew",
            {
                "sequence": step,
                "continued_to_run_number": next_number,
                "closed_reason": "continued",
                "workflow_link_id": new_id(),
            },
            task_id=task_id,
        )
        new_run = self.create_run(
            tx,
            namespace=run["namespace"],
            workflow_id=run["workflow_id"],
            workflow_type=cmd.get("workflow_type") or run["workflow_type"],
            task_queue=cmd.get("queue") or run["task_queue"],
            input=arguments,
            payload_codec=run["payload_codec"],
            memo=loads(run["memo"], {}),
            search_attributes=loads(run["search_attributes"], {}),
            business_key=run["business_key"],
            execution_timeout_seconds=run["execution_timeout_seconds"],
            run_timeout_seconds=run["run_timeout_seconds"],
            command_id=None,
            accepted=False,
            execution_deadline_at=run["execution_deadline_at"],
            parent=parent,
            continued_from=run["run_id"],
        )
        # the closing event names the run it continued to
        last = tx.one(
            "SELECT payload FROM history_events WHERE run_id = ? AND sequence = ?",
            (run["run_id"], run["last_history_sequence"]),
        )
        if last is not None:
            payload = json.loads(last["payload"])
            payload["continued_to_run_id"] = new_run["run_id"]
            tx.execute(
                "UPDATE history_events SET payload = ? WHERE run_id = ? AND sequence = ?",
                (json.dumps(payload, separators=(",", ":")), run["run_id"], run["last_history_sequence"]),
            )
        if parent is not None:
            parent_run = self.engine.run(parent["run_id"], tx)
            if parent_run is not None and parent_run["status"] not in TERMINAL_STATUSES:
                payload = self.engine.children.child_common(new_run)
                payload.update(child_status=new_run["status"], parent_close_policy=run["parent_close_policy"])
                self.engine.append_event(tx, parent_run, "ChildRunStarted", payload)
                tx.execute(
                    "UPDATE steps SET ref_id = ? WHERE run_id = ? AND sequence = ?",
                    (new_run["run_id"], parent["run_id"], parent["sequence"]),
                )
        return new_run
