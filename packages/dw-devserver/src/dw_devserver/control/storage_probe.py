"""The external-storage round-trip probe behind ``POST /api/storage/test``, for the local driver.

Objects are laid out as codec.md §8.3 says (``<root>/<codec>/<sha[0:2]>/<sha>``) and are
content-addressed, so repeating a probe of the same size rewrites the same file instead of
piling up new ones.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse

PROBE_CODEC = "avro"
SUPPORTED_DIAGNOSTIC_DRIVERS = ("local",)


class ProbeFailed(Exception):
    """The driver could not store or read back a probe payload."""


@dataclasses.dataclass(frozen=True)
class ProbeResult:
    """One verified round trip."""

    bytes: int
    sha256: str
    reference_uri: str

    def to_json(self) -> dict[str, object]:
        """The ``small_payload`` / ``large_payload`` shape."""
        return {
            "status": "passed",
            "bytes": self.bytes,
            "sha256": self.sha256,
            "reference_uri": self.reference_uri,
        }


def default_root(db_path: str | None) -> Path:
    """Where the local driver keeps objects when the policy names no ``uri``."""
    if db_path:
        return Path(db_path).with_name(Path(db_path).name + ".payloads")
    return (
        Path(tempfile.gettempdir()) / f"dw-devserver-payloads-{os.getuid() if hasattr(os, 'getuid') else 0}"
    )


def root_from_uri(uri: str | None, fallback: Path) -> Path:
    """The filesystem root of a ``file://`` URI (or a plain path); ``fallback`` when none is set."""
    if not uri:
        return fallback
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return Path(unquote(parsed.path if parsed.scheme else uri))
    raise ProbeFailed(f"The local driver needs a file:// uri, got {uri!r}.")


def probe_payload(size: int, label: str) -> bytes:
    """Deterministic bytes of the requested size (ASCII, like an encoded blob)."""
    seed = hashlib.sha256(f"dw-devserver storage probe {label} {size}".encode()).hexdigest().encode()
    return (seed * (size // len(seed) + 1))[:size]


def round_trip_local(root: Path, data: bytes, prefix: str | None = None) -> ProbeResult:
    """Write ``data`` under ``root``, read it back and verify size and SHA-256."""
    digest = hashlib.sha256(data).hexdigest()
    base = root
    if prefix:
        segments = [s for s in prefix.strip("/").split("/") if s]
        if any(s in (".", "..") for s in segments):
            raise ProbeFailed("The storage prefix may not contain '.' or '..' segments.")
        base = root.joinpath(*segments)
    target = base / PROBE_CODEC / digest[:2] / digest
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(".tmp")
        temporary.write_bytes(data)
        os.replace(temporary, target)
        echoed = target.read_bytes()
    except OSError as exc:
        raise ProbeFailed(f"Could not write or read {target}: {exc.strerror or exc}.") from exc
    if len(echoed) != len(data) or hashlib.sha256(echoed).hexdigest() != digest:
        raise ProbeFailed(f"Read-back of {target} did not match what was written.")
    return ProbeResult(len(data), digest, target.resolve().as_uri())
