"""The Azure Blob Storage external-storage driver (application-owned ``ContainerClient``)."""

from __future__ import annotations

import re
from typing import Any, Final

from dw_core.external_storage import (
    ObjectStoreLayout,
    delete_ignoring_missing,
    normalize_prefix,
    payload_object_key,
    read_object_bytes,
)

__all__ = ["CONTENT_TYPE", "LAYOUT", "AzureBlobExternalStorage"]

CONTENT_TYPE: Final = "application/octet-stream"
LAYOUT: Final = ObjectStoreLayout(
    scheme="azure-blob",
    provider="Azure Blob",
    driver="azure",
    container_kind="container",
    name_hint="lowercase letters, digits, '-'",
    # Azure allows 3-63 lowercase letters, digits and dashes; we only refuse what cannot be a bare
    # name (a URI, a path, spaces), so emulators, ``$root`` and future rules are not locked out.
    name_pattern=re.compile(r"[A-Za-z0-9$](?:[A-Za-z0-9._-]{0,253}[A-Za-z0-9])?"),
)


def _is_not_found(exc: BaseException) -> bool:
    # azure.core's ResourceNotFoundError carries status_code 404; duck-typed to avoid importing it.
    return getattr(exc, "status_code", None) == 404


class AzureBlobExternalStorage:
    """Stores each payload once at ``azure-blob://<container>/[<prefix>/]<codec>/<sha[:2]>/<sha>``.

    ``container_client`` is an application-owned ``azure.storage.blob.ContainerClient`` for
    ``container`` (``upload_blob``, ``download_blob``, ``delete_blob``). Blobs carry ``sha256`` and
    ``codec`` metadata and the content type ``application/octet-stream``. URIs naming another
    container, leaving the prefix or holding unsafe name segments are refused with ``ValueError``.
    """

    def __init__(self, container_client: Any, *, container: str, prefix: str = "") -> None:
        if container_client is None:
            raise ValueError(
                "AzureBlobExternalStorage needs an azure-storage-blob ContainerClient, e.g. "
                "BlobServiceClient.from_connection_string(...).get_container_client(container)"
            )
        self.container_client = container_client
        self.container = LAYOUT.check_container_name(container)
        self.prefix = normalize_prefix(prefix)
        client_container = getattr(container_client, "container_name", None)
        # A client for another container would write blobs that the returned URIs do not name.
        if isinstance(client_container, str) and client_container != self.container:
            raise ValueError(
                f"the container client is for container {client_container!r} but container={container!r}; "
                "pass the client of the container the URIs should name"
            )

    def __repr__(self) -> str:
        return f"AzureBlobExternalStorage(container={self.container!r}, prefix={self.prefix!r})"

    def put(self, data: bytes, *, sha256: str, codec: str) -> str:
        """Upload ``data`` under its digest-derived name and return the ``azure-blob://`` URI."""
        from azure.storage.blob import ContentSettings

        key = payload_object_key(codec=codec, sha256=sha256, prefix=self.prefix)
        self.container_client.upload_blob(
            name=key,
            data=bytes(data),
            overwrite=True,
            metadata={"sha256": sha256, "codec": codec},
            content_settings=ContentSettings(content_type=CONTENT_TYPE),
        )
        return LAYOUT.object_uri(self.container, key)

    def get(self, uri: str) -> bytes:
        """The blob's bytes; ``FileNotFoundError`` if it does not exist, ``ValueError`` if not bytes."""
        key = LAYOUT.key_from_uri(uri, container=self.container, prefix=self.prefix)
        return read_object_bytes(
            uri,
            lambda: self.container_client.download_blob(key).readall(),
            is_not_found=_is_not_found,
            provider=LAYOUT.provider,
        )

    def delete(self, uri: str) -> None:
        """Delete the blob; a missing blob is not an error."""
        key = LAYOUT.key_from_uri(uri, container=self.container, prefix=self.prefix)
        delete_ignoring_missing(lambda: self.container_client.delete_blob(key), is_not_found=_is_not_found)
