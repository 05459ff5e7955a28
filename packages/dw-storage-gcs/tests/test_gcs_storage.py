"""GCSExternalStorage against a real GCS JSON API (gcp-storage-emulator) with google-cloud-storage.

The behaviour every driver owes comes from dw-testing's shared contract; GCS-specific checks follow.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Mapping
from typing import Any

import pytest
from dw_storage_gcs import GCSExternalStorage
from dw_testing.storage_contract import ObjectStoreFixture, StoredObject
from dw_testing.storage_reference_interop import ReferenceSdkInteropContract

# The reference SDK's venv has no google-cloud-storage; there its driver talks to this stand-in.
_MEMORY_GCS = """
class MemoryBlob:
    def __init__(self, objects, key):
        self.objects, self.key, self.metadata = objects, key, None
    def upload_from_string(self, data, content_type=None):
        self.objects[self.key] = {"body": base64.b64encode(data).decode(),
                                  "content_type": content_type, "metadata": self.metadata}
    def download_as_bytes(self):
        return base64.b64decode(self.objects[self.key]["body"])
    def delete(self):
        del self.objects[self.key]

class MemoryGCS:
    def __init__(self, objects):
        self.objects = objects
    def bucket(self, name):
        return self
    def blob(self, key):
        return MemoryBlob(self.objects, key)

make_client = MemoryGCS
"""


class EmulatedBucket(ObjectStoreFixture):
    """A bucket in gcp-storage-emulator, read and written with google-cloud-storage directly."""

    client_option = "gcs_client"

    def driver(self, *, prefix: str = "", location: str | None = None) -> GCSExternalStorage:
        return GCSExternalStorage(
            self.client, bucket=self.location if location is None else location, prefix=prefix
        )

    def create_location(self, name: str) -> None:
        self.client.create_bucket(name)

    def write(self, key: str, data: bytes, *, location: str | None = None) -> None:
        self.client.bucket(location or self.location).blob(key).upload_from_string(data)

    def replace(self, key: str, data: bytes, content_type: str | None, metadata: Mapping[str, str]) -> None:
        blob = self.client.bucket(self.location).blob(key)
        blob.metadata = dict(metadata)
        blob.upload_from_string(data, content_type=content_type)

    def read(self, key: str, *, location: str | None = None) -> bytes:
        data: bytes = self.client.bucket(location or self.location).blob(key).download_as_bytes()
        return data

    def stat(self, key: str) -> StoredObject:
        blob = self.client.bucket(self.location).get_blob(key)
        if blob is None:
            raise FileNotFoundError(key)
        return StoredObject(size=blob.size, content_type=blob.content_type, metadata=blob.metadata or {})

    def keys(self) -> list[str]:
        return sorted(blob.name for blob in self.client.list_blobs(self.location))


class TestGCSDriverContract(ReferenceSdkInteropContract):
    scheme = "gs"
    driver_name = "gcs"
    invalid_location_names = ("", "gs://b1", "b1/path", "has space")
    foreign_uris = ("s3://{location}/tenant/x",)
    # The recorded fixtures in shared/ beside the repository; the root conftest sets DW_SHARED_DIR.
    recorded_fixtures = pathlib.Path(os.environ["DW_SHARED_DIR"]) / "fixtures"
    repo_root = pathlib.Path(__file__).resolve().parents[3]
    reference_driver_class = "GCSExternalStorage"
    reference_memory_client = _MEMORY_GCS

    @pytest.fixture
    def store(self, gcs_client: Any, bucket: str) -> ObjectStoreFixture:
        return EmulatedBucket(location=bucket, client=gcs_client)


def test_missing_client_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="google-cloud-storage client"):
        GCSExternalStorage(None, bucket="b1")


class _TextBlobClient:
    """Stand-in for a non-google client whose download yields text (the real client yields bytes)."""

    def bucket(self, name: str) -> _TextBlobClient:
        return self

    def blob(self, key: str) -> _TextBlobClient:
        return self

    def download_as_bytes(self) -> str:
        return "text, not bytes"


def test_non_bytes_download_is_a_value_error() -> None:
    driver = GCSExternalStorage(_TextBlobClient(), bucket="b1")
    with pytest.raises(ValueError, match="returned str, expected bytes"):
        driver.get("gs://b1/avro/ab/" + "ab" * 32)
