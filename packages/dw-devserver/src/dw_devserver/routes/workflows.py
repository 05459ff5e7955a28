"""Control-plane workflow routes: start, describe, list, runs, history, export, signal, query,
update, cancel, terminate, repair, archive (control-plane.md §8.2)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
from typing import Any

from dw_devserver.clock import iso
from dw_devserver.codec import envelope, payload_from_request, try_decode
from dw_devserver.completion import event_json, page_token, parse_page_token
from dw_devserver.control.search_attributes import MAX_STRING_VALUE_BYTES
from dw_devserver.history_export import SigningKeyError, build_bundle, signing_key_from_env
from dw_devserver.http import ApiError, Ctx, Fields, Reply, RouteTable, validation_error
from dw_devserver.protocol import TERMINAL_STATUSES, WORKFLOW_ID_RE, status_bucket
from dw_devserver.routes.search_attributes import check_attribute_values, list_filter, system_attribute_values
from dw_devserver.store import loads

table = RouteTable()
routes = table.routes

_NAME_RE = re.compile(r"[^\x00-\x1f\x7f]{1,256}")
_UNSUPPORTED_START = {
    "workflow_execution_timeout": "Use execution_timeout_seconds.",
    "workflow_run_timeout": "Use run_timeout_seconds.",
    "workflow_task_timeout": "Workflow task timeouts are not configurable.",
    "retry_policy": "Workflow retry policies are not supported on start.",
    "idempotency_key": "Use workflow_id with duplicate_policy for idempotent starts.",
    "request_id": "Use workflow_id with duplicate_policy for idempotent starts.",
}


def _check_name(value: str, field: str) -> None:
    if not _NAME_RE.fullmatch(value) or len(value.encode()) > 256:
        raise validation_error({field: [f"The {field} must be 1-256 bytes without control characters."]})


def run_view(ctx: Ctx, run: dict[str, Any]) -> dict[str, Any]:
    """The describe / describe-run body of a run."""
    wf = ctx.rt.store.one(
        "SELECT current_run_id, run_count FROM workflows WHERE workflow_id = ?", (run["workflow_id"],)
    )
    status = run["status"]
    terminal = status in TERMINAL_STATUSES
    memo = loads(run["memo"], {})
    attrs = loads(run["search_attributes"], {})
    body = {
        "workflow_id": run["workflow_id"],
        "run_id": run["run_id"],
        "namespace": run["namespace"],
        "workflow_type": run["workflow_type"],
        "business_key": run["business_key"],
        "status": status,
        "status_bucket": status_bucket(status),
        "is_terminal": terminal,
        "closed_reason": run["closed_reason"],
        "task_queue": run["task_queue"],
        "run_number": run["run_number"],
        "run_count": wf["run_count"] if wf else 1,
        "is_current_run": bool(wf and wf["current_run_id"] == run["run_id"]),
        "compatibility": run["compatibility"],
        "payload_codec": run["payload_codec"],
        "execution_timeout_seconds": run["execution_timeout_seconds"],
        "run_timeout_seconds": run["run_timeout_seconds"],
        "execution_deadline_at": iso(run["execution_deadline_at"]),
        "run_deadline_at": iso(run["run_deadline_at"]),
        "started_at": iso(run["started_at"]),
        "closed_at": iso(run["closed_at"]),
        "last_progress_at": iso(run["last_progress_at"]),
        "wait_kind": run["wait_kind"] if status == "waiting" else None,
        "wait_reason": None,
        **ctx.rt.engine.describe_payloads(run),
        "memo": memo,
        "search_attributes": attrs,
        "failure": loads(run["failure"]),
        "archived_at": iso(run["archived_at"]),
        "parent_workflow_id": run["parent_workflow_id"],
        "parent_run_id": run["parent_run_id"],
        "continued_from_run_id": run["continued_from_run_id"],
        "actions": {
            "can_signal": not terminal,
            "can_query": not terminal,
            "can_update": not terminal,
            "can_cancel": not terminal,
            "can_terminate": not terminal,
            "can_repair": not terminal,
            "can_archive": terminal and run["archived_at"] is None,
        },
    }
    return body


@table.post("/api/workflows", operation="start")
async def start_workflow(ctx: Ctx) -> Reply:
    """Start a workflow (201 new, 200 existing with ``use-existing``, 409 duplicate)."""
    body = ctx.body
    f = Fields(body)
    for field, hint in _UNSUPPORTED_START.items():
        f.reject(field, f"The {field} field is not supported. {hint}")
    workflow_id = f.string("workflow_id", max_len=128, pattern=WORKFLOW_ID_RE)
    workflow_type = f.string("workflow_type", required=True, max_len=255)
    task_queue = f.string("task_queue", max_len=255) or "default"
    duplicate_policy = f.string("duplicate_policy", choices=("fail", "use-existing")) or "fail"
    execution_timeout = f.integer("execution_timeout_seconds", minimum=1)
    run_timeout = f.integer("run_timeout_seconds", minimum=1)
    business_key = f.string("business_key", max_len=255)
    memo = f.obj("memo")
    attrs = f.obj("search_attributes")
    f.integer("priority", minimum=0, maximum=9)
    f.integer("fairness_weight", minimum=1, maximum=1000)
    if memo is not None and len(json.dumps(memo)) > ctx.rt.config.max_memo_bytes:
        f.fail("memo", f"The memo must be at most {ctx.rt.config.max_memo_bytes} bytes as JSON.")
    if attrs:
        for key, messages in check_attribute_values(ctx.rt, ctx.namespace, attrs).items():
            name = key.partition(".")[2]
            for message in messages:
                f.fail(
                    "search_attributes",
                    message if name in message else f"Search attribute {name!r}: {message}",
                )
        for key, value in attrs.items():
            # undeclared attributes are stored as given, within the value size limit
            if isinstance(value, str) and len(value.encode()) > MAX_STRING_VALUE_BYTES:
                f.fail(
                    "search_attributes", f"Search attribute {key!r} exceeds {MAX_STRING_VALUE_BYTES} bytes."
                )
    codec_field = body.get("payload_codec")
    if codec_field not in (None, "", "avro"):
        f.fail("payload_codec", f"Unsupported payload codec {codec_field!r}; supported codecs: avro.")
    f.check()
    stored, codec = payload_from_request(body.get("input"), "input")
    if stored is not None and not stored.startswith("{"):
        decoded = try_decode(stored, codec)
        if not isinstance(decoded, list):
            raise validation_error({"input.blob": ["The input must encode a list of arguments."]})
    assert workflow_type is not None
    result = ctx.rt.engine.start_workflow(
        namespace=ctx.namespace,
        workflow_type=workflow_type,
        task_queue=task_queue,
        workflow_id=workflow_id,
        input=stored,
        payload_codec=codec,
        duplicate_policy=duplicate_policy,
        memo=memo,
        search_attributes=attrs,
        business_key=business_key,
        execution_timeout_seconds=execution_timeout,
        run_timeout_seconds=run_timeout,
    )
    out = {
        "workflow_id": result.workflow_id,
        "run_id": result.run_id,
        "workflow_type": result.workflow_type,
        "namespace": result.namespace,
        "status": result.status,
        "business_key": result.business_key,
        "payload_codec": "avro",
        "outcome": result.outcome,
    }
    if result.outcome == "rejected_duplicate":
        out.update(
            reason="duplicate_not_allowed",
            message=f"Workflow '{result.workflow_id}' already exists (duplicate_policy {duplicate_policy}).",
        )
    return result.http_status, out


@table.get("/api/workflows/{workflow_id}", operation="describe")
async def describe_workflow(ctx: Ctx) -> Reply:
    """The current run of a workflow."""
    run = ctx.rt.engine.current_run(ctx.namespace, ctx.path["workflow_id"])
    return run_view(ctx, run)


def _offset_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        text = base64.b64decode(token, validate=True).decode()
        return int(text) if text.isdigit() else 0
    except (ValueError, UnicodeDecodeError):
        return 0


_ATTR_FILTER = re.compile(r"""\s*([A-Za-z][A-Za-z0-9_]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|(\S+))\s*""")


@table.get("/api/workflows", operation="list")
async def list_workflows(ctx: Ctx) -> Reply:
    """Run summaries, newest first, with type/status/query filters and offset paging."""
    q = ctx.query
    f = Fields(dict(q))
    page_size = f.integer("page_size", minimum=1, maximum=200) or 50
    status = q.get("status")
    if status is not None and status not in ("running", "completed", "failed"):
        f.fail("status", "The status filter must be one of running, completed, failed.")
    f.check()
    sql = "SELECT * FROM runs WHERE namespace = ?"
    params: list[Any] = [ctx.namespace]
    if q.get("workflow_type"):
        sql += " AND workflow_type = ?"
        params.append(q["workflow_type"])
    if status == "running":
        sql += " AND status IN ('pending', 'running', 'waiting')"
    elif status == "completed":
        sql += " AND status = 'completed'"
    elif status == "failed":
        sql += " AND status IN ('failed', 'cancelled', 'terminated')"
    query = (q.get("query") or "").strip()
    visible = list_filter(query)
    if query and visible is None:
        sql += " AND (workflow_id LIKE ? OR business_key LIKE ?)"
        like = f"%{query}%"
        params.extend([like, like])
    offset = _offset_token(q.get("next_page_token"))
    sql += " ORDER BY sort_key DESC, run_id DESC"
    if visible is None:
        sql += " LIMIT ? OFFSET ?"
        params.extend([page_size + 1, offset])
        rows = ctx.rt.store.all(sql, params)
    else:
        # typed attribute filters run over each run's visible attributes, then the page is cut
        matching = [
            r
            for r in ctx.rt.store.all(sql, params)
            if visible({**loads(r["search_attributes"], {}), **system_attribute_values(r)})
        ]
        rows = matching[offset : offset + page_size + 1]
    more = len(rows) > page_size
    rows = rows[:page_size]
    items = [
        {
            "workflow_id": r["workflow_id"],
            "run_id": r["run_id"],
            "workflow_type": r["workflow_type"],
            "business_key": r["business_key"],
            "status": r["status"],
            "status_bucket": status_bucket(r["status"]),
            "task_queue": r["task_queue"],
            "is_terminal": r["status"] in TERMINAL_STATUSES,
            "started_at": iso(r["started_at"]),
            "closed_at": iso(r["closed_at"]),
            "search_attributes": loads(r["search_attributes"], {}),
            "memo": loads(r["memo"], {}),
            "run_number": r["run_number"],
        }
        for r in rows
    ]
    token = base64.b64encode(str(offset + page_size).encode()).decode() if more else None
    return {"workflows": items, "workflow_count": len(items), "next_page_token": token}


@table.get("/api/workflows/{workflow_id}/runs", operation="list_runs")
async def list_runs(ctx: Ctx) -> Reply:
    """Every run of an instance, oldest first."""
    current = ctx.rt.engine.current_run(ctx.namespace, ctx.path["workflow_id"])
    rows = ctx.rt.store.all(
        "SELECT * FROM runs WHERE workflow_id = ? ORDER BY run_number", (current["workflow_id"],)
    )
    runs = [
        {
            "workflow_id": r["workflow_id"],
            "run_id": r["run_id"],
            "run_number": r["run_number"],
            "workflow_type": r["workflow_type"],
            "business_key": r["business_key"],
            "status": r["status"],
            "status_bucket": status_bucket(r["status"]),
            "is_current_run": r["run_id"] == current["run_id"],
            "task_queue": r["task_queue"],
            "started_at": iso(r["started_at"]),
            "closed_at": iso(r["closed_at"]),
            "closed_reason": r["closed_reason"],
        }
        for r in rows
    ]
    return {"workflow_id": current["workflow_id"], "run_count": len(runs), "runs": runs}


@table.get("/api/workflows/{workflow_id}/runs/{run_id}", operation="describe_run")
async def describe_run(ctx: Ctx) -> Reply:
    """One run of an instance."""
    run = ctx.rt.engine.run_in_namespace(ctx.namespace, ctx.path["workflow_id"], ctx.path["run_id"])
    return run_view(ctx, run)


@table.get("/api/workflows/{workflow_id}/runs/{run_id}/history", operation="history")
async def history(ctx: Ctx) -> Reply:
    """History events of a run, paged (``page_size`` default 100), optional ``wait_new_event`` long-poll."""
    run = ctx.rt.engine.run_in_namespace(ctx.namespace, ctx.path["workflow_id"], ctx.path["run_id"])
    f = Fields(dict(ctx.query))
    page_size = f.integer("page_size", minimum=1, maximum=1000) or 100
    f.check()
    token = ctx.query.get("next_page_token")
    after = parse_page_token(token) if token else 0
    wait = (ctx.query.get("wait_new_event") or "").lower() in ("1", "true", "yes")
    if wait and run["last_history_sequence"] <= after and run["status"] not in TERMINAL_STATUSES:
        # park until the run's next event commits (or the long-poll timeout passes)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(
                ctx.rt.engine.history_event(run["run_id"]).wait(), ctx.rt.config.long_poll_timeout
            )
    rows = ctx.rt.store.all(
        "SELECT * FROM history_events WHERE run_id = ? AND sequence > ? ORDER BY sequence LIMIT ?",
        (run["run_id"], after, page_size + 1),
    )
    more = len(rows) > page_size
    rows = rows[:page_size]
    events = []
    for r in rows:
        e = event_json(r)
        e["timestamp"] = e["recorded_at"]
        events.append(e)
    return {
        "workflow_id": run["workflow_id"],
        "run_id": run["run_id"],
        "events": events,
        "next_page_token": page_token(rows[-1]["sequence"]) if more and rows else None,
    }


@table.get("/api/workflows/{workflow_id}/runs/{run_id}/history/export")
async def export_history(ctx: Ctx) -> Reply:
    """The run's sealed replay bundle (control-plane.md §W7; built by :mod:`dw_devserver.history_export`)."""
    run = ctx.rt.engine.run_in_namespace(ctx.namespace, ctx.path["workflow_id"], ctx.path["run_id"])
    try:
        key, key_id = signing_key_from_env()
    except SigningKeyError as exc:
        raise ApiError(500, "history_export_signing_key_invalid", str(exc)) from exc
    return build_bundle(
        ctx.rt.store, run, run_view(ctx, run), now=ctx.rt.clock.now(), signing_key=key, key_id=key_id
    )


