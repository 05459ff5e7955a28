"""Payloads stored by this driver and by the published 0.4.84 SDK's GCS driver are interchangeable.

The reference SDK runs in its own venv (it shares our facade's import name), which has no
google-cloud-storage; there it talks to a small in-memory stand-in for the client. Our side uses the
emulator's real GCS API, and the objects each side wrote are carried across with their metadata.
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
from dw_storage_gcs import GCSExternalStorage

REPO = Path(__file__).resolve().parents[3]

_REFERENCE_SCRIPT = """
import base64, json, sys
from durable_workflow.external_storage import (
    ExternalPayloadReference, GCSExternalStorage, fetch_external_payload, store_external_payload,
)

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
    # Stand-in for google.cloud.storage.Client: the reference venv does not have it.
    def __init__(self, objects):
        self.objects = objects
    def bucket(self, name):
        return self
    def blob(self, key):
        return MemoryBlob(self.objects, key)

job = json.load(sys.stdin)
client = MemoryGCS(dict(job["our_objects"]))
driver = GCSExternalStorage(client, bucket=job["bucket"], prefix=job["prefix"])
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
def test_objects_and_references_interoperate_with_the_published_sdk(gcs_client: Any, bucket: str) -> None:
    driver = GCSExternalStorage(gcs_client, bucket=bucket, prefix="tenant/payloads")
    ours = store_external_payload(driver, b"written by this SDK", codec="avro")
    key = ours.uri.removeprefix(f"gs://{bucket}/")
    job = {
        "bucket": bucket,
        "prefix": "tenant/payloads",
        "our_reference": ours.to_dict(),
        "our_objects": {
            key: {"body": base64.b64encode(gcs_client.bucket(bucket).blob(key).download_as_bytes()).decode()}
        },
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

    assert base64.b64decode(result["read_back"]) == b"written by this SDK"
    theirs = ExternalPayloadReference.from_dict(result["reference"])
    [(their_key, their_object)] = result["objects"].items()
    assert store_external_payload(driver, b"written by the published SDK", codec="avro") == theirs
    ours_stored = gcs_client.bucket(bucket).get_blob(their_key)
    assert (their_object["content_type"], their_object["metadata"]) == (
        ours_stored.content_type,
        ours_stored.metadata,
    )
    ours_stored.delete()
    blob = gcs_client.bucket(bucket).blob(their_key)
    blob.metadata = their_object["metadata"]
    blob.upload_from_string(base64.b64decode(their_object["body"]), content_type=their_object["content_type"])
    assert fetch_external_payload(driver, theirs) == b"written by the published SDK"
