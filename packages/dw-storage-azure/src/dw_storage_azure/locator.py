"""Where payload blobs live in a container and which ``azure-blob://`` URIs this driver may touch.

A reference's URI comes from the wire, so it is untrusted: it is only honoured when it names this
driver's container, stays under its prefix and has no ``.``/``..``/empty name segments.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["SCHEME", "check_container_name", "key_from_uri", "object_uri"]

SCHEME: Final = "azure-blob"

# Azure allows 3-63 lowercase letters, digits and dashes; we only refuse what cannot be a bare name
# (a URI, a path, spaces), so emulators and future rules are not locked out.
_CONTAINER_NAME = re.compile(r"[A-Za-z0-9$](?:[A-Za-z0-9._-]{0,253}[A-Za-z0-9])?")
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def check_container_name(container: object) -> str:
    """``container`` if it is a plausible container name (no ``/``, ``:`` or spaces), else ``ValueError``."""
    if not isinstance(container, str) or not _CONTAINER_NAME.fullmatch(container):
        raise ValueError(
            f"invalid Azure Blob container name {container!r}: use the bare container name (lowercase "
            "letters, digits, '-'), not a URI or a path"
        )
    return container


def object_uri(container: str, key: str) -> str:
    """``azure-blob://<container>/<key>``."""
    return f"{SCHEME}://{container}/{key}"


def key_from_uri(uri: object, *, container: str, prefix: str) -> str:
    """The blob name of ``uri`` after checking it targets ``container`` under ``prefix`` (``ValueError``)."""
    if not isinstance(uri, str):
        raise ValueError(f"external payload URI must be a string, got {type(uri).__name__}")
    lead = f"{SCHEME}://"
    if not uri.startswith(lead):
        raise ValueError(
            f"Azure Blob external storage only reads {lead} URIs, got {uri!r}; configure the driver "
            "that wrote this payload (local, s3, gcs)"
        )
    uri_container, _, key = uri[len(lead) :].partition("/")
    if uri_container != container:
        raise ValueError(
            f"external payload URI {uri!r} targets container {uri_container!r}, but this driver is "
            f"configured for container {container!r}"
        )
    if not key or _CONTROL_CHARS.search(key) or any(s in ("", ".", "..") for s in key.split("/")):
        raise ValueError(
            f"external payload URI {uri!r} has an unsafe object key: it must be non-empty, without "
            "control characters or empty, '.' or '..' segments"
        )
    if prefix and not key.startswith(prefix + "/"):
        raise ValueError(f"external payload URI {uri!r} is outside the configured prefix {prefix!r}")
    return key
