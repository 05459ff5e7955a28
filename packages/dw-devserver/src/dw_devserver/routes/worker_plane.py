"""Worker plane (``/api/worker/*``): registration, heartbeats, long-polls and task outcomes."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from dw_devserver.build_id_routing import cohort_drain_intent
from dw_devserver.codec import payload_from_request
from dw_devserver.commands import normalise
from dw_devserver.http import ApiError, Ctx, Fields, Reply, RouteTable, validation_error
from dw_devserver.routes.search_attributes import check_attribute_values
from dw_devserver.store import loads

table = RouteTable()
routes = table.routes

W = {"plane": "worker", "roles": ("worker",)}
RUNTIMES = ("php", "python", "typescript", "go", "java", "external", "rust", "dotnet", "ruby")


def _str_list(f: Fields, field: str) -> list[str]:
    value = f.data.get(field)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        f.fail(field, f"The {field} field must be a list of strings.")
        return []
    return list(value)


@table.post("/api/worker/register", **W)
async def register(ctx: Ctx) -> Reply:
    """Register (or re-register) a worker on one task queue."""
    f = Fields(ctx.body)
    worker_id = f.string("worker_id", max_len=255)
    task_queue = f.string("task_queue", required=True, max_len=255)
    runtime = f.string("runtime", required=True, choices=RUNTIMES)
    sdk_version = f.string("sdk_version", max_len=64)
    build_id = f.string("build_id", max_len=255)
    wf_types = _str_list(f, "supported_workflow_types")
    act_types = _str_list(f, "supported_activity_types")
    fingerprints = f.obj("workflow_definition_fingerprints") or {}
    for key, value in fingerprints.items():
        if not isinstance(value, str) or len(value) > 255:
            f.fail(
                f"workflow_definition_fingerprints.{key}",
                "Fingerprints must be strings of at most 255 chars.",
            )
    max_wf = f.integer("max_concurrent_workflow_tasks", minimum=1)
    max_act = f.integer("max_concurrent_activity_tasks", minimum=1)
    interval = f.integer("heartbeat_interval_seconds", minimum=1)
    capabilities = _str_list(f, "capabilities")
    f.check()
    from dw_devserver.ids import new_id

    worker_id = worker_id or new_id()
    rt = ctx.rt
    now = rt.clock.now()
    with rt.store.transaction() as tx:
        prior = tx.one(
            "SELECT * FROM workers WHERE namespace = ? AND worker_id = ?", (ctx.namespace, worker_id)
        )
        merged = dict(loads(prior["workflow_definition_fingerprints"], {})) if prior else {}
        if prior is not None and prior["status"] == "active":
            for wf_type, fp in fingerprints.items():
                if merged.get(wf_type) not in (None, fp):
                    raise ApiError(
                        409,
                        "workflow_definition_changed",
                        f"Worker '{worker_id}' already registered a different definition of '{wf_type}'.",
                        workflow_type=wf_type,
                        worker_id=worker_id,
                        remediation="Register the changed definition under a new worker_id or build_id.",
                    )
        merged = {k: v for k, v in merged.items() if k in wf_types or not wf_types}
        merged.update(fingerprints)
        values = {
            "task_queue": task_queue,
            "runtime": runtime,
            "sdk_version": sdk_version,
            "build_id": build_id,
            "supported_workflow_types": wf_types,
            "supported_activity_types": act_types,
            "workflow_definition_fingerprints": merged,
            "max_concurrent_workflow_tasks": max_wf or 100,
            "max_concurrent_activity_tasks": max_act or 100,
            "capabilities": capabilities,
            # a worker joining (or re-registering into) a drained cohort is draining, as the
            # workers_join_drained_cohort trigger stores for new rows
            "status": cohort_drain_intent(tx, ctx.namespace, str(task_queue), build_id),
            "task_slots": ctx.body.get("task_slots")
            if isinstance(ctx.body.get("task_slots"), dict)
            else None,
            "process_metrics": ctx.body.get("process_metrics")
            if isinstance(ctx.body.get("process_metrics"), dict)
            else None,
            "heartbeat_interval_seconds": interval,
            "last_heartbeat_at": now,
            "updated_at": now,
        }
        if prior is None:
            tx.insert(
                "workers",
                {"namespace": ctx.namespace, "worker_id": worker_id, "registered_at": now, **values},
            )
        else:
            tx.update("workers", {"namespace": ctx.namespace, "worker_id": worker_id}, values)
    return 201, {
        "worker_id": worker_id,
        "registered": True,
        "task_queue": task_queue,
        "runtime": runtime,
        "status": values["status"],
    }


@table.post("/api/worker/heartbeat", **W)
async def heartbeat(ctx: Ctx) -> Reply:
    """Worker liveness (plus optional slots and process metrics)."""
    f = Fields(ctx.body)
    worker_id = f.string("worker_id", required=True, max_len=255)
    f.check()
    rt = ctx.rt
    now = rt.clock.now()
    values: dict[str, Any] = {"last_heartbeat_at": now, "updated_at": now}
    for key in ("task_slots", "process_metrics"):
        if isinstance(ctx.body.get(key), dict):
            values[key] = ctx.body[key]
    with rt.store.transaction() as tx:
        changed = tx.update("workers", {"namespace": ctx.namespace, "worker_id": worker_id}, values)
    if not changed:
        raise ApiError(
            404, "worker_not_registered", f"Worker '{worker_id}' is not registered.", worker_id=worker_id
        )
    # like the real server, each heartbeat also runs a small inline retention pass
    results = rt.engine.prune_expired_runs(ctx.namespace, limit=10)
    pruned = sum(1 for r in results if r["outcome"] == "pruned")
    return {
        "worker_id": worker_id,
        "acknowledged": True,
        "retention": {"namespace": ctx.namespace, "processed": len(results), "pruned": pruned},
    }


def _worker(ctx: Ctx) -> tuple[str, str, dict[str, Any]]:
    f = Fields(ctx.body)
    worker_id = f.string("worker_id", required=True, max_len=255)
    queue = f.string("task_queue", required=True, max_len=255)
    f.string("poll_request_id", max_len=255)
    f.check()
    assert worker_id is not None and queue is not None
    row = ctx.rt.store.one(
        "SELECT * FROM workers WHERE namespace = ? AND worker_id = ?", (ctx.namespace, worker_id)
    )
    if row is None:
        raise ApiError(
            412,
            "worker_not_registered",
            f"Worker '{worker_id}' is not registered; call /api/worker/register first.",
            worker_id=worker_id,
        )
    if row["task_queue"] != queue:
        raise ApiError(
            409,
            "task_queue_mismatch",
            "The worker is registered on another task queue.",
            registered_task_queue=row["task_queue"],
            requested_task_queue=queue,
        )
    build_id = ctx.body.get("build_id")
    if build_id and row["build_id"] and build_id != row["build_id"]:
        raise ApiError(
            409,
            "build_id_mismatch",
            "The worker is registered with another build id.",
            registered_build_id=row["build_id"],
            requested_build_id=build_id,
        )
    return worker_id, queue, dict(row)


async def _long_poll(ctx: Ctx, family: str, queue: str, attempt: Any) -> Any:
    """Call ``attempt()`` until it returns something or the long-poll timeout passes."""
    rt = ctx.rt
    key = (family, ctx.namespace, queue)
    deadline = time.monotonic() + rt.config.long_poll_timeout
    while True:
        event = rt.wakeups.event(key)  # park before probing so a wake between probe and wait is not lost
        found = attempt()
        if found is not None:
            return found
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(event.wait(), min(remaining, 1.0))
        if await ctx.request.is_disconnected():
            return None


@table.post("/api/worker/workflow-tasks/poll", **W)
async def poll_workflow_task(ctx: Ctx) -> Reply:
    """Lease a workflow task (long-poll); ``{"task": null}`` on timeout."""
    worker_id, queue, worker = _worker(ctx)
    types = loads(worker["supported_workflow_types"], [])
    rt = ctx.rt
    _poll_cache = rt.poll_cache
    poll_id = ctx.body.get("poll_request_id")
    cache_key = (ctx.namespace, worker_id, str(poll_id))
    if poll_id:
        cached = _poll_cache.get(cache_key)
        if cached is not None and cached[1] > time.monotonic():
            task = cached[0]
            row = rt.store.one(
                "SELECT status, lease_owner, attempt_count FROM workflow_tasks WHERE id = ?",
                (task["task_id"],),
            )
            if (
                row is not None
                and row["status"] == "leased"
                and row["lease_owner"] == worker_id
                and (row["attempt_count"] == task["workflow_task_attempt"])
            ):
                return {"task": task}
    f = Fields(ctx.body)
    page = f.integer("history_page_size", minimum=1, maximum=1000) or 500
    f.check()
    task = await _long_poll(
        ctx,
        "workflow",
        queue,
        lambda: rt.engine.completion.claim(ctx.namespace, queue, worker, types, page),
    )
    if task is not None and poll_id:
        now = time.monotonic()
        for key in [k for k, v in _poll_cache.items() if v[1] <= now]:
            _poll_cache.pop(key, None)
        _poll_cache[cache_key] = (task, now + min(rt.config.long_poll_timeout + 5, 60))
    return {"task": task}


def _lease_fields(ctx: Ctx) -> tuple[Any, Any]:
    f = Fields(ctx.body)
    owner = f.string("lease_owner", required=True, max_len=255)
    attempt = f.integer("workflow_task_attempt", required=True, minimum=1)
    f.check()
    return owner, attempt


@table.post("/api/worker/workflow-tasks/{task_id}/history", **W)
async def workflow_task_history(ctx: Ctx) -> Reply:
    """Next page of a leased task's history."""
    owner, attempt = _lease_fields(ctx)
    f = Fields(ctx.body)
    token = f.string("next_history_page_token", required=True)
    size = f.integer("history_page_size", minimum=1, maximum=1000) or 500
    f.check()
    return ctx.rt.engine.completion.history_page(
        ctx.namespace, ctx.path["task_id"], owner, attempt, token, size
    )


