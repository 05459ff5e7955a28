"""S3ExternalStorage against a real S3 API (moto's server) with a real boto3 client.

The behaviour every driver owes comes from dw-testing's shared contract; S3-specific checks follow.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Mapping
from typing import Any

import pytest
from botocore.exceptions import ClientError
from dw_storage_s3 import S3ExternalStorage
from dw_testing.storage_contract import ObjectStoreFixture, StoredObject
from dw_testing.storage_reference_interop import ReferenceSdkInteropContract

# The reference SDK's venv has no boto3; there its driver talks to this stand-in.
_MEMORY_S3 = """
class MemoryS3:
    def __init__(self, objects):
        self.objects = objects
    def put_object(self, *, Bucket, Key, Body, ContentType=None, Metadata=None):
        self.objects[Key] = {"body": base64.b64encode(Body).decode(), "content_type": ContentType,
                             "metadata": Metadata}
    def get_object(self, *, Bucket, Key):
        return {"Body": io.BytesIO(base64.b64decode(self.objects[Key]["body"]))}
    def delete_object(self, *, Bucket, Key):
        self.objects.pop(Key, None)

make_client = MemoryS3
"""


class MotoBucket(ObjectStoreFixture):
    """A bucket in moto's S3 server, read and written with boto3 directly."""

    client_option = "s3_client"

    def driver(self, *, prefix: str = "", location: str | None = None) -> S3ExternalStorage:
        return S3ExternalStorage(
            self.client, bucket=self.location if location is None else location, prefix=prefix
        )

    def create_location(self, name: str) -> None:
        self.client.create_bucket(Bucket=name)

    def write(self, key: str, data: bytes, *, location: str | None = None) -> None:
        self.client.put_object(Bucket=location or self.location, Key=key, Body=data)

    def replace(self, key: str, data: bytes, content_type: str | None, metadata: Mapping[str, str]) -> None:
        typed = {"ContentType": content_type} if content_type else {}
        self.client.put_object(Bucket=self.location, Key=key, Body=data, Metadata=dict(metadata), **typed)

    def read(self, key: str, *, location: str | None = None) -> bytes:
        body: bytes = self.client.get_object(Bucket=location or self.location, Key=key)["Body"].read()
        return body

    def stat(self, key: str) -> StoredObject:
        head = self.client.head_object(Bucket=self.location, Key=key)
        return StoredObject(
            size=head["ContentLength"], content_type=head["ContentType"], metadata=head["Metadata"]
        )

    def keys(self) -> list[str]:
        return sorted(
            obj["Key"] for obj in self.client.list_objects_v2(Bucket=self.location).get("Contents", [])
        )


class TestS3DriverContract(ReferenceSdkInteropContract):
    scheme = "s3"
    driver_name = "s3"
    invalid_location_names = ("", "s3://b1", "b1/path", "has space", "arn:aws:s3:::b1")
    foreign_uris = ("gs://{location}/tenant/x", "file:///{location}/tenant/x")
    missing_object_error = ClientError
    # The recorded fixtures in shared/ beside the repository; the root conftest sets DW_SHARED_DIR.
    recorded_fixtures = pathlib.Path(os.environ["DW_SHARED_DIR"]) / "fixtures"
    repo_root = pathlib.Path(__file__).resolve().parents[3]
    reference_driver_class = "S3ExternalStorage"
    reference_memory_client = _MEMORY_S3

    @pytest.fixture
    def store(self, s3_client: Any, bucket: str) -> ObjectStoreFixture:
        return MotoBucket(location=bucket, client=s3_client)


def test_missing_client_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="boto3-compatible S3 client"):
        S3ExternalStorage(None, bucket="b1")


class _TextBodyClient:
    """Stand-in for a non-boto3 client whose download yields text (real boto3 always yields bytes)."""

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        return {"Body": "text, not bytes"}


def test_non_bytes_download_is_a_value_error() -> None:
    driver = S3ExternalStorage(_TextBodyClient(), bucket="b1")
    with pytest.raises(ValueError, match="returned str, expected bytes"):
        driver.get("s3://b1/avro/ab/" + "ab" * 32)
