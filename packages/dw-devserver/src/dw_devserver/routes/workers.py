"""Worker roster: ``GET /api/workers``, ``GET /api/workers/{id}``, ``DELETE /api/workers/{id}``.

Rows are written by the worker plane's register/heartbeat; this module only reads and deletes
them. The reported ``status`` is the effective one: ``stale`` once the last heartbeat is older
than the server's stale window, otherwise the stored ``active``/``draining``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from dw_devserver.clock import iso
from dw_devserver.control.build_ids import effective_worker_status
from dw_devserver.http import OPERATOR_ROLES, ApiError, Ctx, Fields, RouteTable
from dw_devserver.store import Row, loads

if TYPE_CHECKING:
    from dw_devserver.runtime import Runtime

table = RouteTable()
routes = table.routes

WORKER_STATUSES = ("active", "draining", "stale")


def worker_status(rt: Runtime, row: Row, now: float) -> str:
    """The effective status of a worker row at ``now``."""
    return effective_worker_status(
        row["status"],
        datetime.fromtimestamp(row["last_heartbeat_at"], tz=timezone.utc),
        datetime.fromtimestamp(now, tz=timezone.utc),
        rt.config.worker_stale_after_seconds,
    )


def worker_view(rt: Runtime, row: Row, now: float, *, detailed: bool = False) -> dict[str, Any]:
    """The worker object of control-plane.md §8.9 (``updated_at`` only in describe)."""
    view: dict[str, Any] = {
        "worker_id": row["worker_id"],
        "namespace": row["namespace"],
        "task_queue": row["task_queue"],
        "runtime": row["runtime"],
        "sdk_version": row["sdk_version"],
        "build_id": row["build_id"],
        "status": worker_status(rt, row, now),
        "supported_workflow_types": loads(row["supported_workflow_types"], []),
        "workflow_definition_fingerprints": loads(row["workflow_definition_fingerprints"], {}),
        "supported_activity_types": loads(row["supported_activity_types"], []),
        "max_concurrent_workflow_tasks": row["max_concurrent_workflow_tasks"],
        "max_concurrent_activity_tasks": row["max_concurrent_activity_tasks"],
        "task_slots": loads(row["task_slots"]),
        "process_metrics": loads(row["process_metrics"]),
        "heartbeat_interval_seconds": row["heartbeat_interval_seconds"],
        "last_heartbeat_at": iso(row["last_heartbeat_at"]),
        "registered_at": iso(row["registered_at"]),
    }
    if detailed:
        view["updated_at"] = iso(row["updated_at"])
    return view


@table.get("/api/workers", roles=OPERATOR_ROLES)
async def list_workers(ctx: Ctx) -> dict[str, Any]:
    """Workers of the namespace, latest heartbeat first; ``task_queue`` and ``status`` filter exactly."""
    fields = Fields(dict(ctx.query))
    task_queue = fields.string("task_queue", max_len=255)
    status = fields.string("status", choices=WORKER_STATUSES)
    fields.check()
    sql = "SELECT * FROM workers WHERE namespace = ?"
    params: list[Any] = [ctx.namespace]
    if task_queue:
        sql += " AND task_queue = ?"
        params.append(task_queue)
    rows = ctx.rt.store.all(sql + " ORDER BY last_heartbeat_at DESC, worker_id", params)
    now = ctx.rt.clock.now()
    workers = [worker_view(ctx.rt, row, now) for row in rows]
    if status:
        workers = [w for w in workers if w["status"] == status]
    return {
        "namespace": ctx.namespace,
        "stale_after_seconds": ctx.rt.config.worker_stale_after_seconds,
        "workers": workers,
    }


def _load(ctx: Ctx) -> Row:
    worker_id = ctx.path["worker_id"]
    row = ctx.rt.store.one(
        "SELECT * FROM workers WHERE namespace = ? AND worker_id = ?", (ctx.namespace, worker_id)
    )
    if row is None:
        raise ApiError(
            404,
            "worker_not_found",
            f"Worker '{worker_id}' is not registered in namespace '{ctx.namespace}'.",
            worker_id=worker_id,
            namespace=ctx.namespace,
        )
    return row


@table.get("/api/workers/{worker_id}", roles=OPERATOR_ROLES)
async def describe_worker(ctx: Ctx) -> dict[str, Any]:
    """One registered worker."""
    return worker_view(ctx.rt, _load(ctx), ctx.rt.clock.now(), detailed=True)


@table.delete("/api/workers/{worker_id}", roles=("admin",))
async def deregister_worker(ctx: Ctx) -> dict[str, Any]:
    """Forget a worker; tasks it holds come back when their leases expire."""
    with ctx.rt.store.transaction() as tx:
        row = _load(ctx)
        tx.execute(
            "DELETE FROM workers WHERE namespace = ? AND worker_id = ?", (ctx.namespace, row["worker_id"])
        )
    return {"worker_id": row["worker_id"], "outcome": "deregistered"}
