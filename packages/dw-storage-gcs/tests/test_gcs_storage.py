"""GCSExternalStorage against a real GCS JSON API (gcp-storage-emulator) with google-cloud-storage.

The behaviour every driver owes comes from dw-testing's shared contract; GCS-specific checks follow.
"""

from __future__ import annotations

import os
import pathlib
from typing import Any

import pytest
from dw_storage_gcs import GCSExternalStorage
from dw_testing.storage_contract import ExternalStorageDriverContract, ObjectStoreFixture, StoredObject


class EmulatedBucket(ObjectStoreFixture):
    """A bucket in gcp-storage-emulator, read and written with google-cloud-storage directly."""

    def driver(self, *, prefix: str = "", location: str | None = None) -> GCSExternalStorage:
        return GCSExternalStorage(
            self.client, bucket=self.location if location is None else location, prefix=prefix
        )

    def policy_options(self) -> dict[str, Any]:
        return {"gcs_client": self.client}

    def driver_settings(self, driver: Any) -> tuple[str, str, Any]:
        assert isinstance(driver, GCSExternalStorage)
        return (driver.bucket, driver.prefix, driver.client)

    def create_location(self, name: str) -> None:
        self.client.create_bucket(name)

    def write(self, key: str, data: bytes, *, location: str | None = None) -> None:
        self.client.bucket(location or self.location).blob(key).upload_from_string(data)

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


class TestGCSDriverContract(ExternalStorageDriverContract):
    scheme = "gs"
    driver_name = "gcs"
    invalid_location_names = ("", "gs://b1", "b1/path", "has space")
    foreign_uris = ("s3://{location}/tenant/x",)
    # The recorded fixtures in shared/ beside the repository; the root conftest sets DW_SHARED_DIR.
    recorded_fixtures = pathlib.Path(os.environ["DW_SHARED_DIR"]) / "fixtures"

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
