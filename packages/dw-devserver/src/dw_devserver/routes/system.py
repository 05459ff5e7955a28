"""System maintenance (admin only): task repair, history retention and activity-timeout status and passes.

All three are scoped to the caller's namespace (``X-Namespace``): the dev server isolates
namespaces everywhere, so an operator pass in one namespace never touches another's runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dw_devserver.clock import iso
from dw_devserver.http import ApiError, Ctx, Fields, RouteTable, validation_error
from dw_devserver.protocol import TERMINAL_STATUSES

if TYPE_CHECKING:
    from dw_devserver.runtime import Runtime

table = RouteTable()
routes = table.routes

ADMIN = ("admin",)
SCAN_LIMIT = 100
MAX_IDS = 100
_OPEN = ("pending", "running", "waiting")
_OPEN_SQL = "('pending', 'running', 'waiting')"
_TERMINAL_SQL = "(" + ", ".join(f"'{s}'" for s in sorted(TERMINAL_STATUSES)) + ")"
_REPAIR_POLICY = {
    "redispatch_after_seconds": 0,
    "loop_throttle_seconds": 0,
    "scan_limit": SCAN_LIMIT,
    "scan_strategy": "oldest_first",
    "failure_backoff_max_seconds": 0,
    "failure_backoff_strategy": "none",
}


def _limit(ctx: Ctx, source: dict[str, Any]) -> int:
    fields = Fields(source)
    limit = fields.integer("limit", minimum=1)
    fields.check()
    return min(limit or SCAN_LIMIT, SCAN_LIMIT)


def _ids(body: dict[str, Any], field: str) -> list[str] | None:
    raw = body.get(field)
    if raw is None or raw == []:
        return None
    if not isinstance(raw, list) or len(raw) > MAX_IDS:
        raise validation_error({field: [f"{field} must be a list of at most {MAX_IDS} ids."]})
    bad = [i for i, v in enumerate(raw) if not isinstance(v, str) or not v or len(v) > 128]
    if bad:
        raise validation_error(
            {f"{field}.{i}": ["Each id must be a non-empty string of at most 128 characters."] for i in bad}
        )
    return list(dict.fromkeys(raw))


# ---------------------------------------------------------------------------------------------- repair


def _expired_leases(
    rt: Runtime, namespace: str, now: float, run_ids: list[str] | None, instance_id: str | None
) -> list[dict[str, Any]]:
    sql = (
        "SELECT id, run_id, workflow_id, created_at FROM workflow_tasks"
        " WHERE namespace = ? AND status = 'leased' AND lease_expires_at <= ?"
    )
    params: list[Any] = [namespace, now]
    sql, params = _scope(sql, params, run_ids, instance_id)
    return [dict(r) for r in rt.store.all(sql + " ORDER BY created_at LIMIT ?", (*params, SCAN_LIMIT + 1))]


def _stuck_runs(
    rt: Runtime, namespace: str, run_ids: list[str] | None, instance_id: str | None
) -> list[dict[str, Any]]:
    """Open runs with nothing that would ever wake them: no live task, open step or condition wait."""
    sql = (
        "SELECT r.run_id, r.workflow_id, r.started_at FROM runs r"
        f" WHERE r.namespace = ? AND r.status IN {_OPEN_SQL}"
        " AND NOT EXISTS (SELECT 1 FROM workflow_tasks t WHERE t.run_id = r.run_id"
        " AND t.status IN ('ready', 'leased'))"
        " AND NOT EXISTS (SELECT 1 FROM steps s WHERE s.run_id = r.run_id AND s.status = 'open')"
        " AND NOT EXISTS (SELECT 1 FROM condition_waits c WHERE c.run_id = r.run_id AND c.status = 'open')"
    )
    params: list[Any] = [namespace]
    sql, params = _scope(sql, params, run_ids, instance_id, alias="r.")
    return [dict(r) for r in rt.store.all(sql + " ORDER BY r.started_at LIMIT ?", (*params, SCAN_LIMIT + 1))]


def _scope(
    sql: str, params: list[Any], run_ids: list[str] | None, instance_id: str | None, alias: str = ""
) -> tuple[str, list[Any]]:
    if run_ids:
        sql += f" AND {alias}run_id IN ({', '.join('?' for _ in run_ids)})"
        params = [*params, *run_ids]
    if instance_id:
        sql += f" AND {alias}workflow_id = ?"
        params = [*params, instance_id]
    return sql, params


@table.get("/api/system/repair", roles=ADMIN)
async def repair_status(ctx: Ctx) -> dict[str, Any]:
    """Runs whose workflow task lease expired, and open runs nothing would wake."""
    now = ctx.rt.clock.now()
    existing = _expired_leases(ctx.rt, ctx.namespace, now, None, None)
    missing = _stuck_runs(ctx.rt, ctx.namespace, None, None)
    scopes: dict[str, dict[str, Any]] = {}
    for item, kind in [(e, "existing") for e in existing[:SCAN_LIMIT]] + [
        (m, "missing") for m in missing[:SCAN_LIMIT]
    ]:
        key = f"{item['workflow_id']}:{item['run_id']}"
        scope = scopes.setdefault(
            key,
            {
                "scope_key": key,
                "existing_task_candidates": 0,
                "missing_task_candidates": 0,
                "total_candidates": 0,
                "selected_total_candidates": 0,
                "scan_limited_by_global_policy": False,
            },
        )
        scope[f"{kind}_task_candidates"] += 1
        scope["total_candidates"] += 1
        scope["selected_total_candidates"] += 1
    oldest_task = min((e["created_at"] for e in existing), default=None)
    oldest_run = min((m["started_at"] for m in missing), default=None)
    return {
        "policy": dict(_REPAIR_POLICY),
        "candidates": {
            "existing_task_candidates": len(existing[:SCAN_LIMIT]),
            "missing_task_candidates": len(missing[:SCAN_LIMIT]),
            "total_candidates": len(existing[:SCAN_LIMIT]) + len(missing[:SCAN_LIMIT]),
            "scan_limit": SCAN_LIMIT,
            "scan_strategy": "oldest_first",
            "selected_existing_task_candidates": len(existing[:SCAN_LIMIT]),
            "selected_missing_task_candidates": len(missing[:SCAN_LIMIT]),
            "selected_total_candidates": len(existing[:SCAN_LIMIT]) + len(missing[:SCAN_LIMIT]),
            "existing_task_scan_limit_reached": len(existing) > SCAN_LIMIT,
            "missing_task_scan_limit_reached": len(missing) > SCAN_LIMIT,
            "scan_pressure": len(existing) > SCAN_LIMIT or len(missing) > SCAN_LIMIT,
            "oldest_task_candidate_created_at": iso(oldest_task),
            "oldest_missing_run_started_at": iso(oldest_run),
            "max_task_candidate_age_ms": int((now - oldest_task) * 1000) if oldest_task is not None else 0,
            "max_missing_run_age_ms": int((now - oldest_run) * 1000) if oldest_run is not None else 0,
            "scopes": list(scopes.values()),
        },
    }


@table.post("/api/system/repair/pass", roles=ADMIN)
async def repair_pass(ctx: Ctx) -> tuple[int, dict[str, Any]]:
    """Re-offer expired workflow-task leases and re-dispatch stuck runs (optionally only some)."""
    run_ids = _ids(ctx.body, "run_ids")
    fields = Fields(ctx.body)
    instance_id = fields.string("instance_id", max_len=128)
    fields.check()
    rt, now = ctx.rt, ctx.rt.clock.now()
    existing = _expired_leases(rt, ctx.namespace, now, run_ids, instance_id)[:SCAN_LIMIT]
    missing = _stuck_runs(rt, ctx.namespace, run_ids, instance_id)[:SCAN_LIMIT]
    repaired_existing = 0
    existing_failures: list[dict[str, Any]] = []
    with rt.store.transaction() as tx:
        for task in existing:
            changed = tx.execute(
                "UPDATE workflow_tasks SET status = 'ready', lease_owner = NULL, lease_expires_at = NULL,"
                " available_at = ? WHERE id = ? AND status = 'leased'",
                (now, task["id"]),
            ).rowcount
            if changed:
                repaired_existing += 1
                queue = tx.one("SELECT task_queue FROM workflow_tasks WHERE id = ?", (task["id"],))
                if queue is not None:
                    rt.engine.wake_queue(tx, "workflow", ctx.namespace, queue["task_queue"])
            else:
                existing_failures.append(
                    {"task_id": task["id"], "run_id": task["run_id"], "reason": "task_changed_during_repair"}
                )
    repaired_missing = 0
    missing_failures: list[dict[str, Any]] = []
    for run in missing:
        try:
            result = rt.engine.lifecycle.repair_workflow(ctx.namespace, run["workflow_id"])
        except ApiError as err:
            missing_failures.append({"run_id": run["run_id"], "reason": err.reason, "message": err.message})
            continue
        if result.get("outcome") == "repair_dispatched":
            repaired_missing += 1
    body = {
        "throttled": False,
        "selected_existing_task_candidates": len(existing),
        "selected_missing_task_candidates": len(missing),
        "repaired_existing_tasks": repaired_existing,
        "repaired_missing_tasks": repaired_missing,
        "dispatched_tasks": repaired_existing + repaired_missing,
        "selected_command_contract_candidates": 0,
        "backfilled_command_contracts": 0,
        "command_contract_backfill_unavailable": 0,
        "command_contract_failures": [],
        "existing_task_failures": existing_failures,
        "missing_run_failures": missing_failures,
    }
    return (207 if existing_failures or missing_failures else 200), body


# ------------------------------------------------------------------------------------------- retention


def _retention(rt: Runtime, namespace: str) -> tuple[int, float]:
    row = rt.store.one("SELECT retention_days FROM namespaces WHERE name = ?", (namespace,))
    days = int(row["retention_days"]) if row is not None else rt.config.default_retention_days
    return days, rt.clock.now() - days * 86400


def _expired_runs(rt: Runtime, namespace: str, cutoff: float, limit: int) -> list[str]:
    rows = rt.store.all(
        f"SELECT run_id FROM runs WHERE namespace = ? AND status IN {_TERMINAL_SQL} AND closed_at <= ?"
        " ORDER BY closed_at, run_id LIMIT ?",
        (namespace, cutoff, limit),
    )
    return [row["run_id"] for row in rows]


@table.get("/api/system/retention", roles=ADMIN)
async def retention_status(ctx: Ctx) -> dict[str, Any]:
    """Closed runs of this namespace older than its retention."""
    limit = _limit(ctx, dict(ctx.query))
    days, cutoff = _retention(ctx.rt, ctx.namespace)
    expired = _expired_runs(ctx.rt, ctx.namespace, cutoff, limit + 1)
    return {
        "namespace": ctx.namespace,
        "retention_days": days,
        "cutoff": iso(cutoff),
        "expired_run_count": len(expired[:limit]),
        "expired_run_ids": expired[:limit],
        "scan_limit": limit,
        "scan_pressure": len(expired) > limit,
    }


@table.post("/api/system/retention/pass", roles=ADMIN)
async def retention_pass(ctx: Ctx) -> tuple[int, dict[str, Any]]:
    """Delete closed runs past retention (history, tasks, activities, timers) — or only the given ids."""
    run_ids = _ids(ctx.body, "run_ids")
    limit = _limit(ctx, ctx.body)
    rt = ctx.rt
    _, cutoff = _retention(rt, ctx.namespace)
    results: list[dict[str, Any]] = []
    if run_ids:
        marks = ", ".join("?" for _ in run_ids)
        rows = {
            r["run_id"]: r
            for r in rt.store.all(
                f"SELECT run_id, status, closed_at FROM runs WHERE namespace = ? AND run_id IN ({marks})",
                (ctx.namespace, *run_ids),
            )
        }
        eligible = []
        for run_id in run_ids:
            row = rows.get(run_id)
            if row is None:
                results.append({"run_id": run_id, "outcome": "skipped", "reason": "run_not_found"})
            elif row["status"] not in TERMINAL_STATUSES:
                results.append({"run_id": run_id, "outcome": "skipped", "reason": "run_not_terminal"})
            elif row["closed_at"] is None or row["closed_at"] > cutoff:
                results.append({"run_id": run_id, "outcome": "skipped", "reason": "retention_not_expired"})
            else:
                eligible.append(run_id)
    else:
        eligible = _expired_runs(rt, ctx.namespace, cutoff, limit)
    if eligible:
        try:
            results.extend(rt.engine.prune_expired_runs(ctx.namespace, limit=len(eligible), run_ids=eligible))
        except Exception as exc:  # one broken run must not hide the outcome of the others
            results.extend({"run_id": r, "outcome": "error", "reason": str(exc)} for r in eligible)
    pruned = sum(1 for r in results if r["outcome"] == "pruned")
    failed = sum(1 for r in results if r["outcome"] == "error")
    body = {
        "processed": len(results),
        "pruned": pruned,
        "skipped": sum(1 for r in results if r["outcome"] == "skipped"),
        "failed": failed,
        "throttled": False,
        "results": results,
    }
    return (207 if failed else 200), body


# ------------------------------------------------------------------------------------ activity timeouts


def _expired_activities(rt: Runtime, namespace: str, now: float, limit: int) -> list[str]:
    rows = rt.store.all(
        "SELECT id FROM activity_executions WHERE namespace = ? AND status IN ('scheduled', 'running')"
        " AND deadline_at IS NOT NULL AND deadline_at <= ? ORDER BY deadline_at, id LIMIT ?",
        (namespace, now, limit),
    )
    return [row["id"] for row in rows]


@table.get("/api/system/activity-timeouts", roles=ADMIN)
async def activity_timeout_status(ctx: Ctx) -> dict[str, Any]:
    """Open activity executions of this namespace whose deadline has passed."""
    limit = _limit(ctx, dict(ctx.query))
    expired = _expired_activities(ctx.rt, ctx.namespace, ctx.rt.clock.now(), limit + 1)
    return {
        "expired_count": len(expired[:limit]),
        "expired_execution_ids": expired[:limit],
        "scan_limit": limit,
        "scan_pressure": len(expired) > limit,
    }


@table.post("/api/system/activity-timeouts/pass", roles=ADMIN)
async def activity_timeout_pass(ctx: Ctx) -> tuple[int, dict[str, Any]]:
    """Enforce expired activity deadlines now (retry or fail), as the scheduler loop would."""
    execution_ids = _ids(ctx.body, "execution_ids")
    limit = _limit(ctx, ctx.body)
    rt = ctx.rt
    now = rt.clock.now()
    expired = _expired_activities(rt, ctx.namespace, now, 10_000 if execution_ids else limit)
    wanted = execution_ids or expired
    results: list[dict[str, Any]] = []
    targets = [e for e in wanted if e in set(expired)]
    for execution_id in wanted:
        if execution_id in targets:
            continue
        exists = rt.store.one(
            "SELECT status FROM activity_executions WHERE id = ? AND namespace = ?",
            (execution_id, ctx.namespace),
        )
        reason = (
            "execution_not_found"
            if exists is None
            else ("not_open" if exists["status"] not in ("scheduled", "running") else "not_expired")
        )
        results.append({"execution_id": execution_id, "outcome": "skipped", "reason": reason})
    if targets:
        enforced = {
            r.get("execution_id"): r
            for r in rt.engine.enforce_activity_timeouts(limit=max(limit, len(targets)))
        }
        for execution_id in targets:
            outcome = enforced.get(execution_id)
            if outcome is None:
                results.append({"execution_id": execution_id, "outcome": "skipped", "reason": "not_expired"})
            else:
                results.append(
                    {
                        "execution_id": execution_id,
                        "outcome": outcome.get("outcome", "enforced"),
                        "has_retry": bool(outcome.get("has_retry", False)),
                        **({"reason": outcome["reason"]} if outcome.get("reason") else {}),
                    }
                )
    failed = sum(1 for r in results if r["outcome"] == "error")
    body = {
        "processed": len(results),
        "enforced": sum(1 for r in results if r["outcome"] == "enforced"),
        "skipped": sum(1 for r in results if r["outcome"] == "skipped"),
        "failed": failed,
        "results": results,
    }
    return (207 if failed else 200), body
