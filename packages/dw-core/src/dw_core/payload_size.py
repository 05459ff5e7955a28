"""Payload-size warnings: a WARNING log record when an encoded payload nears the server limit.

The server refuses request bodies above ``DW_MAX_PAYLOAD_BYTES`` (2 MiB by default); warning at a
fraction of that gives operators time to move large values to external storage. Warnings never
block or change a payload.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeAlias

__all__ = [
    "DEFAULT_PAYLOAD_SIZE_BYTES",
    "DEFAULT_PAYLOAD_SIZE_WARNING",
    "DEFAULT_WARNING_THRESHOLD_PERCENT",
    "PAYLOAD_SIZE_LOGGER_NAME",
    "PayloadSizeWarningConfig",
    "PayloadSizeWarningContext",
    "PayloadWarningContext",
    "PayloadWarningContexts",
    "warn_if_json_payload_near_limit",
    "warn_if_payload_near_limit",
]

DEFAULT_PAYLOAD_SIZE_BYTES: Final = 2_097_152
DEFAULT_WARNING_THRESHOLD_PERCENT: Final = 80
#: Logger the warnings go to (kept from the published SDK so existing log routing still works).
PAYLOAD_SIZE_LOGGER_NAME: Final = "durable_workflow.serializer"
#: Name of the structured attribute set on each warning record.
PAYLOAD_LOG_ATTRIBUTE: Final = "durable_workflow_payload"
_DEFAULT_KIND: Final = "payload"

log = logging.getLogger(PAYLOAD_SIZE_LOGGER_NAME)


def _require_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    return value


@dataclass(frozen=True)
class PayloadSizeWarningConfig:
    """When to warn: at ``threshold_percent`` % of ``limit_bytes`` (default 80 % of 2 MiB)."""

    limit_bytes: int = DEFAULT_PAYLOAD_SIZE_BYTES
    threshold_percent: int = DEFAULT_WARNING_THRESHOLD_PERCENT
    _threshold_bytes: int = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        limit = _require_int("payload size warning limit_bytes", self.limit_bytes)
        percent = _require_int("payload size warning threshold_percent", self.threshold_percent)
        if limit < 1:
            raise ValueError(
                f"payload size warning limit_bytes must be at least 1 byte, got {limit}; "
                "pass size_warning=None to disable the warnings instead"
            )
        if not 1 <= percent <= 100:
            raise ValueError(
                f"payload size warning threshold_percent must be between 1 and 100, got {percent}"
            )
        object.__setattr__(self, "_threshold_bytes", max(1, limit * percent // 100))

    @property
    def threshold_bytes(self) -> int:
        """Encoded size in bytes at or above which a warning is logged."""
        return self._threshold_bytes


DEFAULT_PAYLOAD_SIZE_WARNING: Final = PayloadSizeWarningConfig()


@dataclass(frozen=True)
class PayloadSizeWarningContext:
    """What a payload is, for the structured warning (``kind`` such as ``activity_input``)."""

    kind: str
    workflow_id: str | None = None
    workflow_type: str | None = None
    run_id: str | None = None
    activity_name: str | None = None
    signal_name: str | None = None
    update_name: str | None = None
    query_name: str | None = None
    schedule_id: str | None = None
    task_queue: str | None = None
    namespace: str | None = None

    def to_log_context(self) -> dict[str, str]:
        """The non-None fields, in declaration order."""
        return {name: value for name, value in self.__dict__.items() if value is not None}


PayloadWarningContext: TypeAlias = PayloadSizeWarningContext | Mapping[str, Any] | None
PayloadWarningContexts: TypeAlias = PayloadWarningContext | Sequence[PayloadWarningContext]


def context_fields(warning_context: PayloadWarningContext) -> dict[str, Any]:
    """Normalise a context object or mapping to the log fields (``kind`` first, None dropped)."""
    if warning_context is None:
        return {"kind": _DEFAULT_KIND}
    if isinstance(warning_context, PayloadSizeWarningContext):
        return warning_context.to_log_context()
    if isinstance(warning_context, Mapping):
        fields = {"kind": warning_context.get("kind") or _DEFAULT_KIND}
        for key, value in warning_context.items():
            if value is not None and key != "kind":
                fields[str(key)] = value
        return fields
    raise TypeError(
        "warning_context must be a PayloadSizeWarningContext, a mapping or None, "
        f"got {type(warning_context).__name__}"
    )


def per_value_contexts(
    warning_context: PayloadWarningContexts, count: int
) -> Sequence[PayloadWarningContext]:
    """Expand a single context or a per-value sequence to exactly ``count`` contexts."""
    if warning_context is None or isinstance(warning_context, (PayloadSizeWarningContext, Mapping)):
        return [warning_context] * count
    if not isinstance(warning_context, Sequence):
        raise TypeError(
            "warning_context must be one context (PayloadSizeWarningContext, mapping or None) or a "
            f"sequence with one per value, got {type(warning_context).__name__}"
        )
    if len(warning_context) != count:
        raise ValueError(
            f"payload warning context count must match value count: got {len(warning_context)} "
            f"contexts for {count} values; pass one context per value or a single context for all"
        )
    return warning_context


def _utf8_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _check_context(warning_context: object) -> None:
    # Checked on every call, not only when warning, so a wrong argument fails in tests too.
    if not isinstance(warning_context, (PayloadSizeWarningContext, Mapping)):
        raise TypeError(
            "warning_context must be a PayloadSizeWarningContext, a mapping or None, "
            f"got {type(warning_context).__name__}"
        )


def warn_if_payload_near_limit(
    blob: str,
    *,
    codec: str,
    size_warning: PayloadSizeWarningConfig | None = DEFAULT_PAYLOAD_SIZE_WARNING,
    warning_context: PayloadWarningContext = None,
) -> None:
    """Log one structured WARNING when ``blob``'s UTF-8 size reaches the configured threshold."""
    if size_warning is None:
        return
    if warning_context is not None:
        _check_context(warning_context)
    threshold = size_warning._threshold_bytes
    # UTF-8 needs at most 4 bytes per code point: most payloads are decided without measuring.
    if len(blob) * 4 < threshold:
        return
    size = _utf8_size(blob)
    if size < threshold:
        return
    _emit(size, codec, size_warning, warning_context)


def warn_if_json_payload_near_limit(
    value: Any,
    *,
    size_warning: PayloadSizeWarningConfig | None = DEFAULT_PAYLOAD_SIZE_WARNING,
    warning_context: PayloadWarningContext = None,
) -> None:
    """Same check on the compact JSON text of a raw request value (e.g. search attributes)."""
    if size_warning is None:
        return
    # Only a measurement: values JSON cannot represent are measured through str() rather than refused.
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    warn_if_payload_near_limit(text, codec="json", size_warning=size_warning, warning_context=warning_context)


def _emit(
    size: int, codec: str, size_warning: PayloadSizeWarningConfig, warning_context: PayloadWarningContext
) -> None:
    record = context_fields(warning_context)
    record["codec"] = codec
    record["payload_size"] = size
    record["threshold_bytes"] = size_warning._threshold_bytes
    record["limit_bytes"] = size_warning.limit_bytes
    log.warning(
        "payload (kind %s) of %d bytes (codec %s) is at or above the warning threshold of %d bytes "
        "(%d%% of the %d-byte payload limit); keep payloads smaller or configure external payload storage",
        record["kind"],
        size,
        codec,
        size_warning._threshold_bytes,
        size_warning.threshold_percent,
        size_warning.limit_bytes,
        extra={PAYLOAD_LOG_ATTRIBUTE: record},
    )
