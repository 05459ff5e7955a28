"""Standalone activity routes: start, describe, list (control-plane.md §8.4).

Result waiting is client-side (it polls describe); cancel goes through
``POST /api/workflows/{activity_id}/cancel`` because the activity id is its host run's workflow id.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from dw_devserver.codec import payload_from_request, try_decode
from dw_devserver.http import OPERATOR_ROLES, ApiError, Ctx, Fields, Reply, RouteTable, validation_error
from dw_devserver.protocol import RUN_STATUSES, WORKFLOW_ID_RE
from dw_devserver.standalone_activities import StandaloneStart

table = RouteTable()
routes = table.routes

_TIMEOUTS = (
    "start_to_close_timeout_seconds",
    "schedule_to_start_timeout_seconds",
    "schedule_to_close_timeout_seconds",
    "heartbeat_timeout_seconds",
)
_LIST_STATUSES = ("running", "completed", "failed", *[s for s in RUN_STATUSES if s != "running"])


def _retry_policy(f: Fields) -> dict[str, Any] | None:
    policy = f.obj("retry_policy")
    if policy is None:
        return None
    checked = Fields(policy, prefix="retry_policy.")
    max_attempts = checked.integer("max_attempts", minimum=1, maximum=1000)
    backoff = policy.get("backoff_seconds", [])
    if isinstance(backoff, int) and not isinstance(backoff, bool):
        backoff = [backoff]
    if not isinstance(backoff, list) or not all(
        isinstance(b, int) and not isinstance(b, bool) and b >= 0 for b in backoff
    ):
        checked.fail("backoff_seconds", "The backoff_seconds must be a list of non-negative integers.")
    types = policy.get("non_retryable_error_types", [])
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        checked.fail("non_retryable_error_types", "The non_retryable_error_types must be a list of strings.")
    for key in policy:
        if key not in ("max_attempts", "backoff_seconds", "non_retryable_error_types"):
            checked.fail(
                key,
                f"Unknown retry_policy field {key!r} (allowed: max_attempts, backoff_seconds, "
                "non_retryable_error_types).",
            )
    f.errors.update(checked.errors)
    if checked.errors:
        return None
    return {
        "max_attempts": max_attempts or 1,
        "backoff_seconds": backoff,
        "non_retryable_error_types": types,
    }


@table.post("/api/activities", roles=OPERATOR_ROLES)
async def start_activity(ctx: Ctx) -> Reply:
    """Start a standalone activity (201) on ``task_queue``; activity workers poll it as usual."""
    f = Fields(ctx.body)
    activity_type = f.string("activity_type", required=True, max_len=255)
    task_queue = f.string("task_queue", required=True, max_len=255)
    activity_id = f.string("activity_id", max_len=128, pattern=WORKFLOW_ID_RE)
    activity_class = f.string("activity_class", max_len=255)
    business_key = f.string("business_key", max_len=255)
    timeouts = {name: f.integer(name, minimum=1) for name in _TIMEOUTS}
    policy = _retry_policy(f)
    f.check()
    stored, codec = payload_from_request(ctx.body.get("input"), "input")
    if stored is not None and not stored.startswith("{") and not isinstance(try_decode(stored, codec), list):
        raise validation_error({"input.blob": ["The input must encode a list of arguments."]})
    assert activity_type is not None and task_queue is not None
    request = StandaloneStart(
        activity_type=activity_type,
        task_queue=task_queue,
        activity_id=activity_id,
        activity_class=activity_class,
        business_key=business_key,
        input=stored,
        payload_codec=codec,
        retry_policy=policy,
        start_to_close_timeout=timeouts["start_to_close_timeout_seconds"],
        schedule_to_start_timeout=timeouts["schedule_to_start_timeout_seconds"],
        schedule_to_close_timeout=timeouts["schedule_to_close_timeout_seconds"],
        heartbeat_timeout=timeouts["heartbeat_timeout_seconds"],
    )
    return 201, ctx.rt.engine.standalone.start(ctx.namespace, request)


@table.get("/api/activities/{activity_id}", roles=OPERATOR_ROLES)
async def describe_activity(ctx: Ctx) -> Reply:
    """A standalone activity's state; ``result`` is the envelope once it completed."""
    return ctx.rt.engine.standalone.describe(ctx.namespace, ctx.path["activity_id"])


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not text.startswith("offset:") or not text[7:].isdigit():
        raise ApiError(
            422,
            "invalid_page_token",
            "The next_page_token is not one this server issued; pass the token from the previous page "
            "unchanged, or omit it to start from the first page.",
            errors={"next_page_token": ["Invalid page token."]},
        )
    return int(text[7:])


@table.get("/api/activities", roles=OPERATOR_ROLES)
async def list_activities(ctx: Ctx) -> Reply:
    """Standalone activities, newest first; ``status`` filters by status or bucket."""
    q = ctx.query
    f = Fields(dict(q))
    page_size = f.integer("page_size", minimum=1, maximum=200) or 50
    status = f.string("status", choices=_LIST_STATUSES)
    f.check()
    offset = _offset(q.get("next_page_token"))
    items, total = ctx.rt.engine.standalone.list(ctx.namespace, bucket=status, limit=page_size, offset=offset)
    more = offset + len(items) < total
    token = base64.urlsafe_b64encode(f"offset:{offset + page_size}".encode()).decode() if more else None
    return {
        "namespace": ctx.namespace,
        "activities": items,
        "activity_count": len(items),
        "total_count": total,
        "next_page_token": token,
    }
