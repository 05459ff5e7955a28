"""AzureBlobExternalStorage against a real Azure Blob API (Azurite) with azure-storage-blob."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError
from dw_core.external_storage import (
    ExternalPayloadCache,
    ExternalPayloadIntegrityError,
    ExternalStorageDriver,
    delete_external_payload,
    fetch_external_payload,
    store_external_payload,
)
from dw_storage_azure import AzureBlobExternalStorage

PAYLOAD = b'"a large encoded payload"' * 200


def _names(container_client: Any) -> list[str]:
    return sorted(blob.name for blob in container_client.list_blobs())


def test_round_trip_stores_digest_named_blob_with_metadata(container_client: Any, container: str) -> None:
    driver = AzureBlobExternalStorage(container_client, container=container, prefix="/billing/payloads/")
    assert isinstance(driver, ExternalStorageDriver)
    assert (driver.container_client, driver.container, driver.prefix) == (
        container_client,
        container,
        "billing/payloads",
    )

    ref = store_external_payload(driver, PAYLOAD, codec="avro")

    sha = hashlib.sha256(PAYLOAD).hexdigest()
    key = f"billing/payloads/avro/{sha[:2]}/{sha}"
    assert ref.uri == f"azure-blob://{container}/{key}"
    assert (ref.sha256, ref.size_bytes, ref.codec) == (sha, len(PAYLOAD), "avro")
    props = container_client.get_blob_client(key).get_blob_properties()
    assert props.content_settings.content_type == "application/octet-stream"
    assert props.metadata == {"sha256": sha, "codec": "avro"}
    assert props.size == len(PAYLOAD)

    assert fetch_external_payload(driver, ref) == PAYLOAD
    assert fetch_external_payload(driver, ref.to_dict()) == PAYLOAD

    assert store_external_payload(driver, PAYLOAD, codec="avro").uri == ref.uri
    assert _names(container_client) == [key]

    cache = ExternalPayloadCache()
    fetch_external_payload(driver, ref, cache=cache)
    assert ref in cache
    delete_external_payload(driver, ref, cache=cache)
    assert ref not in cache
    with pytest.raises(ResourceNotFoundError):
        container_client.get_blob_client(key).get_blob_properties()
    with pytest.raises(FileNotFoundError, match="not found"):
        fetch_external_payload(driver, ref)
    delete_external_payload(driver, ref)  # already gone: not an error


def test_tampered_blob_fails_integrity_and_is_not_cached(container_client: Any, container: str) -> None:
    driver = AzureBlobExternalStorage(container_client, container=container)
    ref = store_external_payload(driver, PAYLOAD, codec="json")
    key = ref.uri.removeprefix(f"azure-blob://{container}/")
    cache = ExternalPayloadCache()

    container_client.upload_blob(key, bytes([PAYLOAD[0] ^ 1]) + PAYLOAD[1:], overwrite=True)
    with pytest.raises(ExternalPayloadIntegrityError, match="SHA-256"):
        fetch_external_payload(driver, ref, cache=cache)

    container_client.upload_blob(key, PAYLOAD[:-1], overwrite=True)
    with pytest.raises(ExternalPayloadIntegrityError, match="bytes but its reference says"):
        fetch_external_payload(driver, ref, cache=cache)
    assert len(cache) == 0

    container_client.upload_blob(key, PAYLOAD, overwrite=True)
    assert fetch_external_payload(driver, ref, cache=cache) == PAYLOAD


def test_uris_outside_container_or_prefix_are_refused(
    blob_service: Any, container_client: Any, container: str
) -> None:
    other = f"{container}-other"
    blob_service.create_container(other)
    blob_service.get_container_client(other).upload_blob("tenant/secret", b"not yours")
    container_client.upload_blob("elsewhere/secret", b"not yours")
    driver = AzureBlobExternalStorage(container_client, container=container, prefix="tenant")

    refused = {
        f"azure-blob://{other}/tenant/secret": "targets container",
        f"azure-blob://{container}/elsewhere/secret": "outside the configured prefix",
        f"azure-blob://{container}/tenant/../elsewhere/secret": "unsafe object key",
        f"azure-blob://{container}/tenant//secret": "unsafe object key",
        f"azure-blob://{container}/tenant/./x": "unsafe object key",
        f"azure-blob://{container}/tenant/a\x00b": "unsafe object key",
        f"azure-blob://{container}/": "unsafe object key",
        f"azure://{container}/tenant/x": r"only reads azure-blob:// URIs",
        f"s3://{container}/tenant/x": r"only reads azure-blob:// URIs",
    }
    for uri, message in refused.items():
        with pytest.raises(ValueError, match=message):
            driver.get(uri)
        with pytest.raises(ValueError, match=message):
            driver.delete(uri)
    assert blob_service.get_container_client(other).download_blob("tenant/secret").readall() == b"not yours"
    assert container_client.download_blob("elsewhere/secret").readall() == b"not yours"


def test_client_for_another_container_is_refused(blob_service: Any, container: str) -> None:
    with pytest.raises(ValueError, match="container client is for container"):
        AzureBlobExternalStorage(blob_service.get_container_client("elsewhere"), container=container)


@pytest.mark.parametrize("prefix", ["a/../b", "..", "a//b", "./a"])
def test_unsafe_prefix_is_refused(container_client: Any, container: str, prefix: str) -> None:
    with pytest.raises(ValueError, match="unsafe storage prefix"):
        AzureBlobExternalStorage(container_client, container=container, prefix=prefix)


@pytest.mark.parametrize("name", ["", "azure-blob://c1", "c1/path", "has space"])
def test_container_must_be_a_bare_name(name: str) -> None:
    with pytest.raises(ValueError, match="container name"):
        AzureBlobExternalStorage(object(), container=name)


def test_unsafe_codec_is_refused_without_writing(container_client: Any, container: str) -> None:
    driver = AzureBlobExternalStorage(container_client, container=container)
    with pytest.raises(ValueError, match="unsafe codec"):
        store_external_payload(driver, PAYLOAD, codec="..")
    assert _names(container_client) == []


def test_missing_client_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="ContainerClient"):
        AzureBlobExternalStorage(None, container="c1")


class _TextDownloadClient:
    """Stand-in for a client whose download yields text (azure-storage-blob does so with encoding=)."""

    def download_blob(self, name: str) -> _TextDownloadClient:
        return self

    def readall(self) -> str:
        return "text, not bytes"


def test_non_bytes_download_is_a_value_error() -> None:
    driver = AzureBlobExternalStorage(_TextDownloadClient(), container="c1")
    with pytest.raises(ValueError, match="returned str, expected bytes"):
        driver.get("azure-blob://c1/avro/ab/" + "ab" * 32)
