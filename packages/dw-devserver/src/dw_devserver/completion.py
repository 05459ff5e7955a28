"""Workflow tasks: claim with history, ownership guard, completion (command application), failure."""

from __future__ import annotations

import base64
import json
import re
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dw_devserver.build_id_routing import claim_filter
from dw_devserver.clock import iso
from dw_devserver.codec import envelope, event_value
from dw_devserver.commands import invalid_commands
from dw_devserver.http import ApiError
from dw_devserver.ids import new_id
from dw_devserver.protocol import TERMINAL_STATUSES
from dw_devserver.store import Transaction, loads

if TYPE_CHECKING:
    from dw_devserver.engine import Engine

RESUME_KEYS = (
    "workflow_wait_kind",
    "open_wait_id",
    "resume_source_kind",
    "resume_source_id",
    "workflow_update_id",
    "workflow_signal_id",
    "signal_name",
    "signal_wait_id",
    "workflow_command_id",
    "activity_execution_id",
    "activity_attempt_id",
    "activity_type",
    "child_call_id",
    "child_workflow_run_id",
    "workflow_sequence",
    "workflow_event_type",
    "timer_id",
    "condition_wait_id",
    "condition_key",
    "condition_definition_fingerprint",
)
#: Published Python SDKs up to 0.4.x send the pending yield again on every workflow task.
REEMITTING_SDK = re.compile(r"durable-workflow-python/0\.[0-4](\.|$)")
#: The marker our SDK sends when a workflow task has nothing new to say (dw-core README).
NOOP_CHANGE_ID = "durable-workflow.noop"
BLOCKING = {"schedule_activity": "activity", "start_timer": "timer", "start_child_workflow": "child"}
WAIT_KIND = {"activity": "activity", "timer": "timer", "child": "child"}


def event_json(row: Any, namespace: str | None = None, key: str = "event_type") -> dict[str, Any]:
    """A stored history event as its wire object."""
    out = {
        "id": row["id"],
        "sequence": row["sequence"],
        key: row["event_type"],
        "payload": json.loads(row["payload"]),
        "workflow_task_id": row["workflow_task_id"],
        "workflow_command_id": row["workflow_command_id"],
        "recorded_at": iso(row["recorded_at"]),
    }
    if namespace is not None:
        out["namespace"] = namespace
    return out


def page_token(after_sequence: int) -> str:
    """Opaque history page token: base64 of the last delivered sequence."""
    return base64.b64encode(str(after_sequence).encode()).decode()


def parse_page_token(token: Any) -> int:
    """Sequence after which the next page starts; 400 ``invalid_page_token`` when malformed."""
    try:
        text = base64.b64decode(str(token), validate=True).decode()
        if not text.isdigit():
            raise ValueError(text)
        return int(text)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_page_token", "The history page token is invalid.") from None


