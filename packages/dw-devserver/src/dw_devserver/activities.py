"""Activity executions: scheduling, attempts and leases, retries with backoff, timeouts, cancellation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dw_devserver.build_id_routing import claim_filter
from dw_devserver.clock import iso
from dw_devserver.codec import envelope, event_value
from dw_devserver.http import ApiError
from dw_devserver.ids import new_id
from dw_devserver.protocol import TERMINAL_STATUSES
from dw_devserver.standalone_activities import STANDALONE_WORKFLOW_TYPE
from dw_devserver.store import Transaction, loads

if TYPE_CHECKING:
    from dw_devserver.engine import Engine

OPEN = ("scheduled", "running")


class Activities:
    """Activity state machine; every method runs inside the caller's or its own transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.store = engine.store

    # ---------------------------------------------------------------- scheduling

    def schedule(
        self, tx: Transaction, run: dict[str, Any], cmd: dict[str, Any], step: int, task_id: str
    ) -> str:
        """Create an execution for a ``schedule_activity`` command and write ``ActivityScheduled``."""
        now = self.engine.now()
        exec_id = new_id()
        queue = cmd.get("queue") or run["task_queue"]
        policy = cmd.get("retry_policy")
        timeouts = {
            k: cmd.get(k)
            for k in (
                "start_to_close_timeout",
                "schedule_to_start_timeout",
                "schedule_to_close_timeout",
                "heartbeat_timeout",
            )
        }
        snapshot = None
        if policy is not None or any(v is not None for v in timeouts.values()):
            snapshot = {
                "snapshot_version": 1,
                "max_attempts": (policy or {}).get("max_attempts", 1),
                "backoff_seconds": (policy or {}).get("backoff_seconds", []),
                **timeouts,
                "non_retryable_error_types": (policy or {}).get("non_retryable_error_types", []),
            }
        row = {
            "id": exec_id,
            "run_id": run["run_id"],
            "workflow_id": run["workflow_id"],
            "namespace": run["namespace"],
            "task_queue": queue,
            "activity_type": cmd["activity_type"],
            "sequence": step,
            "arguments": cmd.get("arguments"),
            "payload_codec": cmd.get("payload_codec") or "avro",
            "status": "scheduled",
            "retry_policy": snapshot,
            "max_attempts": (policy or {}).get("max_attempts", 1),
            **timeouts,
            "attempt_count": 0,
            "current_task_id": new_id(),
            "current_attempt_id": None,
            "lease_owner": None,
            "lease_expires_at": None,
            "available_at": now,
            "scheduled_at": now,
            "attempt_started_at": None,
            "last_heartbeat_at": None,
            "deadline_at": None,
            "closed_at": None,
        }
        row["deadline_at"] = self._deadline(row)
        tx.insert("activity_executions", row)
        tx.insert(
            "steps",
            {
                "run_id": run["run_id"],
                "sequence": step,
                "kind": "activity",
                "type": cmd["activity_type"],
                "ref_id": exec_id,
                "status": "open",
                "batch_id": task_id,
            },
        )
        self.engine.append_event(
            tx,
            run,
            "ActivityScheduled",
            {**self._common(row), "activity": self._snapshot(row)},
            task_id=task_id,
        )
        self.engine.wake_queue(tx, "activity", run["namespace"], queue)
        self.engine.due(tx, row["deadline_at"])
        return exec_id

    def _common(self, row: dict[str, Any] | Any) -> dict[str, Any]:
        return {
            "activity_execution_id": row["id"],
            "activity_class": row["activity_type"],
            "activity_type": row["activity_type"],
            "sequence": row["sequence"],
        }

    def _snapshot(self, row: dict[str, Any] | Any) -> dict[str, Any]:
        return {
            k: v
            for k, v in {
                "id": row["id"],
                "sequence": row["sequence"],
                "type": row["activity_type"],
                "class": row["activity_type"],
                "attempt_id": row["current_attempt_id"],
                "status": row["status"],
                "payload_codec": row["payload_codec"],
                "attempt_count": row["attempt_count"],
                "retry_policy": loads(row["retry_policy"])
                if isinstance(row["retry_policy"], str)
                else row["retry_policy"],
                "queue": row["task_queue"],
                "arguments": event_value(row["arguments"]),
                "created_at": iso(row["scheduled_at"]),
            }.items()
            if v is not None
        }

    def _save_execution(self, tx: Transaction, execution: dict[str, Any], **changes: Any) -> None:
        """Apply ``changes`` to an execution row, recompute its deadline, and write just those columns.

        The deadline depends on the lease, attempt start and heartbeat, so every change to them must
        move it in the same write, or the timeout enforcer would look at a stale time.
        """
        execution.update(changes)
        execution["deadline_at"] = self._deadline(execution)
        tx.update(
            "activity_executions",
            {"id": execution["id"]},
            {**changes, "deadline_at": execution["deadline_at"]},
        )

    def _deadline(self, row: dict[str, Any]) -> float | None:
        """Earliest time the timeout enforcer must look at this execution."""
        times: list[float] = []
        if row["schedule_to_close_timeout"]:
            times.append(row["scheduled_at"] + row["schedule_to_close_timeout"])
        if row["status"] == "scheduled":
            if row["schedule_to_start_timeout"]:
                times.append(row["scheduled_at"] + row["schedule_to_start_timeout"])
        elif row["status"] == "running":
            if row["lease_expires_at"]:
                times.append(row["lease_expires_at"])
            if row["start_to_close_timeout"] and row["attempt_started_at"]:
                times.append(row["attempt_started_at"] + row["start_to_close_timeout"])
            if row["heartbeat_timeout"]:
                base = row["last_heartbeat_at"] or row["attempt_started_at"]
                if base:
                    times.append(base + row["heartbeat_timeout"])
        return min(times) if times else None

    # ---------------------------------------------------------------- claim

    def claim(
        self, namespace: str, queue: str, worker: Mapping[str, Any], types: list[str]
    ) -> dict[str, Any] | None:
        """Lease the next ready activity attempt the worker's cohort may take; None when none is ready."""
        now = self.engine.now()
        worker_id = str(worker["worker_id"])
        routing, routing_params = claim_filter(
            worker, run_alias="r", new_work_sql=f"r.workflow_type = '{STANDALONE_WORKFLOW_TYPE}'"
        )
        sql = (
            "SELECT a.* FROM activity_executions a JOIN runs r ON r.run_id = a.run_id"
            " WHERE a.namespace = ? AND a.task_queue = ?"
            " AND a.status = 'scheduled'"
            " AND a.available_at <= ?" + routing
        )
        params: list[Any] = [namespace, queue, now, *routing_params]
        if types:
            sql += f" AND a.activity_type IN ({','.join('?' for _ in types)})"
            params.extend(types)
        sql += " ORDER BY a.available_at, a.id LIMIT 1"
        with self.store.transaction() as tx:
            found = tx.one(sql, params)
            if found is None:
                return None
            row = dict(found)
            run = self.engine.run(row["run_id"], tx)
            assert run is not None
            attempt_id = new_id()
            attempt_number = int(row["attempt_count"]) + 1
            lease = now + self.engine.rt.config.activity_lease_seconds
            self._save_execution(
                tx,
                row,
                status="running",
                attempt_count=attempt_number,
                current_attempt_id=attempt_id,
                lease_owner=worker_id,
                lease_expires_at=lease,
                attempt_started_at=now,
                last_heartbeat_at=None,
            )
            tx.insert(
                "activity_attempts",
                {
                    "id": attempt_id,
                    "execution_id": row["id"],
                    "task_id": row["current_task_id"],
                    "namespace": namespace,
                    "attempt_number": attempt_number,
                    "status": "running",
                    "lease_owner": worker_id,
                    "started_at": now,
                },
            )
            self.engine.append_event(
                tx,
                run,
                "ActivityStarted",
                {
                    **self._common(row),
                    "activity_attempt_id": attempt_id,
                    "attempt_number": attempt_number,
                    "activity": self._snapshot(row),
                },
            )
            self.engine.due(tx, row["deadline_at"])
        task: dict[str, Any] = {
            "task_id": row["current_task_id"],
            "workflow_id": row["workflow_id"],
            "run_id": row["run_id"],
            "activity_execution_id": row["id"],
            "activity_attempt_id": attempt_id,
            "attempt_number": attempt_number,
            "activity_type": row["activity_type"],
            "payload_codec": row["payload_codec"] or "avro",
            "arguments": envelope(row["arguments"], row["payload_codec"] or "avro"),
            "retry_policy": loads(row["retry_policy"])
            if isinstance(row["retry_policy"], str)
            else row["retry_policy"],
            "task_queue": row["task_queue"],
            "lease_owner": worker_id,
            "lease_expires_at": iso(lease),
            "deadlines": self._deadlines(row) or None,
        }
        return {k: v for k, v in task.items() if v is not None}

    def _deadlines(self, row: dict[str, Any]) -> dict[str, str]:
        out: dict[str, str] = {}
        if row["schedule_to_close_timeout"]:
            out["schedule_to_close"] = iso(row["scheduled_at"] + row["schedule_to_close_timeout"]) or ""
        if row["start_to_close_timeout"] and row["attempt_started_at"]:
            out["start_to_close"] = iso(row["attempt_started_at"] + row["start_to_close_timeout"]) or ""
        if row["heartbeat_timeout"]:
            base = row["last_heartbeat_at"] or row["attempt_started_at"]
            if base:
                out["heartbeat"] = iso(base + row["heartbeat_timeout"]) or ""
        return out

    # ---------------------------------------------------------------- guard

    def _guard(
        self, tx: Transaction, namespace: str, task_id: str, attempt_id: str, lease_owner: str
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        attempt = tx.one("SELECT * FROM activity_attempts WHERE id = ?", (attempt_id,))
        if attempt is None or attempt["namespace"] != namespace:
            known = tx.one(
                "SELECT 1 FROM activity_attempts WHERE task_id = ? AND namespace = ?", (task_id, namespace)
            )
            if known is None:
                raise ApiError(
                    404,
                    "task_not_found",
                    f"Activity task '{task_id}' was not found.",
                    task_id=task_id,
                    activity_attempt_id=attempt_id,
                    error="task_not_found",
                )
            raise ApiError(
                404,
                "attempt_not_found",
                f"Activity attempt '{attempt_id}' was not found.",
                task_id=task_id,
                activity_attempt_id=attempt_id,
                error="attempt_not_found",
            )
        if attempt["task_id"] != task_id:
            raise ApiError(
                409,
                "task_mismatch",
                "The attempt belongs to another activity task.",
                task_id=task_id,
                activity_attempt_id=attempt_id,
                error="task_mismatch",
            )
        if attempt["lease_owner"] != lease_owner:
            raise ApiError(
                409,
                "lease_owner_mismatch",
                "The attempt is leased to another worker.",
                task_id=task_id,
                activity_attempt_id=attempt_id,
                lease_owner=attempt["lease_owner"],
                error="lease_owner_mismatch",
            )
        found = tx.one("SELECT * FROM activity_executions WHERE id = ?", (attempt["execution_id"],))
        assert found is not None
        execution = dict(found)
        run = self.engine.run(execution["run_id"], tx)
        assert run is not None
        return dict(attempt), execution, run

    def _ignored(self, attempt: dict[str, Any], execution: dict[str, Any], run: dict[str, Any]) -> ApiError:
        if run["status"] in ("cancelled", "terminated"):
            reason = f"run_{run['status']}"
        elif run["status"] in TERMINAL_STATUSES:
            reason = "run_closed"
        elif execution["status"] == "cancelled":
            reason = "activity_cancelled"
        else:
            reason = "stale_attempt"
        return ApiError(
            409,
            reason,
            f"The activity attempt can no longer report ({reason}).",
            task_id=attempt["task_id"],
            activity_attempt_id=attempt["id"],
            outcome="ignored",
            recorded=False,
            error=reason,
            cancel_requested=reason in ("run_cancelled", "run_terminated", "activity_cancelled"),
            can_continue=False,
            run_status=run["status"],
            run_closed_reason=run["closed_reason"],
            run_closed_at=iso(run["closed_at"]),
            activity_status=execution["status"],
            attempt_status=attempt["status"],
            next_task_id=None,
        )

    # ---------------------------------------------------------------- outcomes

    def complete(
        self, namespace: str, task_id: str, attempt_id: str, lease_owner: str, result: str | None, codec: str
    ) -> dict[str, Any]:
        """Record a successful attempt (``ActivityCompleted``) and resume the workflow."""
        with self.store.transaction() as tx:
            attempt, execution, run = self._guard(tx, namespace, task_id, attempt_id, lease_owner)
            if (
                attempt["status"] != "running"
                or execution["current_attempt_id"] != attempt_id
                or (run["status"] in TERMINAL_STATUSES)
            ):
                raise self._ignored(attempt, execution, run)
            now = self.engine.now()
            self._close_attempt(tx, attempt_id, "completed", now)
            tx.update(
                "activity_executions",
                {"id": execution["id"]},
                {"status": "completed", "closed_at": now, "deadline_at": None, "lease_expires_at": None},
            )
            self.engine.append_event(
                tx,
                run,
                "ActivityCompleted",
                {
                    **self._common(execution),
                    "activity_attempt_id": attempt_id,
                    "attempt_number": attempt["attempt_number"],
                    "result": event_value(result),
                    "payload_codec": codec,
                },
            )
            self._resolve_step(
                tx, run, execution, "ActivityCompleted", attempt_id, result=result, result_codec=codec
            )
            next_task = None
            return {
                "task_id": task_id,
                "activity_attempt_id": attempt_id,
                "outcome": "completed",
                "recorded": True,
                "reason": None,
                "next_task_id": next_task,
            }

    def fail(
        self, namespace: str, task_id: str, attempt_id: str, lease_owner: str, failure: dict[str, Any]
    ) -> dict[str, Any]:
        """Record a failed attempt: retry with backoff while allowed, else ``ActivityFailed``."""
        with self.store.transaction() as tx:
            attempt, execution, run = self._guard(tx, namespace, task_id, attempt_id, lease_owner)
            if (
                attempt["status"] != "running"
                or execution["current_attempt_id"] != attempt_id
                or (run["status"] in TERMINAL_STATUSES)
            ):
                raise self._ignored(attempt, execution, run)
            now = self.engine.now()
            self._close_attempt(tx, attempt_id, "failed", now)
            policy = loads(execution["retry_policy"], None) or {}
            ftype = failure.get("type")
            non_retryable = (
                bool(failure.get("non_retryable"))
                or failure.get("retryable") is False
                or (ftype is not None and ftype in (policy.get("non_retryable_error_types") or []))
            )
            details = failure.get("details")
            exception = {
                k: v
                for k, v in {
                    "type": ftype,
                    "message": failure.get("message"),
                    "code": 0,
                    "details": details.get("blob")
                    if isinstance(details, dict) and "blob" in details
                    else details,
                    "details_payload_codec": details.get("codec") if isinstance(details, dict) else None,
                    "non_retryable": non_retryable,
                    "stack_trace": failure.get("stack_trace"),
                }.items()
                if v is not None
            }
            fields = {
                "exception_type": ftype,
                "exception_class": ftype or "ActivityFailure",
                "message": failure.get("message"),
                "code": 0,
                "exception": exception,
            }
            if not non_retryable and attempt["attempt_number"] < execution["max_attempts"]:
                self._schedule_retry(tx, run, execution, attempt, now, "failure", fields)
                return {
                    "task_id": task_id,
                    "activity_attempt_id": attempt_id,
                    "outcome": "failed",
                    "recorded": True,
                    "reason": None,
                    "next_task_id": None,
                    "retry_scheduled": True,
                }
            tx.update(
                "activity_executions",
                {"id": execution["id"]},
                {"status": "failed", "closed_at": now, "deadline_at": None, "lease_expires_at": None},
            )
            self.engine.append_event(
                tx,
                run,
                "ActivityFailed",
                {
                    **self._common(execution),
                    "activity_attempt_id": attempt_id,
                    "attempt_number": attempt["attempt_number"],
                    "failure_id": new_id(),
                    "failure_category": "activity",
                    "non_retryable": non_retryable,
                    **fields,
                },
            )
            self._resolve_step(
                tx,
                run,
                execution,
                "ActivityFailed",
                attempt_id,
                failure={**fields, "non_retryable": non_retryable},
            )
            return {
                "task_id": task_id,
                "activity_attempt_id": attempt_id,
                "outcome": "failed",
                "recorded": True,
                "reason": None,
                "next_task_id": None,
            }

    def heartbeat(
        self, namespace: str, task_id: str, attempt_id: str, lease_owner: str, progress: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        """Extend the lease and record progress, or tell the worker to stop (``cancel_requested``)."""
        with self.store.transaction() as tx:
            try:
                attempt, execution, run = self._guard(tx, namespace, task_id, attempt_id, lease_owner)
            except ApiError as err:
                if err.reason == "attempt_not_found" or err.status == 404:
                    raise
                return 200, {
                    "task_id": task_id,
                    "activity_attempt_id": attempt_id,
                    "lease_owner": lease_owner,
                    "cancel_requested": False,
                    "can_continue": False,
                    "reason": err.reason,
                    "heartbeat_recorded": False,
                }
            base = {
                "task_id": task_id,
                "activity_attempt_id": attempt_id,
                "lease_owner": lease_owner,
                "run_closed_reason": run["closed_reason"],
                "run_closed_at": iso(run["closed_at"]),
            }
            if run["status"] in TERMINAL_STATUSES or attempt["status"] != "running":
                if run["status"] in ("cancelled", "terminated"):
                    reason, cancel = f"run_{run['status']}", True
                elif execution["status"] == "cancelled" or attempt["status"] == "cancelled":
                    reason, cancel = "activity_cancelled", True
                elif run["status"] in TERMINAL_STATUSES:
                    reason, cancel = "run_closed", False
                else:
                    reason, cancel = "attempt_closed", False
                if cancel and attempt["status"] == "running":
                    self._close_attempt(tx, attempt_id, "cancelled", self.engine.now())
                return 200, {
                    **base,
                    "cancel_requested": cancel,
                    "can_continue": False,
                    "reason": reason,
                    "heartbeat_recorded": False,
                    "lease_expires_at": None,
                    "last_heartbeat_at": iso(execution["last_heartbeat_at"]),
                }
            now = self.engine.now()
            lease = now + self.engine.rt.config.activity_lease_seconds
            self._save_execution(tx, execution, last_heartbeat_at=now, lease_expires_at=lease)
            self.engine.append_event(
                tx,
                run,
                "ActivityHeartbeatRecorded",
                {
                    **self._common(execution),
                    "activity_attempt_id": attempt_id,
                    "attempt_number": attempt["attempt_number"],
                    "heartbeat_at": iso(now),
                    "lease_expires_at": iso(lease),
                    "progress": progress or None,
                },
            )
            return 200, {
                **base,
                "cancel_requested": False,
                "can_continue": True,
                "reason": None,
                "heartbeat_recorded": True,
                "lease_expires_at": iso(lease),
                "last_heartbeat_at": iso(now),
            }

    # ---------------------------------------------------------------- helpers

    def _close_attempt(self, tx: Transaction, attempt_id: str, status: str, now: float) -> None:
        tx.execute(
            "UPDATE activity_attempts SET status = ?, closed_at = ? WHERE id = ?", (status, now, attempt_id)
        )

    def _resolve_step(
        self,
        tx: Transaction,
        run: dict[str, Any],
        execution: dict[str, Any],
        event: str,
        attempt_id: str | None,
        *,
        result: str | None = None,
        result_codec: str = "avro",
        failure: dict[str, Any] | None = None,
    ) -> None:
        tx.execute(
            "UPDATE steps SET status = 'resolved' WHERE run_id = ? AND sequence = ?",
            (run["run_id"], execution["sequence"]),
        )
        if self.engine.standalone.is_host(run):
            self.engine.standalone.close_host(
                tx, run, execution, result=result, result_codec=result_codec, failure=failure
            )
            return
        self.engine.ensure_workflow_task(
            tx,
            run,
            {
                "resume_source_kind": "activity_execution",
                "activity_execution_id": execution["id"],
                "activity_attempt_id": attempt_id,
                "activity_type": execution["activity_type"],
                "workflow_sequence": execution["sequence"],
                "workflow_event_type": event,
            },
        )

    def _schedule_retry(
        self,
        tx: Transaction,
        run: dict[str, Any],
        execution: dict[str, Any],
        attempt: dict[str, Any],
        now: float,
        reason: str,
        fields: dict[str, Any],
        timeout_kind: str | None = None,
    ) -> None:
        policy = loads(execution["retry_policy"], None) or {}
        backoffs = policy.get("backoff_seconds") or []
        n = int(attempt["attempt_number"])
        delay = backoffs[min(n - 1, len(backoffs) - 1)] if backoffs else 0
        new_task = new_id()
        available = now + delay
        self._save_execution(
            tx,
            execution,
            status="scheduled",
            current_task_id=new_task,
            current_attempt_id=None,
            lease_owner=None,
            lease_expires_at=None,
            available_at=available,
            attempt_started_at=None,
        )
        self.engine.append_event(
            tx,
            run,
            "ActivityRetryScheduled",
            {
                **self._common(execution),
                "activity_attempt_id": attempt["id"],
                "retry_task_id": new_task,
                "retry_of_task_id": attempt["task_id"],
                "retry_available_at": iso(available),
                "retry_backoff_seconds": delay,
                "retry_after_attempt_id": attempt["id"],
                "retry_after_attempt": n,
                "retry_reason": reason,
                "max_attempts": execution["max_attempts"],
                "retry_policy": policy or None,
                "timeout_kind": timeout_kind,
                **fields,
            },
        )
        self.engine.wake_queue(tx, "activity", execution["namespace"], execution["task_queue"])
        self.engine.due(tx, available)
        self.engine.due(tx, execution["deadline_at"])

    def cancel_open(self, tx: Transaction, run: dict[str, Any], command_id: str | None) -> None:
        """Cancel the run's open executions, writing ``ActivityCancelled`` for attempts in flight."""
        now = self.engine.now()
        for row in tx.all(
            "SELECT * FROM activity_executions WHERE run_id = ? AND status IN ('scheduled', 'running')",
            (run["run_id"],),
        ):
            if row["status"] == "running":
                self.engine.append_event(
                    tx,
                    run,
                    "ActivityCancelled",
                    {
                        **self._common(row),
                        "workflow_command_id": command_id,
                        "activity_attempt_id": row["current_attempt_id"],
                        "attempt_number": row["attempt_count"],
                        "cancelled_at": iso(now),
                    },
                    command_id=command_id,
                )
        self.abandon_open(tx, run)

    def abandon_open(self, tx: Transaction, run: dict[str, Any]) -> None:
        """Mark every open execution of a closing run cancelled (heartbeats then report it)."""
        tx.execute(
            "UPDATE activity_executions SET status = 'cancelled', closed_at = ?, deadline_at = NULL"
            " WHERE run_id = ? AND status IN ('scheduled', 'running')",
            (self.engine.now(), run["run_id"]),
        )

    def enforce_timeouts(self, now: float, limit: int = 200) -> list[dict[str, Any]]:
        """Apply every due activity deadline (timeouts, lease expiry); returns per-execution results."""
        rows = self.store.all(
            "SELECT * FROM activity_executions WHERE status IN ('scheduled', 'running') AND deadline_at <= ?"
            " ORDER BY deadline_at LIMIT ?",
            (now, limit),
        )
        results = []
        for found in rows:
            with self.store.transaction() as tx:
                current = tx.one("SELECT * FROM activity_executions WHERE id = ?", (found["id"],))
                if current is None or current["status"] not in OPEN:
                    continue
                row = dict(current)
                run = self.engine.run(row["run_id"], tx)
                if run is None or run["status"] in TERMINAL_STATUSES:
                    continue
                outcome = self._enforce_one(tx, run, row, now)
                results.append({"execution_id": row["id"], **outcome})
        return results

    def _enforce_one(
        self, tx: Transaction, run: dict[str, Any], row: dict[str, Any], now: float
    ) -> dict[str, Any]:
        final_kind = None
        if row["schedule_to_close_timeout"] and now >= row["scheduled_at"] + row["schedule_to_close_timeout"]:
            final_kind = "schedule_to_close"
        elif (
            row["status"] == "scheduled"
            and row["schedule_to_start_timeout"]
            and (now >= row["scheduled_at"] + row["schedule_to_start_timeout"])
        ):
            final_kind = "schedule_to_start"
        attempt_kind = None
        if row["status"] == "running" and final_kind is None:
            if (
                row["start_to_close_timeout"]
                and now >= row["attempt_started_at"] + row["start_to_close_timeout"]
            ):
                attempt_kind = "start_to_close"
            elif (
                row["heartbeat_timeout"]
                and now
                >= (row["last_heartbeat_at"] or row["attempt_started_at"]) + (row["heartbeat_timeout"])
            ):
                attempt_kind = "heartbeat"
            elif row["lease_expires_at"] and now >= row["lease_expires_at"]:
                # the worker vanished without a timeout configured: offer the same attempt budget again
                tx.execute(
                    "UPDATE activity_attempts SET status = 'expired', closed_at = ? WHERE id = ?",
                    (now, row["current_attempt_id"]),
                )
                row.update(
                    status="scheduled",
                    current_task_id=new_id(),
                    current_attempt_id=None,
                    lease_owner=None,
                    lease_expires_at=None,
                    available_at=now,
                    attempt_started_at=None,
                    attempt_count=row["attempt_count"] - 1,
                )
                row["deadline_at"] = self._deadline(row)
                tx.update(
                    "activity_executions",
                    {"id": row["id"]},
                    {
                        k: row[k]
                        for k in (
                            "status",
                            "current_task_id",
                            "current_attempt_id",
                            "lease_owner",
                            "lease_expires_at",
                            "available_at",
                            "attempt_started_at",
                            "attempt_count",
                            "deadline_at",
                        )
                    },
                )
                self.engine.wake_queue(tx, "activity", row["namespace"], row["task_queue"])
                return {"outcome": "enforced", "has_retry": True, "timeout_kind": "lease_expired"}
        if final_kind is None and attempt_kind is None:
            row["deadline_at"] = self._deadline(row)
            tx.update("activity_executions", {"id": row["id"]}, {"deadline_at": row["deadline_at"]})
            return {"outcome": "skipped", "reason": "not_expired"}
        kind = final_kind or attempt_kind
        message = f"Activity {row['activity_type']} timed out ({kind})."
        fields = {
            "exception_type": "ActivityTimeout",
            "exception_class": "ActivityTimeout",
            "message": message,
            "code": 0,
        }
        attempt = None
        if row["current_attempt_id"]:
            found = tx.one("SELECT * FROM activity_attempts WHERE id = ?", (row["current_attempt_id"],))
            attempt = dict(found) if found else None
            tx.execute(
                "UPDATE activity_attempts SET status = 'timed_out', closed_at = ? WHERE id = ?",
                (now, row["current_attempt_id"]),
            )
        if (
            attempt_kind is not None
            and attempt is not None
            and attempt["attempt_number"] < row["max_attempts"]
        ):
            self._schedule_retry(tx, run, row, attempt, now, "timeout", fields, timeout_kind=attempt_kind)
            return {"outcome": "enforced", "has_retry": True, "timeout_kind": kind}
        tx.update(
            "activity_executions",
            {"id": row["id"]},
            {"status": "timed_out", "closed_at": now, "deadline_at": None, "lease_expires_at": None},
        )
        self.engine.append_event(
            tx,
            run,
            "ActivityTimedOut",
            {
                **self._common(row),
                "activity_attempt_id": row["current_attempt_id"],
                "attempt_number": row["attempt_count"] or None,
                "failure_id": new_id(),
                "failure_category": "timeout",
                "timeout_kind": kind,
                "message": message,
                "exception_class": "ActivityTimeout",
                "exception_type": "ActivityTimeout",
                "non_retryable": True,
            },
        )
        self._resolve_step(
            tx,
            run,
            row,
            "ActivityTimedOut",
            row["current_attempt_id"],
            failure={**fields, "timeout_kind": kind},
        )
        return {"outcome": "enforced", "has_retry": False, "timeout_kind": kind}
