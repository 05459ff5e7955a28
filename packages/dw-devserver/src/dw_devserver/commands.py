"""Validation and normalisation of workflow-task commands (spec/commands.md §1-§5).

Produces plain dicts with canonical field names; any problem is a 422 ``validation_failed`` (or
409 ``invalid_commands`` for batch-shape errors), raised before anything is applied.
"""

from __future__ import annotations

import re
from typing import Any

from dw_devserver.codec import payload_from_request
from dw_devserver.http import ApiError, Fields, validation_error
from dw_devserver.protocol import NON_TERMINAL_COMMANDS, SUPPORTED_COMMANDS, TERMINAL_COMMANDS

_SCOPED_FIELDS: dict[str, tuple[str, ...]] = {
    "retry_policy": ("schedule_activity", "start_child_workflow"),
    "start_to_close_timeout": ("schedule_activity",),
    "schedule_to_start_timeout": ("schedule_activity",),
    "schedule_to_close_timeout": ("schedule_activity",),
    "heartbeat_timeout": ("schedule_activity",),
    "worker_session": ("schedule_activity",),
    "execution_timeout_seconds": ("start_child_workflow",),
    "run_timeout_seconds": ("start_child_workflow",),
    "parent_close_policy": ("start_child_workflow",),
    "non_retryable": ("fail_workflow", "fail_update"),
    "delay_seconds": ("start_timer",),
    "timeout_seconds": ("open_condition_wait",),
    "payload_codec": (
        "complete_workflow",
        "schedule_activity",
        "start_child_workflow",
        "continue_as_new",
        "complete_update",
        "record_side_effect",
    ),
}
_ATTRIBUTE_KEY = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
PARENT_CLOSE_POLICIES = ("abandon", "request_cancel", "terminate")


def invalid_commands(message: str) -> ApiError:
    """409 ``invalid_commands``: the batch as a whole cannot be applied."""
    return ApiError(409, "invalid_commands", message, outcome="completed", recorded=False, error=message)


def _retry_policy(raw: Any, f: Fields, field: str) -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        f.fail(field, "The retry policy must be an object.")
        return None
    rp = Fields(raw, prefix=f"{f.prefix}{field}.")
    max_attempts = rp.integer("max_attempts", minimum=1)
    backoff = raw.get("backoff_seconds") or []
    clean_backoff: list[int] = []
    if not isinstance(backoff, list):
        rp.fail("backoff_seconds", "The backoff_seconds field must be a list of integers.")
    else:
        for i, item in enumerate(backoff):
            if isinstance(item, str) and item.isdigit():
                item = int(item)
            if isinstance(item, bool) or not isinstance(item, int) or item < 0:
                rp.fail(f"backoff_seconds.{i}", "Each backoff must be an integer >= 0.")
            else:
                clean_backoff.append(item)
    types = raw.get("non_retryable_error_types") or []
    clean_types: list[str] = []
    if not isinstance(types, list):
        rp.fail("non_retryable_error_types", "The non_retryable_error_types field must be a list of strings.")
    else:
        for i, item in enumerate(types):
            if not isinstance(item, str) or not item.strip():
                rp.fail(f"non_retryable_error_types.{i}", "Each error type must be a non-empty string.")
            else:
                clean_types.append(item.strip())
    f.errors.update(rp.errors)
    return {
        "max_attempts": max_attempts if max_attempts is not None else 1,
        "backoff_seconds": clean_backoff,
        "non_retryable_error_types": clean_types,
    }


def _payload(cmd: dict[str, Any], field: str, f: Fields, *alias: str) -> tuple[str | None, str]:
    value = cmd.get(field)
    for name in alias:
        if value is None:
            value = cmd.get(name)
    try:
        stored, codec = payload_from_request(value, f"{f.prefix}{field}")
    except ApiError as err:
        for key, msgs in err.fields.get("errors", {}).items():
            f.errors.setdefault(key, []).extend(msgs)
        return None, "avro"
    explicit = cmd.get("payload_codec")
    if explicit is not None:
        if not isinstance(explicit, str) or explicit.strip().lower() != "avro":
            f.fail("payload_codec", f"Unsupported payload codec {explicit!r}; supported codecs: avro.")
        elif isinstance(value, dict) and value.get("codec") not in (None, explicit):
            f.fail("payload_codec", "payload_codec does not match the payload envelope codec.")
    return stored, codec


