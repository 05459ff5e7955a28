"""S3ExternalStorage against a real S3 API (moto's server) with a real boto3 client."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from botocore.exceptions import ClientError
from dw_core.external_storage import (
    ExternalPayloadCache,
    ExternalPayloadIntegrityError,
    ExternalStorageDriver,
    delete_external_payload,
    fetch_external_payload,
    store_external_payload,
)
from dw_storage_s3 import S3ExternalStorage

PAYLOAD = b'"a large encoded payload"' * 200


def test_round_trip_stores_digest_keyed_object_with_metadata(s3_client: Any, bucket: str) -> None:
    driver = S3ExternalStorage(s3_client, bucket=bucket, prefix="/billing/payloads/")
    assert isinstance(driver, ExternalStorageDriver)
    assert driver.prefix == "billing/payloads"

    ref = store_external_payload(driver, PAYLOAD, codec="avro")

    sha = hashlib.sha256(PAYLOAD).hexdigest()
    key = f"billing/payloads/avro/{sha[:2]}/{sha}"
    assert ref.uri == f"s3://{bucket}/{key}"
    assert (ref.sha256, ref.size_bytes, ref.codec) == (sha, len(PAYLOAD), "avro")
    head = s3_client.head_object(Bucket=bucket, Key=key)
    assert head["ContentType"] == "application/octet-stream"
    assert head["Metadata"] == {"sha256": sha, "codec": "avro"}
    assert head["ContentLength"] == len(PAYLOAD)

    assert fetch_external_payload(driver, ref) == PAYLOAD
    assert fetch_external_payload(driver, ref.to_dict()) == PAYLOAD

    # Storing the same bytes again is idempotent: same URI, still one object.
    assert store_external_payload(driver, PAYLOAD, codec="avro").uri == ref.uri
    listed = s3_client.list_objects_v2(Bucket=bucket)["Contents"]
    assert [obj["Key"] for obj in listed] == [key]

    cache = ExternalPayloadCache()
    fetch_external_payload(driver, ref, cache=cache)
    assert ref in cache
    delete_external_payload(driver, ref, cache=cache)
    assert ref not in cache
    with pytest.raises(ClientError):
        s3_client.head_object(Bucket=bucket, Key=key)
    with pytest.raises(FileNotFoundError, match="not found"):
        fetch_external_payload(driver, ref)
    delete_external_payload(driver, ref)  # already gone: not an error


def test_tampered_object_fails_integrity_and_is_not_cached(s3_client: Any, bucket: str) -> None:
    driver = S3ExternalStorage(s3_client, bucket=bucket)
    ref = store_external_payload(driver, PAYLOAD, codec="json")
    key = ref.uri.removeprefix(f"s3://{bucket}/")
    cache = ExternalPayloadCache()

    same_size = bytes([PAYLOAD[0] ^ 1]) + PAYLOAD[1:]
    s3_client.put_object(Bucket=bucket, Key=key, Body=same_size)
    with pytest.raises(ExternalPayloadIntegrityError, match="SHA-256"):
        fetch_external_payload(driver, ref, cache=cache)

    s3_client.put_object(Bucket=bucket, Key=key, Body=PAYLOAD[:-1])
    with pytest.raises(ExternalPayloadIntegrityError, match="bytes but its reference says"):
        fetch_external_payload(driver, ref, cache=cache)
    assert len(cache) == 0

    # Restoring the object makes the same reference usable again.
    s3_client.put_object(Bucket=bucket, Key=key, Body=PAYLOAD)
    assert fetch_external_payload(driver, ref, cache=cache) == PAYLOAD


def test_uris_outside_bucket_or_prefix_are_refused_before_any_request(s3_client: Any, bucket: str) -> None:
    other = f"{bucket}-other"
    s3_client.create_bucket(Bucket=other)
    s3_client.put_object(Bucket=other, Key="tenant/secret", Body=b"not yours")
    s3_client.put_object(Bucket=bucket, Key="elsewhere/secret", Body=b"not yours")
    driver = S3ExternalStorage(s3_client, bucket=bucket, prefix="tenant")

    refused = {
        f"s3://{other}/tenant/secret": "targets bucket",
        f"s3://{bucket}/elsewhere/secret": "outside the configured prefix",
        f"s3://{bucket}/tenant/../elsewhere/secret": "unsafe object key",
        f"s3://{bucket}/tenant//secret": "unsafe object key",
        f"s3://{bucket}/tenant/./x": "unsafe object key",
        f"s3://{bucket}/tenant/a\nb": "unsafe object key",
        f"s3://{bucket}/": "unsafe object key",
        f"gs://{bucket}/tenant/x": r"only reads s3:// URIs",
        f"file:///{bucket}/tenant/x": r"only reads s3:// URIs",
    }
    for uri, message in refused.items():
        with pytest.raises(ValueError, match=message):
            driver.get(uri)
        with pytest.raises(ValueError, match=message):
            driver.delete(uri)
    # Nothing was deleted by the refused calls.
    assert s3_client.get_object(Bucket=other, Key="tenant/secret")["Body"].read() == b"not yours"
    assert s3_client.get_object(Bucket=bucket, Key="elsewhere/secret")["Body"].read() == b"not yours"


@pytest.mark.parametrize("prefix", ["a/../b", "..", "a//b", "./a"])
def test_unsafe_prefix_is_refused(s3_client: Any, prefix: str) -> None:
    with pytest.raises(ValueError, match="unsafe storage prefix"):
        S3ExternalStorage(s3_client, bucket="b1", prefix=prefix)


@pytest.mark.parametrize("bucket", ["", "s3://b1", "b1/path", "has space", "arn:aws:s3:::b1"])
def test_bucket_must_be_a_bare_name(s3_client: Any, bucket: str) -> None:
    with pytest.raises(ValueError, match="bucket name"):
        S3ExternalStorage(s3_client, bucket=bucket)


def test_unsafe_codec_is_refused_without_writing(s3_client: Any, bucket: str) -> None:
    driver = S3ExternalStorage(s3_client, bucket=bucket)
    with pytest.raises(ValueError, match="unsafe codec"):
        store_external_payload(driver, PAYLOAD, codec="../avro")
    assert s3_client.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


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
