"""Reading history events: type, step number, times, payload values and recorded failures."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from dw_core import protocol, serializer
from dw_core.errors import (
    ActivityFailed,
    ChildWorkflowCancelled,
    ChildWorkflowFailed,
    ChildWorkflowTerminated,
)

if TYPE_CHECKING:
    from dw_core.external_storage import ExternalPayloadCache, ExternalStorageDriver

__all__ = [
    "activity_failure",
    "child_failure",
    "decode_value",
    "event_payload",
    "event_type",
    "parse_timestamp",
    "step_number",
]

_EMPTY: Mapping[str, Any] = {}


def event_type(event: Mapping[str, Any]) -> str | None:
    """``event_type`` (or the history-export key ``type``)."""
    value = event.get("event_type") or event.get("type")
    return value if isinstance(value, str) else None


def event_payload(event: Mapping[str, Any]) -> Mapping[str, Any]:
    """The event's payload object (empty when missing or not an object)."""
    payload = event.get("payload")
    return payload if isinstance(payload, Mapping) else _EMPTY


def step_number(payload: Mapping[str, Any]) -> int | None:
    """The workflow step number (``payload.sequence``, else ``workflow_sequence``), if any."""
    value = payload.get("sequence")
    if value is None:
        value = payload.get("workflow_sequence")
    if type(value) is int:
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def parse_timestamp(value: object) -> datetime | None:
    """Parse an ISO-8601 timestamp (``Z`` accepted) as an aware UTC datetime; ``None`` if unusable."""
    if not isinstance(value, str) or not value:
        return None
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        # Python 3.10 accepts only 3 or 6 fractional digits: normalise the fraction.
        head, dot, rest = text.partition(".")
        if not dot:
            return None
        digits = "".join(ch for ch in rest if ch.isdigit())
        zone = rest[len(digits) :]
        try:
            moment = datetime.fromisoformat(f"{head}.{digits[:6].ljust(6, '0')}{zone}")
        except ValueError:
            return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment


def decode_value(
    value: Any,
    codec: str | None,
    *,
    external_storage: ExternalStorageDriver | None = None,
    external_storage_cache: ExternalPayloadCache | None = None,
) -> Any:
    """Decode a recorded payload: a bare blob in ``codec``, an envelope or a storage reference."""
    if value is None or value == "":
        return None
    if isinstance(value, Mapping):
        return serializer.decode_envelope(
            value, codec, external_storage=external_storage, external_storage_cache=external_storage_cache
        )
    return serializer.decode(value, codec)


def _text(payload: Mapping[str, Any], key: str) -> str | None:
    value = payload.get(key)
    return value if isinstance(value, str) and value else None


def activity_failure(event_kind: str, payload: Mapping[str, Any]) -> ActivityFailed:
    """The ``ActivityFailed`` thrown into the workflow for ``ActivityFailed``/``ActivityTimedOut``."""
    exception = payload.get("exception")
    exception = exception if isinstance(exception, Mapping) else _EMPTY
    message = (
        _text(payload, "message")
        or _text(exception, "message")
        or _text(payload, "closed_reason")
        or ("activity timed out" if event_kind == protocol.ACTIVITY_TIMED_OUT else "activity failed")
    )
    activity = payload.get("activity")
    return ActivityFailed(
        message,
        activity_type=_text(payload, "activity_type"),
        activity_execution_id=_text(payload, "activity_execution_id"),
        activity_attempt_id=_text(payload, "activity_attempt_id"),
        failure_id=_text(payload, "failure_id"),
        failure_category=_text(payload, "failure_category")
        or ("timeout" if event_kind == protocol.ACTIVITY_TIMED_OUT else None),
        exception_type=_text(payload, "exception_type") or _text(exception, "type"),
        exception_class=_text(payload, "exception_class"),
        non_retryable=bool(payload.get("non_retryable", False)),
        code=payload.get("code"),
        exception_payload=dict(exception) if exception else None,
        activity=dict(activity) if isinstance(activity, Mapping) else None,
    )


def child_failure(event_kind: str, payload: Mapping[str, Any]) -> ChildWorkflowFailed:
    """The typed child error for ``ChildRunFailed``/``ChildRunCancelled``/``ChildRunTerminated``."""
    exception = payload.get("exception")
    exception = exception if isinstance(exception, Mapping) else _EMPTY
    exception_class = (
        _text(payload, "exception_class") or _text(payload, "exception_type") or _text(exception, "class")
    )
    run_id = _text(payload, "child_workflow_run_id")
    child_type = _text(payload, "child_workflow_type") or _text(payload, "workflow_type")
    message = _text(payload, "message") or _text(exception, "message")
    if event_kind == protocol.CHILD_RUN_CANCELLED:
        return ChildWorkflowCancelled(
            message or "child workflow was cancelled",
            exception_class,
            child_workflow_run_id=run_id,
            child_workflow_type=child_type,
        )
    if event_kind == protocol.CHILD_RUN_TERMINATED:
        return ChildWorkflowTerminated(
            message or "child workflow was terminated",
            exception_class,
            child_workflow_run_id=run_id,
            child_workflow_type=child_type,
        )
    return ChildWorkflowFailed(
        message or "child workflow failed",
        exception_class,
        failure_kind=_text(payload, "failure_category") or "child_workflow",
        child_workflow_run_id=run_id,
        child_workflow_type=child_type,
    )
