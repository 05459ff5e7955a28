"""Retention: deleting closed runs (history, tasks, activities, timers) past the namespace's
retention period."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dw_devserver.protocol import TERMINAL_STATUSES

if TYPE_CHECKING:
    from dw_devserver.engine import Engine


class Retention:
    """Prunes closed runs."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.store = engine.store

    def prune_expired_runs(
        self, namespace: str, limit: int = 100, run_ids: list[str] | None = None
    ) -> list[dict[str, Any]]:
        """Delete closed runs past the namespace retention (or the given ids); returns per-run results."""
        ns = self.store.one("SELECT retention_days FROM namespaces WHERE name = ?", (namespace,))
        days = int(ns["retention_days"]) if ns is not None else self.engine.rt.config.default_retention_days
        cutoff = self.engine.now() - days * 86400
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
                tx.execute("DELETE FROM standalone_activities WHERE run_id = ?", (rid,))
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
