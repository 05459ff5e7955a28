"""Webhook bridge: ``POST /api/bridge-adapters/webhook/{adapter}`` turns an external event into a
workflow start, signal or update, exactly once per ``idempotency_key``.

Every answer is a bridge outcome object (``accepted`` 202, ``duplicate`` 200, ``rejected`` 422),
never a bare error, so webhook senders can log it as is. Accepted deliveries are remembered per
(namespace, adapter, idempotency_key); a redelivery returns ``duplicate`` without touching the
workflow again. Rejected deliveries are not remembered, so a sender can fix and resend.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
from typing import Any

from dw_devserver.codec import payload_from_request
from dw_devserver.http import OPERATOR_ROLES, ApiError, Ctx, Fields, RouteTable
from dw_devserver.protocol import WORKFLOW_ID_RE

SCHEMA = """
CREATE TABLE IF NOT EXISTS bridge_deliveries (
    namespace TEXT NOT NULL,
    adapter TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    action TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    outcome TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (namespace, adapter, idempotency_key)
);
"""

table = RouteTable()
routes = table.routes

OUTCOME_SCHEMA = "durable-workflow.v2.bridge-adapter-outcome.contract"
ACTIONS = ("start_workflow", "signal_workflow", "update_workflow")
_ADAPTER = re.compile(r"[a-zA-Z0-9._:-]{1,128}")
_NAME = re.compile(r"[^\x00-\x1f\x7f]{1,256}")
_TARGET_KEYS = (
    "workflow_id",
    "workflow_type",
    "signal_name",
    "update_name",
    "task_queue",
    "business_key",
    "duplicate_policy",
)


class Rejected(Exception):
    """The delivery cannot be routed; becomes a ``rejected`` outcome."""

    def __init__(self, reason: str, message: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.errors = errors


def _outcome(adapter: str, body: dict[str, Any], **fields: Any) -> dict[str, Any]:
    raw_target = body.get("target")
    target: dict[str, Any] = raw_target if isinstance(raw_target, dict) else {}
    out: dict[str, Any] = {
        "schema": OUTCOME_SCHEMA,
        "version": 1,
        "adapter": adapter,
        "action": body.get("action") if isinstance(body.get("action"), str) else None,
        "idempotency_key": body.get("idempotency_key")
        if isinstance(body.get("idempotency_key"), str)
        else None,
        "target": {k: v for k, v in target.items() if k in _TARGET_KEYS} or None,
        "correlation": body.get("correlation") if isinstance(body.get("correlation"), dict) else None,
        **fields,
    }
    return {k: v for k, v in out.items() if v is not None}


def _reject(adapter: str, body: dict[str, Any], rejection: Rejected) -> tuple[int, dict[str, Any]]:
    fields: dict[str, Any] = {
        "accepted": False,
        "outcome": "rejected",
        "reason": rejection.reason,
        "message": rejection.message,
    }
    if rejection.errors:
        fields["errors"] = rejection.errors
    return 422, _outcome(adapter, body, **fields)


def _validate(adapter: str, body: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    if not _ADAPTER.fullmatch(adapter):
        raise Rejected("unsupported_routing", f"Adapter name {adapter!r} must match [a-zA-Z0-9._:-]+.")
    fields = Fields(body)
    action = fields.string("action", required=True)
    key = fields.string("idempotency_key", required=True, max_len=255)
    target = fields.obj("target", required=True)
    if body.get("input") is not None and not isinstance(body["input"], (dict, list)):
        fields.fail("input", "input must be a JSON object or array of arguments.")
    fields.obj("correlation")
    if fields.errors:
        raise Rejected("malformed_payload", "The webhook body is invalid; see errors.", fields.errors)
    assert action is not None and key is not None and target is not None
    if action not in ACTIONS:
        raise Rejected(
            "unsupported_action", f"Action {action!r} is not routable; use one of {', '.join(ACTIONS)}."
        )
    checks = Fields(target, prefix="target.")
    if action == "start_workflow":
        checks.string("workflow_type", required=True, max_len=255)
        checks.string("workflow_id", max_len=128, pattern=WORKFLOW_ID_RE)
        checks.string("task_queue", max_len=255)
        checks.string("business_key", max_len=255)
        checks.string("duplicate_policy", choices=("reject_duplicate", "use_existing"))
    else:
        checks.string("workflow_id", required=True, max_len=128, pattern=WORKFLOW_ID_RE)
        name_field = "signal_name" if action == "signal_workflow" else "update_name"
        checks.string(name_field, required=True, pattern=_NAME)
        if action == "update_workflow":
            checks.string("wait_for", choices=("accepted", "completed"))
            checks.integer("wait_timeout_seconds", minimum=1)
    if checks.errors:
        raise Rejected("malformed_payload", "The webhook target is invalid; see errors.", checks.errors)
    return action, key, target


def _fingerprint(body: dict[str, Any]) -> str:
    material = {k: body.get(k) for k in ("action", "target", "input")}
    return hashlib.sha256(json.dumps(material, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _arguments(body: dict[str, Any], action: str) -> str | None:
    """Encode ``input``: a start turns an object into its value list, signals/updates keep named arguments."""
    try:
        blob, _ = payload_from_request(
            body.get("input"), "input", plain_object_as_list=action == "start_workflow"
        )
    except ApiError as err:
        raise Rejected("malformed_payload", err.message, err.fields.get("errors")) from None
    return blob


@table.post("/api/bridge-adapters/webhook/{adapter}", roles=OPERATOR_ROLES)
async def webhook(ctx: Ctx) -> tuple[int, dict[str, Any]]:
    """Route one webhook delivery to a workflow command."""
    adapter = ctx.path["adapter"]
    body = ctx.body
    try:
        action, key, target = _validate(adapter, body)
        prior = ctx.rt.store.one(
            "SELECT * FROM bridge_deliveries WHERE namespace = ? AND adapter = ? AND idempotency_key = ?",
            (ctx.namespace, adapter, key),
        )
        if prior is not None:
            if prior["fingerprint"] != _fingerprint(body):
                raise Rejected(
                    "malformed_payload",
                    f"Idempotency key {key!r} was already used for a different {prior['action']} delivery; "
                    "use a new key for a new event.",
                )
            return _duplicate(adapter, body, json.loads(prior["outcome"]))
        status, outcome = _route(ctx, adapter, action, key, target)
    except Rejected as rejection:
        return _reject(adapter, body, rejection)
    if action == "update_workflow" and status == 202 and target.get("wait_for") == "completed":
        await _await_update(ctx, outcome, float(target.get("wait_timeout_seconds") or 10))
    return status, outcome


async def _await_update(ctx: Ctx, outcome: dict[str, Any], timeout: float) -> None:
    """Hold the answer until the workflow applied the update or ``timeout`` passed (as the update route)."""
    update_id = outcome.get("update_id")
    if update_id is None:
        return
    row = ctx.rt.store.one("SELECT status FROM updates WHERE id = ?", (update_id,))
    if row is not None and row["status"] == "accepted":
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(ctx.rt.engine.messages.update_event(update_id).wait(), timeout)
        row = ctx.rt.store.one("SELECT status FROM updates WHERE id = ?", (update_id,))
    engine_outcome = {"completed": "update_completed", "failed": "update_failed"}.get(
        row["status"] if row else ""
    )
    if engine_outcome:
        outcome["control_plane_outcome"] = engine_outcome


def _duplicate(adapter: str, body: dict[str, Any], first: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    control = (
        "returned_existing_active" if first.get("action") == "start_workflow" else "deduped_existing_command"
    )
    return 200, _outcome(
        adapter,
        body,
        accepted=False,
        outcome="duplicate",
        reason="duplicate_start" if first.get("action") == "start_workflow" else None,
        workflow_id=first.get("workflow_id"),
        run_id=first.get("run_id"),
        workflow_type=first.get("workflow_type"),
        control_plane_outcome=control,
    )


def _route(
    ctx: Ctx, adapter: str, action: str, key: str, target: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    rt, body, namespace = ctx.rt, ctx.body, ctx.namespace
    arguments = _arguments(body, action)
    with rt.store.transaction() as tx:
        try:
            if action == "start_workflow":
                workflow_id = target.get("workflow_id") or (
                    f"bridge-{adapter}-{hashlib.sha256(key.encode()).hexdigest()[:32]}"
                )
                policy = "fail" if target.get("duplicate_policy") == "reject_duplicate" else "use-existing"
                started = rt.engine.start_workflow(
                    namespace=namespace,
                    workflow_type=target["workflow_type"],
                    task_queue=target.get("task_queue") or "default",
                    workflow_id=workflow_id,
                    input=arguments,
                    duplicate_policy=policy,
                    business_key=target.get("business_key"),
                    source="bridge",
                    tx=tx,
                )
                if started.outcome == "returned_existing_active":
                    return 200, _outcome(
                        adapter,
                        body,
                        accepted=False,
                        outcome="duplicate",
                        reason="duplicate_start",
                        workflow_id=started.workflow_id,
                        run_id=started.run_id,
                        workflow_type=started.workflow_type,
                        control_plane_outcome=started.outcome,
                    )
                if started.outcome != "started_new":
                    raise Rejected(
                        "duplicate_start",
                        f"Workflow {workflow_id!r} already exists and the target's "
                        "duplicate_policy is reject_duplicate.",
                    )
                result: dict[str, Any] = {
                    "workflow_id": started.workflow_id,
                    "run_id": started.run_id,
                    "workflow_type": started.workflow_type,
                    "control_plane_outcome": started.outcome,
                }
            else:
                workflow_id = target["workflow_id"]
                if action == "signal_workflow":
                    command = rt.engine.signal_workflow(
                        namespace, workflow_id, target["signal_name"], arguments
                    )
                else:
                    run, update = rt.engine.messages.accept_update(
                        namespace,
                        workflow_id,
                        target["update_name"],
                        arguments,
                        "avro",
                        f"bridge:{adapter}:{key}",
                    )
                    command = {
                        "workflow_id": workflow_id,
                        "run_id": run["run_id"],
                        "outcome": None,  # an accepted, not yet applied update has no engine outcome
                        "workflow_type": run["workflow_type"],
                        "update_id": update["id"],
                    }
                result = {
                    "workflow_id": workflow_id,
                    "run_id": command.get("run_id"),
                    "workflow_type": command.get("workflow_type"),
                    "control_plane_outcome": command.get("outcome"),
                    "update_id": command.get("update_id"),
                }
        except ApiError as err:
            if err.reason in ("instance_not_found", "workflow_not_found", "run_not_found"):
                raise Rejected(
                    "unknown_target", f"No workflow {target.get('workflow_id')!r} in namespace '{namespace}'."
                ) from None
            if err.status == 422:
                raise Rejected("malformed_payload", err.message, err.fields.get("errors")) from None
            raise Rejected(err.reason, err.message) from None
        accepted = _outcome(adapter, body, accepted=True, outcome="accepted", **result)
        tx.insert(
            "bridge_deliveries",
            {
                "namespace": namespace,
                "adapter": adapter,
                "idempotency_key": key,
                "action": action,
                "fingerprint": _fingerprint(body),
                "outcome": accepted,
                "created_at": rt.clock.now(),
            },
        )
    return 202, accepted