@table.post(
    "/api/workflows/{workflow_id}/signal/{signal_name}",
    operation="signal",
    operation_name_field="signal_name",
)
async def signal(ctx: Ctx) -> Reply:
    """Deliver a signal (202)."""
    name = ctx.path["signal_name"]
    _check_name(name, "signal_name")
    Fields(ctx.body).string("request_id", max_len=255)
    stored, codec = payload_from_request(ctx.body.get("input"), "input", plain_object_as_list=False)
    result = ctx.rt.engine.signal_workflow(ctx.namespace, ctx.path["workflow_id"], name, stored, codec)
    return 202, result


@table.post(
    "/api/workflows/{workflow_id}/query/{query_name}", operation="query", operation_name_field="query_name"
)
async def query(ctx: Ctx) -> Reply:
    """Answer a query through a worker's query task (waits for the answer)."""
    name = ctx.path["query_name"]
    _check_name(name, "query_name")
    rt = ctx.rt
    run = rt.engine.current_run(ctx.namespace, ctx.path["workflow_id"])
    stored, codec = payload_from_request(ctx.body.get("input"), "input", plain_object_as_list=False)
    base = {
        "workflow_id": run["workflow_id"],
        "run_id": run["run_id"],
        "target_scope": "instance",
        "query_name": name,
        "result": None,
    }
    if not _query_worker_available(ctx, run):
        raise ApiError(
            409,
            "query_worker_unavailable",
            f"No active worker on task queue '{run['task_queue']}' can answer queries for "
            f"'{run['workflow_type']}'. Start a worker for it and retry.",
            **base,
        )
    task = rt.queries.submit(run, name, envelope(stored, codec) if stored is not None else None)
    try:
        outcome, answer = await asyncio.wait_for(asyncio.shield(task.future), rt.config.query_timeout)
    except asyncio.TimeoutError:
        rt.queries.forget(task)
        raise ApiError(504, "query_worker_timeout", "No worker answered the query in time.", **base) from None
    if outcome == "completed":
        return {
            **base,
            "result": answer.get("result"),
            "result_envelope": answer.get("result_envelope"),
            "reason": None,
        }
    reason = answer.get("reason") or "query_rejected"
    status = 404 if reason == "rejected_unknown_query" else 409
    raise ApiError(status, reason, answer.get("message") or "The query was rejected.", **base)


