"""Payloads stored by this driver and by the published 0.4.84 SDK's S3 driver are interchangeable.

The reference SDK runs in its own venv (it shares our facade's import name), which has no boto3; there
it talks to a small in-memory stand-in for the boto3 client. Our side uses moto's real S3 API, and
the objects each side wrote are carried across, byte for byte with their metadata.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from dw_core.external_storage import ExternalPayloadReference, fetch_external_payload, store_external_payload
from dw_storage_s3 import S3ExternalStorage

REPO = Path(__file__).resolve().parents[3]

_REFERENCE_SCRIPT = """
import base64, io, json, sys
from durable_workflow.external_storage import (
    ExternalPayloadReference, S3ExternalStorage, fetch_external_payload, store_external_payload,
)

class MemoryS3:
    # Stand-in for boto3's S3 client: the reference venv has no boto3.
    def __init__(self, objects):
        self.objects = objects
    def put_object(self, *, Bucket, Key, Body, ContentType=None, Metadata=None):
        self.objects[Key] = {"bucket": Bucket, "body": base64.b64encode(Body).decode(),
                             "content_type": ContentType, "metadata": Metadata}
    def get_object(self, *, Bucket, Key):
        return {"Body": io.BytesIO(base64.b64decode(self.objects[Key]["body"]))}
    def delete_object(self, *, Bucket, Key):
        self.objects.pop(Key, None)

job = json.load(sys.stdin)
client = MemoryS3(dict(job["our_objects"]))
driver = S3ExternalStorage(client, bucket=job["bucket"], prefix=job["prefix"])
read_back = fetch_external_payload(driver, ExternalPayloadReference.from_dict(job["our_reference"]))
client.objects.clear()
reference = store_external_payload(driver, base64.b64decode(job["data"]), codec="avro").to_dict()
print(json.dumps({"read_back": base64.b64encode(read_back).decode(), "reference": reference,
                  "objects": client.objects}))
"""


def _reference_python() -> str:
    result = subprocess.run(
        [sys.executable, "tools/dev.py", "ref-venv"], cwd=REPO, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.reference_sdk
def test_objects_and_references_interoperate_with_the_published_sdk(s3_client: Any, bucket: str) -> None:
    driver = S3ExternalStorage(s3_client, bucket=bucket, prefix="tenant/payloads")
    ours = store_external_payload(driver, b"written by this SDK", codec="avro")
    key = ours.uri.removeprefix(f"s3://{bucket}/")
    stored = s3_client.get_object(Bucket=bucket, Key=key)
    job = {
        "bucket": bucket,
        "prefix": "tenant/payloads",
        "our_reference": ours.to_dict(),
        "our_objects": {key: {"body": base64.b64encode(stored["Body"].read()).decode()}},
        "data": base64.b64encode(b"written by the published SDK").decode(),
    }

    done = subprocess.run(
        [_reference_python(), "-c", _REFERENCE_SCRIPT],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)

    # The published SDK reads what we wrote, through our reference.
    assert base64.b64decode(result["read_back"]) == b"written by this SDK"
    # It writes the same object (key, content type, metadata) we would, and we read it back.
    theirs = ExternalPayloadReference.from_dict(result["reference"])
    [(their_key, their_object)] = result["objects"].items()
    assert store_external_payload(driver, b"written by the published SDK", codec="avro") == theirs
    head = s3_client.head_object(Bucket=bucket, Key=their_key)
    assert (their_object["content_type"], their_object["metadata"]) == (head["ContentType"], head["Metadata"])
    s3_client.delete_object(Bucket=bucket, Key=their_key)
    s3_client.put_object(
        Bucket=bucket,
        Key=their_key,
        Body=base64.b64decode(their_object["body"]),
        ContentType=their_object["content_type"],
        Metadata=their_object["metadata"],
    )
    assert fetch_external_payload(driver, theirs) == b"written by the published SDK"
    assert stored["ContentType"] == their_object["content_type"]