def normalise(raw_commands: Any) -> list[dict[str, Any]]:
    """Validate a completion's ``commands`` list; returns normalised commands in list order."""
    if not isinstance(raw_commands, list) or not raw_commands:
        raise validation_error({"commands": ["The commands field must be a non-empty list."]})
    errors: dict[str, list[str]] = {}
    out: list[dict[str, Any]] = []
    for i, cmd in enumerate(raw_commands):
        f = Fields(cmd if isinstance(cmd, dict) else {}, prefix=f"commands.{i}.")
        if not isinstance(cmd, dict):
            f.fail("", "Each command must be an object.")
            errors.update(f.errors)
            continue
        ctype = cmd.get("type")
        if not isinstance(ctype, str) or not ctype:
            f.fail("type", "The command type is required and must be a string.")
            errors.update(f.errors)
            continue
        if ctype not in SUPPORTED_COMMANDS:
            f.fail("type", f"Command type {ctype!r} is not supported.")
            errors.update(f.errors)
            continue
        for field, allowed in _SCOPED_FIELDS.items():
            if cmd.get(field) is not None and ctype not in allowed:
                f.fail(field, f"The {field} field is not allowed on {ctype} commands.")
        norm: dict[str, Any] = {"type": ctype}
        if ctype == "schedule_activity":
            norm["activity_type"] = f.string("activity_type", required=True, max_len=255)
            norm["arguments"], norm["payload_codec"] = _payload(cmd, "arguments", f, "input")
            queue = cmd.get("queue") or cmd.get("task_queue")
            norm["queue"] = queue if isinstance(queue, str) and queue else None
            norm["retry_policy"] = _retry_policy(cmd.get("retry_policy"), f, "retry_policy")
            for key in (
                "start_to_close_timeout",
                "schedule_to_start_timeout",
                "schedule_to_close_timeout",
                "heartbeat_timeout",
            ):
                norm[key] = f.integer(key, minimum=1)
            _check_order(f, norm, "heartbeat_timeout", "start_to_close_timeout")
            _check_order(f, norm, "start_to_close_timeout", "schedule_to_close_timeout")
            _check_order(f, norm, "schedule_to_start_timeout", "schedule_to_close_timeout")
        elif ctype == "start_timer":
            norm["delay_seconds"] = f.integer("delay_seconds", required=True, minimum=0)
        elif ctype == "open_condition_wait":
            norm["condition_key"] = f.string("condition_key", max_len=255)
            norm["condition_definition_fingerprint"] = f.string(
                "condition_definition_fingerprint", max_len=255
            )
            norm["timeout_seconds"] = f.integer("timeout_seconds", minimum=0)
        elif ctype == "start_child_workflow":
            norm["workflow_type"] = f.string("workflow_type", required=True, max_len=255)
            norm["workflow_id"] = f.string("workflow_id", max_len=128)
            norm["arguments"], norm["payload_codec"] = _payload(cmd, "arguments", f, "input")
            queue = cmd.get("queue") or cmd.get("task_queue")
            norm["queue"] = queue if isinstance(queue, str) and queue else None
            norm["parent_close_policy"] = (
                f.string("parent_close_policy", choices=PARENT_CLOSE_POLICIES) or "abandon"
            )
            norm["retry_policy"] = _retry_policy(cmd.get("retry_policy"), f, "retry_policy")
            norm["execution_timeout_seconds"] = f.integer("execution_timeout_seconds", minimum=1)
            norm["run_timeout_seconds"] = f.integer("run_timeout_seconds", minimum=1)
            _check_order(f, norm, "run_timeout_seconds", "execution_timeout_seconds")
        elif ctype == "record_side_effect":
            norm["result"], norm["payload_codec"] = _payload(cmd, "result", f)
            if not norm["result"]:
                f.fail("result", "The side-effect result must be a non-empty encoded payload.")
        elif ctype == "record_version_marker":
            norm["change_id"] = f.string("change_id", required=True, max_len=255)
            for key in ("version", "min_supported", "max_supported"):
                norm[key] = f.integer(key, required=True)
        elif ctype == "upsert_search_attributes":
            norm["attributes"] = _search_attributes(cmd.get("attributes"), f)
        elif ctype in ("complete_update", "fail_update"):
            norm["update_id"] = f.string("update_id", required=True, max_len=255)
            if ctype == "complete_update":
                norm["result"], norm["payload_codec"] = _payload(cmd, "result", f)
            else:
                norm["message"] = f.string("message", required=True) or ""
                norm["exception_type"] = f.string("exception_type", max_len=255)
                norm["exception_class"] = f.string("exception_class", max_len=255)
                nr = f.boolean("non_retryable")
                norm["non_retryable"] = True if nr is None else nr
        elif ctype == "complete_workflow":
            norm["result"], norm["payload_codec"] = _payload(cmd, "result", f)
        elif ctype == "fail_workflow":
            message = cmd.get("message")
            if message is not None and not isinstance(message, str):
                f.fail("message", "The message field must be a string.")
            norm["exception_type"] = f.string("exception_type", max_len=255)
            norm["exception_class"] = f.string("exception_class", max_len=255)
            # An exception without a message still fails the workflow (the real server answers
            # 422 and the task loops forever); name the exception instead.
            norm["message"] = (message if isinstance(message, str) and message.strip() else None) or (
                norm["exception_type"] or "workflow failed"
            )
            norm["non_retryable"] = bool(f.boolean("non_retryable"))
        elif ctype == "continue_as_new":
            norm["arguments"], norm["payload_codec"] = _payload(cmd, "arguments", f, "input")
            norm["workflow_type"] = f.string("workflow_type", max_len=255)
            queue = cmd.get("queue") or cmd.get("task_queue")
            norm["queue"] = queue if isinstance(queue, str) and queue else None
        errors.update(f.errors)
        out.append(norm)
    if errors:
        raise validation_error(errors)
    terminals = [c for c in out if c["type"] in TERMINAL_COMMANDS]
    if len(terminals) > 1:
        raise invalid_commands("A workflow task may carry at most one terminal command.")
    for c in out:
        if c["type"] == "record_version_marker":
            lo, hi, v = c["min_supported"], c["max_supported"], c["version"]
            if not (lo <= hi and lo <= v <= hi):
                raise invalid_commands("Version marker needs min_supported <= version <= max_supported.")
    ids = [c["update_id"] for c in out if c["type"] in ("complete_update", "fail_update")]
    if len(ids) != len(set(ids)):
        raise invalid_commands("An update may be completed only once per workflow task.")
    return [c for c in out if c["type"] in NON_TERMINAL_COMMANDS] + terminals


