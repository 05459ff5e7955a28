"""Storing, fetching (with size and SHA-256 verification) and deleting external payloads."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from dw_core.external_storage.cache import ExternalPayloadCache
from dw_core.external_storage.driver import ExternalStorageDriver
from dw_core.external_storage.reference import ExternalPayloadReference, parse_rfc3339

__all__ = [
    "ExternalPayloadIntegrityError",
    "delete_external_payload",
    "fetch_external_payload",
    "store_external_payload",
]


class ExternalPayloadIntegrityError(ValueError):
    """Fetched bytes do not match the reference's size or SHA-256; they are not used or cached."""

    def __init__(self, message: str, *, reference: ExternalPayloadReference | None = None) -> None:
        super().__init__(message)
        self.reference = reference


def _as_reference(reference: ExternalPayloadReference | Mapping[str, Any]) -> ExternalPayloadReference:
    if isinstance(reference, ExternalPayloadReference):
        return reference
    return ExternalPayloadReference.from_dict(reference)


def _as_bytes(data: object, what: str) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"{what} must be bytes, got {type(data).__name__}")


def store_external_payload(
    driver: ExternalStorageDriver,
    data: bytes,
    *,
    codec: str,
    expires_at: str | None = None,
) -> ExternalPayloadReference:
    """Hash ``data``, store it through ``driver`` and return the reference to put on the wire."""
    payload = _as_bytes(data, "external payload data")
    if expires_at is not None:
        parse_rfc3339(expires_at)
    digest = hashlib.sha256(payload).hexdigest()
    uri = driver.put(payload, sha256=digest, codec=codec)
    if not isinstance(uri, str) or not uri:
        raise TypeError(f"{type(driver).__name__}.put() must return the stored object's URI, got {uri!r}")
    return ExternalPayloadReference(
        uri=uri, sha256=digest, size_bytes=len(payload), codec=codec, expires_at=expires_at
    )


def fetch_external_payload(
    driver: ExternalStorageDriver,
    reference: ExternalPayloadReference | Mapping[str, Any],
    *,
    cache: ExternalPayloadCache | None = None,
) -> bytes:
    """Bytes of ``reference``: from ``cache`` if present, else fetched and verified (size, then SHA-256).

    Raises :class:`ExternalPayloadIntegrityError` on a mismatch; only verified bytes are cached.
    """
    ref = _as_reference(reference)
    if cache is not None:
        cached = cache.get(ref)
        if cached is not None:
            return cached
    data = driver.get(ref.uri)
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ExternalPayloadIntegrityError(
            f"storage driver returned {type(data).__name__} for {ref.uri}, expected bytes", reference=ref
        )
    data = bytes(data)
    if len(data) != ref.size_bytes:
        raise ExternalPayloadIntegrityError(
            f"external payload {ref.uri} is {len(data)} bytes but its reference says {ref.size_bytes}; "
            "the stored object was changed or truncated",
            reference=ref,
        )
    actual = hashlib.sha256(data).hexdigest()
    if not hmac.compare_digest(actual, ref.sha256):
        raise ExternalPayloadIntegrityError(
            f"external payload {ref.uri} has SHA-256 {actual} but its reference says {ref.sha256}; "
            "the stored object was changed",
            reference=ref,
        )
    if cache is not None:
        cache.put(ref, data)
    return data


def delete_external_payload(
    driver: ExternalStorageDriver,
    reference: ExternalPayloadReference | Mapping[str, Any],
    *,
    cache: ExternalPayloadCache | None = None,
) -> None:
    """Delete the stored object and evict it from ``cache``."""
    ref = _as_reference(reference)
    driver.delete(ref.uri)
    if cache is not None:
        cache.discard(ref)
