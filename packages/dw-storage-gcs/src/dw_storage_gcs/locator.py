"""Where payload objects live in a bucket and which ``gs://`` URIs this driver may touch.

A reference's URI comes from the wire, so it is untrusted: it is only honoured when it names this
driver's bucket, stays under its prefix and has no ``.``/``..``/empty key segments.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["SCHEME", "check_bucket_name", "key_from_uri", "object_uri"]

SCHEME: Final = "gs"

_BUCKET_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,253}[A-Za-z0-9])?")
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def check_bucket_name(bucket: object) -> str:
    """``bucket`` if it is a plausible bucket name (no ``/``, ``:`` or spaces), else ``ValueError``."""
    if not isinstance(bucket, str) or not _BUCKET_NAME.fullmatch(bucket):
        raise ValueError(
            f"invalid GCS bucket name {bucket!r}: use the bare bucket name (letters, digits, '.', '-', '_'), "
            "not a URI or a path"
        )
    return bucket


def object_uri(bucket: str, key: str) -> str:
    """``gs://<bucket>/<key>``."""
    return f"{SCHEME}://{bucket}/{key}"


def key_from_uri(uri: object, *, bucket: str, prefix: str) -> str:
    """The object key of ``uri`` after checking it targets ``bucket`` under ``prefix`` (``ValueError``)."""
    if not isinstance(uri, str):
        raise ValueError(f"external payload URI must be a string, got {type(uri).__name__}")
    lead = f"{SCHEME}://"
    if not uri.startswith(lead):
        raise ValueError(
            f"GCS external storage only reads {lead} URIs, got {uri!r}; configure the driver that wrote "
            "this payload (local, s3, azure)"
        )
    uri_bucket, _, key = uri[len(lead) :].partition("/")
    if uri_bucket != bucket:
        raise ValueError(
            f"external payload URI {uri!r} targets bucket {uri_bucket!r}, but this driver is configured "
            f"for bucket {bucket!r}"
        )
    if not key or _CONTROL_CHARS.search(key) or any(s in ("", ".", "..") for s in key.split("/")):
        raise ValueError(
            f"external payload URI {uri!r} has an unsafe object key: it must be non-empty, without "
            "control characters or empty, '.' or '..' segments"
        )
    if prefix and not key.startswith(prefix + "/"):
        raise ValueError(f"external payload URI {uri!r} is outside the configured prefix {prefix!r}")
    return key
