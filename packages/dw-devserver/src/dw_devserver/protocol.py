"""Wire rules of the Durable Workflow protocol as the dev server serves them.

Names and versions shared with the SDK come from ``dw_core.protocol``; what only a server needs
(accepted version ranges, the ``control_plane`` response block, status buckets) lives here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from dw_core import protocol as wire

CONTROL_PLANE_HEADER: str = wire.CONTROL_PLANE_VERSION_HEADER
CONTROL_PLANE_VERSION: str = wire.CONTROL_PLANE_VERSION
WORKER_PROTOCOL_HEADER: str = wire.WORKER_PROTOCOL_VERSION_HEADER
SERVER_VERSION = "2.0.0-dev"

TERMINAL_COMMANDS = (wire.COMMAND_COMPLETE_WORKFLOW, wire.COMMAND_FAIL_WORKFLOW, wire.COMMAND_CONTINUE_AS_NEW)
NON_TERMINAL_COMMANDS = (
    wire.COMMAND_SCHEDULE_ACTIVITY,
    wire.COMMAND_START_TIMER,
    wire.COMMAND_START_CHILD_WORKFLOW,
    wire.COMMAND_RECORD_SIDE_EFFECT,
    wire.COMMAND_RECORD_VERSION_MARKER,
    wire.COMMAND_UPSERT_SEARCH_ATTRIBUTES,
    wire.COMMAND_OPEN_CONDITION_WAIT,
    wire.COMMAND_COMPLETE_UPDATE,
    wire.COMMAND_FAIL_UPDATE,
)
SUPPORTED_COMMANDS = NON_TERMINAL_COMMANDS + TERMINAL_COMMANDS

RUN_STATUSES = ("pending", "running", "waiting", "completed", "failed", "cancelled", "terminated")
TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled", "terminated"})
PAYLOAD_CODECS = ("avro",)

WORKFLOW_ID_RE = re.compile(r"[a-zA-Z0-9._:-]{1,128}")
NAMESPACE_RE = re.compile(r"[a-zA-Z0-9._-]{1,128}")
SEARCH_ATTRIBUTE_KEY_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9_]{0,127}")

_VERSION_RE = re.compile(r"(\d+)\.(\d+)")


def worker_version_accepted(requested: str, supported: str) -> bool:
    """Accept any ``1.y`` with ``1 <= y <= supported minor`` (the 0.4.84 SDK sends ``1.1``)."""
    req = _VERSION_RE.fullmatch(requested.strip())
    sup = _VERSION_RE.fullmatch(supported)
    if not req or not sup:
        return requested.strip() == supported
    return int(req.group(1)) == int(sup.group(1)) and 1 <= int(req.group(2)) <= int(sup.group(2))


def status_bucket(status: str) -> str:
    """The list-filter bucket of a run status."""
    if status in ("pending", "running", "waiting"):
        return "running"
    if status == "completed":
        return "completed"
    return "failed"


_OPERATIONS: dict[str, tuple[list[str], list[str]]] = {
    "list": ([], []),
    "start": ([], ["workflow_id", "outcome"]),
    "describe": (["workflow_id"], []),
    "list_runs": (["workflow_id"], []),
    "describe_run": (["workflow_id"], ["run_id"]),
    "history": (["workflow_id", "run_id"], ["next_page_token"]),
    "signal": (["workflow_id", "operation_name", "operation_name_field"], ["outcome"]),
    "query": (["workflow_id", "operation_name", "operation_name_field"], ["result"]),
    "update": (["workflow_id", "operation_name", "operation_name_field"], ["outcome"]),
    "cancel": (["workflow_id"], ["outcome"]),
    "terminate": (["workflow_id"], ["outcome"]),
    "repair": (["workflow_id"], ["outcome"]),
    "archive": (["workflow_id"], ["outcome"]),
}

PROJECTED_FIELDS = (
    "run_id",
    "workflow_type",
    "namespace",
    "business_key",
    "status",
    "status_bucket",
    "is_terminal",
    "task_queue",
    "run_number",
    "run_count",
    "workflow_count",
    "is_current_run",
    "compatibility",
    "started_at",
    "closed_at",
    "last_progress_at",
    "wait_kind",
    "wait_reason",
    "next_page_token",
    "command_id",
    "command_status",
    "command_source",
    "target_scope",
    "outcome",
    "reason",
    "rejection_reason",
    "validation_errors",
    "result",
    "result_envelope",
    "update_id",
    "update_status",
    "wait_for",
    "wait_timed_out",
    "wait_timeout_seconds",
    "blocked_reason",
    "message",
    "diagnostic_status",
)

LEGACY_FIELDS = {
    "query": "query_name",
    "signal": "signal_name",
    "update": "update_name",
    "wait_policy": "wait_for",
}


def response_contract(operation: str) -> dict[str, Any]:
    """The ``contract`` object of a control_plane block."""
    required, success = _OPERATIONS.get(operation, ([], []))
    return {
        "schema": "durable-workflow.v2.control-plane-response.contract",
        "version": 1,
        "legacy_field_policy": "reject_non_canonical",
        "legacy_fields": dict(LEGACY_FIELDS),
        "required_fields": list(required),
        "success_fields": list(success),
    }


def control_plane_block(
    operation: str, body: Mapping[str, Any], path: Mapping[str, str], operation_name_field: str | None
) -> dict[str, Any]:
    """The ``control_plane`` object attached to workflow-scoped responses (control-plane.md §5)."""
    block: dict[str, Any] = {
        "schema": "durable-workflow.v2.control-plane-response",
        "version": 1,
        "operation": operation,
        "workflow_id": body.get("workflow_id", path.get("workflow_id")),
    }
    if operation_name_field is not None:
        block["operation_name"] = body.get(operation_name_field, path.get(operation_name_field))
        block["operation_name_field"] = operation_name_field
    block["contract"] = response_contract(operation)
    for key in PROJECTED_FIELDS:
        if key in body:
            block[key] = body[key]
    if "run_id" not in block and "run_id" in path:
        block["run_id"] = path["run_id"]
    return block
