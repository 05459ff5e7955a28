"""GCSExternalStorage against a real GCS JSON API (gcp-storage-emulator) with google-cloud-storage."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from dw_core.external_storage import (
    ExternalPayloadCache,
    ExternalPayloadIntegrityError,
    ExternalStorageDriver,
    delete_external_payload,
    fetch_external_payload,
    store_external_payload,
)
from dw_storage_gcs import GCSExternalStorage

PAYLOAD = b'"a large encoded payload"' * 200


def _keys(client: Any, bucket: str) -> list[str]:
    return sorted(blob.name for blob in client.list_blobs(bucket))


def test_round_trip_stores_digest_keyed_object_with_metadata(gcs_client: Any, bucket: str) -> None:
    driver = GCSExternalStorage(gcs_client, bucket=bucket, prefix="/billing/payloads/")
    assert isinstance(driver, ExternalStorageDriver)
    assert driver.prefix == "billing/payloads"

    ref = store_external_payload(driver, PAYLOAD, codec="avro")

    sha = hashlib.sha256(PAYLOAD).hexdigest()
    key = f"billing/payloads/avro/{sha[:2]}/{sha}"
    assert ref.uri == f"gs://{bucket}/{key}"
    assert (ref.sha256, ref.size_bytes, ref.codec) == (sha, len(PAYLOAD), "avro")
    stored = gcs_client.bucket(bucket).get_blob(key)
    assert stored.content_type == "application/octet-stream"
    assert stored.metadata == {"sha256": sha, "codec": "avro"}
    assert stored.size == len(PAYLOAD)

    assert fetch_external_payload(driver, ref) == PAYLOAD
    assert fetch_external_payload(driver, ref.to_dict()) == PAYLOAD

    assert store_external_payload(driver, PAYLOAD, codec="avro").uri == ref.uri
    assert _keys(gcs_client, bucket) == [key]

    cache = ExternalPayloadCache()
    fetch_external_payload(driver, ref, cache=cache)
    assert ref in cache
    delete_external_payload(driver, ref, cache=cache)
    assert ref not in cache
    assert _keys(gcs_client, bucket) == []
    with pytest.raises(FileNotFoundError, match="not found"):
        fetch_external_payload(driver, ref)
    delete_external_payload(driver, ref)  # already gone: not an error


def test_tampered_object_fails_integrity_and_is_not_cached(gcs_client: Any, bucket: str) -> None:
    driver = GCSExternalStorage(gcs_client, bucket=bucket)
    ref = store_external_payload(driver, PAYLOAD, codec="json")
    blob = gcs_client.bucket(bucket).blob(ref.uri.removeprefix(f"gs://{bucket}/"))
    cache = ExternalPayloadCache()

    blob.upload_from_string(bytes([PAYLOAD[0] ^ 1]) + PAYLOAD[1:])
    with pytest.raises(ExternalPayloadIntegrityError, match="SHA-256"):
        fetch_external_payload(driver, ref, cache=cache)

    blob.upload_from_string(PAYLOAD[:-1])
    with pytest.raises(ExternalPayloadIntegrityError, match="bytes but its reference says"):
        fetch_external_payload(driver, ref, cache=cache)
    assert len(cache) == 0

    blob.upload_from_string(PAYLOAD)
    assert fetch_external_payload(driver, ref, cache=cache) == PAYLOAD


def test_uris_outside_bucket_or_prefix_are_refused_before_any_request(gcs_client: Any, bucket: str) -> None:
    other = f"{bucket}-other"
    gcs_client.create_bucket(other)
    gcs_client.bucket(other).blob("tenant/secret").upload_from_string(b"not yours")
    gcs_client.bucket(bucket).blob("elsewhere/secret").upload_from_string(b"not yours")
    driver = GCSExternalStorage(gcs_client, bucket=bucket, prefix="tenant")

    refused = {
        f"gs://{other}/tenant/secret": "targets bucket",
        f"gs://{bucket}/elsewhere/secret": "outside the configured prefix",
        f"gs://{bucket}/tenant/../elsewhere/secret": "unsafe object key",
        f"gs://{bucket}/tenant//secret": "unsafe object key",
        f"gs://{bucket}/tenant/./x": "unsafe object key",
        f"gs://{bucket}/tenant/a\rb": "unsafe object key",
        f"gs://{bucket}/": "unsafe object key",
        f"s3://{bucket}/tenant/x": r"only reads gs:// URIs",
    }
    for uri, message in refused.items():
        with pytest.raises(ValueError, match=message):
            driver.get(uri)
        with pytest.raises(ValueError, match=message):
            driver.delete(uri)
    assert gcs_client.bucket(other).blob("tenant/secret").download_as_bytes() == b"not yours"
    assert gcs_client.bucket(bucket).blob("elsewhere/secret").download_as_bytes() == b"not yours"


@pytest.mark.parametrize("prefix", ["a/../b", "..", "a//b", "./a"])
def test_unsafe_prefix_is_refused(gcs_client: Any, prefix: str) -> None:
    with pytest.raises(ValueError, match="unsafe storage prefix"):
        GCSExternalStorage(gcs_client, bucket="b1", prefix=prefix)


@pytest.mark.parametrize("bucket", ["", "gs://b1", "b1/path", "has space"])
def test_bucket_must_be_a_bare_name(gcs_client: Any, bucket: str) -> None:
    with pytest.raises(ValueError, match="bucket name"):
        GCSExternalStorage(gcs_client, bucket=bucket)


def test_unsafe_codec_is_refused_without_writing(gcs_client: Any, bucket: str) -> None:
    driver = GCSExternalStorage(gcs_client, bucket=bucket)
    with pytest.raises(ValueError, match="unsafe codec"):
        store_external_payload(driver, PAYLOAD, codec="a/b")
    assert _keys(gcs_client, bucket) == []


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
