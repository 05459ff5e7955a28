"""Namespaces: ``/api/namespaces/**`` (list, describe, create, update, delete, external-storage
policy) and the storage round-trip probe ``POST /api/storage/test``."""

from __future__ import annotations

import re
from typing import Any

from dw_devserver.clock import iso
from dw_devserver.control.namespace_cleanup import purge_namespace
from dw_devserver.control.storage_probe import (
    SUPPORTED_DIAGNOSTIC_DRIVERS,
    ProbeFailed,
    default_root,
    probe_payload,
    root_from_uri,
    round_trip_local,
)
from dw_devserver.http import OPERATOR_ROLES, ApiError, Ctx, Fields, RouteTable
from dw_devserver.protocol import TERMINAL_STATUSES
from dw_devserver.store import Row, loads

table = RouteTable()
routes = table.routes

ADMIN = ("admin",)
STORAGE_DRIVERS = ("local", "s3", "gcs", "azure")
_NAME = re.compile(r"[a-zA-Z0-9._-]{1,128}")
_CONFIG_LIMITS = {
    "uri": 2048,
    "bucket": 255,
    "disk": 255,
    "prefix": 1024,
    "region": 128,
    "endpoint": 2048,
    "auth_profile": 255,
}
DEFAULT_SMALL_PROBE_BYTES = 1024
DEFAULT_LARGE_PROBE_BYTES = 1024 * 1024


