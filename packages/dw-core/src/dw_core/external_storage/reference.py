"""The external payload reference: what travels on the wire instead of an offloaded payload."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Final

__all__ = [
    "EXTERNAL_PAYLOAD_REFERENCE_SCHEMA",
    "ExternalPayloadReference",
    "ReferenceKey",
    "parse_rfc3339",
]

EXTERNAL_PAYLOAD_REFERENCE_SCHEMA: Final = "durable-workflow.v2.external-payload-reference.v1"

ReferenceKey = tuple[str, str, int, str]
"""Full identity of a stored payload: ``(uri, sha256, size_bytes, codec)``."""

_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)


def parse_rfc3339(value: str) -> datetime:
    """Parse an RFC 3339 timestamp that carries a timezone (``Z`` or ``±HH:MM``); ``ValueError`` else."""
    match = _RFC3339.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(
            f"expires_at must be an RFC 3339 timestamp with a timezone, e.g. 2026-01-31T12:00:00Z; "
            f"got {value!r}"
        )
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    fraction = match.group(7) or ""
    micro = int((fraction + "000000")[:6]) if fraction else 0
    if match.group(8):
        tz = timezone.utc
    else:
        sign = 1 if match.group(9) == "+" else -1
        offset_hours, offset_minutes = int(match.group(10)), int(match.group(11))
        if offset_hours > 23 or offset_minutes > 59:
            raise ValueError(f"expires_at has an invalid UTC offset: {value!r}")
        tz = timezone(sign * timedelta(hours=offset_hours, minutes=offset_minutes))
    try:
        return datetime(year, month, day, hour, minute, min(second, 59), micro, tzinfo=tz)
    except ValueError as exc:
        raise ValueError(f"expires_at is not a valid date/time: {value!r} ({exc})") from None


def _fail(detail: str) -> ValueError:
    return ValueError(f"invalid external payload reference: {detail}")


@dataclass(frozen=True)
class ExternalPayloadReference:
    """Where an offloaded payload lives and how to verify it (size and SHA-256 of the stored bytes)."""

    uri: str
    sha256: str
    size_bytes: int
    codec: str
    expires_at: str | None = None
    schema: str = EXTERNAL_PAYLOAD_REFERENCE_SCHEMA

    def __post_init__(self) -> None:
        if self.schema != EXTERNAL_PAYLOAD_REFERENCE_SCHEMA:
            raise _fail(f"schema must be {EXTERNAL_PAYLOAD_REFERENCE_SCHEMA!r}, got {self.schema!r}")
        if not isinstance(self.uri, str) or not self.uri.strip():
            raise _fail(f"uri must be a non-empty string, got {self.uri!r}")
        if not isinstance(self.sha256, str) or not _SHA256_HEX.fullmatch(self.sha256):
            raise _fail(f"sha256 must be 64 hexadecimal characters, got {self.sha256!r}")
        if isinstance(self.size_bytes, bool) or not isinstance(self.size_bytes, int) or self.size_bytes < 0:
            raise _fail(f"size_bytes must be an integer >= 0, got {self.size_bytes!r}")
        if not isinstance(self.codec, str) or not self.codec.strip():
            raise _fail(f"codec must be a non-empty string, got {self.codec!r}")
        if self.expires_at is not None:
            try:
                parse_rfc3339(self.expires_at)
            except ValueError as exc:
                raise _fail(str(exc)) from None
        # The engine lower-cases digests; comparing against hashlib's hexdigest needs the same.
        object.__setattr__(self, "sha256", self.sha256.lower())

    @property
    def key(self) -> ReferenceKey:
        """The full identity used to key caches."""
        return (self.uri, self.sha256, self.size_bytes, self.codec)

    def to_dict(self) -> dict[str, Any]:
        """Wire form (``expires_at`` omitted when unset)."""
        data: dict[str, Any] = {
            "schema": self.schema,
            "uri": self.uri,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "codec": self.codec,
        }
        if self.expires_at is not None:
            data["expires_at"] = self.expires_at
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExternalPayloadReference:
        """Validate and build a reference from its wire form; ``ValueError`` names the bad field."""
        if not isinstance(data, Mapping):
            raise _fail(f"expected a JSON object, got {type(data).__name__}")
        if "schema" not in data:
            raise _fail(f"schema is missing (expected {EXTERNAL_PAYLOAD_REFERENCE_SCHEMA!r})")
        return cls(
            uri=data.get("uri"),  # type: ignore[arg-type]  # validated in __post_init__
            sha256=data.get("sha256"),  # type: ignore[arg-type]
            size_bytes=data.get("size_bytes"),  # type: ignore[arg-type]
            codec=data.get("codec"),  # type: ignore[arg-type]
            expires_at=data.get("expires_at"),
            schema=data["schema"],
        )