@table.post("/api/worker/workflow-tasks/{task_id}/heartbeat", **W)
async def workflow_task_heartbeat(ctx: Ctx) -> Reply:
    """Extend a workflow-task lease."""
    owner, attempt = _lease_fields(ctx)
    rt = ctx.rt
    from dw_devserver.clock import iso

    with rt.store.transaction() as tx:
        task = rt.engine.completion.guard(tx, ctx.namespace, ctx.path["task_id"], owner, attempt)
        lease = rt.clock.now() + rt.config.workflow_task_lease_seconds
        tx.update("workflow_tasks", {"id": task["id"]}, {"lease_expires_at": lease})
        run = rt.engine.run(task["run_id"], tx)
    return {
        "task_id": task["id"],
        "workflow_task_attempt": attempt,
        "lease_owner": owner,
        "renewed": True,
        "lease_expires_at": iso(lease),
        "run_status": run["status"] if run else None,
        "task_status": "leased",
        "reason": None,
    }


def _check_upserted_attribute_types(ctx: Ctx, commands: list[dict[str, Any]]) -> None:
    """422 before anything is applied when an upsert breaks a declared attribute type."""
    errors: dict[str, list[str]] = {}
    for index, cmd in enumerate(commands):
        if cmd["type"] == "upsert_search_attributes":
            errors.update(
                check_attribute_values(
                    ctx.rt,
                    ctx.namespace,
                    cmd["attributes"],
                    check_names=False,
                    field=f"commands.{index}.attributes",
                )
            )
    if errors:
        raise validation_error(errors)


