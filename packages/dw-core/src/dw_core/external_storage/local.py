"""External storage on the local filesystem (single host, tests, the dev server)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

from dw_core.external_storage.driver import payload_object_key

__all__ = ["LocalFilesystemExternalStorage"]


class LocalFilesystemExternalStorage:
    """Stores each payload once at ``<root>/<codec>/<sha[:2]>/<sha>`` and returns a ``file://`` URI.

    URIs that are not ``file://`` or that point outside ``root`` are refused with ``ValueError``, so
    a forged reference cannot read or delete arbitrary files.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser().resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"LocalFilesystemExternalStorage(root={str(self.root)!r})"

    def _path_for(self, uri: str) -> Path:
        if not isinstance(uri, str):
            raise ValueError(f"external payload URI must be a string, got {type(uri).__name__}")
        parts = urlsplit(uri)
        if parts.scheme != "file":
            raise ValueError(
                f"local filesystem storage only reads file:// URIs, got {uri!r}; configure the driver "
                "that wrote this payload (e.g. s3, gcs, azure)"
            )
        if parts.netloc not in ("", "localhost"):
            raise ValueError(f"file URI {uri!r} names a remote host; only local paths are allowed")
        path = Path(unquote(parts.path)).resolve()
        if path == self.root or not path.is_relative_to(self.root):
            raise ValueError(f"file URI {uri!r} is outside the storage root {str(self.root)!r}")
        return path

    def put(self, data: bytes, *, sha256: str, codec: str) -> str:
        """Write ``data`` (once; an existing object with this digest is kept) and return its URI."""
        path = self.root / payload_object_key(codec=codec, sha256=sha256)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename, so a crash never leaves a truncated object under the final name.
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{sha256[:8]}-", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return path.as_uri()

    def get(self, uri: str) -> bytes:
        """Read the object at ``uri``; ``FileNotFoundError`` when it does not exist."""
        path = self._path_for(uri)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise FileNotFoundError(f"external payload not found: {uri}") from None

    def delete(self, uri: str) -> None:
        """Remove the object at ``uri``; a missing object is not an error."""
        self._path_for(uri).unlink(missing_ok=True)
