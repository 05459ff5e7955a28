"""Schedules: ``/api/schedules/**`` (create, list, describe, update, pause, resume, trigger, backfill,
delete, audit history). The state machine lives in :mod:`dw_devserver.schedules.service`."""

from __future__ import annotations

import json
import re
import weakref
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from dw_devserver.codec import payload_from_request
from dw_devserver.control.field_errors import FieldErrors
from dw_devserver.control.search_attributes import parse_datetime
from dw_devserver.http import OPERATOR_ROLES, ApiError, Ctx, Fields, RouteTable, validation_error
from dw_devserver.ids import new_id
from dw_devserver.routes.search_attributes import check_attribute_values
from dw_devserver.runtime import Runtime
from dw_devserver.schedules.engine_port import EngineWorkflowPort
from dw_devserver.schedules.policy import DEFAULT_OVERLAP_POLICY, MAX_JITTER_SECONDS, OVERLAP_POLICIES
from dw_devserver.schedules.service import SCHEMA as SERVICE_SCHEMA
from dw_devserver.schedules.service import ScheduleDefinition, ScheduleError, ScheduleService
from dw_devserver.schedules.spec import parse_schedule_spec

SCHEMA = SERVICE_SCHEMA
table = RouteTable()
routes = table.routes
P = ParamSpec("P")
R = TypeVar("R")

_SCHEDULE_ID = re.compile(r"[a-zA-Z0-9._:-]{1,128}")
_ACTION_KEYS = ("workflow_type", "task_queue", "input", "execution_timeout_seconds", "run_timeout_seconds")
_services: weakref.WeakKeyDictionary[Runtime, ScheduleService] = weakref.WeakKeyDictionary()


def setup(rt: Runtime) -> None:
    """Create this server's schedule service and hook its fire loop into the scheduler."""
    service = ScheduleService(rt.store, EngineWorkflowPort(rt))
    _services[rt] = service
    rt.scheduler.add_tick(service.tick, "schedules")


def _service(ctx: Ctx) -> ScheduleService:
    service = _services.get(ctx.rt)
    if service is None:  # the app was built without setup(); keep working rather than 500
        setup(ctx.rt)
        service = _services[ctx.rt]
    return service


