"""The ``s3`` driver resolved by name through the plugin manager, the CLI listing and the facade."""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import subprocess
import sys
from typing import Any

import dw_storage_s3
import pytest
from dw_core.external_storage import (
    ExternalPayloadStoragePolicy,
    external_storage_driver_from_policy,
    fetch_external_payload,
    store_external_payload,
)
from dw_core.plugins import create_plugin_manager, external_storage_driver, get_plugin_manager
from dw_storage_s3 import S3ExternalStorage

# The recorded fixtures in shared/ beside the repository; the root conftest sets DW_SHARED_DIR.
FIXTURES = pathlib.Path(os.environ["DW_SHARED_DIR"]) / "fixtures"


def test_policy_from_recorded_namespace_response_builds_a_working_driver(s3_client: Any, bucket: str) -> None:
    fixture = FIXTURES / "control-plane" / "namespace-set-storage-driver-parity.json"
    recorded = json.loads(fixture.read_text())
    body = recorded["response_body"]
    assert body["external_payload_storage"]["config"]["bucket"] == "dw-payloads"
    # The recorded policy names the bucket dw-payloads; point it at this test's bucket.
    policy = dict(
        body["external_payload_storage"],
        config={**body["external_payload_storage"]["config"], "bucket": bucket},
    )

    driver = external_storage_driver_from_policy({"external_payload_storage": policy}, s3_client=s3_client)

    assert isinstance(driver, S3ExternalStorage)
    assert (driver.bucket, driver.prefix, driver.client) == (bucket, "billing", s3_client)
    ref = store_external_payload(driver, b"payload", codec="avro")
    sha = hashlib.sha256(b"payload").hexdigest()
    assert ref.uri == f"s3://{bucket}/billing/avro/{sha[:2]}/{sha}"
    assert fetch_external_payload(driver, ref) == b"payload"


@pytest.mark.parametrize(
    "policy",
    [
        {"driver": "s3", "config": {"bucket": "dw-payloads"}},
        {"driver": "s3", "reference": "arn:aws:s3:::dw-payloads"},
        {"driver": "s3", "reference": "arn:aws:s3:::dw-payloads/ignored/path"},
        {"driver": "s3", "reference": "s3://dw-payloads"},
        {"driver": "s3", "reference": "s3://dw-payloads/ignored"},
        {"driver": "s3", "reference": "dw-payloads"},
        {"driver": "s3", "config": {"bucket": "dw-payloads"}, "reference": "s3://not-this-one"},
    ],
)
def test_bucket_resolution_forms(s3_client: Any, policy: dict[str, Any]) -> None:
    driver = external_storage_driver_from_policy(policy, s3_client=s3_client)
    assert isinstance(driver, S3ExternalStorage)
    assert driver.bucket == "dw-payloads"
    assert driver.prefix == ""


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ({"driver": "s3"}, "set config.bucket"),
        ({"driver": "s3", "config": {"bucket": ""}}, "set config.bucket"),
        ({"driver": "s3", "config": {"bucket": 5}}, "config.bucket must be a string"),
        ({"driver": "s3", "reference": "gs://dw-payloads"}, "not an S3 bucket"),
        ({"driver": "s3", "reference": "dw-payloads/sub"}, "invalid S3 bucket name"),
        ({"driver": "s3", "config": {"bucket": "b1", "prefix": "a/../b"}}, "unsafe storage prefix"),
        ({"driver": "s3", "enabled": False, "config": {"bucket": "b1"}}, "disabled"),
    ],
)
def test_unusable_policies_are_clear_value_errors(
    s3_client: Any, policy: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        external_storage_driver_from_policy(policy, s3_client=s3_client)


def test_missing_client_names_the_keyword_to_pass() -> None:
    with pytest.raises(ValueError, match=r"s3_client=boto3.client"):
        external_storage_driver_from_policy({"driver": "s3", "config": {"bucket": "b1"}})


def test_driver_comes_from_the_entry_point_not_only_direct_registration(s3_client: Any) -> None:
    policy = ExternalPayloadStoragePolicy.from_dict({"driver": "s3", "config": {"bucket": "b1"}})
    with_entry_points = create_plugin_manager(load_entry_points=True)
    assert with_entry_points.get_plugin("dw-storage-s3") is dw_storage_s3.plugin
    driver = external_storage_driver(
        "s3", policy=policy, options={"s3_client": s3_client}, plugin_manager=with_entry_points
    )
    assert isinstance(driver, S3ExternalStorage)

    builtin_only = create_plugin_manager(load_entry_points=False)
    with pytest.raises(ValueError, match=r"pip install 'durable-workflow\[s3\]'"):
        external_storage_driver(
            "s3", policy=policy, options={"s3_client": s3_client}, plugin_manager=builtin_only
        )
    assert get_plugin_manager().get_plugin("dw-storage-s3") is not None


def _cli() -> list[str]:
    script = pathlib.Path(sys.executable).parent / "durable-workflow"
    return [str(script)] if script.exists() else [sys.executable, "-m", "dw_core.cli"]


def test_cli_lists_the_plugin_with_distribution_and_version() -> None:
    done = subprocess.run([*_cli(), "plugins", "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    plugins = {p["name"]: p for p in json.loads(done.stdout)["plugins"]}
    entry = plugins["dw-storage-s3"]
    assert entry["distribution"] == "dw-storage-s3"
    assert entry["version"] == dw_storage_s3.__version__
    assert entry["builtin"] is False
    assert entry["provides"]["storage"] == ["s3"]


def test_facade_reexports_the_class() -> None:
    from durable_workflow import external_storage

    assert external_storage.S3ExternalStorage is S3ExternalStorage
    assert "S3ExternalStorage" in external_storage.__all__


def test_facade_names_the_extra_when_the_package_is_missing() -> None:
    # Simulates an install without the s3 extra: a None entry in sys.modules makes the import fail.
    code = (
        "import sys; sys.modules['dw_storage_s3'] = None\n"
        "try:\n"
        "    from durable_workflow.external_storage import S3ExternalStorage\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "pip install 'durable-workflow[s3]'" in done.stdout
