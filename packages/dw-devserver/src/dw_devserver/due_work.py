"""Work that comes due with time, run from the scheduler loop: delayed tasks, timers, workflow-task
lease expiry, run deadlines, activity timeouts; and the idle check time-skipping harnesses use."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dw_devserver.clock import iso
from dw_devserver.ids import new_id
from dw_devserver.protocol import TERMINAL_STATUSES
from dw_devserver.store import Transaction, loads

if TYPE_CHECKING:
    from dw_devserver.engine import Engine


class DueWork:
    """The engine's scheduler tick and what it fires."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.store = engine.store
        self._last_tick: float | None = None
        self._next_retention = 0.0

    def tick(self, now: float) -> float | None:
        """Fire due timers, expire workflow-task leases, enforce run deadlines and activity timeouts."""
        self._release_delayed(now)
        sweep = self.engine.rt.config.retention_sweep_seconds
        if sweep is not None and now >= self._next_retention:
            self._next_retention = now + sweep
            for ns in self.store.all("SELECT name FROM namespaces"):
                self.engine.retention.prune_expired_runs(ns["name"], limit=500)
        self._fire_timers(now)
        self._expire_workflow_leases(now)
        self._enforce_run_deadlines(now)
        self.engine.activities.enforce_timeouts(now)
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
                self.engine.rt.wakeups.notify((family, row["namespace"], row["task_queue"]))

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
                run = self.engine.run(timer["run_id"], tx)
                tx.update("timers", {"id": timer["id"]}, {"status": "fired"})
                if run is None or run["status"] in TERMINAL_STATUSES:
                    continue
                details = loads(timer["details"], {})
                self.engine.append_event(
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
                self.engine.ensure_workflow_task(
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
                self.engine.wake_queue(tx, "workflow", row["namespace"], row["task_queue"])

    def _enforce_run_deadlines(self, now: float) -> None:
        rows = self.store.all(
            "SELECT run_id FROM runs WHERE status IN ('pending', 'running', 'waiting')"
            " AND run_deadline_at <= ?"
            " LIMIT 100",
            (now,),
        )
        for row in rows:
            with self.store.transaction() as tx:
                run = self.engine.run(row["run_id"], tx)
                if run is None or run["status"] in TERMINAL_STATUSES:
                    continue
                execution = run["execution_deadline_at"] is not None and run["execution_deadline_at"] <= now
                kind = "execution_timeout" if execution else "run_timeout"
                message = f"Workflow {'execution' if execution else 'run'} timed out."
                self.engine.activities.cancel_open(tx, run, None)
                self.engine.lifecycle.close_run(
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
        now = self.engine.now()
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
