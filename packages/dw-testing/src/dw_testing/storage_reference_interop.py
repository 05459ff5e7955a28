"""Interchange of a bundled storage driver with the published 0.4.84 SDK's driver.

Only for drivers shipped with this repository as ``durable-workflow`` extras: it needs the reference
SDK's own venv (``tools/dev.py ref-venv``) and the ``reference_sdk`` pytest marker the repository
registers. Kept apart from :mod:`dw_testing.storage_contract` so third-party drivers importing that
suite need neither.
"""

from __future__ import annotations

import base64
import json
import pathlib
import subprocess
import sys
from typing import ClassVar

import pytest
from dw_core.external_storage import ExternalPayloadReference, fetch_external_payload, store_external_payload

from dw_testing.storage_contract import ExternalStorageDriverContract, ObjectStoreFixture

__all__ = ["ReferenceSdkInteropContract"]

_REFERENCE_SCRIPT = """
import base64, io, json, sys
from durable_workflow.external_storage import (
    ExternalPayloadReference, fetch_external_payload, store_external_payload, {driver_class},
)

{memory_client}

job = json.load(sys.stdin)
objects = dict(job["our_objects"])
driver = {driver_class}(make_client(objects), {location_keyword}=job["location"], prefix=job["prefix"])
read_back = fetch_external_payload(driver, ExternalPayloadReference.from_dict(job["our_reference"]))
objects.clear()
reference = store_external_payload(driver, base64.b64decode(job["data"]), codec="avro").to_dict()
print(json.dumps({{"read_back": base64.b64encode(read_back).decode(), "reference": reference,
                  "objects": objects}}))
"""


class ReferenceSdkInteropContract(ExternalStorageDriverContract):
    """:class:`ExternalStorageDriverContract` plus interchange with the published 0.4.84 SDK's driver.

    For drivers bundled with this repository. The reference SDK runs in its own venv (made by
    ``tools/dev.py ref-venv`` under ``repo_root``), which has no provider SDK: there the driver talks to
    an in-memory stand-in, ``reference_memory_client``: Python source defining ``make_client(objects)``
    whose client keeps each object as ``objects[key] = {"body": <base64>, "content_type": ...,
    "metadata": ...}``. ``reference_driver_class`` names the reference driver, ``policy_location_key``
    is its bucket/container keyword and ``reference_content_type`` the content type it sets.
    """

    repo_root: ClassVar[pathlib.Path]
    reference_driver_class: ClassVar[str]
    reference_memory_client: ClassVar[str]
    reference_content_type: ClassVar[str | None] = "application/octet-stream"

    @pytest.fixture
    def reference_python(self) -> str:
        """The reference venv's python, creating the venv when missing."""
        result = subprocess.run(
            [sys.executable, "tools/dev.py", "ref-venv"],
            cwd=self.repo_root,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip().splitlines()[-1]

    @pytest.mark.reference_sdk
    def test_objects_and_references_interoperate_with_the_published_sdk(
        self, store: ObjectStoreFixture, reference_python: str
    ) -> None:
        driver = store.driver(prefix="tenant/payloads")
        ours = store_external_payload(driver, b"written by this SDK", codec="avro")
        key = ours.uri.removeprefix(self._uri(store.location, ""))
        job = {
            "location": store.location,
            "prefix": "tenant/payloads",
            "our_reference": ours.to_dict(),
            "our_objects": {key: {"body": base64.b64encode(store.read(key)).decode()}},
            "data": base64.b64encode(b"written by the published SDK").decode(),
        }
        script = _REFERENCE_SCRIPT.format(
            driver_class=self.reference_driver_class,
            memory_client=self.reference_memory_client,
            location_keyword=self.policy_location_key,
        )

        done = subprocess.run(
            [reference_python, "-c", script],
            input=json.dumps(job),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)

        # The published SDK reads what we wrote, through our reference.
        assert base64.b64decode(result["read_back"]) == b"written by this SDK"
        # It writes the same object (key, metadata) we would, and we read it back.
        theirs = ExternalPayloadReference.from_dict(result["reference"])
        [(their_key, their_object)] = result["objects"].items()
        assert store_external_payload(driver, b"written by the published SDK", codec="avro") == theirs
        stored = store.stat(their_key)
        assert their_object["metadata"] == dict(stored.metadata)
        assert their_object["content_type"] == self.reference_content_type
        assert stored.content_type == "application/octet-stream"
        body = base64.b64decode(their_object["body"])
        store.replace(their_key, body, their_object["content_type"], their_object["metadata"])
        assert fetch_external_payload(driver, theirs) == b"written by the published SDK"
