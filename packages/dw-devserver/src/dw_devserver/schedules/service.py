"""Schedule state in SQLite: the CRUD transitions, the audit stream and the fire loop.

Every transition (including a fire that starts a workflow) runs in one store transaction, so a
crash never leaves a started workflow without its audit event or a fire counted twice. Time
always comes from the server clock handed in as ``now`` (epoch seconds), so virtual-clock tests
can skip hours instantly.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, Protocol

from dw_devserver.clock import iso
from dw_devserver.schedules.policy import (
    FireAction,
    decide_fire,
    jitter_offset,
    workflow_id_for_fire,
)
from dw_devserver.schedules.spec import ScheduleSpec, parse_schedule_spec
from dw_devserver.store import Row, Store, Transaction, loads

SCHEMA = """
CREATE TABLE IF NOT EXISTS schedules (
    namespace TEXT NOT NULL,
    schedule_id TEXT NOT NULL,
    spec TEXT NOT NULL,
    action TEXT NOT NULL,
    overlap_policy TEXT NOT NULL,
    jitter_seconds INTEGER NOT NULL DEFAULT 0,
    max_runs INTEGER,
    remaining_actions INTEGER,
    memo TEXT,
    search_attributes TEXT,
    status TEXT NOT NULL,
    note TEXT,
    paused_at REAL,
    fires_count INTEGER NOT NULL DEFAULT 0,
    failures_count INTEGER NOT NULL DEFAULT 0,
    skipped_trigger_count INTEGER NOT NULL DEFAULT 0,
    last_skip_reason TEXT,
    last_skipped_at REAL,
    next_fire_at REAL,
    next_due_at REAL,
    last_fired_at REAL,
    latest_workflow_instance_id TEXT,
    latest_run_id TEXT,
    buffered TEXT NOT NULL DEFAULT '[]',
    recent_actions TEXT NOT NULL DEFAULT '[]',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    deleted_at REAL,
    PRIMARY KEY (namespace, schedule_id)
);
CREATE INDEX IF NOT EXISTS schedules_due ON schedules (status, next_due_at);
CREATE TABLE IF NOT EXISTS schedule_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace TEXT NOT NULL,
    schedule_id TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    workflow_instance_id TEXT,
    workflow_run_id TEXT,
    recorded_at REAL NOT NULL,
    UNIQUE (namespace, schedule_id, sequence)
);
"""

log = logging.getLogger("dw_devserver.schedules")

#: Fires processed per schedule per tick; a clock skipped by years cannot stall the loop.
MAX_CATCH_UP_FIRES = 1000
MAX_BACKFILL_FIRES = 1000
_RECENT_ACTIONS = 10


class ScheduleError(Exception):
    """A rejected schedule operation; the route turns it into an HTTP error envelope."""

    def __init__(self, status: int, reason: str, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.fields = fields


class StartRejected(Exception):
    """The engine refused to start a scheduled workflow (its message becomes the fire's reason)."""


@dataclasses.dataclass(frozen=True)
class StartedRun:
    """The workflow a fire started."""

    workflow_id: str
    run_id: str | None


class WorkflowPort(Protocol):
    """What schedules need from the workflow engine."""

    def start(
        self,
        namespace: str,
        workflow_id: str,
        action: Mapping[str, Any],
        memo: Mapping[str, Any] | None,
        search_attributes: Mapping[str, Any] | None,
    ) -> StartedRun:
        """Start a run for a schedule fire; raise :class:`StartRejected` when it cannot start."""
        ...

    def is_open(self, namespace: str, workflow_id: str, run_id: str | None) -> bool:
        """True while the workflow's current run is not terminal."""
        ...

    def close(self, namespace: str, workflow_id: str, how: str, reason: str) -> None:
        """Cancel (``how="cancel"``) or terminate a run for the cancel_other/terminate_other policies."""
        ...


@dataclasses.dataclass
class ScheduleDefinition:
    """The validated, user-editable part of a schedule."""

    spec: ScheduleSpec
    action: dict[str, Any]
    overlap_policy: str
    jitter_seconds: int
    max_runs: int | None
    memo: dict[str, Any] | None
    search_attributes: dict[str, Any] | None
    note: str | None


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=timezone.utc)


def _ts(moment: datetime) -> float:
    return moment.timestamp()


