"""AzureBlobExternalStorage against a real Azure Blob API (Azurite) with azure-storage-blob.

The behaviour every driver owes comes from dw-testing's shared contract; Azure-specific checks follow.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Mapping
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import ContentSettings
from dw_storage_azure import AzureBlobExternalStorage
from dw_testing.storage_contract import ObjectStoreFixture, StoredObject
from dw_testing.storage_reference_interop import ReferenceSdkInteropContract

# The reference SDK's venv has no azure-storage-blob; there its driver talks to this stand-in.
_MEMORY_CONTAINER = """
class Download:
    def __init__(self, data):
        self.data = data
    def readall(self):
        return self.data

class MemoryContainer:
    def __init__(self, blobs):
        self.blobs = blobs
    def upload_blob(self, name, data, overwrite=False, metadata=None, content_settings=None):
        content_type = getattr(content_settings, "content_type", None)
        self.blobs[name] = {"body": base64.b64encode(data).decode(), "metadata": metadata,
                            "content_type": content_type}
    def download_blob(self, name):
        return Download(base64.b64decode(self.blobs[name]["body"]))
    def delete_blob(self, name):
        del self.blobs[name]

make_client = MemoryContainer
"""


class AzuriteContainer(ObjectStoreFixture):
    """A container in Azurite, read and written with azure-storage-blob directly."""

    client_option = "azure_container_client"
    location_attribute = "container"
    client_attribute = "container_client"

    def __init__(self, *, location: str, client: Any, service: Any) -> None:
        super().__init__(location=location, client=client)
        self.service = service

    def _container(self, location: str | None) -> Any:
        return self.client if location is None else self.service.get_container_client(location)

    def driver(self, *, prefix: str = "", location: str | None = None) -> AzureBlobExternalStorage:
        container = self.location if location is None else location
        return AzureBlobExternalStorage(self.client, container=container, prefix=prefix)

    def create_location(self, name: str) -> None:
        self.service.create_container(name)

    def write(self, key: str, data: bytes, *, location: str | None = None) -> None:
        self._container(location).upload_blob(key, data, overwrite=True)

    def replace(self, key: str, data: bytes, content_type: str | None, metadata: Mapping[str, str]) -> None:
        settings = ContentSettings(content_type=content_type) if content_type else None
        self.client.upload_blob(key, data, overwrite=True, metadata=dict(metadata), content_settings=settings)

    def read(self, key: str, *, location: str | None = None) -> bytes:
        data: bytes = self._container(location).download_blob(key).readall()
        return data

    def stat(self, key: str) -> StoredObject:
        props = self.client.get_blob_client(key).get_blob_properties()
        return StoredObject(
            size=props.size, content_type=props.content_settings.content_type, metadata=props.metadata
        )

    def keys(self) -> list[str]:
        return sorted(blob.name for blob in self.client.list_blobs())


class TestAzureBlobDriverContract(ReferenceSdkInteropContract):
    scheme = "azure-blob"
    driver_name = "azure"
    driver_aliases = ("azure-blob",)
    location_kind = "container"
    policy_location_key = "container"
    invalid_location_names = ("", "azure-blob://c1", "c1/path", "has space")
    foreign_uris = ("azure://{location}/tenant/x", "s3://{location}/tenant/x")
    missing_object_error = ResourceNotFoundError
    # The recorded fixtures in shared/ beside the repository; the root conftest sets DW_SHARED_DIR.
    recorded_fixtures = pathlib.Path(os.environ["DW_SHARED_DIR"]) / "fixtures"
    repo_root = pathlib.Path(__file__).resolve().parents[3]
    reference_driver_class = "AzureBlobExternalStorage"
    reference_memory_client = _MEMORY_CONTAINER
    # The published SDK leaves the content type unset; this driver labels blobs as binary.
    reference_content_type = None

    @pytest.fixture
    def store(self, blob_service: Any, container_client: Any, container: str) -> ObjectStoreFixture:
        return AzuriteContainer(location=container, client=container_client, service=blob_service)


def test_client_for_another_container_is_refused(blob_service: Any, container: str) -> None:
    with pytest.raises(ValueError, match="container client is for container"):
        AzureBlobExternalStorage(blob_service.get_container_client("elsewhere"), container=container)


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
