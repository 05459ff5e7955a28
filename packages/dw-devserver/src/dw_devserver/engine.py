"""The workflow engine's core: history appends, workflow tasks, run lookups and command results.

Every public method does its whole state change in one store transaction. History events are
appended with contiguous per-run ``sequence`` numbers; workflow step numbers (``payload.sequence``)
follow spec/history-events.md §1.5. The rest of the engine lives in one component per reason to
change, reachable from here: :attr:`Engine.lifecycle` (:mod:`dw_devserver.run_lifecycle`: start,
close, cancel/terminate, repair, archive, continue-as-new), :attr:`Engine.children`
(:mod:`dw_devserver.child_workflows`), :attr:`Engine.messages` (:mod:`dw_devserver.workflow_messages`:
signals, updates), :attr:`Engine.activities` (:mod:`dw_devserver.activities`: dispatch, attempts,
retries, timeouts), :attr:`Engine.standalone` (:mod:`dw_devserver.standalone_activities`),
:attr:`Engine.completion` (:mod:`dw_devserver.completion`: applying a task's commands),
:attr:`Engine.due_work` (:mod:`dw_devserver.due_work`: the scheduler tick) and
:attr:`Engine.retention` (:mod:`dw_devserver.retention`). The entry points route modules use
(``start_workflow``, ``signal_workflow``, ``cancel_workflow``, ``terminate_workflow``,
``prune_expired_runs``, ``enforce_activity_timeouts``, ``idle_until``, ``next_timer_due``) stay
on :class:`Engine`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

from dw_devserver.codec import envelope
from dw_devserver.http import ApiError
from dw_devserver.ids import new_id
from dw_devserver.protocol import TERMINAL_STATUSES
from dw_devserver.run_lifecycle import StartResult
from dw_devserver.store import Transaction

if TYPE_CHECKING:
    from dw_devserver.runtime import Runtime

log = logging.getLogger("dw_devserver.engine")


def _clean(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if v is not None}


class Engine:
    """State transitions of workflow runs; see module docstring."""

    def __init__(self, rt: Runtime) -> None:
        from dw_devserver.activities import Activities
        from dw_devserver.child_workflows import ChildWorkflows
        from dw_devserver.completion import Completion
        from dw_devserver.due_work import DueWork
        from dw_devserver.retention import Retention
        from dw_devserver.run_lifecycle import RunLifecycle
        from dw_devserver.standalone_activities import StandaloneActivities
        from dw_devserver.workflow_messages import WorkflowMessages

        self.rt = rt
        self.store = rt.store
        self._history_waiters: dict[str, asyncio.Event] = {}
        self.lifecycle = RunLifecycle(self)
        self.children = ChildWorkflows(self)
        self.messages = WorkflowMessages(self)
        self.activities = Activities(self)
        self.completion = Completion(self)
        self.standalone = StandaloneActivities(self)
        self.due_work = DueWork(self)
        self.retention = Retention(self)

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

    # ------------------------------------------------------------------ command results

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

    def reject_closed(
        self, run: dict[str, Any], outcome: str = "rejected_not_active", **extra: Any
    ) -> ApiError:
        body = self.command_result(run, outcome, None, None, accepted=False, reason="run_not_active", **extra)
        body.pop("reason")
        return ApiError(409, "run_not_active", f"Workflow run '{run['run_id']}' is not active.", **body)

    # ------------------------------------------------------------------ history long-polls

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

    # ------------------------------------------------------------------ views and passes

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

    # ------------------------------------------------------------------ entry points for route modules

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
        """Start a new workflow instance (or return/reject per ``duplicate_policy``).

        See :meth:`dw_devserver.run_lifecycle.RunLifecycle.start_workflow`.
        """
        return self.lifecycle.start_workflow(
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
            tx=tx,
            dispatch_workflow_task=dispatch_workflow_task,
        )

    def signal_workflow(
        self, namespace: str, workflow_id: str, signal_name: str, arguments: str | None, codec: str = "avro"
    ) -> dict[str, Any]:
        """Record a signal and wake the workflow; see :meth:`WorkflowMessages.signal_workflow`."""
        return self.messages.signal_workflow(namespace, workflow_id, signal_name, arguments, codec)

    def cancel_workflow(self, namespace: str, workflow_id: str, reason: str | None) -> dict[str, Any]:
        """Close the current run as ``cancelled``."""
        return self.lifecycle.cancel_workflow(namespace, workflow_id, reason)

    def terminate_workflow(self, namespace: str, workflow_id: str, reason: str | None) -> dict[str, Any]:
        """Close the current run as ``terminated``."""
        return self.lifecycle.terminate_workflow(namespace, workflow_id, reason)

    def tick(self, now: float) -> float | None:
        """The scheduler callback; see :meth:`DueWork.tick`."""
        return self.due_work.tick(now)

    def idle_until(self) -> float | None:
        """When nothing can progress without time passing; see :meth:`DueWork.idle_until`."""
        return self.due_work.idle_until()

    def next_timer_due(self) -> float | None:
        """Epoch seconds when the earliest pending timer fires; None without timers."""
        return self.due_work.next_timer_due()

    def prune_expired_runs(
        self, namespace: str, limit: int = 100, run_ids: list[str] | None = None
    ) -> list[dict[str, Any]]:
        """Delete closed runs past retention; see :meth:`Retention.prune_expired_runs`."""
        return self.retention.prune_expired_runs(namespace, limit, run_ids)
