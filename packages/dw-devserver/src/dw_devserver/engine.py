"""The workflow engine: runs, history, workflow tasks, timers, children, updates, closing.

Every public method does its whole state change in one store transaction. History events are
appended with contiguous per-run ``sequence`` numbers; workflow step numbers (``payload.sequence``)
follow spec/history-events.md §1.5. Activity attempts live in :mod:`dw_devserver.activities`,
command application in :mod:`dw_devserver.completion`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from typing import TYPE_CHECKING, Any

from dw_devserver.build_id_routing import marker_for_new_run
from dw_devserver.clock import iso
from dw_devserver.codec import envelope, event_value
from dw_devserver.http import ApiError
from dw_devserver.ids import new_id
from dw_devserver.protocol import TERMINAL_STATUSES
from dw_devserver.store import Transaction, loads

if TYPE_CHECKING:
    from dw_devserver.runtime import Runtime

log = logging.getLogger("dw_devserver.engine")


def _clean(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if v is not None}


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


class Engine:
    """State transitions of workflow runs; see module docstring."""

    def __init__(self, rt: Runtime) -> None:
        from dw_devserver.activities import Activities
        from dw_devserver.completion import Completion
        from dw_devserver.standalone_activities import StandaloneActivities

        self.rt = rt
        self.store = rt.store
        self.activities = Activities(self)
        self.completion = Completion(self)
        self.standalone = StandaloneActivities(self)
        #: waiters for updates (update_id -> event), released when the update closes
        self._update_waiters: dict[str, asyncio.Event] = {}
        self._history_waiters: dict[str, asyncio.Event] = {}
        self._last_tick: float | None = None
        self._next_retention = 0.0

    def now(self) -> float:
        """Server-clock now."""
        return self.rt.clock.now()

    # ------------------------------------------------------------------ history and tasks

    def append_event(
        self,
        tx: Transaction,
        run: dict[str, Any],
        event_type: str,
        payload: dict[str, Any],
        *,
        task_id: str | None = None,
        command_id: str | None = None,
        keep_nulls: bool = False,
    ) -> int:
        """Append one history event to ``run`` (the dict's ``last_history_sequence`` is kept current)."""
        seq = int(run["last_history_sequence"]) + 1
        now = self.now()
        body = payload if keep_nulls else _clean(payload)
        tx.execute(
            "INSERT INTO history_events (run_id, sequence, id, event_type, payload, workflow_task_id,"
            " workflow_command_id, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run["run_id"],
                seq,
                new_id(),
                event_type,
                json.dumps(body, separators=(",", ":")),
                task_id,
                command_id,
                now,
            ),
        )
        tx.execute(
            "UPDATE runs SET last_history_sequence = ?, last_progress_at = ? WHERE run_id = ?",
            (seq, now, run["run_id"]),
        )
        run["last_history_sequence"] = seq
        run["last_progress_at"] = now
        if run["run_id"] in self._history_waiters:
            rid = run["run_id"]
            tx.after_commit(lambda: self._fire_history(rid))
        return seq

    def ensure_workflow_task(
        self,
        tx: Transaction,
        run: dict[str, Any],
        resume: dict[str, Any] | None = None,
        update_id: str | None = None,
    ) -> str | None:
        """Make sure a ready workflow task exists for ``run`` (one per run, plus one per update)."""
        if run["status"] in TERMINAL_STATUSES:
            return None
        if update_id is None:
            row = tx.one(
                "SELECT id FROM workflow_tasks WHERE run_id = ? AND status = 'ready' AND update_id IS NULL",
                (run["run_id"],),
            )
            if row is not None:
                if resume and resume.get("resume_source_kind") == "workflow_signal":
                    # the pending task now also delivers a signal (condition-wait rule of commands.md §1.1)
                    tx.update("workflow_tasks", {"id": row["id"]}, {"resume": resume})
                return str(row["id"])
        task_id = new_id()
        now = self.now()
        tx.insert(
            "workflow_tasks",
            {
                "id": task_id,
                "run_id": run["run_id"],
                "workflow_id": run["workflow_id"],
                "namespace": run["namespace"],
                "task_queue": run["task_queue"],
                "workflow_type": run["workflow_type"],
                "status": "ready",
                "available_at": now,
                "attempt_count": 0,
                "update_id": update_id,
                "resume": resume or {},
                "created_at": now,
            },
        )
        self.wake_queue(tx, "workflow", run["namespace"], run["task_queue"])
        return task_id

    def due(self, tx: Transaction, when: float | None) -> None:
        """Tell the scheduler (after commit) that something comes due at ``when``."""
        if when is not None:
            tx.after_commit(lambda: self.rt.scheduler.due(when))

    def wake_queue(self, tx: Transaction, family: str, namespace: str, queue: str) -> None:
        """Release long-polls of ``family`` on the queue once ``tx`` commits."""
        key = (family, namespace, queue)
        tx.after_commit(lambda: self.rt.wakeups.notify(key))

    # ------------------------------------------------------------------ lookups

    def run(self, run_id: str, tx: Transaction | None = None) -> dict[str, Any] | None:
        """A run row as a dict."""
        src = tx or self.store
        row = src.one("SELECT * FROM runs WHERE run_id = ?", (run_id,))
        return dict(row) if row is not None else None

    def current_run(self, namespace: str, workflow_id: str, tx: Transaction | None = None) -> dict[str, Any]:
        """The current run of an instance in ``namespace``; 404 ``instance_not_found`` otherwise."""
        src = tx or self.store
        wf = src.one("SELECT * FROM workflows WHERE workflow_id = ?", (workflow_id,))
        if wf is None or wf["namespace"] != namespace or wf["current_run_id"] is None:
            raise ApiError(
                404,
                "instance_not_found",
                f"Workflow instance '{workflow_id}' was not found.",
                workflow_id=workflow_id,
            )
        run = self.run(wf["current_run_id"], tx)
        assert run is not None
        run["run_count"] = wf["run_count"]
        return run

    def run_in_namespace(self, namespace: str, workflow_id: str, run_id: str) -> dict[str, Any]:
        """A specific run; 404 ``run_not_found`` when the workflow or the run is unknown here."""
        run = self.run(run_id)
        if run is None or run["namespace"] != namespace or run["workflow_id"] != workflow_id:
            raise ApiError(
                404,
                "run_not_found",
                f"Run '{run_id}' of workflow '{workflow_id}' was not found.",
                workflow_id=workflow_id,
                run_id=run_id,
            )
        wf = self.store.one(
            "SELECT run_count, current_run_id FROM workflows WHERE workflow_id = ?", (workflow_id,)
        )
        run["run_count"] = wf["run_count"] if wf else 1
        return run

    def next_command(self, tx: Transaction, workflow_id: str) -> tuple[str, int]:
        """A new control-plane command id and its per-instance sequence."""
        tx.execute(
            "UPDATE workflows SET command_count = command_count + 1 WHERE workflow_id = ?", (workflow_id,)
        )
        row = tx.one("SELECT command_count FROM workflows WHERE workflow_id = ?", (workflow_id,))
        return new_id(), int(row["command_count"]) if row else 1

    # ------------------------------------------------------------------ start

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
            current = self.run(existing["current_run_id"], tx)
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
                "created_at": self.now(),
            },
        )
        run = self._create_run(
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

    def _create_run(
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
        now = self.now()
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
            self.append_event(
                tx,
                run,
                "StartAccepted",
                {**common, "outcome": "started_new", "command": command},
                command_id=command_id,
                keep_nulls=True,
            )
        self.append_event(
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
            self.due(tx, run_deadline_at)
            return run
        task_id = self.ensure_workflow_task(tx, run, {"resume_source_kind": "workflow_start"})
        if task_delay > 0 and task_id is not None:
            tx.update("workflow_tasks", {"id": task_id}, {"available_at": now + task_delay})
            self.due(tx, now + task_delay)
        self.due(tx, run_deadline_at)
        return run

    # ------------------------------------------------------------------ control-plane commands

    def command_result(
        self,
        run: dict[str, Any],
        outcome: str | None,
        command_id: str | None,
        command_sequence: int | None,
        *,
        accepted: bool = True,
        reason: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """The command-result body shared by signal/update/cancel/terminate/repair/archive."""
        return {
            "outcome": outcome,
            "workflow_id": run["workflow_id"],
            "run_id": run["run_id"],
            "requested_run_id": None,
            "resolved_run_id": run["run_id"],
            "command_id": command_id,
            "command_sequence": command_sequence,
            "target_scope": "instance",
            "workflow_type": run["workflow_type"],
            "command_status": "accepted" if accepted else "rejected",
            "command_source": "control_plane",
            "reason": reason,
            "rejection_reason": None if accepted else reason,
            "validation_errors": {},
            **extra,
        }

    def _reject_closed(
        self, run: dict[str, Any], outcome: str = "rejected_not_active", **extra: Any
    ) -> ApiError:
        body = self.command_result(run, outcome, None, None, accepted=False, reason="run_not_active", **extra)
        body.pop("reason")
        return ApiError(409, "run_not_active", f"Workflow run '{run['run_id']}' is not active.", **body)

    def signal_workflow(
        self, namespace: str, workflow_id: str, signal_name: str, arguments: str | None, codec: str = "avro"
    ) -> dict[str, Any]:
        """Record a signal (``SignalReceived`` with its arguments) and wake the workflow."""
        with self.store.transaction() as tx:
            run = self.current_run(namespace, workflow_id, tx)
            if run["status"] in TERMINAL_STATUSES:
                raise self._reject_closed(run, signal_name=signal_name)
            command_id, command_seq = self.next_command(tx, workflow_id)
            signal_id = new_id()
            self.append_event(
                tx,
                run,
                "SignalReceived",
                {
                    "workflow_command_id": command_id,
                    "signal_id": signal_id,
                    "workflow_instance_id": workflow_id,
                    "workflow_run_id": run["run_id"],
                    "signal_name": signal_name,
                    "arguments": arguments,
                    "payload_codec": codec,
                },
                command_id=command_id,
            )
            self.ensure_workflow_task(
                tx,
                run,
                {
                    "resume_source_kind": "workflow_signal",
                    "workflow_signal_id": signal_id,
                    "signal_name": signal_name,
                },
            )
            return self.command_result(
                run, "signal_received", command_id, command_seq, signal_name=signal_name
            )

    def accept_update(
        self,
        namespace: str,
        workflow_id: str,
        update_name: str,
        arguments: str | None,
        codec: str,
        request_id: str | None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Write ``UpdateAccepted`` and queue an update task; returns (run, update row)."""
        with self.store.transaction() as tx:
            run = self.current_run(namespace, workflow_id, tx)
            if request_id:
                prior = tx.one(
                    "SELECT * FROM updates WHERE run_id = ? AND request_id = ? AND update_name = ?",
                    (run["run_id"], request_id, update_name),
                )
                if prior is not None:
                    return run, dict(prior)
            if run["status"] in TERMINAL_STATUSES:
                raise self._reject_closed(run, update_name=update_name)
            command_id, command_seq = self.next_command(tx, workflow_id)
            update_id = new_id()
            now = self.now()
            row = {
                "id": update_id,
                "run_id": run["run_id"],
                "workflow_id": workflow_id,
                "namespace": namespace,
                "update_name": update_name,
                "arguments": arguments,
                "payload_codec": codec,
                "status": "accepted",
                "command_id": command_id,
                "command_sequence": command_seq,
                "result": None,
                "failure": None,
                "workflow_sequence": None,
                "request_id": request_id,
                "accepted_at": now,
                "closed_at": None,
            }
            tx.insert("updates", row)
            self.append_event(
                tx,
                run,
                "UpdateAccepted",
                {
                    "workflow_command_id": command_id,
                    "update_id": update_id,
                    "workflow_instance_id": workflow_id,
                    "workflow_run_id": run["run_id"],
                    "update_name": update_name,
                    "arguments": event_value(arguments),
                    "payload_codec": codec,
                },
                command_id=command_id,
            )
            self.ensure_workflow_task(
                tx,
                run,
                {"resume_source_kind": "workflow_update", "workflow_update_id": update_id},
                update_id=update_id,
            )
            return run, row

    def update_event(self, update_id: str) -> asyncio.Event:
        """Event set when the update closes."""
        ev = self._update_waiters.get(update_id)
        if ev is None:
            ev = self._update_waiters[update_id] = asyncio.Event()
        return ev

    def release_update(self, tx: Transaction, update_id: str) -> None:
        """Wake callers waiting on ``update_id`` after commit."""

        def fire() -> None:
            ev = self._update_waiters.pop(update_id, None)
            if ev is not None:
                ev.set()

        tx.after_commit(fire)

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
            run = self.current_run(namespace, workflow_id, tx)
            if run["status"] in TERMINAL_STATUSES:
                raise self._reject_closed(run)
            command_id, command_seq = self.next_command(tx, workflow_id)
            self.close_by_operator(tx, run, kind, reason, command_id)
            outcome = "cancelled" if kind == "cancel" else "terminated"
            return self.command_result(run, outcome, command_id, command_seq)

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
        self.append_event(
            tx, run, requested, {**base, "command_type": kind, "reason": reason}, command_id=command_id
        )
        self.activities.cancel_open(tx, run, command_id)
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
            run = self.current_run(namespace, workflow_id, tx)
            if run["status"] in TERMINAL_STATUSES:
                raise self._reject_closed(run)
            command_id, command_seq = self.next_command(tx, workflow_id)
            live = tx.one(
                "SELECT 1 FROM workflow_tasks WHERE run_id = ? AND status IN ('ready', 'leased')"
                " UNION ALL SELECT 1 FROM steps WHERE run_id = ? AND status = 'open'"
                " UNION ALL SELECT 1 FROM condition_waits WHERE run_id = ? AND status = 'open' LIMIT 1",
                (run["run_id"], run["run_id"], run["run_id"]),
            )
            outcome = "repair_not_needed" if live is not None else "repair_dispatched"
            self.append_event(
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
                self.ensure_workflow_task(tx, run, {"resume_source_kind": "repair"})
            return self.command_result(run, outcome, command_id, command_seq)

    def archive_workflow(self, namespace: str, workflow_id: str, reason: str | None) -> dict[str, Any]:
        """Mark a closed run archived (409 ``run_not_closed`` while it is open)."""
        with self.store.transaction() as tx:
            run = self.current_run(namespace, workflow_id, tx)
            if run["status"] not in TERMINAL_STATUSES:
                body = self.command_result(
                    run, "rejected_run_not_closed", None, None, accepted=False, reason="run_not_closed"
                )
                body.pop("reason")
                raise ApiError(409, "run_not_closed", "Only closed runs can be archived.", **body)
            if run["archived_at"] is not None:
                return self.command_result(run, "archive_not_needed", None, None)
            command_id, command_seq = self.next_command(tx, workflow_id)
            base = {
                "workflow_command_id": command_id,
                "workflow_instance_id": workflow_id,
                "workflow_run_id": run["run_id"],
            }
            self.append_event(
                tx,
                run,
                "ArchiveRequested",
                {**base, "command_type": "archive", "outcome": "archived", "reason": reason},
                command_id=command_id,
            )
            self.append_event(
                tx,
                run,
                "WorkflowArchived",
                {**base, "archive_command_id": command_id, "reason": reason},
                command_id=command_id,
            )
            tx.update(
                "runs", {"run_id": run["run_id"]}, {"archived_at": self.now(), "archive_reason": reason}
            )
            return self.command_result(run, "archived", command_id, command_seq)

    # ------------------------------------------------------------------ closing

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
        now = self.now()
        self.append_event(tx, run, event_type, payload, task_id=task_id, command_id=command_id)
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
        self.activities.abandon_open(tx, run)
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
            self.release_update(tx, upd["id"])
        if closed_reason != "continued":
            self._apply_parent_close_policy(tx, run)
            if run["parent_run_id"] and not (status == "failed" and self._retry_child(tx, run, payload)):
                self._notify_parent(tx, run, status, closed_reason, output, payload)

    def history_event(self, run_id: str) -> asyncio.Event:
        """Event set when the next history event of ``run_id`` commits (history long-polls)."""
        ev = self._history_waiters.get(run_id)
        if ev is None:
            ev = self._history_waiters[run_id] = asyncio.Event()
        return ev

    def _fire_history(self, run_id: str) -> None:
        ev = self._history_waiters.pop(run_id, None)
        if ev is not None:
            ev.set()

    def _apply_parent_close_policy(self, tx: Transaction, run: dict[str, Any]) -> None:
        children = tx.all(
            "SELECT * FROM runs WHERE parent_run_id = ?"
            " AND status NOT IN ('completed', 'failed', 'cancelled',"
            " 'terminated') AND parent_close_policy IN ('request_cancel', 'terminate')",
            (run["run_id"],),
        )
        for row in children:
            child = dict(row)
            kind = "cancel" if child["parent_close_policy"] == "request_cancel" else "terminate"
            self.close_by_operator(tx, child, kind, f"Parent workflow {run['workflow_id']} closed.", None)

    def _retry_child(self, tx: Transaction, child: dict[str, Any], close_payload: dict[str, Any]) -> bool:
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
        parent_run = self.run(child["parent_run_id"], tx)
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
        retry = self._create_run(
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
        payload = self._child_common(retry)
        payload.update(
            child_status=retry["status"],
            parent_close_policy=child["parent_close_policy"],
            retry_policy=policy,
            retry_attempt=attempt + 1,
            retry_of_child_workflow_run_id=child["run_id"],
            retry_backoff_seconds=delay,
        )
        self.append_event(tx, parent_run, "ChildRunStarted", payload)
        tx.execute(
            "UPDATE steps SET ref_id = ? WHERE run_id = ? AND sequence = ?",
            (retry["run_id"], parent_run["run_id"], child["parent_sequence"]),
        )
        return True

    def _notify_parent(
        self,
        tx: Transaction,
        child: dict[str, Any],
        status: str,
        closed_reason: str,
        output: str | None,
        close_payload: dict[str, Any],
    ) -> None:
        parent = self.run(child["parent_run_id"], tx)
        if parent is None or parent["status"] in TERMINAL_STATUSES:
            return
        common = self._child_common(child)
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
        self.append_event(tx, parent, event, common)
        tx.execute(
            "UPDATE steps SET status = 'resolved' WHERE run_id = ? AND sequence = ?",
            (parent["run_id"], child["parent_sequence"]),
        )
        self.ensure_workflow_task(
            tx,
            parent,
            {
                "resume_source_kind": "child_workflow_run",
                "child_workflow_run_id": child["run_id"],
                "workflow_sequence": child["parent_sequence"],
                "workflow_event_type": event,
            },
        )

    def _child_common(self, child: dict[str, Any]) -> dict[str, Any]:
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
                "created_at": self.now(),
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
        return self._create_run(
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
        new_run = self._create_run(
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
            parent_run = self.run(parent["run_id"], tx)
            if parent_run is not None and parent_run["status"] not in TERMINAL_STATUSES:
                payload = self._child_common(new_run)
                payload.update(child_status=new_run["status"], parent_close_policy=run["parent_close_policy"])
                self.append_event(tx, parent_run, "ChildRunStarted", payload)
                tx.execute(
                    "UPDATE steps SET ref_id = ? WHERE run_id = ? AND sequence = ?",
                    (new_run["run_id"], parent["run_id"], parent["sequence"]),
                )
        return new_run

    # ------------------------------------------------------------------ scheduler work

    def tick(self, now: float) -> float | None:
        """Fire due timers, expire workflow-task leases, enforce run deadlines and activity timeouts."""
        self._release_delayed(now)
        sweep = self.rt.config.retention_sweep_seconds
        if sweep is not None and now >= self._next_retention:
            self._next_retention = now + sweep
            for ns in self.store.all("SELECT name FROM namespaces"):
                self.prune_expired_runs(ns["name"], limit=500)
        self._fire_timers(now)
        self._expire_workflow_leases(now)
        self._enforce_run_deadlines(now)
        self.activities.enforce_timeouts(now)
        candidates = [
            self.store.one("SELECT MIN(fire_at) AS t FROM timers WHERE status = 'pending'"),
            self.store.one("SELECT MIN(lease_expires_at) AS t FROM workflow_tasks WHERE status = 'leased'"),
            self.store.one(
                "SELECT MIN(available_at) AS t FROM workflow_tasks WHERE status = 'ready'"
                " AND available_at > ?",
                (now,),
            ),
            self.store.one(
                "SELECT MIN(run_deadline_at) AS t FROM runs WHERE status IN ('pending', 'running', 'waiting')"
            ),
            self.store.one(
                "SELECT MIN(deadline_at) AS t FROM activity_executions WHERE status IN"
                " ('scheduled', 'running')"
            ),
            self.store.one(
                "SELECT MIN(available_at) AS t FROM activity_executions WHERE status = 'scheduled'"
                " AND available_at > ?",
                (now,),
            ),
        ]
        times = [row["t"] for row in candidates if row is not None and row["t"] is not None]
        return min(times) if times else None

    def _release_delayed(self, now: float) -> None:
        """Wake long-polls for tasks whose backoff ended since the previous tick."""
        since = self._last_tick
        self._last_tick = now
        if since is None:
            since = 0.0
        for family, table, status in (
            ("workflow", "workflow_tasks", "ready"),
            ("activity", "activity_executions", "scheduled"),
        ):
            for row in self.store.all(
                f"SELECT DISTINCT namespace, task_queue FROM {table} WHERE status = ? AND available_at > ?"
                " AND available_at <= ?",
                (status, since, now),
            ):
                self.rt.wakeups.notify((family, row["namespace"], row["task_queue"]))

    def _fire_timers(self, now: float) -> None:
        due = self.store.all(
            "SELECT * FROM timers WHERE status = 'pending' AND fire_at <= ? ORDER BY fire_at, id LIMIT 200",
            (now,),
        )
        for timer in due:
            with self.store.transaction() as tx:
                current = tx.one("SELECT status FROM timers WHERE id = ?", (timer["id"],))
                if current is None or current["status"] != "pending":
                    continue
                run = self.run(timer["run_id"], tx)
                tx.update("timers", {"id": timer["id"]}, {"status": "fired"})
                if run is None or run["status"] in TERMINAL_STATUSES:
                    continue
                details = loads(timer["details"], {})
                self.append_event(
                    tx,
                    run,
                    "TimerFired",
                    {"timer_id": timer["id"], "sequence": timer["sequence"], **details, "fired_at": iso(now)},
                )
                if timer["timer_kind"] == "condition_timeout":
                    tx.execute(
                        "UPDATE condition_waits SET status = 'timed_out' WHERE id = ? AND status = 'open'",
                        (timer["condition_wait_id"],),
                    )
                    self.close_other_waits(tx, run["run_id"], timer["condition_wait_id"])
                else:
                    tx.execute(
                        "UPDATE steps SET status = 'resolved' WHERE run_id = ? AND sequence = ?",
                        (run["run_id"], timer["sequence"]),
                    )
                self.ensure_workflow_task(
                    tx,
                    run,
                    {
                        "resume_source_kind": "timer",
                        "timer_id": timer["id"],
                        "workflow_sequence": timer["sequence"],
                        "workflow_event_type": "TimerFired",
                    },
                )

    def close_other_waits(self, tx: Transaction, run_id: str, resolved_wait_id: str) -> None:
        """A logical wait resolved: retire its other physical opens (same key and fingerprint)
        and their timeout timers."""
        resolved = tx.one(
            "SELECT condition_key, fingerprint FROM condition_waits WHERE id = ?", (resolved_wait_id,)
        )
        if resolved is None:
            return
        for row in tx.all(
            "SELECT id, timer_id FROM condition_waits WHERE run_id = ? AND status = 'open' AND id != ?"
            " AND condition_key IS ? AND fingerprint IS ?",
            (run_id, resolved_wait_id, resolved["condition_key"], resolved["fingerprint"]),
        ):
            tx.update("condition_waits", {"id": row["id"]}, {"status": "superseded"})
            if row["timer_id"]:
                tx.execute(
                    "UPDATE timers SET status = 'cancelled' WHERE id = ? AND status = 'pending'",
                    (row["timer_id"],),
                )

    def _expire_workflow_leases(self, now: float) -> None:
        rows = self.store.all(
            "SELECT id, namespace, task_queue FROM workflow_tasks"
            " WHERE status = 'leased' AND lease_expires_at <= ?",
            (now,),
        )
        if not rows:
            return
        with self.store.transaction() as tx:
            for row in rows:
                tx.execute(
                    "UPDATE workflow_tasks SET status = 'ready', lease_owner = NULL, lease_expires_at = NULL,"
                    " available_at = ? WHERE id = ? AND status = 'leased'",
                    (now, row["id"]),
                )
                self.wake_queue(tx, "workflow", row["namespace"], row["task_queue"])

    def _enforce_run_deadlines(self, now: float) -> None:
        rows = self.store.all(
            "SELECT run_id FROM runs WHERE status IN ('pending', 'running', 'waiting')"
            " AND run_deadline_at <= ?"
            " LIMIT 100",
            (now,),
        )
        for row in rows:
            with self.store.transaction() as tx:
                run = self.run(row["run_id"], tx)
                if run is None or run["status"] in TERMINAL_STATUSES:
                    continue
                execution = run["execution_deadline_at"] is not None and run["execution_deadline_at"] <= now
                kind = "execution_timeout" if execution else "run_timeout"
                message = f"Workflow {'execution' if execution else 'run'} timed out."
                self.activities.cancel_open(tx, run, None)
                self.close_run(
                    tx,
                    run,
                    "failed",
                    "timed_out",
                    "WorkflowTimedOut",
                    {
                        "failure_id": new_id(),
                        "timeout_kind": kind,
                        "failure_category": "timeout",
                        "message": message,
                        "exception_class": "WorkflowTimedOut",
                        "execution_deadline_at": iso(run["execution_deadline_at"]),
                        "run_deadline_at": iso(run["run_deadline_at"]),
                    },
                    failure={"message": message, "timeout_kind": kind},
                )

    def idle_until(self) -> float | None:
        """When nothing can progress without time passing: the next time work comes due.

        None while a task is leased or ready, or an activity runs or is ready, or when nothing at
        all is scheduled. Timeouts and run deadlines do not count as work (a test skipping to
        "the next thing" should not time its own workflows out). For time-skipping test harnesses.
        """
        now = self.now()
        busy = self.store.one(
            "SELECT 1 AS busy WHERE EXISTS (SELECT 1 FROM workflow_tasks WHERE status = 'leased'"
            " OR (status = 'ready' AND available_at <= ?))"
            " OR EXISTS (SELECT 1 FROM activity_executions WHERE status = 'running'"
            " OR (status = 'scheduled' AND available_at <= ?))",
            (now, now),
        )
        if busy is not None:
            return None
        candidates = [
            self.store.one("SELECT MIN(fire_at) AS t FROM timers WHERE status = 'pending'"),
            self.store.one("SELECT MIN(available_at) AS t FROM workflow_tasks WHERE status = 'ready'"),
            self.store.one(
                "SELECT MIN(available_at) AS t FROM activity_executions WHERE status = 'scheduled'"
            ),
        ]
        times = [row["t"] for row in candidates if row is not None and row["t"] is not None]
        return min(times) if times else None

    def next_timer_due(self) -> float | None:
        """Epoch seconds (server clock) when the earliest pending timer fires; None without timers."""
        row = self.store.one("SELECT MIN(fire_at) AS t FROM timers WHERE status = 'pending'")
        return float(row["t"]) if row is not None and row["t"] is not None else None

    # ------------------------------------------------------------------ retention

    def prune_expired_runs(
        self, namespace: str, limit: int = 100, run_ids: list[str] | None = None
    ) -> list[dict[str, Any]]:
        """Delete closed runs past the namespace retention (or the given ids); returns per-run results."""
        ns = self.store.one("SELECT retention_days FROM namespaces WHERE name = ?", (namespace,))
        days = int(ns["retention_days"]) if ns is not None else self.rt.config.default_retention_days
        cutoff = self.now() - days * 86400
        if run_ids:
            marks = ",".join("?" for _ in run_ids)
            rows = self.store.all(
                f"SELECT * FROM runs WHERE namespace = ? AND run_id IN ({marks})", (namespace, *run_ids)
            )
        else:
            rows = self.store.all(
                "SELECT * FROM runs WHERE namespace = ? AND status IN ('completed', 'failed', 'cancelled',"
                " 'terminated') AND closed_at <= ? ORDER BY closed_at LIMIT ?",
                (namespace, cutoff, limit),
            )
        results = []
        for row in rows:
            if row["status"] not in TERMINAL_STATUSES:
                results.append({"run_id": row["run_id"], "outcome": "skipped", "reason": "run_not_closed"})
                continue
            with self.store.transaction() as tx:
                rid = row["run_id"]
                events = tx.execute("DELETE FROM history_events WHERE run_id = ?", (rid,)).rowcount
                tasks = tx.execute("DELETE FROM workflow_tasks WHERE run_id = ?", (rid,)).rowcount
                for table in ("timers", "condition_waits", "steps", "updates"):
                    tx.execute(f"DELETE FROM {table} WHERE run_id = ?", (rid,))
                tx.execute(
                    "DELETE FROM activity_attempts WHERE execution_id IN"
                    " (SELECT id FROM activity_executions WHERE run_id = ?)",
                    (rid,),
                )
                tx.execute("DELETE FROM activity_executions WHERE run_id = ?", (rid,))
                tx.execute("DELETE FROM runs WHERE run_id = ?", (rid,))
                remaining = tx.one(
                    "SELECT run_id FROM runs WHERE workflow_id = ? ORDER BY run_number DESC LIMIT 1",
                    (row["workflow_id"],),
                )
                if remaining is None:
                    tx.execute("DELETE FROM workflows WHERE workflow_id = ?", (row["workflow_id"],))
                results.append(
                    {
                        "run_id": rid,
                        "outcome": "pruned",
                        "history_events_deleted": events,
                        "tasks_deleted": tasks,
                        "external_payloads_deleted": 0,
                        "deleted": True,
                    }
                )
        return results

    def enforce_activity_timeouts(self, limit: int = 100) -> list[dict[str, Any]]:
        """Run one activity-timeout pass now; returns per-execution results."""
        return self.activities.enforce_timeouts(self.now(), limit=limit)

    def describe_payloads(self, run: dict[str, Any]) -> dict[str, Any]:
        """``input``/``output`` (decoded) and their envelopes for describe responses."""
        from dw_devserver.codec import try_decode

        codec = run["payload_codec"] or "avro"
        return {
            "input": try_decode(run["input"], codec) if run["input"] else [],
            "output": try_decode(run["output"], codec),
            "input_envelope": envelope(run["input"], codec),
            "output_envelope": envelope(run["output"], codec),
        }
