"""Task queues: ``/api/task-queues/**`` — list, describe with admission facts, build-id cohorts and
their drain / resume / promote transitions.

Queues are not declared; a queue exists for a namespace as soon as a worker registered on it or a
task was put on it. The dev server has no server-side dispatch budgets, so the ``server_*`` limits
are reported as null (unconfigured) and admission follows the workers' own slot counts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dw_devserver.build_id_routing import UNVERSIONED
from dw_devserver.clock import iso
from dw_devserver.control.build_ids import RolloutRecord, summarize_cohorts
from dw_devserver.http import OPERATOR_ROLES, Ctx, Fields, RouteTable, validation_error
from dw_devserver.routes.workers import worker_status
from dw_devserver.store import Row, Transaction, loads

if TYPE_CHECKING:
    from dw_devserver.runtime import Runtime

table = RouteTable()
routes = table.routes

QUERY_TASKS_MAX_PENDING_PER_QUEUE = 1024
_UNVERSIONED = UNVERSIONED


def _age_label(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h"


def _task_counts(rt: Runtime, namespace: str, queue: str, now: float) -> dict[str, dict[str, int]]:
    workflow = rt.store.one(
        "SELECT SUM(status = 'ready' AND available_at <= :now) AS ready,"
        " SUM(status = 'leased') AS leased,"
        " SUM(status = 'leased' AND lease_expires_at <= :now) AS expired"
        " FROM workflow_tasks WHERE namespace = :ns AND task_queue = :q",
        {"now": now, "ns": namespace, "q": queue},
    )
    activity = rt.store.one(
        "SELECT SUM(status = 'scheduled' AND available_at <= :now) AS ready,"
        " SUM(status = 'running') AS leased,"
        " SUM(status = 'running' AND lease_expires_at <= :now) AS expired"
        " FROM activity_executions WHERE namespace = :ns AND task_queue = :q",
        {"now": now, "ns": namespace, "q": queue},
    )

    def counts(row: Row | None) -> dict[str, int]:
        return {
            "ready_count": int(row["ready"] or 0) if row else 0,
            "leased_count": int(row["leased"] or 0) if row else 0,
            "expired_lease_count": int(row["expired"] or 0) if row else 0,
        }

    return {"workflow_tasks": counts(workflow), "activity_tasks": counts(activity)}


def _oldest_ready(rt: Runtime, namespace: str, queue: str, now: float) -> dict[str, Any] | None:
    candidates = [
        rt.store.one(
            "SELECT id, 'workflow' AS kind, workflow_id, run_id, available_at FROM workflow_tasks"
            " WHERE namespace = ? AND task_queue = ? AND status = 'ready' AND available_at <= ?"
            " ORDER BY available_at LIMIT 1",
            (namespace, queue, now),
        ),
        rt.store.one(
            "SELECT id, 'activity' AS kind, workflow_id, run_id, available_at FROM activity_executions"
            " WHERE namespace = ? AND task_queue = ? AND status = 'scheduled' AND available_at <= ?"
            " ORDER BY available_at LIMIT 1",
            (namespace, queue, now),
        ),
    ]
    rows = [row for row in candidates if row is not None]
    if not rows:
        return None
    oldest = min(rows, key=lambda row: row["available_at"])
    return {
        "task_id": oldest["id"],
        "task_type": oldest["kind"],
        "workflow_id": oldest["workflow_id"],
        "run_id": oldest["run_id"],
        "available_at": iso(oldest["available_at"]),
        "age_seconds": max(0, int(now - oldest["available_at"])),
    }


def _pollers(rt: Runtime, namespace: str, queue: str, now: float) -> list[dict[str, Any]]:
    rows = rt.store.all(
        "SELECT * FROM workers WHERE namespace = ? AND task_queue = ?"
        " ORDER BY last_heartbeat_at DESC, worker_id",
        (namespace, queue),
    )
    stale_after = rt.config.worker_stale_after_seconds
    pollers = []
    for row in rows:
        status = worker_status(rt, row, now)
        pollers.append(
            {
                "worker_id": row["worker_id"],
                "runtime": row["runtime"],
                "sdk_version": row["sdk_version"],
                "build_id": row["build_id"],
                "last_heartbeat_at": iso(row["last_heartbeat_at"]),
                "heartbeat_expires_at": iso(row["last_heartbeat_at"] + stale_after),
                "status": status,
                "is_stale": status == "stale",
                "supported_workflow_types": loads(row["supported_workflow_types"], []),
                "supported_activity_types": loads(row["supported_activity_types"], []),
                "max_concurrent_workflow_tasks": row["max_concurrent_workflow_tasks"],
                "max_concurrent_activity_tasks": row["max_concurrent_activity_tasks"],
            }
        )
    return pollers


def _leases(rt: Runtime, namespace: str, queue: str, now: float) -> list[dict[str, Any]]:
    leases: list[dict[str, Any]] = []
    for row in rt.store.all(
        "SELECT id, workflow_id, run_id, lease_owner, lease_expires_at, attempt_count FROM workflow_tasks"
        " WHERE namespace = ? AND task_queue = ? AND status = 'leased' ORDER BY lease_expires_at",
        (namespace, queue),
    ):
        leases.append(
            {
                "task_id": row["id"],
                "task_type": "workflow",
                "workflow_id": row["workflow_id"],
                "run_id": row["run_id"],
                "lease_owner": row["lease_owner"],
                "lease_expires_at": iso(row["lease_expires_at"]),
                "is_expired": row["lease_expires_at"] is not None and row["lease_expires_at"] <= now,
                "workflow_task_attempt": row["attempt_count"],
            }
        )
    for row in rt.store.all(
        "SELECT id, current_task_id, current_attempt_id, workflow_id, run_id, lease_owner, lease_expires_at,"
        " attempt_count FROM activity_executions"
        " WHERE namespace = ? AND task_queue = ? AND status = 'running' ORDER BY lease_expires_at",
        (namespace, queue),
    ):
        leases.append(
            {
                "task_id": row["current_task_id"] or row["id"],
                "task_type": "activity",
                "workflow_id": row["workflow_id"],
                "run_id": row["run_id"],
                "lease_owner": row["lease_owner"],
                "lease_expires_at": iso(row["lease_expires_at"]),
                "is_expired": row["lease_expires_at"] is not None and row["lease_expires_at"] <= now,
                "activity_attempt_id": row["current_attempt_id"],
                "attempt_number": row["attempt_count"],
            }
        )
    return leases


def _admission(kind: str, pollers: list[dict[str, Any]], counts: dict[str, int]) -> dict[str, Any]:
    slot_field = f"max_concurrent_{kind}_tasks"
    live = [p for p in pollers if p["status"] == "active"]
    slots = sum(int(p[slot_field] or 0) for p in live)
    leased = counts["leased_count"]
    available = max(0, slots - leased)
    if not live:
        status = "no_active_workers"
    elif slots == 0:
        status = "no_slots"
    elif available == 0:
        status = "saturated"
    else:
        status = "accepting"
    unlimited: dict[str, Any] = {
        key: None
        for key in (
            "server_max_active_leases_per_queue",
            "server_remaining_active_lease_capacity",
            "server_max_active_leases_per_namespace",
            "server_remaining_namespace_active_lease_capacity",
            "server_max_dispatches_per_minute",
            "server_dispatch_count_this_minute",
            "server_remaining_dispatch_capacity",
            "server_max_dispatches_per_minute_per_namespace",
            "server_namespace_dispatch_count_this_minute",
            "server_remaining_namespace_dispatch_capacity",
            "server_dispatch_budget_group",
            "server_max_dispatches_per_minute_per_budget_group",
            "server_budget_group_dispatch_count_this_minute",
            "server_remaining_budget_group_dispatch_capacity",
        )
    }
    return {
        "status": status,
        "budget_source": f"worker_registration.{slot_field}",
        "server_budget_source": None,
        "active_worker_count": len(live),
        "configured_slot_count": slots,
        "leased_count": leased,
        "ready_count": counts["ready_count"],
        "available_slot_count": available,
        **unlimited,
        "server_active_lease_count": leased,
        "server_namespace_active_lease_count": None,
        "server_lock_required": False,
        "server_lock_supported": False,
    }


def _pending_queries(rt: Runtime, namespace: str, queue: str) -> int:
    exists = rt.store.one("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'query_tasks'")
    if exists is None:
        return 0
    row = rt.store.one(
        "SELECT COUNT(*) AS n FROM query_tasks"
        " WHERE namespace = ? AND task_queue = ? AND status IN ('ready', 'leased')",
        (namespace, queue),
    )
    return int(row["n"]) if row else 0


def describe_queue(rt: Runtime, namespace: str, queue: str) -> dict[str, Any]:
    """The full describe view of one queue (an unknown queue is simply empty)."""
    now = rt.clock.now()
    counts = _task_counts(rt, namespace, queue, now)
    pollers = _pollers(rt, namespace, queue, now)
    oldest = _oldest_ready(rt, namespace, queue, now)
    backlog = counts["workflow_tasks"]["ready_count"] + counts["activity_tasks"]["ready_count"]
    age = oldest["age_seconds"] if oldest else 0
    stale_after = rt.config.worker_stale_after_seconds
    expired = (
        counts["workflow_tasks"]["expired_lease_count"] + counts["activity_tasks"]["expired_lease_count"]
    )
    pending_queries = _pending_queries(rt, namespace, queue)
    live_query_workers = [p for p in pollers if p["status"] != "stale"]
    return {
        "name": queue,
        "namespace": namespace,
        "pollers": pollers,
        "stats": {
            "approximate_backlog_count": backlog,
            "approximate_backlog_age": _age_label(age),
            "approximate_backlog_age_seconds": age,
            "oldest_ready_task": oldest,
            **counts,
            "pollers": {
                "active_count": sum(1 for p in pollers if not p["is_stale"]),
                "stale_count": sum(1 for p in pollers if p["is_stale"]),
                "stale_after_seconds": stale_after,
            },
        },
        "current_leases": _leases(rt, namespace, queue, now),
        "repair": {
            "candidates": expired,
            "dispatch_failed": 0,
            "expired_leases": expired,
            "dispatch_overdue": 0,
            "needs_attention": expired > 0,
            "policy": {"redispatch_after_seconds": None, "lease_expiry": "re-offered by the scheduler loop"},
        },
        "admission": {
            "workflow_tasks": _admission("workflow", pollers, counts["workflow_tasks"]),
            "activity_tasks": _admission("activity", pollers, counts["activity_tasks"]),
            "query_tasks": {
                "status": "accepting" if live_query_workers else "unavailable",
                "budget_source": "server.query_tasks.max_pending_per_queue",
                "max_pending_per_queue": QUERY_TASKS_MAX_PENDING_PER_QUEUE,
                "approximate_pending_count": pending_queries,
                "remaining_pending_capacity": max(0, QUERY_TASKS_MAX_PENDING_PER_QUEUE - pending_queries),
                "lock_required": False,
                "lock_supported": False,
            },
        },
    }


def known_queues(rt: Runtime, namespace: str) -> list[str]:
    """Queues of the namespace seen on workers, tasks, activities or rollout records."""
    rows = rt.store.all(
        "SELECT task_queue FROM workers WHERE namespace = :ns"
        " UNION SELECT task_queue FROM workflow_tasks WHERE namespace = :ns"
        " UNION SELECT task_queue FROM activity_executions WHERE namespace = :ns"
        " UNION SELECT task_queue FROM build_id_rollouts WHERE namespace = :ns"
        " ORDER BY 1",
        {"ns": namespace},
    )
    return [row[0] for row in rows]


@table.get("/api/task-queues", roles=OPERATOR_ROLES)
async def list_task_queues(ctx: Ctx) -> dict[str, Any]:
    """Every known queue of the namespace with stats and admission."""
    return {
        "namespace": ctx.namespace,
        "task_queues": [
            describe_queue(ctx.rt, ctx.namespace, q) for q in known_queues(ctx.rt, ctx.namespace)
        ],
    }


@table.get("/api/task-queues/{task_queue}", roles=OPERATOR_ROLES)
async def describe_task_queue(ctx: Ctx) -> dict[str, Any]:
    """One queue: pollers, backlog, leases, repair and admission facts."""
    return describe_queue(ctx.rt, ctx.namespace, ctx.path["task_queue"])


def _records(rt: Runtime, namespace: str, queue: str) -> list[RolloutRecord]:
    return [
        _record(row)
        for row in rt.store.all(
            "SELECT * FROM build_id_rollouts WHERE namespace = ? AND task_queue = ?", (namespace, queue)
        )
    ]


def _record(row: Row) -> RolloutRecord:
    return RolloutRecord(
        row["build_id"] or None,
        row["drain_intent"],
        iso(row["drained_at"]),
        iso(row["promoted_at"]),
        iso(row["rolled_back_at"]),
        iso(row["created_at"]),
    )


@table.get("/api/task-queues/{task_queue}/build-ids", roles=OPERATOR_ROLES)
async def list_build_ids(ctx: Ctx) -> dict[str, Any]:
    """Build-id cohorts of the queue with worker counts and operator intent."""
    queue = ctx.path["task_queue"]
    now = ctx.rt.clock.now()
    workers = []
    for row in ctx.rt.store.all(
        "SELECT * FROM workers WHERE namespace = ? AND task_queue = ?", (ctx.namespace, queue)
    ):
        workers.append(
            {
                "build_id": row["build_id"],
                "status": worker_status(ctx.rt, row, now),
                "runtime": row["runtime"],
                "sdk_version": row["sdk_version"],
                "last_heartbeat_at": iso(row["last_heartbeat_at"]),
                "registered_at": iso(row["registered_at"]),
                "workflow_definition_fingerprints": loads(row["workflow_definition_fingerprints"], {}),
            }
        )
    return {
        "namespace": ctx.namespace,
        "task_queue": queue,
        "stale_after_seconds": ctx.rt.config.worker_stale_after_seconds,
        "build_ids": summarize_cohorts(workers, _records(ctx.rt, ctx.namespace, queue)),
    }


def _target_build_id(ctx: Ctx) -> str | None:
    if "build_id" not in ctx.body:
        raise validation_error(
            {"build_id": ["The build_id field must be present (null targets the unversioned cohort)."]}
        )
    fields = Fields(ctx.body)
    build_id = fields.string("build_id", max_len=255)
    fields.check()
    return build_id.strip() or None if build_id is not None else None


def _transition(ctx: Ctx, change: str) -> dict[str, Any]:
    queue = ctx.path["task_queue"]
    build_id = _target_build_id(ctx)
    now = ctx.rt.clock.now()
    key = {"namespace": ctx.namespace, "task_queue": queue, "build_id": build_id or _UNVERSIONED}
    with ctx.rt.store.transaction() as tx:
        row = tx.one(
            "SELECT * FROM build_id_rollouts WHERE namespace = ? AND task_queue = ? AND build_id = ?",
            tuple(key.values()),
        )
        if row is None:
            tx.insert(
                "build_id_rollouts", {**key, "drain_intent": "active", "created_at": now, "updated_at": now}
            )
            row = tx.one(
                "SELECT * FROM build_id_rollouts WHERE namespace = ? AND task_queue = ? AND build_id = ?",
                tuple(key.values()),
            )
        assert row is not None
        values: dict[str, Any] = {"updated_at": now}
        if change == "drain":
            values.update(
                drain_intent="draining",
                drained_at=row["drained_at"] if row["drain_intent"] == "draining" else now,
            )
        elif change == "resume":
            values.update(drain_intent="active", drained_at=None)
        else:
            values.update(drain_intent="active", drained_at=None, promoted_at=now)
        tx.update("build_id_rollouts", key, values)
        _sync_worker_rows(tx, ctx.namespace, queue, build_id, values["drain_intent"], now)
        updated = tx.one(
            "SELECT * FROM build_id_rollouts WHERE namespace = ? AND task_queue = ? AND build_id = ?",
            tuple(key.values()),
        )
    assert updated is not None
    record = _record(updated)
    body: dict[str, Any] = {
        "namespace": ctx.namespace,
        "task_queue": queue,
        "build_id": build_id,
        "drain_intent": record.drain_intent,
        "drained_at": record.drained_at,
        "promoted_at": record.promoted_at,
        "rolled_back_at": record.rolled_back_at,
    }
    if change == "promote":
        body["new_start_selected"] = True
    return body


def _sync_worker_rows(
    tx: Transaction, namespace: str, queue: str, build_id: str | None, intent: str, now: float
) -> None:
    """Flip the cohort's registered workers to the new intent, as the real server does."""
    flip_from = "active" if intent == "draining" else "draining"
    cohort = "build_id = ?" if build_id else "(build_id IS NULL OR build_id = '')"
    params: list[Any] = [intent, now, namespace, queue, flip_from]
    if build_id:
        params.append(build_id)
    tx.execute(
        f"UPDATE workers SET status = ?, updated_at = ? WHERE namespace = ? AND task_queue = ? AND status = ?"
        f" AND {cohort}",
        params,
    )


@table.post("/api/task-queues/{task_queue}/build-ids/drain", roles=OPERATOR_ROLES)
async def drain_build_id(ctx: Ctx) -> dict[str, Any]:
    """Mark a cohort as draining; its workers report ``draining`` (repeats keep the first drain time)."""
    return _transition(ctx, "drain")


@table.post("/api/task-queues/{task_queue}/build-ids/resume", roles=OPERATOR_ROLES)
async def resume_build_id(ctx: Ctx) -> dict[str, Any]:
    """Undo a drain: the cohort's workers are active again."""
    return _transition(ctx, "resume")


@table.post("/api/task-queues/{task_queue}/build-ids/promote", roles=OPERATOR_ROLES)
async def promote_build_id(ctx: Ctx) -> dict[str, Any]:
    """Select a cohort for new starts (also ends a drain of it)."""
    return _transition(ctx, "promote")