def namespace_view(row: Row) -> dict[str, Any]:
    """The namespace object of control-plane.md §8.7."""
    data = loads(row["data"], {}) or {}
    return {
        "name": row["name"],
        "description": row["description"],
        "retention_days": row["retention_days"],
        "status": row["status"],
        "external_payload_storage": data.get("external_payload_storage"),
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def _not_found(name: str) -> ApiError:
    return ApiError(404, "namespace_not_found", f"Namespace '{name}' was not found.", namespace=name)


def _load(ctx: Ctx, name: str) -> Row:
    row = ctx.rt.store.one("SELECT * FROM namespaces WHERE name = ?", (name.lower(),))
    if row is None or row["status"] != "active":
        raise _not_found(name.lower())
    return row


@table.get("/api/namespaces", roles=OPERATOR_ROLES, check_namespace=False)
async def list_namespaces(ctx: Ctx) -> dict[str, Any]:
    """Every namespace, oldest first (``default`` leads)."""
    rows = ctx.rt.store.all("SELECT * FROM namespaces WHERE status = 'active' ORDER BY created_at, name")
    return {"namespaces": [namespace_view(r) for r in rows]}


@table.get("/api/namespaces/{name}", roles=OPERATOR_ROLES, check_namespace=False)
async def describe_namespace(ctx: Ctx) -> dict[str, Any]:
    """One namespace."""
    return namespace_view(_load(ctx, ctx.path["name"]))


@table.post("/api/namespaces", roles=ADMIN, check_namespace=False)
async def create_namespace(ctx: Ctx) -> tuple[int, dict[str, Any]]:
    """Create ``{name, description?, retention_days?}``; names are stored lower-case."""
    fields = Fields(ctx.body)
    name = fields.string("name", required=True, max_len=128, pattern=_NAME)
    description = fields.string("description", max_len=1000)
    retention = fields.integer("retention_days", minimum=1, maximum=365)
    fields.check()
    assert name is not None
    name = name.lower()
    now = ctx.rt.clock.now()
    with ctx.rt.store.transaction() as tx:
        if tx.one("SELECT 1 FROM namespaces WHERE name = ?", (name,)) is not None:
            raise ApiError(
                409, "namespace_already_exists", f"Namespace '{name}' already exists.", namespace=name
            )
        tx.insert(
            "namespaces",
            {
                "name": name,
                "description": description,
                "retention_days": retention
                if retention is not None
                else ctx.rt.config.default_retention_days,
                "status": "active",
                "data": "{}",
                "created_at": now,
                "updated_at": now,
            },
        )
        row = tx.one("SELECT * FROM namespaces WHERE name = ?", (name,))
    assert row is not None
    return 201, namespace_view(row)


@table.put("/api/namespaces/{name}", roles=ADMIN, check_namespace=False)
async def update_namespace(ctx: Ctx) -> dict[str, Any]:
    """Change description and/or retention; absent or null fields keep their value."""
    fields = Fields(ctx.body)
    description = fields.string("description", max_len=1000)
    retention = fields.integer("retention_days", minimum=1, maximum=365)
    fields.check()
    with ctx.rt.store.transaction() as tx:
        row = _load(ctx, ctx.path["name"])
        values: dict[str, Any] = {"updated_at": ctx.rt.clock.now()}
        if description is not None:
            values["description"] = description
        if retention is not None:
            values["retention_days"] = retention
        tx.update("namespaces", {"name": row["name"]}, values)
        updated = tx.one("SELECT * FROM namespaces WHERE name = ?", (row["name"],))
    assert updated is not None
    return namespace_view(updated)


@table.delete("/api/namespaces/{name}", roles=ADMIN, check_namespace=False)
async def delete_namespace(ctx: Ctx) -> dict[str, Any]:
    """Delete a namespace and everything in it; refused while any of its workflows is still open."""
    with ctx.rt.store.transaction() as tx:
        row = _load(ctx, ctx.path["name"])
        name = row["name"]
        if name == ctx.rt.config.default_namespace:
            raise ApiError(
                409,
                "default_namespace_protected",
                f"The default namespace '{name}' cannot be deleted.",
                namespace=name,
            )
        marks = ", ".join("?" for _ in TERMINAL_STATUSES)
        open_runs = tx.one(
            f"SELECT COUNT(*) AS n FROM runs WHERE namespace = ? AND status NOT IN ({marks})",
            (name, *sorted(TERMINAL_STATUSES)),
        )
        if open_runs is not None and open_runs["n"]:
            raise ApiError(
                409,
                "namespace_has_open_workflows",
                f"Namespace '{name}' still has {open_runs['n']} open workflow run(s); "
                "cancel or terminate them "
                "first.",
                namespace=name,
                open_workflow_runs=open_runs["n"],
            )
        counts = purge_namespace(tx, name)
    return {"name": name, "status": "deleted", "deleted": counts}


@table.put("/api/namespaces/{name}/external-storage", roles=ADMIN, check_namespace=False)
async def set_external_storage(ctx: Ctx) -> dict[str, Any]:
    """Set the namespace's external payload storage policy (driver, enabled, threshold_bytes, config)."""
    fields = Fields(ctx.body)
    driver = fields.string("driver", required=True, choices=STORAGE_DRIVERS)
    enabled = fields.boolean("enabled")
    threshold = fields.integer("threshold_bytes", minimum=1)
    raw_config = fields.obj("config")
    config: dict[str, str] = {}
    if raw_config is not None:
        for key, value in raw_config.items():
            limit = _CONFIG_LIMITS.get(key)
            if limit is None:
                fields.fail(
                    f"config.{key}", f"Unknown config key {key!r}; allowed: {', '.join(_CONFIG_LIMITS)}."
                )
            elif value is None or value == "":
                continue
            elif not isinstance(value, str):
                fields.fail(f"config.{key}", f"config.{key} must be a string.")
            elif len(value) > limit:
                fields.fail(f"config.{key}", f"config.{key} must not be longer than {limit} characters.")
            else:
                config[key] = value
    fields.check()
    policy: dict[str, Any] = {"driver": driver, "enabled": True if enabled is None else enabled}
    if threshold is not None:
        policy["threshold_bytes"] = threshold
    if config:
        policy["config"] = config
    with ctx.rt.store.transaction() as tx:
        row = _load(ctx, ctx.path["name"])
        data = loads(row["data"], {}) or {}
        data["external_payload_storage"] = policy
        tx.update("namespaces", {"name": row["name"]}, {"data": data, "updated_at": ctx.rt.clock.now()})
        updated = tx.one("SELECT * FROM namespaces WHERE name = ?", (row["name"],))
    assert updated is not None
    return namespace_view(updated)


def _probe_failure(reason: str, message: str, namespace: str, driver: str | None, **extra: Any) -> ApiError:
    error = ApiError(422, reason, message, namespace=namespace, driver=driver, **extra)
    # ``status`` names the HTTP status in ApiError's signature, so the body field is set afterwards.
    error.fields = {"status": "failed", **error.fields}
    return error


@table.post("/api/storage/test", roles=ADMIN)
async def test_external_storage(ctx: Ctx) -> dict[str, Any]:
    """Round-trip a small and a large payload through the caller namespace's storage driver.

    Sizes default to 1 KiB and 1 MiB when omitted (the 0.4.84 client sends them only when given).
    """
    fields = Fields(ctx.body)
    small = fields.integer("small_payload_bytes", minimum=1, maximum=1_048_576)
    large = fields.integer("large_payload_bytes", minimum=1, maximum=16_777_216)
    driver = fields.string("driver", choices=STORAGE_DRIVERS)
    fields.check()
    row = _load(ctx, ctx.namespace)
    policy = (loads(row["data"], {}) or {}).get("external_payload_storage")
    if not policy:
        raise _probe_failure(
            "external_storage_not_configured",
            f"Namespace '{ctx.namespace}' has no external storage policy; set one with "
            "PUT /api/namespaces/{name}/external-storage.",
            ctx.namespace,
            driver,
        )
    configured = policy.get("driver")
    if not policy.get("enabled", True):
        raise _probe_failure(
            "external_storage_disabled",
            f"External storage is disabled for namespace '{ctx.namespace}'.",
            ctx.namespace,
            configured,
        )
    if driver is not None and driver != configured:
        raise _probe_failure(
            "storage_driver_unavailable",
            f"Driver {driver!r} is not the namespace's configured driver ({configured!r}).",
            ctx.namespace,
            driver,
            supported_diagnostic_drivers=list(SUPPORTED_DIAGNOSTIC_DRIVERS),
        )
    if configured not in SUPPORTED_DIAGNOSTIC_DRIVERS:
        raise _probe_failure(
            "storage_driver_unavailable",
            f"The dev server can only probe the local filesystem driver, not {configured!r}.",
            ctx.namespace,
            configured,
            supported_diagnostic_drivers=list(SUPPORTED_DIAGNOSTIC_DRIVERS),
        )
    config = policy.get("config") or {}
    try:
        root = root_from_uri(config.get("uri"), default_root(ctx.rt.config.db_path))
        small_result = round_trip_local(
            root, probe_payload(small or DEFAULT_SMALL_PROBE_BYTES, "small"), config.get("prefix")
        )
        large_result = round_trip_local(
            root, probe_payload(large or DEFAULT_LARGE_PROBE_BYTES, "large"), config.get("prefix")
        )
    except ProbeFailed as exc:
        raise _probe_failure("storage_driver_unavailable", str(exc), ctx.namespace, configured) from None
    return {
        "status": "passed",
        "namespace": ctx.namespace,
        "driver": configured,
        "small_payload": small_result.to_json(),
        "large_payload": large_result.to_json(),
    }
