"""Discovery: health, readiness and the cluster-info document."""

from __future__ import annotations

from typing import Any

from dw_devserver import cluster_info
from dw_devserver.clock import iso
from dw_devserver.http import ALL_ROLES, Ctx, Reply, RouteTable

table = RouteTable()
routes = table.routes


def _database_ok(ctx: Ctx) -> bool:
    try:
        ctx.rt.store.one("SELECT 1")
    except Exception:
        return False
    return True


@table.get("/api/health", plane="open")
async def health(ctx: Ctx) -> Reply:
    """Liveness: 200 ``serving`` while the database answers."""
    ok = _database_ok(ctx)
    body = {
        "status": "serving" if ok else "degraded",
        "timestamp": iso(ctx.rt.clock.now()),
        "checks": {"database": "ok" if ok else "unavailable"},
    }
    return (200 if ok else 503), body


@table.get("/api/ready", plane="open")
async def ready(ctx: Ctx) -> Reply:
    """Readiness: database, schema, default namespace and auth configuration."""
    db_ok = _database_ok(ctx)
    ns_ok = db_ok and ctx.rt.namespace_exists(ctx.rt.config.default_namespace)
    checks: dict[str, Any] = {
        "database": {"status": "ok" if db_ok else "unavailable"},
        "migrations": {"status": "ok" if db_ok else "unavailable"},
        "default_namespace": {
            "status": "ok" if ns_ok else "missing",
            "namespace": ctx.rt.config.default_namespace,
        },
        "cache": {"status": "ok", "store": "memory"},
        "auth": {"status": "ok", "driver": "token" if ctx.rt.config.auth_enabled else "none"},
    }
    good = db_ok and ns_ok
    return (200 if good else 503), {
        "status": "ready" if good else "not_ready",
        "timestamp": iso(ctx.rt.clock.now()),
        "checks": checks,
    }


def worker_fleet(ctx: Ctx) -> dict[str, Any]:
    """Summary of registered workers in the caller's namespace."""
    cutoff = ctx.rt.clock.now() - ctx.rt.config.worker_stale_after_seconds
    rows = ctx.rt.store.all(
        "SELECT worker_id, task_queue, build_id, status, last_heartbeat_at, runtime FROM workers"
        " WHERE namespace = ?",
        (ctx.namespace,),
    )
    active = [r for r in rows if r["status"] == "active" and r["last_heartbeat_at"] >= cutoff]
    return {
        "namespace": ctx.namespace,
        "active_workers": len(active),
        "active_worker_scopes": len({(r["task_queue"], r["build_id"]) for r in active}),
        "queues": sorted({r["task_queue"] for r in active}),
        "build_ids": sorted({r["build_id"] for r in active if r["build_id"]}),
        "workers": [
            {"worker_id": r["worker_id"], "task_queue": r["task_queue"], "runtime": r["runtime"]}
            for r in active
        ][:50],
    }


@table.get("/api/cluster/info", plane="discovery", roles=ALL_ROLES, check_namespace=False)
async def get_cluster_info(ctx: Ctx) -> Reply:
    """The compatibility manifest clients and workers check at startup."""
    return cluster_info.cluster_info(ctx.rt.config, ctx.rt.server_capabilities, worker_fleet(ctx))
