"""The Google Cloud Storage external-storage driver (application-owned google-cloud-storage client)."""

from __future__ import annotations

from typing import Any, Final

from dw_core.external_storage import (
    ObjectStoreLayout,
    delete_ignoring_missing,
    normalize_prefix,
    payload_object_key,
    read_object_bytes,
)

__all__ = ["CONTENT_TYPE", "LAYOUT", "GCSExternalStorage"]

CONTENT_TYPE: Final = "application/octet-stream"
LAYOUT: Final = ObjectStoreLayout(scheme="gs", provider="GCS", driver="gcs")


def _is_not_found(exc: BaseException) -> bool:
    # google.api_core's NotFound has code 404 (an HTTPStatus); duck-typed to avoid importing it.
    return getattr(exc, "code", None) == 404


class GCSExternalStorage:
    """Stores each payload once at ``gs://<bucket>/[<prefix>/]<codec>/<sha[:2]>/<sha>``.

    ``client`` is an application-owned ``google.cloud.storage.Client`` (anything with
    ``bucket(name).blob(key)`` whose blobs offer ``upload_from_string``, ``download_as_bytes`` and
    ``delete``). Objects carry ``sha256`` and ``codec`` metadata and the content type
    ``application/octet-stream``. URIs naming another bucket, leaving the prefix or holding unsafe key
    segments are refused with ``ValueError``.
    """

    def __init__(self, client: Any, *, bucket: str, prefix: str = "") -> None:
        if client is None:
            raise ValueError("GCSExternalStorage needs a google-cloud-storage client, e.g. storage.Client()")
        self.client = client
        self.bucket = LAYOUT.check_container_name(bucket)
        self.prefix = normalize_prefix(prefix)

    def __repr__(self) -> str:
        return f"GCSExternalStorage(bucket={self.bucket!r}, prefix={self.prefix!r})"

    def _blob(self, key: str) -> Any:
        return self.client.bucket(self.bucket).blob(key)

    def put(self, data: bytes, *, sha256: str, codec: str) -> str:
        """Upload ``data`` under its digest-derived key and return the ``gs://`` URI."""
        key = payload_object_key(codec=codec, sha256=sha256, prefix=self.prefix)
        blob = self._blob(key)
        blob.metadata = {"sha256": sha256, "codec": codec}
        blob.upload_from_string(bytes(data), content_type=CONTENT_TYPE)
        return LAYOUT.object_uri(self.bucket, key)

    def get(self, uri: str) -> bytes:
        """The object's bytes; ``FileNotFoundError`` if it does not exist, ``ValueError`` if not bytes."""
        blob = self._blob(LAYOUT.key_from_uri(uri, container=self.bucket, prefix=self.prefix))
        return read_object_bytes(
            uri, blob.download_as_bytes, is_not_found=_is_not_found, provider=LAYOUT.provider
        )

    def delete(self, uri: str) -> None:
        """Delete the object; a missing object is not an error."""
        blob = self._blob(LAYOUT.key_from_uri(uri, container=self.bucket, prefix=self.prefix))
        delete_ignoring_missing(blob.delete, is_not_found=_is_not_found)