def _query_worker_available(ctx: Ctx, run: dict[str, Any]) -> bool:
    cutoff = ctx.rt.clock.now() - ctx.rt.config.worker_stale_after_seconds
    rows = ctx.rt.store.all(
        "SELECT supported_workflow_types, runtime FROM workers WHERE namespace = ? AND task_queue = ?"
        " AND status = 'active' AND last_heartbeat_at >= ?",
        (run["namespace"], run["task_queue"], cutoff),
    )
    for row in rows:
        if row["runtime"] == "php":
            continue
        types = loads(row["supported_workflow_types"], [])
        if not types or run["workflow_type"] in types:
            return True
    return False


def _update_body(
    run: dict[str, Any], upd: dict[str, Any], wait_for: str, timed_out: bool, wait_timeout: int | None
) -> tuple[int, dict[str, Any]]:
    status = upd["status"]
    codec = upd["payload_codec"] or "avro"
    failure = loads(upd["failure"]) if isinstance(upd["failure"], str) else upd["failure"]
    outcome = {"completed": "update_completed", "failed": "update_failed"}.get(status)
    body = {
        "outcome": outcome,
        "workflow_id": run["workflow_id"],
        "run_id": run["run_id"],
        "requested_run_id": None,
        "resolved_run_id": run["run_id"],
        "command_id": upd["command_id"],
        "command_sequence": upd["command_sequence"],
        "target_scope": "instance",
        "workflow_type": run["workflow_type"],
        "command_status": "accepted",
        "command_source": "control_plane",
        "reason": None,
        "rejection_reason": None,
        "validation_errors": {},
        "update_id": upd["id"],
        "update_status": status,
        "update_name": upd["update_name"],
        "workflow_sequence": upd["workflow_sequence"],
        "result": try_decode(upd["result"], codec),
        "result_envelope": envelope(upd["result"], codec),
        "failure_id": (failure or {}).get("failure_id"),
        "failure_message": (failure or {}).get("message"),
        "accepted_at": iso(upd["accepted_at"]),
        "applied_at": iso(upd["closed_at"]) if status == "completed" else None,
        "rejected_at": None,
        "closed_at": iso(upd["closed_at"]),
        "wait_for": wait_for,
        "wait_timed_out": timed_out,
        "wait_timeout_seconds": wait_timeout,
    }
    if status == "completed":
        return 200, body
    if status == "failed":
        body["reason"] = (failure or {}).get("reason") or "update_failed"
        body["message"] = (failure or {}).get("message") or "The update failed."
        return 422, body
    return 202, body