def _check_order(f: Fields, norm: dict[str, Any], small: str, big: str) -> None:
    if norm.get(small) is not None and norm.get(big) is not None and norm[small] > norm[big]:
        f.fail(small, f"The {small} must not be greater than {big}.")


def _search_attributes(raw: Any, f: Fields) -> dict[str, Any]:
    if not isinstance(raw, dict) or not raw:
        f.fail("attributes", "The attributes field must be a non-empty object.")
        return {}
    clean: dict[str, Any] = {}
    for key, value in raw.items():
        if not _ATTRIBUTE_KEY.fullmatch(key):
            f.fail(f"attributes.{key}", "Search attribute keys must match [A-Za-z0-9_.:-]{1,64}.")
            continue
        if isinstance(value, str):
            value = value.strip()
            if len(value) > 2048:
                f.fail(f"attributes.{key}", "Search attribute strings must be at most 2048 characters.")
                continue
            clean[key] = value or None
        elif isinstance(value, list):
            if not all(isinstance(v, str) for v in value):
                f.fail(f"attributes.{key}", "List values must be lists of strings.")
                continue
            clean[key] = [v.strip() for v in value]
        elif value is None or isinstance(value, (bool, int, float)):
            clean[key] = value
        else:
            f.fail(f"attributes.{key}", "Search attribute values must be scalars, lists of strings or null.")
    return clean
