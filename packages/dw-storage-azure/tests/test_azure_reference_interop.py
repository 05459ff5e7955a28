"""Payloads stored by this driver and by the published 0.4.84 SDK's Azure driver are interchangeable.

The reference SDK runs in its own venv (it shares our facade's import name), which has no
azure-storage-blob; there it talks to a small in-memory stand-in for the ContainerClient. Our side
uses Azurite's real Blob API, and the blobs each side wrote are carried across with their metadata.
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
from dw_storage_azure import AzureBlobExternalStorage

REPO = Path(__file__).resolve().parents[3]

_REFERENCE_SCRIPT = """
import base64, json, sys
from durable_workflow.external_storage import (
    AzureBlobExternalStorage, ExternalPayloadReference, fetch_external_payload, store_external_payload,
)

class Download:
    def __init__(self, data):
        self.data = data
    def readall(self):
        return self.data

class MemoryContainer:
    # Stand-in for azure.storage.blob.ContainerClient: the reference venv does not have it.
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

job = json.load(sys.stdin)
client = MemoryContainer(dict(job["our_blobs"]))
driver = AzureBlobExternalStorage(client, container=job["container"], prefix=job["prefix"])
read_back = fetch_external_payload(driver, ExternalPayloadReference.from_dict(job["our_reference"]))
client.blobs.clear()
reference = store_external_payload(driver, base64.b64decode(job["data"]), codec="avro").to_dict()
print(json.dumps({"read_back": base64.b64encode(read_back).decode(), "reference": reference,
                  "blobs": client.blobs}))
"""


def _reference_python() -> str:
    result = subprocess.run(
        [sys.executable, "tools/dev.py", "ref-venv"], cwd=REPO, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.reference_sdk
def test_blobs_and_references_interoperate_with_the_published_sdk(
    container_client: Any, container: str
) -> None:
    driver = AzureBlobExternalStorage(container_client, container=container, prefix="tenant/payloads")
    ours = store_external_payload(driver, b"written by this SDK", codec="avro")
    key = ours.uri.removeprefix(f"azure-blob://{container}/")
    job = {
        "container": container,
        "prefix": "tenant/payloads",
        "our_reference": ours.to_dict(),
        "our_blobs": {
            key: {"body": base64.b64encode(container_client.download_blob(key).readall()).decode()}
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
    [(their_key, their_blob)] = result["blobs"].items()
    assert store_external_payload(driver, b"written by the published SDK", codec="avro") == theirs
    props = container_client.get_blob_client(their_key).get_blob_properties()
    assert their_blob["metadata"] == props.metadata
    # The published SDK leaves the content type unset; this driver labels blobs as binary.
    assert their_blob["content_type"] is None
    assert props.content_settings.content_type == "application/octet-stream"
    container_client.upload_blob(
        their_key, base64.b64decode(their_blob["body"]), overwrite=True, metadata=their_blob["metadata"]
    )
    assert fetch_external_payload(driver, theirs) == b"written by the published SDK"