@table.post(
    "/api/workflows/{workflow_id}/update/{update_name}",
    operation="update",
    operation_name_field="update_name",
)
async def update(ctx: Ctx) -> Reply:
    """Submit an update; ``wait_for: completed`` waits for the workflow's answer."""
    name = ctx.path["update_name"]
    _check_name(name, "update_name")
    f = Fields(ctx.body)
    f.reject("wait_policy", "The wait_policy field was removed. Use wait_for.")
    wait_for = f.string("wait_for", choices=("accepted", "completed")) or "accepted"
    wait_timeout = f.integer("wait_timeout_seconds", minimum=1)
    request_id = f.string("request_id", max_len=255)
    f.check()
    stored, codec = payload_from_request(ctx.body.get("input"), "input", plain_object_as_list=False)
    engine = ctx.rt.engine
    run, upd = engine.messages.accept_update(
        ctx.namespace, ctx.path["workflow_id"], name, stored, codec, request_id
    )
    timed_out = False
    if wait_for == "completed" and upd["status"] == "accepted":
        ev = engine.messages.update_event(upd["id"])
        try:
            await asyncio.wait_for(ev.wait(), float(wait_timeout or 10))
        except asyncio.TimeoutError:
            timed_out = True
        row = ctx.rt.store.one("SELECT * FROM updates WHERE id = ?", (upd["id"],))
        if row is not None:
            upd = dict(row)
    return _update_body(run, upd, wait_for, timed_out, wait_timeout)