@table.post("/api/worker/workflow-tasks/{task_id}/complete", **W)
async def complete_workflow_task(ctx: Ctx) -> Reply:
    """Apply the task's commands."""
    commands = normalise(ctx.body.get("commands"))
    owner, attempt = _lease_fields(ctx)
    _check_upserted_attribute_types(ctx, commands)
    return ctx.rt.engine.completion.complete(ctx.namespace, ctx.path["task_id"], owner, attempt, commands)


@table.post("/api/worker/workflow-tasks/{task_id}/fail", **W)
async def fail_workflow_task(ctx: Ctx) -> Reply:
    """Report a task failure; the task is offered again after a backoff."""
    owner, attempt = _lease_fields(ctx)
    f = Fields(ctx.body)
    failure = f.obj("failure", required=True)
    if failure is not None:
        Fields(failure, prefix="failure.").string("message", required=True)
        sub = Fields(failure, prefix="failure.")
        sub.string("message", required=True)
        f.errors.update(sub.errors)
    f.check()
    assert failure is not None
    return ctx.rt.engine.completion.fail(ctx.namespace, ctx.path["task_id"], owner, attempt, failure)


# ------------------------------------------------------------------------ activity tasks


@table.post("/api/worker/activity-tasks/poll", **W)
async def poll_activity_task(ctx: Ctx) -> Reply:
    """Lease an activity attempt (long-poll)."""
    _, queue, worker = _worker(ctx)
    types = loads(worker["supported_activity_types"], [])
    acts = ctx.rt.engine.activities
    task = await _long_poll(ctx, "activity", queue, lambda: acts.claim(ctx.namespace, queue, worker, types))
    return {"task": task}


def _attempt_fields(ctx: Ctx) -> tuple[str, str]:
    f = Fields(ctx.body)
    attempt_id = f.string("activity_attempt_id", required=True, max_len=255)
    owner = f.string("lease_owner", required=True, max_len=255)
    f.check()
    assert attempt_id is not None and owner is not None
    return attempt_id, owner


@table.post("/api/worker/activity-tasks/{task_id}/complete", **W)
async def complete_activity(ctx: Ctx) -> Reply:
    """Record an activity result."""
    attempt_id, owner = _attempt_fields(ctx)
    stored, codec = payload_from_request(ctx.body.get("result"), "result")
    return ctx.rt.engine.activities.complete(
        ctx.namespace, ctx.path["task_id"], attempt_id, owner, stored, codec
    )


