"""The storage-driver contract and the object-key layout every driver shares."""

from __future__ import annotations

import re
from typing import Protocol, runtime_checkable

__all__ = ["ExternalStorageDriver", "normalize_prefix", "payload_object_key"]

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_CODEC_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")


@runtime_checkable
class ExternalStorageDriver(Protocol):
    """Stores payload bytes under a URI and gives them back.

    ``put`` must be idempotent for the same bytes (the key is derived from the digest); ``delete`` of
    a missing object is not an error.
    """

    def put(self, data: bytes, *, sha256: str, codec: str) -> str:
        """Store ``data`` and return its URI."""
        ...

    def get(self, uri: str) -> bytes:
        """Return the bytes stored at ``uri``."""
        ...

    def delete(self, uri: str) -> None:
        """Remove the object at ``uri`` (no error when it is already gone)."""
        ...


def normalize_prefix(prefix: str) -> str:
    """Strip surrounding slashes and refuse ``.``, ``..`` and empty segments (``ValueError``)."""
    if not isinstance(prefix, str):
        raise ValueError(f"storage prefix must be a string, got {type(prefix).__name__}")
    stripped = prefix.strip("/")
    if not stripped:
        return ""
    for segment in stripped.split("/"):
        if segment in ("", ".", ".."):
            raise ValueError(f"unsafe storage prefix {prefix!r}: segments may not be empty, '.' or '..'")
    return stripped


def payload_object_key(*, codec: str, sha256: str, prefix: str = "") -> str:
    """``[prefix/]<codec>/<sha[:2]>/<sha>``, validating each part (``ValueError``)."""
    if not isinstance(codec, str) or not _CODEC_SEGMENT.fullmatch(codec) or codec in (".", ".."):
        raise ValueError(
            f"unsafe codec name {codec!r} for a storage key: use letters, digits, '-', '_' or '.'"
        )
    if not isinstance(sha256, str) or not _SHA256_HEX.fullmatch(sha256):
        raise ValueError(f"sha256 must be 64 lowercase hexadecimal characters, got {sha256!r}")
    key = f"{codec}/{sha256[:2]}/{sha256}"
    clean = normalize_prefix(prefix)
    return f"{clean}/{key}" if clean else key