def _reason(ctx: Ctx) -> str | None:
    f = Fields(ctx.body)
    reason = f.string("reason", max_len=1000)
    f.string("request_id", max_len=255)
    f.check()
    return reason


@table.post("/api/workflows/{workflow_id}/cancel", operation="cancel")
async def cancel(ctx: Ctx) -> Reply:
    """Cancel the current run (closes it now; running activities see cancellation on heartbeat)."""
    return ctx.rt.engine.cancel_workflow(ctx.namespace, ctx.path["workflow_id"], _reason(ctx))


@table.post("/api/workflows/{workflow_id}/terminate", operation="terminate")
async def terminate(ctx: Ctx) -> Reply:
    """Terminate the current run."""
    return ctx.rt.engine.terminate_workflow(ctx.namespace, ctx.path["workflow_id"], _reason(ctx))


@table.post("/api/workflows/{workflow_id}/repair", operation="repair")
async def repair(ctx: Ctx) -> Reply:
    """Re-dispatch a workflow task for a stuck run."""
    _reason(ctx)
    return ctx.rt.engine.lifecycle.repair_workflow(ctx.namespace, ctx.path["workflow_id"])


@table.post("/api/workflows/{workflow_id}/archive", operation="archive")
async def archive(ctx: Ctx) -> Reply:
    """Archive a closed run."""
    return ctx.rt.engine.lifecycle.archive_workflow(ctx.namespace, ctx.path["workflow_id"], _reason(ctx))