@table.post("/api/worker/activity-tasks/{task_id}/fail", **W)
async def fail_activity(ctx: Ctx) -> Reply:
    """Record an activity failure (retried per the retry policy)."""
    attempt_id, owner = _attempt_fields(ctx)
    f = Fields(ctx.body)
    failure = f.obj("failure", required=True)
    if failure is not None:
        sub = Fields(failure, prefix="failure.")
        sub.string("message", required=True)
        sub.string("type", max_len=255)
        sub.boolean("non_retryable")
        sub.boolean("retryable")
        f.errors.update(sub.errors)
    f.check()
    assert failure is not None
    return ctx.rt.engine.activities.fail(ctx.namespace, ctx.path["task_id"], attempt_id, owner, failure)


@table.post("/api/worker/activity-tasks/{task_id}/heartbeat", **W)
async def heartbeat_activity(ctx: Ctx) -> Reply:
    """Extend the attempt lease; tells the worker when the activity was cancelled."""
    attempt_id, owner = _attempt_fields(ctx)
    progress = {
        k: ctx.body.get(k)
        for k in ("message", "current", "total", "unit", "details")
        if ctx.body.get(k) is not None
    }
    return ctx.rt.engine.activities.heartbeat(ctx.namespace, ctx.path["task_id"], attempt_id, owner, progress)


# ------------------------------------------------------------------------ query tasks


@table.post("/api/worker/query-tasks/poll", **W)
async def poll_query_task(ctx: Ctx) -> Reply:
    """Lease a pending query (long-poll) with the run's full history."""
    worker_id, queue, worker = _worker(ctx)
    types = loads(worker["supported_workflow_types"], [])
    rt = ctx.rt
    qt = await _long_poll(
        ctx, "query", queue, lambda: rt.queries.claim(ctx.namespace, queue, worker_id, types)
    )
    if qt is None:
        return {"task": None}
    from dw_devserver.clock import iso
    from dw_devserver.codec import envelope
    from dw_devserver.completion import event_json

    run = rt.engine.run(qt.run_id)
    assert run is not None
    events = rt.store.all("SELECT * FROM history_events WHERE run_id = ? ORDER BY sequence", (qt.run_id,))
    codec = run["payload_codec"] or "avro"
    return {
        "task": {
            "query_task_id": qt.id,
            "query_task_attempt": qt.attempt,
            "workflow_id": qt.workflow_id,
            "run_id": qt.run_id,
            "workflow_type": qt.workflow_type,
            "task_queue": qt.task_queue,
            "query_name": qt.query_name,
            "payload_codec": codec,
            "workflow_arguments": envelope(run["input"], codec),
            "query_arguments": qt.arguments or {"codec": codec, "blob": None},
            "input": qt.arguments,  # the name external workers use for the same envelope
            "run_status": run["status"],
            "last_history_sequence": run["last_history_sequence"],
            "history_events": [event_json(e) for e in events],
            "lease_owner": worker_id,
            "lease_expires_at": iso(qt.lease_expires_at),
        }
    }


def _query_lease(ctx: Ctx) -> Any:
    f = Fields(ctx.body)
    owner = f.string("lease_owner", required=True, max_len=255)
    attempt = f.integer("query_task_attempt", required=True, minimum=1)
    f.check()
    return ctx.rt.queries.guard(ctx.path["task_id"], owner, attempt)


@table.post("/api/worker/query-tasks/{task_id}/complete", **W)
async def complete_query_task(ctx: Ctx) -> Reply:
    """Deliver a query answer to the waiting caller."""
    task = _query_lease(ctx)
    env = ctx.body.get("result_envelope")
    if env is not None:
        f = Fields(env if isinstance(env, dict) else {}, prefix="result_envelope.")
        if not isinstance(env, dict):
            f.fail("", "The result envelope must be an object.")
        else:
            f.string("codec", required=True)
            if "blob" not in env:
                f.fail("blob", "The blob field is required.")
        f.check()
    ctx.rt.queries.resolve(task, "completed", {"result": ctx.body.get("result"), "result_envelope": env})
    return {
        "query_task_id": task.id,
        "query_task_attempt": task.attempt,
        "outcome": "completed",
        "status": 200,
    }


@table.post("/api/worker/query-tasks/{task_id}/fail", **W)
async def fail_query_task(ctx: Ctx) -> Reply:
    """Report a query failure to the waiting caller."""
    task = _query_lease(ctx)
    f = Fields(ctx.body)
    failure = f.obj("failure", required=True) or {}
    sub = Fields(failure, prefix="failure.")
    message = sub.string("message", required=True)
    reason = sub.string("reason", max_len=255) or "query_rejected"
    f.errors.update(sub.errors)
    f.check()
    ctx.rt.queries.resolve(task, "failed", {"reason": reason, "message": message})
    return {
        "query_task_id": task.id,
        "query_task_attempt": task.attempt,
        "outcome": "failed",
        "reason": reason,
        "status": 200,
    }