class ScheduleService:
    """All schedule operations for one server; ``tick`` is registered with the scheduler loop."""

    def __init__(self, store: Store, engine: WorkflowPort) -> None:
        self.store = store
        self.engine = engine

    # ----------------------------------------------------------------- reads

    def _row(self, namespace: str, schedule_id: str, *, include_deleted: bool = False) -> Row:
        row = self.store.one(
            "SELECT * FROM schedules WHERE namespace = ? AND schedule_id = ?", (namespace, schedule_id)
        )
        if row is None or (row["status"] == "deleted" and not include_deleted):
            raise ScheduleError(
                404,
                "schedule_not_found",
                f"Schedule '{schedule_id}' was not found in namespace '{namespace}'.",
                schedule_id=schedule_id,
                namespace=namespace,
            )
        return row

    def describe(self, namespace: str, schedule_id: str) -> dict[str, Any]:
        """The schedule view: flat fields the SDK reads plus the nested ``state``/``info`` of the server."""
        row = self._row(namespace, schedule_id)
        view = self._summary(row)
        info = {
            "next_fire": view["next_fire_at"],
            "last_fire": view["last_fired_at"],
            "fires_count": row["fires_count"],
            "failures_count": row["failures_count"],
            "recent_actions": loads(row["recent_actions"], []),
            "buffered_actions": loads(row["buffered"], []),
            "skipped_trigger_count": row["skipped_trigger_count"],
            "last_skip_reason": row["last_skip_reason"],
            "last_skipped_at": iso(row["last_skipped_at"]),
        }
        view.update(
            memo=loads(row["memo"], {}),
            search_attributes=loads(row["search_attributes"], {}),
            jitter_seconds=row["jitter_seconds"],
            max_runs=row["max_runs"],
            remaining_actions=row["remaining_actions"],
            failures_count=row["failures_count"],
            latest_workflow_instance_id=row["latest_workflow_instance_id"],
            paused_at=iso(row["paused_at"]),
            created_at=iso(row["created_at"]),
            updated_at=iso(row["updated_at"]),
            state={"status": row["status"], "paused": row["status"] == "paused", "note": row["note"]},
            info=info,
        )
        return view

    def list(self, namespace: str) -> dict[str, Any]:
        """Every live schedule of the namespace, newest first."""
        rows = self.store.all(
            "SELECT * FROM schedules WHERE namespace = ? AND status != 'deleted' "
            "ORDER BY created_at DESC, schedule_id DESC",
            (namespace,),
        )
        return {
            "namespace": namespace,
            "schedules": [self._summary(r) for r in rows],
            "next_page_token": None,
        }

    def _summary(self, row: Row) -> dict[str, Any]:
        action = loads(row["action"], {})
        next_fire = iso(row["next_due_at"]) if row["status"] == "active" else None
        last_fire = iso(row["last_fired_at"])
        return {
            "namespace": row["namespace"],
            "schedule_id": row["schedule_id"],
            "workflow_type": action.get("workflow_type"),
            "status": row["status"],
            "paused": row["status"] == "paused",
            "spec": loads(row["spec"], {}),
            "action": action,
            "overlap_policy": row["overlap_policy"],
            "note": row["note"],
            "fires_count": row["fires_count"],
            "jitter_seconds": row["jitter_seconds"],
            "max_runs": row["max_runs"],
            "remaining_actions": row["remaining_actions"],
            "next_fire": next_fire,
            "last_fire": last_fire,
            "next_fire_at": next_fire,
            "last_fired_at": last_fire,
        }

    def history(self, namespace: str, schedule_id: str, limit: int, after_sequence: int) -> dict[str, Any]:
        """One page of the audit stream; works after the schedule was deleted."""
        self._row(namespace, schedule_id, include_deleted=True)
        rows = self.store.all(
            "SELECT * FROM schedule_events WHERE namespace = ? AND schedule_id = ? AND sequence > ? "
            "ORDER BY sequence LIMIT ?",
            (namespace, schedule_id, after_sequence, limit + 1),
        )
        has_more = len(rows) > limit
        rows = rows[:limit]
        events = [
            {
                "id": f"{r['namespace']}:{r['schedule_id']}:{r['sequence']}",
                "sequence": r["sequence"],
                "event_type": r["event_type"],
                "payload": loads(r["payload"], {}),
                "workflow_instance_id": r["workflow_instance_id"],
                "workflow_run_id": r["workflow_run_id"],
                "recorded_at": iso(r["recorded_at"]),
            }
            for r in rows
        ]
        return {
            "schedule_id": schedule_id,
            "namespace": namespace,
            "events": events,
            "next_cursor": events[-1]["sequence"] if has_more and events else None,
            "has_more": has_more,
        }

    # ------------------------------------------------------------- mutations

    def create(
        self, namespace: str, schedule_id: str, definition: ScheduleDefinition, paused: bool, now: float
    ) -> dict[str, Any]:
        """Create a schedule (optionally paused); a deleted id may be reused, its audit continues."""
        with self.store.transaction() as tx:
            existing = tx.one(
                "SELECT status FROM schedules WHERE namespace = ? AND schedule_id = ?",
                (namespace, schedule_id),
            )
            if existing is not None and existing["status"] != "deleted":
                raise ScheduleError(
                    409,
                    "schedule_already_exists",
                    f"Schedule '{schedule_id}' already exists.",
                    schedule_id=schedule_id,
                    namespace=namespace,
                )
            if existing is not None:
                tx.execute(
                    "DELETE FROM schedules WHERE namespace = ? AND schedule_id = ?", (namespace, schedule_id)
                )
            nominal, due = self._next_fire(schedule_id, definition.spec, definition.jitter_seconds, now)
            tx.insert(
                "schedules",
                {
                    "namespace": namespace,
                    "schedule_id": schedule_id,
                    "spec": definition.spec.to_json(),
                    "action": definition.action,
                    "overlap_policy": definition.overlap_policy,
                    "jitter_seconds": definition.jitter_seconds,
                    "max_runs": definition.max_runs,
                    "remaining_actions": definition.max_runs,
                    "memo": json.dumps(definition.memo) if definition.memo is not None else None,
                    "search_attributes": (
                        json.dumps(definition.search_attributes)
                        if definition.search_attributes is not None
                        else None
                    ),
                    "status": "paused" if paused else "active",
                    "note": definition.note,
                    "paused_at": now if paused else None,
                    "next_fire_at": nominal,
                    "next_due_at": due,
                    "created_at": now,
                    "updated_at": now,
                },
            )
            self._event(
                tx,
                namespace,
                schedule_id,
                "ScheduleCreated",
                now,
                {
                    "spec": definition.spec.to_json(),
                    "action": definition.action,
                    "overlap_policy": definition.overlap_policy,
                    "next_fire_at": iso(due),
                },
            )
            if paused:
                self._event(
                    tx,
                    namespace,
                    schedule_id,
                    "SchedulePaused",
                    now,
                    {"reason": definition.note, "paused_at": iso(now)},
                )
        return {
            "namespace": namespace,
            "schedule_id": schedule_id,
            "outcome": "created",
            "status": "paused" if paused else "active",
            "created_at": iso(now),
        }

    def update(
        self, namespace: str, schedule_id: str, changes: Mapping[str, Any], now: float
    ) -> dict[str, Any]:
        """Apply a partial update; ``action`` is merged into the stored action, the rest replaces."""
        with self.store.transaction() as tx:
            row = self._row(namespace, schedule_id)
            values: dict[str, Any] = {"updated_at": now}
            spec = parse_schedule_spec(loads(row["spec"], {}))
            jitter = row["jitter_seconds"]
            action = loads(row["action"], {})
            if "spec" in changes:
                spec = changes["spec"]
                values["spec"] = spec.to_json()
            if "action" in changes:
                action = {**action, **changes["action"]}
                values["action"] = action
            if "overlap_policy" in changes:
                values["overlap_policy"] = changes["overlap_policy"]
            if "jitter_seconds" in changes:
                jitter = changes["jitter_seconds"]
                values["jitter_seconds"] = jitter
            if "max_runs" in changes:
                values["max_runs"] = changes["max_runs"]
                values["remaining_actions"] = changes["max_runs"]
            for key in ("memo", "search_attributes"):
                if key in changes:
                    values[key] = json.dumps(changes[key])
            if "note" in changes:
                values["note"] = changes["note"]
            if {"spec", "jitter_seconds", "max_runs"} & set(changes):
                nominal, due = self._next_fire(schedule_id, spec, jitter, now)
                if values.get("remaining_actions", row["remaining_actions"]) == 0:
                    nominal = due = None
                values["next_fire_at"], values["next_due_at"] = nominal, due
            tx.update("schedules", {"namespace": namespace, "schedule_id": schedule_id}, values)
            changed = sorted(changes)
            self._event(
                tx,
                namespace,
                schedule_id,
                "ScheduleUpdated",
                now,
                {
                    "changed_fields": changed,
                    "fields": changed,
                    "spec": spec.to_json(),
                    "action": action,
                    "overlap_policy": values.get("overlap_policy", row["overlap_policy"]),
                    "next_fire_at": iso(values.get("next_due_at", row["next_due_at"])),
                },
            )
        return {
            "namespace": namespace,
            "schedule_id": schedule_id,
            "outcome": "updated",
            "updated_at": iso(now),
        }

    def pause(self, namespace: str, schedule_id: str, note: str | None, now: float) -> dict[str, Any]:
        """Stop automatic fires; pausing a paused schedule only updates the note."""
        with self.store.transaction() as tx:
            row = self._row(namespace, schedule_id)
            values: dict[str, Any] = {"updated_at": now}
            if note is not None:
                values["note"] = note
            paused_at = row["paused_at"]
            if row["status"] != "paused":
                paused_at = now
                values.update(status="paused", paused_at=now)
                self._event(
                    tx, namespace, schedule_id, "SchedulePaused", now, {"reason": note, "paused_at": iso(now)}
                )
            tx.update("schedules", {"namespace": namespace, "schedule_id": schedule_id}, values)
        return {
            "namespace": namespace,
            "schedule_id": schedule_id,
            "outcome": "paused",
            "paused": True,
            "note": values.get("note", row["note"]),
            "paused_at": iso(paused_at),
        }

    def resume(self, namespace: str, schedule_id: str, note: str | None, now: float) -> dict[str, Any]:
        """Fire again from the next spec time after now; fires missed while paused are not replayed."""
        with self.store.transaction() as tx:
            row = self._row(namespace, schedule_id)
            values: dict[str, Any] = {"updated_at": now}
            if note is not None:
                values["note"] = note
            if row["status"] == "paused":
                spec = parse_schedule_spec(loads(row["spec"], {}))
                nominal, due = self._next_fire(schedule_id, spec, row["jitter_seconds"], now)
                if row["remaining_actions"] == 0:
                    nominal = due = None
                values.update(status="active", paused_at=None, next_fire_at=nominal, next_due_at=due)
                self._event(tx, namespace, schedule_id, "ScheduleResumed", now, {"next_fire_at": iso(due)})
            tx.update("schedules", {"namespace": namespace, "schedule_id": schedule_id}, values)
        return {
            "namespace": namespace,
            "schedule_id": schedule_id,
            "outcome": "resumed",
            "paused": False,
            "note": values.get("note", row["note"]),
            "resumed_at": iso(now),
        }

    def delete(self, namespace: str, schedule_id: str, now: float) -> dict[str, Any]:
        """Soft delete: the schedule disappears, its audit history and started workflows stay."""
        with self.store.transaction() as tx:
            self._row(namespace, schedule_id)
            tx.update(
                "schedules",
                {"namespace": namespace, "schedule_id": schedule_id},
                {
                    "status": "deleted",
                    "deleted_at": now,
                    "updated_at": now,
                    "next_fire_at": None,
                    "next_due_at": None,
                    "buffered": [],
                },
            )
            self._event(
                tx, namespace, schedule_id, "ScheduleDeleted", now, {"reason": None, "deleted_at": iso(now)}
            )
        return {
            "namespace": namespace,
            "schedule_id": schedule_id,
            "outcome": "deleted",
            "deleted_at": iso(now),
        }

    def trigger(
        self, namespace: str, schedule_id: str, overlap_policy: str | None, now: float
    ) -> tuple[int, dict[str, Any]]:
        """Fire once now (paused schedules too), with an optional one-off overlap policy."""
        with self.store.transaction() as tx:
            row = self._row(namespace, schedule_id)
            sequence = self._next_sequence(tx, namespace, schedule_id)
            workflow_id = workflow_id_for_fire(schedule_id, _dt(now), manual_sequence=sequence)
            result = self._fire(tx, row, now, now, workflow_id, "manual", overlap_policy)
        status = 500 if result["outcome"] == "trigger_failed" else 200
        return status, {"namespace": namespace, "schedule_id": schedule_id, **result}

    def backfill(
        self,
        namespace: str,
        schedule_id: str,
        start: float,
        end: float,
        overlap_policy: str | None,
        now: float,
    ) -> dict[str, Any]:
        """Run the fires the spec would have made in ``[start, end]``, in order, now."""
        if end <= start:
            raise ScheduleError(
                422, "invalid_time_range", "end_time must be later than start_time.", schedule_id=schedule_id
            )
        with self.store.transaction() as tx:
            row = self._row(namespace, schedule_id)
            spec = parse_schedule_spec(loads(row["spec"], {}))
            fires = list(spec.fires_between(_dt(start), _dt(end), MAX_BACKFILL_FIRES + 1))
            if len(fires) > MAX_BACKFILL_FIRES:
                raise ScheduleError(
                    422,
                    "invalid_time_range",
                    f"The range holds more than {MAX_BACKFILL_FIRES} fires; backfill a shorter window.",
                    schedule_id=schedule_id,
                    limit=MAX_BACKFILL_FIRES,
                )
            results = []
            for fire in fires:
                current = self._row(namespace, schedule_id)
                outcome = self._fire(
                    tx,
                    current,
                    _ts(fire),
                    now,
                    workflow_id_for_fire(schedule_id, fire),
                    "backfill",
                    overlap_policy,
                )
                if outcome["outcome"] == "trigger_failed":
                    outcome["outcome"] = "failed"
                results.append({"fire_time": iso(_ts(fire)), **outcome})
        return {
            "namespace": namespace,
            "schedule_id": schedule_id,
            "outcome": "accepted",
            "fires_attempted": len(results),
            "results": results,
        }

    # ------------------------------------------------------------ the loop

    def tick(self, now: float) -> float | None:
        """Process every due fire and drain buffers whose blocking run has closed."""
        due_rows = self.store.all(
            "SELECT namespace, schedule_id FROM schedules WHERE status = 'active' AND next_due_at <= ?",
            (now,),
        )
        for ref in due_rows:
            try:
                self._catch_up(ref["namespace"], ref["schedule_id"], now)
            except Exception:
                # One broken schedule must not starve the others, nor fail the same fire every tick.
                log.exception("schedule %s/%s: fire failed", ref["namespace"], ref["schedule_id"])
                self._skip_broken_fire(ref["namespace"], ref["schedule_id"], now)
        buffered = self.store.all(
            "SELECT namespace, schedule_id FROM schedules WHERE status != 'deleted' AND buffered != '[]'"
        )
        for ref in buffered:
            try:
                self._drain_buffer(ref["namespace"], ref["schedule_id"], now)
            except Exception:
                log.exception("schedule %s/%s: buffered fire failed", ref["namespace"], ref["schedule_id"])
        upcoming = self.store.one("SELECT MIN(next_due_at) AS due FROM schedules WHERE status = 'active'")
        # A non-empty buffer waits on a run closing, which no timestamp predicts: poll it.
        if buffered:
            return (
                now + 1.0 if upcoming is None or upcoming["due"] is None else min(upcoming["due"], now + 1.0)
            )
        return None if upcoming is None or upcoming["due"] is None else float(upcoming["due"])

    def _skip_broken_fire(self, namespace: str, schedule_id: str, now: float) -> None:
        """Count the failed fire, audit it and move on to the next spec time."""
        with self.store.transaction() as tx:
            row = tx.one(
                "SELECT * FROM schedules WHERE namespace = ? AND schedule_id = ?", (namespace, schedule_id)
            )
            if row is None or row["next_fire_at"] is None:
                return
            nominal = float(row["next_fire_at"])
            try:
                spec = parse_schedule_spec(loads(row["spec"], {}))
                next_nominal, next_due = self._next_fire(
                    schedule_id, spec, row["jitter_seconds"], max(nominal, now)
                )
            except Exception:
                next_nominal = next_due = None
            tx.update(
                "schedules",
                {"namespace": namespace, "schedule_id": schedule_id},
                {
                    "failures_count": row["failures_count"] + 1,
                    "next_fire_at": next_nominal,
                    "next_due_at": next_due,
                    "updated_at": now,
                },
            )
            self._event(
                tx,
                namespace,
                schedule_id,
                "ScheduleTriggerSkipped",
                now,
                {"reason": "trigger_failed", "fire_time": iso(nominal), "trigger": "scheduled"},
            )

    def _catch_up(self, namespace: str, schedule_id: str, now: float) -> None:
        for _ in range(MAX_CATCH_UP_FIRES):
            with self.store.transaction() as tx:
                row = tx.one(
                    "SELECT * FROM schedules WHERE namespace = ? AND schedule_id = ?",
                    (namespace, schedule_id),
                )
                if (
                    row is None
                    or row["status"] != "active"
                    or row["next_due_at"] is None
                    or row["next_due_at"] > now
                ):
                    return
                nominal = float(row["next_fire_at"])
                self._fire(
                    tx, row, nominal, now, workflow_id_for_fire(schedule_id, _dt(nominal)), "scheduled", None
                )
                row = tx.one(
                    "SELECT remaining_actions, jitter_seconds, spec FROM schedules "
                    "WHERE namespace = ? AND schedule_id = ?",
                    (namespace, schedule_id),
                )
                assert row is not None
                spec = parse_schedule_spec(loads(row["spec"], {}))
                next_nominal, next_due = self._next_fire(schedule_id, spec, row["jitter_seconds"], nominal)
                if row["remaining_actions"] is not None and row["remaining_actions"] <= 0:
                    next_nominal = next_due = None
                tx.update(
                    "schedules",
                    {"namespace": namespace, "schedule_id": schedule_id},
                    {"next_fire_at": next_nominal, "next_due_at": next_due},
                )

    def _drain_buffer(self, namespace: str, schedule_id: str, now: float) -> None:
        while True:
            with self.store.transaction() as tx:
                row = tx.one(
                    "SELECT * FROM schedules WHERE namespace = ? AND schedule_id = ?",
                    (namespace, schedule_id),
                )
                if row is None:
                    return
                queue = loads(row["buffered"], [])
                if not queue or self._previous_open(row):
                    return
                entry = queue.pop(0)
                tx.update(
                    "schedules", {"namespace": namespace, "schedule_id": schedule_id}, {"buffered": queue}
                )
                self._start(
                    tx,
                    row,
                    entry["nominal"],
                    now,
                    entry["workflow_id"],
                    entry["trigger"],
                    entry.get("overlap_policy") or row["overlap_policy"],
                )

    # -------------------------------------------------------------- helpers

    def _previous_open(self, row: Row) -> bool:
        workflow_id = row["latest_workflow_instance_id"]
        return bool(workflow_id) and self.engine.is_open(row["namespace"], workflow_id, row["latest_run_id"])

    def _fire(
        self,
        tx: Transaction,
        row: Row,
        nominal: float,
        now: float,
        workflow_id: str,
        trigger: str,
        override_policy: str | None,
    ) -> dict[str, Any]:
        policy = override_policy or row["overlap_policy"]
        queue = loads(row["buffered"], [])
        decision = decide_fire(policy, self._previous_open(row), len(queue))
        key = {"namespace": row["namespace"], "schedule_id": row["schedule_id"]}
        if decision.action is FireAction.SKIP or decision.action is FireAction.BUFFER_FULL:
            reason = "previous_run_in_progress" if decision.action is FireAction.SKIP else "buffer_full"
            tx.update(
                "schedules",
                key,
                {
                    "skipped_trigger_count": row["skipped_trigger_count"] + 1,
                    "last_skip_reason": "overlap_policy_skip"
                    if decision.action is FireAction.SKIP
                    else "buffer_full",
                    "last_skipped_at": now,
                    "updated_at": now,
                },
            )
            self._event(
                tx,
                row["namespace"],
                row["schedule_id"],
                "ScheduleTriggerSkipped",
                now,
                {
                    "reason": reason,
                    "overlap_policy": policy,
                    "fire_time": iso(nominal),
                    "trigger": trigger,
                    "skipped_trigger_count": row["skipped_trigger_count"] + 1,
                    "last_skipped_at": iso(now),
                },
            )
            if decision.action is FireAction.BUFFER_FULL:
                return {"outcome": "buffer_full", "reason": reason, "buffer_depth": len(queue)}
            return {"outcome": "skipped", "reason": reason}
        if decision.action is FireAction.BUFFER:
            queue.append(
                {
                    "fire_time": iso(nominal),
                    "nominal": nominal,
                    "workflow_id": workflow_id,
                    "trigger": trigger,
                    "overlap_policy": policy,
                }
            )
            tx.update("schedules", key, {"buffered": queue, "updated_at": now})
            return {"outcome": "buffered", "buffer_depth": decision.buffer_depth}
        if decision.action in (FireAction.CANCEL_OTHER_THEN_START, FireAction.TERMINATE_OTHER_THEN_START):
            how = "cancel" if decision.action is FireAction.CANCEL_OTHER_THEN_START else "terminate"
            self.engine.close(
                row["namespace"],
                row["latest_workflow_instance_id"],
                how,
                f"schedule {row['schedule_id']} overlap policy {policy}",
            )
        return self._start(tx, row, nominal, now, workflow_id, trigger, policy)

    def _start(
        self,
        tx: Transaction,
        row: Row,
        nominal: float,
        now: float,
        workflow_id: str,
        trigger: str,
        policy: str,
    ) -> dict[str, Any]:
        key = {"namespace": row["namespace"], "schedule_id": row["schedule_id"]}
        current = tx.one(
            "SELECT * FROM schedules WHERE namespace = ? AND schedule_id = ?",
            (row["namespace"], row["schedule_id"]),
        )
        assert current is not None
        # A savepoint keeps a start the engine rejected half-way from leaking rows into this fire.
        tx.execute("SAVEPOINT schedule_fire")
        try:
            started = self.engine.start(
                row["namespace"],
                workflow_id,
                loads(current["action"], {}),
                loads(current["memo"]),
                loads(current["search_attributes"]),
            )
        except StartRejected as exc:
            tx.execute("ROLLBACK TO schedule_fire")
            tx.execute("RELEASE schedule_fire")
            tx.update("schedules", key, {"failures_count": current["failures_count"] + 1, "updated_at": now})
            return {"outcome": "trigger_failed", "reason": str(exc), "workflow_id": workflow_id}
        tx.execute("RELEASE schedule_fire")
        recent = loads(current["recent_actions"], [])
        recent.append(
            {
                "schedule_time": iso(nominal),
                "actual_time": iso(now),
                "workflow_id": started.workflow_id,
                "run_id": started.run_id,
                "trigger": trigger,
            }
        )
        values: dict[str, Any] = {
            "fires_count": current["fires_count"] + 1,
            "last_fired_at": now,
            "latest_workflow_instance_id": started.workflow_id,
            "latest_run_id": started.run_id,
            "recent_actions": recent[-_RECENT_ACTIONS:],
            "updated_at": now,
        }
        if trigger == "scheduled" and current["remaining_actions"] is not None:
            values["remaining_actions"] = max(0, current["remaining_actions"] - 1)
        tx.update("schedules", key, values)
        self._event(
            tx,
            row["namespace"],
            row["schedule_id"],
            "ScheduleTriggered",
            now,
            {
                "schedule_id": row["schedule_id"],
                "fire_time": iso(nominal),
                "trigger": trigger,
                "overlap_policy": policy,
            },
            started.workflow_id,
            started.run_id,
        )
        return {"outcome": "triggered", "workflow_id": started.workflow_id, "run_id": started.run_id}

    @staticmethod
    def _next_fire(
        schedule_id: str, spec: ScheduleSpec, jitter_seconds: int, after: float
    ) -> tuple[float | None, float | None]:
        nominal = spec.next_fire_after(_dt(after))
        return _ts(nominal), _ts(nominal + jitter_offset(schedule_id, nominal, jitter_seconds))

    @staticmethod
    def _next_sequence(tx: Transaction, namespace: str, schedule_id: str) -> int:
        row = tx.one(
            "SELECT MAX(sequence) AS seq FROM schedule_events WHERE namespace = ? AND schedule_id = ?",
            (namespace, schedule_id),
        )
        return int(row["seq"] or 0) + 1 if row is not None else 1

    def _event(
        self,
        tx: Transaction,
        namespace: str,
        schedule_id: str,
        event_type: str,
        now: float,
        payload: Mapping[str, Any],
        workflow_id: str | None = None,
        run_id: str | None = None,
    ) -> None:
        tx.insert(
            "schedule_events",
            {
                "namespace": namespace,
                "schedule_id": schedule_id,
                "sequence": self._next_sequence(tx, namespace, schedule_id),
                "event_type": event_type,
                "payload": dict(payload),
                "workflow_instance_id": workflow_id,
                "workflow_run_id": run_id,
                "recorded_at": now,
            },
        )