def _call(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run a service operation, turning its typed failures into HTTP error envelopes."""
    try:
        return fn(*args, **kwargs)
    except ScheduleError as err:
        raise ApiError(err.status, err.reason, err.message, **err.fields) from None
    except FieldErrors as err:
        raise validation_error(err.errors) from None


def _parse_action(raw: Any, fields: Fields, *, partial: bool) -> dict[str, Any] | None:
    if raw is None:
        if not partial:
            fields.fail("action", "The action field is required: {workflow_type, task_queue?, input?, ...}.")
        return None
    if not isinstance(raw, dict):
        fields.fail("action", "The action field must be an object.")
        return None
    action = Fields(raw, prefix="action.")
    workflow_type = action.string("workflow_type", required=not partial, max_len=255)
    task_queue = action.string("task_queue", max_len=255)
    # Legacy timeout names are still accepted by the real server; normalise them here.
    execution = action.integer("execution_timeout_seconds", minimum=1)
    if execution is None and "workflow_execution_timeout" in raw:
        execution = action.integer("workflow_execution_timeout", minimum=1)
    run_timeout = action.integer("run_timeout_seconds", minimum=1)
    if run_timeout is None and "workflow_run_timeout" in raw:
        run_timeout = action.integer("workflow_run_timeout", minimum=1)
    if "input" in raw and raw["input"] is not None:
        try:
            payload_from_request(raw["input"], "action.input")
        except ApiError as err:
            for key, messages in err.fields.get("errors", {}).items():
                for message in messages:
                    action.fail(key.removeprefix("action."), message)
    for key, messages in action.errors.items():
        for message in messages:
            fields.fail(key, message)
    if action.errors:
        return None
    normalised: dict[str, Any] = {}
    values = {
        "workflow_type": workflow_type,
        "task_queue": task_queue,
        "input": raw.get("input"),
        "execution_timeout_seconds": execution,
        "run_timeout_seconds": run_timeout,
    }
    for key in _ACTION_KEYS:
        if values[key] is not None:
            normalised[key] = values[key]
    return normalised


def _parse_common(ctx: Ctx, fields: Fields, *, partial: bool) -> dict[str, Any]:
    """Validate the fields create and update share; returns only the ones present."""
    body = ctx.body
    out: dict[str, Any] = {}
    if "spec" in body or not partial:
        try:
            out["spec"] = parse_schedule_spec(body.get("spec"))
        except FieldErrors as err:
            for key, messages in err.errors.items():
                for message in messages:
                    fields.fail(key, message)
    action = _parse_action(body.get("action"), fields, partial=partial)
    if action is not None:
        out["action"] = action
    policy = fields.string("overlap_policy", choices=OVERLAP_POLICIES)
    if policy is not None:
        out["overlap_policy"] = policy
    jitter = fields.integer("jitter_seconds", minimum=0, maximum=MAX_JITTER_SECONDS)
    if jitter is not None:
        out["jitter_seconds"] = jitter
    max_runs = fields.integer("max_runs", minimum=1)
    if max_runs is not None:
        out["max_runs"] = max_runs
    note = fields.string("note", max_len=1000)
    if note is not None:
        out["note"] = note
    memo = fields.obj("memo")
    if memo is not None:
        limit = ctx.rt.config.max_memo_bytes
        if len(json.dumps(memo, separators=(",", ":")).encode()) > limit:
            raise ApiError(422, "memo_too_large", f"The memo exceeds {limit} bytes of JSON.", limit=limit)
        out["memo"] = memo
    attributes = fields.obj("search_attributes")
    if attributes is not None:
        for key, messages in check_attribute_values(ctx.rt, ctx.namespace, attributes).items():
            for message in messages:
                fields.fail(key, message)
        out["search_attributes"] = attributes
    return out


@table.post("/api/schedules", roles=OPERATOR_ROLES)
async def create_schedule(ctx: Ctx) -> tuple[int, dict[str, Any]]:
    """Create a schedule; 409 ``schedule_already_exists`` when the id is taken."""
    fields = Fields(ctx.body)
    schedule_id = fields.string("schedule_id", max_len=128, pattern=_SCHEDULE_ID)
    paused = fields.boolean("paused")
    parsed = _parse_common(ctx, fields, partial=False)
    fields.check()
    definition = ScheduleDefinition(
        spec=parsed["spec"],
        action=parsed["action"],
        overlap_policy=parsed.get("overlap_policy", DEFAULT_OVERLAP_POLICY),
        jitter_seconds=parsed.get("jitter_seconds", 0),
        max_runs=parsed.get("max_runs"),
        memo=parsed.get("memo"),
        search_attributes=parsed.get("search_attributes"),
        note=parsed.get("note"),
    )
    body = _call(
        _service(ctx).create,
        ctx.namespace,
        schedule_id or new_id(),
        definition,
        bool(paused),
        ctx.rt.clock.now(),
    )
    return 201, body


@table.get("/api/schedules", roles=OPERATOR_ROLES)
async def list_schedules(ctx: Ctx) -> dict[str, Any]:
    """Every live schedule of the namespace, newest first."""
    result: dict[str, Any] = _call(_service(ctx).list, ctx.namespace)
    return result


@table.get("/api/schedules/{schedule_id}", roles=OPERATOR_ROLES)
async def describe_schedule(ctx: Ctx) -> dict[str, Any]:
    """One schedule with its state and fire statistics."""
    result: dict[str, Any] = _call(_service(ctx).describe, ctx.namespace, ctx.path["schedule_id"])
    return result


@table.put("/api/schedules/{schedule_id}", roles=OPERATOR_ROLES)
async def update_schedule(ctx: Ctx) -> dict[str, Any]:
    """Partial update of spec, action (merged), policy, jitter, max runs, memo, attributes, note."""
    fields = Fields(ctx.body)
    changes = _parse_common(ctx, fields, partial=True)
    fields.check()
    result: dict[str, Any] = _call(
        _service(ctx).update, ctx.namespace, ctx.path["schedule_id"], changes, ctx.rt.clock.now()
    )
    return result


@table.post("/api/schedules/{schedule_id}/pause", roles=OPERATOR_ROLES)
async def pause_schedule(ctx: Ctx) -> dict[str, Any]:
    """Stop automatic fires (idempotent); an optional note is kept for operators."""
    fields = Fields(ctx.body)
    note = fields.string("note", max_len=1000)
    fields.check()
    result: dict[str, Any] = _call(
        _service(ctx).pause, ctx.namespace, ctx.path["schedule_id"], note, ctx.rt.clock.now()
    )
    return result


@table.post("/api/schedules/{schedule_id}/resume", roles=OPERATOR_ROLES)
async def resume_schedule(ctx: Ctx) -> dict[str, Any]:
    """Resume automatic fires from the next spec time (idempotent)."""
    fields = Fields(ctx.body)
    note = fields.string("note", max_len=1000)
    fields.check()
    result: dict[str, Any] = _call(
        _service(ctx).resume, ctx.namespace, ctx.path["schedule_id"], note, ctx.rt.clock.now()
    )
    return result


@table.post("/api/schedules/{schedule_id}/trigger", roles=OPERATOR_ROLES)
async def trigger_schedule(ctx: Ctx) -> tuple[int, dict[str, Any]]:
    """Fire now with an optional one-off overlap policy."""
    fields = Fields(ctx.body)
    policy = fields.string("overlap_policy", choices=OVERLAP_POLICIES)
    fields.check()
    result: tuple[int, dict[str, Any]] = _call(
        _service(ctx).trigger, ctx.namespace, ctx.path["schedule_id"], policy, ctx.rt.clock.now()
    )
    return result


@table.post("/api/schedules/{schedule_id}/backfill", roles=OPERATOR_ROLES)
async def backfill_schedule(ctx: Ctx) -> dict[str, Any]:
    """Run the fires the spec would have made between ``start_time`` and ``end_time``."""
    fields = Fields(ctx.body)
    start_text = fields.string("start_time", required=True)
    end_text = fields.string("end_time", required=True)
    policy = fields.string("overlap_policy", choices=OVERLAP_POLICIES)
    start = parse_datetime(start_text) if start_text else None
    end = parse_datetime(end_text) if end_text else None
    if start_text and start is None:
        fields.fail("start_time", "start_time must be an ISO-8601 timestamp with a timezone.")
    if end_text and end is None:
        fields.fail("end_time", "end_time must be an ISO-8601 timestamp with a timezone.")
    fields.check()
    assert start is not None and end is not None
    result: dict[str, Any] = _call(
        _service(ctx).backfill,
        ctx.namespace,
        ctx.path["schedule_id"],
        start.timestamp(),
        end.timestamp(),
        policy,
        ctx.rt.clock.now(),
    )
    return result


@table.delete("/api/schedules/{schedule_id}", roles=OPERATOR_ROLES)
async def delete_schedule(ctx: Ctx) -> dict[str, Any]:
    """Soft-delete; the audit history stays readable."""
    result: dict[str, Any] = _call(
        _service(ctx).delete, ctx.namespace, ctx.path["schedule_id"], ctx.rt.clock.now()
    )
    return result


@table.get("/api/schedules/{schedule_id}/history", roles=OPERATOR_ROLES)
async def schedule_history(ctx: Ctx) -> dict[str, Any]:
    """A page of the audit stream: ``limit`` (default 100, max 500), ``after_sequence``."""
    raw_limit = ctx.query.get("limit", "")
    limit = int(raw_limit) if re.fullmatch(r"\d+", raw_limit.strip()) else 100
    limit = 100 if limit <= 0 else min(limit, 500)
    raw_after = ctx.query.get("after_sequence")
    after = 0
    if raw_after is not None:
        if not re.fullmatch(r"\d+", raw_after.strip()):
            raise ApiError(
                422,
                "invalid_after_sequence",
                "after_sequence must be a non-negative integer.",
                errors={"after_sequence": ["after_sequence must be a non-negative integer."]},
            )
        after = int(raw_after.strip())
    result: dict[str, Any] = _call(
        _service(ctx).history, ctx.namespace, ctx.path["schedule_id"], limit, after
    )
    return result