class Completion:
    """Workflow-task life cycle."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.store = engine.store

    # ---------------------------------------------------------------- claim

    def claim(
        self,
        namespace: str,
        queue: str,
        worker: Mapping[str, Any],
        types: list[str],
        page_size: int = 500,
    ) -> dict[str, Any] | None:
        """Lease the next ready workflow task the worker's cohort may take (one in flight per run)."""
        now = self.engine.now()
        worker_id = str(worker["worker_id"])
        routing, routing_params = claim_filter(worker, run_alias="r", new_work_sql="r.status = 'pending'")
        sql = (
            "SELECT t.* FROM workflow_tasks t JOIN runs r ON r.run_id = t.run_id"
            " WHERE t.namespace = ? AND t.task_queue = ?"
            " AND t.status = 'ready' AND t.available_at <= ?"
            " AND NOT EXISTS (SELECT 1 FROM workflow_tasks l WHERE l.run_id = t.run_id"
            " AND l.status = 'leased')" + routing
        )
        params: list[Any] = [namespace, queue, now, *routing_params]
        if types:
            sql += f" AND t.workflow_type IN ({','.join('?' for _ in types)})"
            params.extend(types)
        sql += " ORDER BY t.available_at, t.id LIMIT 1"
        with self.store.transaction() as tx:
            found = tx.one(sql, params)
            if found is None:
                return None
            task = dict(found)
            attempt = int(task["attempt_count"]) + 1
            lease = now + self.engine.rt.config.workflow_task_lease_seconds
            tx.update(
                "workflow_tasks",
                {"id": task["id"]},
                {
                    "status": "leased",
                    "attempt_count": attempt,
                    "lease_owner": worker_id,
                    "lease_expires_at": lease,
                },
            )
            run = self.engine.run(task["run_id"], tx)
            assert run is not None
            if run["status"] in ("pending", "waiting"):
                tx.update("runs", {"run_id": run["run_id"]}, {"status": "running"})
                run["status"] = "running"
            self.engine.due(tx, lease)
        events = self.store.all(
            "SELECT * FROM history_events WHERE run_id = ? ORDER BY sequence LIMIT ?",
            (run["run_id"], page_size),
        )
        last = int(run["last_history_sequence"])
        delivered = events[-1]["sequence"] if events else 0
        resume = loads(task["resume"], {})
        body: dict[str, Any] = {
            "task_id": task["id"],
            "workflow_id": run["workflow_id"],
            "run_id": run["run_id"],
            "workflow_task_attempt": attempt,
            "workflow_type": run["workflow_type"],
            "payload_codec": run["payload_codec"] or "avro",
            "arguments": envelope(run["input"], run["payload_codec"] or "avro"),
            "run_status": run["status"],
            "last_history_sequence": last,
            "history_events": [event_json(e, namespace) for e in events],
            "total_history_events": last,
            "next_history_page_token": page_token(delivered) if delivered < last else None,
            "task_queue": run["task_queue"],
            "connection": None,
            "compatibility": run["compatibility"],
            "lease_owner": worker_id,
            "lease_expires_at": iso(lease),
        }
        for key in RESUME_KEYS:
            body[key] = resume.get(key)
        body["workflow_update_id"] = task["update_id"]
        return body

    # ---------------------------------------------------------------- guard

    def guard(self, tx: Any, namespace: str, task_id: str, lease_owner: Any, attempt: Any) -> dict[str, Any]:
        """The ownership checks of worker-plane.md §4; returns the task row."""
        found = tx.one("SELECT * FROM workflow_tasks WHERE id = ?", (task_id,))
        base = {"task_id": task_id, "workflow_task_attempt": attempt}
        if found is None or found["namespace"] != namespace:
            raise ApiError(
                404,
                "task_not_found",
                f"Workflow task '{task_id}' was not found.",
                **base,
                error="task_not_found",
            )
        task = dict(found)
        if task["status"] != "leased":
            run = self.engine.run(task["run_id"], tx)
            if run is not None and run["status"] in TERMINAL_STATUSES:
                stop = {
                    "completed": "run_completed",
                    "failed": "run_failed",
                    "cancelled": "run_cancelled",
                    "terminated": "run_terminated",
                }.get(run["status"], "run_closed")
                raise ApiError(
                    409,
                    "run_closed",
                    "The workflow run is closed.",
                    **base,
                    error="run_closed",
                    stop_reason=stop,
                    cancel_requested=run["status"] in ("cancelled", "terminated"),
                    can_continue=False,
                    run_status=run["status"],
                    run_closed_reason=run["closed_reason"],
                    run_closed_at=iso(run["closed_at"]),
                    task_status=task["status"],
                    lease_owner=task["lease_owner"],
                    lease_expires_at=iso(task["lease_expires_at"]),
                )
            raise ApiError(
                409, "task_not_leased", "The workflow task is not leased.", **base, error="task_not_leased"
            )
        if task["lease_expires_at"] is not None and task["lease_expires_at"] <= self.engine.now():
            raise ApiError(
                409,
                "lease_expired",
                "The workflow task lease has expired.",
                **base,
                error="lease_expired",
                task_status="leased",
                lease_owner=task["lease_owner"],
                lease_expires_at=iso(task["lease_expires_at"]),
            )
        if task["lease_owner"] != lease_owner:
            raise ApiError(
                409,
                "lease_owner_mismatch",
                "The workflow task is leased to another worker.",
                **base,
                error="lease_owner_mismatch",
                lease_owner=task["lease_owner"],
            )
        if task["attempt_count"] != attempt:
            raise ApiError(
                409,
                "workflow_task_attempt_mismatch",
                "The workflow task attempt does not match.",
                **base,
                error="workflow_task_attempt_mismatch",
                current_attempt=task["attempt_count"],
            )
        return task

    def history_page(
        self, namespace: str, task_id: str, lease_owner: Any, attempt: Any, token: Any, page_size: int
    ) -> dict[str, Any]:
        """Next page of a leased task's history."""
        task = self.guard(self.store, namespace, task_id, lease_owner, attempt)
        after = parse_page_token(token)
        run = self.engine.run(task["run_id"])
        assert run is not None
        events = self.store.all(
            "SELECT * FROM history_events WHERE run_id = ? AND sequence > ? ORDER BY sequence LIMIT ?",
            (run["run_id"], after, page_size),
        )
        last = int(run["last_history_sequence"])
        delivered = events[-1]["sequence"] if events else after
        return {
            "task_id": task_id,
            "workflow_task_attempt": attempt,
            "history_events": [event_json(e, namespace) for e in events],
            "total_history_events": last,
            "next_history_page_token": page_token(delivered) if delivered < last else None,
        }

    # ---------------------------------------------------------------- fail

    def fail(
        self, namespace: str, task_id: str, lease_owner: Any, attempt: Any, failure: dict[str, Any]
    ) -> dict[str, Any]:
        """Mark the task failed and re-offer it after a backoff (the run itself keeps going)."""
        with self.store.transaction() as tx:
            task = self.guard(tx, namespace, task_id, lease_owner, attempt)
            n = int(task["attempt_count"])
            delay = min(float(2 ** min(n - 1, 6)), 60.0)
            tx.update(
                "workflow_tasks",
                {"id": task_id},
                {
                    "status": "ready",
                    "lease_owner": None,
                    "lease_expires_at": None,
                    "available_at": self.engine.now() + delay,
                    "last_error": failure.get("message"),
                },
            )
            self.engine.due(tx, self.engine.now() + delay)
            run = self.engine.run(task["run_id"], tx)
            return {
                "task_id": task_id,
                "workflow_task_attempt": attempt,
                "run_id": task["run_id"],
                "run_status": run["status"] if run is not None else None,
                "outcome": "failed",
                "recorded": True,
                "reason": None,
                "next_task_id": None,
                "retry_available_at": iso(self.engine.now() + delay),
            }

    # ---------------------------------------------------------------- complete

    def complete(
        self, namespace: str, task_id: str, lease_owner: Any, attempt: Any, commands: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """Apply a validated command batch in one transaction."""
        with self.store.transaction() as tx:
            task = self.guard(tx, namespace, task_id, lease_owner, attempt)
            run = self.engine.run(task["run_id"], tx)
            assert run is not None
            if run["status"] in TERMINAL_STATUSES:
                raise ApiError(
                    409,
                    "run_already_closed",
                    "The workflow run is already closed.",
                    task_id=task_id,
                    workflow_task_attempt=attempt,
                    outcome="completed",
                    recorded=False,
                )
            self._check_updates(tx, run, task, commands)
            created_before = {
                r["id"]
                for r in tx.all(
                    "SELECT id FROM workflow_tasks WHERE run_id = ? AND status = 'ready'", (run["run_id"],)
                )
            }
            tx.update("workflow_tasks", {"id": task_id}, {"status": "completed", "lease_expires_at": None})
            if self._reemits_pending_steps(tx, namespace, lease_owner):
                commands = self._drop_reemitted(tx, run, commands)
            if task["update_id"] is None:
                self._resolve_open_wait(tx, run, task, commands)
            step = int(run["last_history_sequence"]) + 1
            wait_kind = None
            for cmd in commands:
                ctype = cmd["type"]
                if ctype in ("complete_workflow", "fail_workflow", "continue_as_new"):
                    self._apply_terminal(tx, run, cmd, step, task_id)
                    break
                self._apply(tx, run, cmd, step, task_id)
                if ctype in BLOCKING:
                    wait_kind = WAIT_KIND[BLOCKING[ctype]]
                elif ctype == "open_condition_wait":
                    wait_kind = "condition"
                step += 1
            if run["status"] not in TERMINAL_STATUSES:
                values: dict[str, Any] = {"status": "waiting"}
                if wait_kind is not None:
                    values["wait_kind"] = wait_kind
                tx.update("runs", {"run_id": run["run_id"]}, values)
                run["status"] = "waiting"
                if task["update_id"] is not None and tx.one(
                    "SELECT 1 FROM condition_waits WHERE run_id = ? AND status = 'open'", (run["run_id"],)
                ):
                    # the update may have made a waiting condition true: let the main workflow re-check it
                    self.engine.ensure_workflow_task(
                        tx,
                        run,
                        {"resume_source_kind": "workflow_update", "workflow_update_id": task["update_id"]},
                    )
            created = [
                r["id"]
                for r in tx.all(
                    "SELECT id FROM workflow_tasks WHERE run_id = ? AND status = 'ready'", (run["run_id"],)
                )
                if r["id"] not in created_before
            ]
            return {
                "task_id": task_id,
                "workflow_task_attempt": attempt,
                "outcome": "completed",
                "recorded": True,
                "run_id": run["run_id"],
                "run_status": run["status"],
                "created_task_ids": created,
                "reason": None,
            }

    def _check_updates(
        self, tx: Transaction, run: dict[str, Any], task: dict[str, Any], commands: list[dict[str, Any]]
    ) -> None:
        for cmd in commands:
            if cmd["type"] not in ("complete_update", "fail_update"):
                continue
            if task["update_id"] is not None and cmd["update_id"] != task["update_id"]:
                raise invalid_commands(f"Update '{cmd['update_id']}' is not the update this task carries.")
            row = tx.one(
                "SELECT status FROM updates WHERE id = ? AND run_id = ?", (cmd["update_id"], run["run_id"])
            )
            if row is None or row["status"] != "accepted":
                raise invalid_commands(f"Update '{cmd['update_id']}' is not an accepted update of this run.")

    @staticmethod
    def _reemits_pending_steps(tx: Transaction, namespace: str, worker_id: Any) -> bool:
        row = tx.one(
            "SELECT sdk_version FROM workers WHERE namespace = ? AND worker_id = ?", (namespace, worker_id)
        )
        return row is not None and bool(REEMITTING_SDK.match(row["sdk_version"] or ""))

    def _drop_reemitted(
        self, tx: Transaction, run: dict[str, Any], commands: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Drop commands that re-emit the still-unresolved step group the workflow is blocked on.

        The 0.4.84 SDK emits the pending yield again on every task that replays past it (and the
        whole group for a partially resolved list yield); scheduling those again would run the
        activity twice.
        """
        first_open = tx.one(
            "SELECT batch_id FROM steps WHERE run_id = ? AND status = 'open' ORDER BY sequence LIMIT 1",
            (run["run_id"],),
        )
        if first_open is None:
            return commands
        group = Counter(
            (r["kind"], r["type"])
            for r in tx.all(
                "SELECT kind, type FROM steps WHERE run_id = ? AND batch_id = ?",
                (run["run_id"], first_open["batch_id"]),
            )
        )
        kept = []
        for cmd in commands:
            kind = BLOCKING.get(cmd["type"])
            if kind is not None:
                key = (kind, self._step_type(cmd))
                if group[key] > 0:
                    group[key] -= 1
                    continue
            kept.append(cmd)
        return kept

    @staticmethod
    def _step_type(cmd: dict[str, Any]) -> str | None:
        if cmd["type"] == "schedule_activity":
            return str(cmd["activity_type"])
        if cmd["type"] == "start_child_workflow":
            return str(cmd["workflow_type"])
        return None

    def _resolve_open_wait(
        self, tx: Transaction, run: dict[str, Any], task: dict[str, Any], commands: list[dict[str, Any]]
    ) -> None:
        """Record the pending condition wait satisfied when the workflow has moved past it.

        The batch re-opening the same logical wait (same key and fingerprint) means the predicate
        is still false; a batch with only the no-op marker from a task not resumed by a signal or
        update says nothing; anything else means the wait resolved true (commands.md §1.1).
        """
        wait = tx.one(
            "SELECT * FROM condition_waits WHERE run_id = ? AND status = 'open'"
            " ORDER BY sequence DESC LIMIT 1",
            (run["run_id"],),
        )
        if wait is None:
            return
        resume = loads(task["resume"], {})
        for cmd in commands:
            if cmd["type"] == "open_condition_wait" and (
                cmd.get("condition_key"),
                cmd.get("condition_definition_fingerprint"),
            ) == (wait["condition_key"], wait["fingerprint"]):
                return
        only_noop = all(
            c["type"] == "record_version_marker" and c["change_id"] == NOOP_CHANGE_ID for c in commands
        )
        if only_noop and resume.get("resume_source_kind") not in ("workflow_signal", "workflow_update"):
            return
        tx.update("condition_waits", {"id": wait["id"]}, {"status": "satisfied"})
        self.engine.append_event(
            tx,
            run,
            "ConditionWaitSatisfied",
            {
                "condition_wait_id": wait["id"],
                "condition_key": wait["condition_key"],
                "condition_definition_fingerprint": wait["fingerprint"],
                "sequence": wait["sequence"],
                "timer_id": wait["timer_id"],
                "timeout_seconds": wait["timeout_seconds"],
                "workflow_signal_id": resume.get("workflow_signal_id"),
                "signal_name": resume.get("signal_name"),
            },
            task_id=task["id"],
        )
        self._cancel_wait_timer(tx, run, dict(wait), task["id"])
        self.engine.due_work.close_other_waits(tx, run["run_id"], wait["id"])

    def _cancel_wait_timer(
        self, tx: Transaction, run: dict[str, Any], wait: dict[str, Any], task_id: str
    ) -> None:
        if not wait["timer_id"]:
            return
        timer = tx.one("SELECT * FROM timers WHERE id = ? AND status = 'pending'", (wait["timer_id"],))
        if timer is None:
            return
        tx.update("timers", {"id": timer["id"]}, {"status": "cancelled"})
        self.engine.append_event(
            tx,
            run,
            "TimerCancelled",
            {
                "timer_id": timer["id"],
                "sequence": timer["sequence"],
                **loads(timer["details"], {}),
                "cancelled_at": iso(self.engine.now()),
            },
            task_id=task_id,
        )

    def _apply(
        self, tx: Transaction, run: dict[str, Any], cmd: dict[str, Any], step: int, task_id: str
    ) -> None:
        ctype = cmd["type"]
        eng = self.engine
        if ctype == "schedule_activity":
            eng.activities.schedule(tx, run, cmd, step, task_id)
        elif ctype == "start_timer":
            self._timer(
                tx, run, step, task_id, cmd["delay_seconds"], None, {"delay_seconds": cmd["delay_seconds"]}
            )
            tx.insert(
                "steps",
                {
                    "run_id": run["run_id"],
                    "sequence": step,
                    "kind": "timer",
                    "type": None,
                    "ref_id": f"timer:{step}",
                    "status": "open",
                    "batch_id": task_id,
                },
            )
        elif ctype == "open_condition_wait":
            # A re-open after a non-satisfying signal keeps the earlier physical waits (and their
            # timers) open: the first deadline of the logical wait still wins.
            wait_id = new_id()
            timeout = cmd.get("timeout_seconds")
            details = {
                "condition_wait_id": wait_id,
                "condition_key": cmd.get("condition_key"),
                "condition_definition_fingerprint": cmd.get("condition_definition_fingerprint"),
            }
            eng.append_event(
                tx,
                run,
                "ConditionWaitOpened",
                {**details, "sequence": step, "timeout_seconds": timeout},
                task_id=task_id,
            )
            timer_id = None
            if timeout:
                timer_id = self._timer(
                    tx,
                    run,
                    step,
                    task_id,
                    timeout,
                    "condition_timeout",
                    {"delay_seconds": timeout, **details},
                )
            tx.insert(
                "condition_waits",
                {
                    "id": wait_id,
                    "run_id": run["run_id"],
                    "sequence": step,
                    "condition_key": cmd.get("condition_key"),
                    "fingerprint": cmd.get("condition_definition_fingerprint"),
                    "timeout_seconds": timeout,
                    "timer_id": timer_id,
                    "status": "open",
                },
            )
        elif ctype == "start_child_workflow":
            child = eng.children.start_child(tx, run, cmd, step, task_id)
            tx.insert(
                "steps",
                {
                    "run_id": run["run_id"],
                    "sequence": step,
                    "kind": "child",
                    "type": cmd["workflow_type"],
                    "ref_id": child["run_id"],
                    "status": "open",
                    "batch_id": task_id,
                },
            )
            common = eng.children.child_common(child)
            extra = {
                "parent_close_policy": cmd["parent_close_policy"],
                "retry_policy": cmd.get("retry_policy"),
                "timeout_policy": {
                    "execution_timeout_seconds": cmd.get("execution_timeout_seconds"),
                    "run_timeout_seconds": cmd.get("run_timeout_seconds"),
                },
            }
            eng.append_event(tx, run, "ChildWorkflowScheduled", {**common, **extra}, task_id=task_id)
            eng.append_event(
                tx,
                run,
                "ChildRunStarted",
                {
                    **common,
                    **extra,
                    "child_status": child["status"],
                    "execution_timeout_seconds": cmd.get("execution_timeout_seconds"),
                    "run_timeout_seconds": cmd.get("run_timeout_seconds"),
                    "execution_deadline_at": iso(child["execution_deadline_at"]),
                    "run_deadline_at": iso(child["run_deadline_at"]),
                },
                task_id=task_id,
            )
        elif ctype == "record_side_effect":
            eng.append_event(
                tx,
                run,
                "SideEffectRecorded",
                {"sequence": step, "result": event_value(cmd["result"])},
                task_id=task_id,
            )
        elif ctype == "record_version_marker":
            eng.append_event(
                tx,
                run,
                "VersionMarkerRecorded",
                {
                    "sequence": step,
                    "change_id": cmd["change_id"],
                    "version": cmd["version"],
                    "min_supported": cmd["min_supported"],
                    "max_supported": cmd["max_supported"],
                },
                task_id=task_id,
            )
        elif ctype == "upsert_search_attributes":
            merged = loads(run["search_attributes"], {})
            for key, value in cmd["attributes"].items():
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = value
            merged = dict(sorted(merged.items()))
            run["search_attributes"] = json.dumps(merged)
            tx.update("runs", {"run_id": run["run_id"]}, {"search_attributes": merged})
            eng.append_event(
                tx,
                run,
                "SearchAttributesUpserted",
                {"sequence": step, "attributes": cmd["attributes"], "merged": merged},
                task_id=task_id,
            )
        elif ctype in ("complete_update", "fail_update"):
            self._close_update(tx, run, cmd, step, task_id)

    def _timer(
        self,
        tx: Transaction,
        run: dict[str, Any],
        step: int,
        task_id: str,
        delay: int,
        kind: str | None,
        details: dict[str, Any],
    ) -> str:
        timer_id = new_id()
        fire_at = self.engine.now() + delay
        extra = {k: v for k, v in details.items() if v is not None and k != "delay_seconds"}
        if kind:
            extra["timer_kind"] = kind
        tx.insert(
            "timers",
            {
                "id": timer_id,
                "run_id": run["run_id"],
                "sequence": step,
                "fire_at": fire_at,
                "status": "pending",
                "timer_kind": kind,
                "condition_wait_id": details.get("condition_wait_id"),
                "details": {"delay_seconds": delay, **extra},
            },
        )
        self.engine.append_event(
            tx,
            run,
            "TimerScheduled",
            {
                "timer_id": timer_id,
                "sequence": step,
                "delay_seconds": delay,
                "fire_at": iso(fire_at),
                **extra,
            },
            task_id=task_id,
        )
        self.engine.due(tx, fire_at)
        return timer_id

    def _close_update(
        self, tx: Transaction, run: dict[str, Any], cmd: dict[str, Any], step: int, task_id: str
    ) -> None:
        found = tx.one("SELECT * FROM updates WHERE id = ?", (cmd["update_id"],))
        assert found is not None  # checked by _check_updates in the same transaction
        upd = dict(found)
        base = {
            "workflow_command_id": upd["command_id"],
            "update_id": upd["id"],
            "workflow_instance_id": run["workflow_id"],
            "workflow_run_id": run["run_id"],
            "update_name": upd["update_name"],
            "sequence": step,
        }
        now = self.engine.now()
        if cmd["type"] == "complete_update":
            self.engine.append_event(
                tx,
                run,
                "UpdateApplied",
                {
                    **base,
                    "arguments": event_value(upd["arguments"]),
                    "payload_codec": upd["payload_codec"],
                },
                task_id=task_id,
                command_id=upd["command_id"],
            )
            self.engine.append_event(
                tx,
                run,
                "UpdateCompleted",
                {**base, "result": event_value(cmd.get("result"))},
                task_id=task_id,
                command_id=upd["command_id"],
            )
            tx.update(
                "updates",
                {"id": upd["id"]},
                {
                    "status": "completed",
                    "result": cmd.get("result"),
                    "closed_at": now,
                    "workflow_sequence": step,
                },
            )
        else:
            failure = {
                "failure_id": new_id(),
                "failure_category": "application",
                "non_retryable": cmd["non_retryable"],
                "exception_type": cmd.get("exception_type"),
                "exception_class": cmd.get("exception_class") or "RuntimeException",
                "message": cmd["message"],
                "code": 0,
            }
            self.engine.append_event(
                tx,
                run,
                "UpdateCompleted",
                {
                    **base,
                    **failure,
                    "exception": {"type": cmd.get("exception_type"), "message": cmd["message"]},
                },
                task_id=task_id,
                command_id=upd["command_id"],
            )
            tx.update(
                "updates",
                {"id": upd["id"]},
                {"status": "failed", "failure": failure, "closed_at": now, "workflow_sequence": step},
            )
        self.engine.messages.release_update(tx, upd["id"])

    def _apply_terminal(
        self, tx: Transaction, run: dict[str, Any], cmd: dict[str, Any], step: int, task_id: str
    ) -> None:
        eng = self.engine
        if cmd["type"] == "complete_workflow":
            eng.lifecycle.close_run(
                tx,
                run,
                "completed",
                "completed",
                "WorkflowCompleted",
                {
                    "output": event_value(cmd.get("result")),
                    "payload_codec": cmd.get("payload_codec") or "avro",
                },
                task_id=task_id,
                output=cmd.get("result"),
            )
        elif cmd["type"] == "fail_workflow":
            payload = {
                "failure_id": new_id(),
                "source_kind": "workflow_run",
                "source_id": run["run_id"],
                "failure_category": "application",
                "non_retryable": cmd["non_retryable"],
                "exception_type": cmd.get("exception_type"),
                "exception_class": cmd.get("exception_class")
                or cmd.get("exception_type")
                or "RuntimeException",
                "message": cmd["message"],
                "exception": {
                    "class": cmd.get("exception_class"),
                    "type": cmd.get("exception_type"),
                    "message": cmd["message"],
                    "code": 0,
                },
            }
            eng.lifecycle.close_run(
                tx,
                run,
                "failed",
                "failed",
                "WorkflowFailed",
                payload,
                task_id=task_id,
                failure={"message": cmd["message"], "exception_type": cmd.get("exception_type")},
            )
        else:
            eng.lifecycle.continue_as_new(tx, run, cmd, step, task_id)
