"""The S3 external-storage driver (any boto3-compatible client: AWS, MinIO, Ceph, moto...)."""

from __future__ import annotations

from typing import Any, Final

from dw_core.external_storage import (
    ObjectStoreLayout,
    delete_ignoring_missing,
    normalize_prefix,
    payload_object_key,
    read_object_bytes,
)

__all__ = ["CONTENT_TYPE", "LAYOUT", "S3ExternalStorage"]

CONTENT_TYPE: Final = "application/octet-stream"
LAYOUT: Final = ObjectStoreLayout(scheme="s3", provider="S3", driver="s3")

_NOT_FOUND_CODES: Final = frozenset({"NoSuchKey", "404", "NotFound"})


def _is_not_found(exc: BaseException) -> bool:
    # botocore's ClientError carries the service error code in ``response``; duck-typed so the
    # driver works with any boto3-compatible client and does not import botocore.
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return False
    error = response.get("Error")
    return isinstance(error, dict) and str(error.get("Code")) in _NOT_FOUND_CODES


class S3ExternalStorage:
    """Stores each payload once at ``s3://<bucket>/[<prefix>/]<codec>/<sha[:2]>/<sha>``.

    ``client`` is an application-owned boto3 S3 client (``put_object``, ``get_object``,
    ``delete_object``). Objects carry ``sha256`` and ``codec`` metadata and the content type
    ``application/octet-stream``. URIs naming another bucket, leaving the prefix or holding unsafe key
    segments are refused with ``ValueError``, so a forged reference cannot reach other objects.
    """

    def __init__(self, client: Any, *, bucket: str, prefix: str = "") -> None:
        if client is None:
            raise ValueError("S3ExternalStorage needs a boto3-compatible S3 client, e.g. boto3.client('s3')")
        self.client = client
        self.bucket = LAYOUT.check_container_name(bucket)
        self.prefix = normalize_prefix(prefix)

    def __repr__(self) -> str:
        return f"S3ExternalStorage(bucket={self.bucket!r}, prefix={self.prefix!r})"

    def put(self, data: bytes, *, sha256: str, codec: str) -> str:
        """Upload ``data`` under its digest-derived key and return the ``s3://`` URI."""
        key = payload_object_key(codec=codec, sha256=sha256, prefix=self.prefix)
        self.client.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=bytes(data),
            ContentType=CONTENT_TYPE,
            Metadata={"sha256": sha256, "codec": codec},
        )
        return LAYOUT.object_uri(self.bucket, key)

    def _download(self, uri: str, key: str) -> object:
        response = self.client.get_object(Bucket=self.bucket, Key=key)
        body = response["Body"] if isinstance(response, dict) and "Body" in response else None
        if body is None:
            raise ValueError(f"S3 get_object for {uri} returned no Body; expected a boto3 response")
        try:
            return body.read() if hasattr(body, "read") else body
        finally:
            close = getattr(body, "close", None)
            if callable(close):
                close()

    def get(self, uri: str) -> bytes:
        """The object's bytes; ``FileNotFoundError`` if it does not exist, ``ValueError`` if not bytes."""
        key = LAYOUT.key_from_uri(uri, container=self.bucket, prefix=self.prefix)
        return read_object_bytes(
            uri, lambda: self._download(uri, key), is_not_found=_is_not_found, provider=LAYOUT.provider
        )

    def delete(self, uri: str) -> None:
        """Delete the object (S3 deletes are idempotent: a missing object is not an error)."""
        key = LAYOUT.key_from_uri(uri, container=self.bucket, prefix=self.prefix)
        delete_ignoring_missing(
            lambda: self.client.delete_object(Bucket=self.bucket, Key=key), is_not_found=_is_not_found
        )
