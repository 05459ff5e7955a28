"""The ``gcs`` driver resolved by name through the plugin manager, the CLI listing and the facade."""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import subprocess
import sys
from typing import Any

import dw_storage_gcs
import pytest
from dw_core.external_storage import (
    ExternalPayloadStoragePolicy,
    external_storage_driver_from_policy,
    fetch_external_payload,
    store_external_payload,
)
from dw_core.plugins import create_plugin_manager, external_storage_driver, get_plugin_manager
from dw_storage_gcs import GCSExternalStorage

# The recorded fixtures in shared/ beside the repository; the root conftest sets DW_SHARED_DIR.
FIXTURES = pathlib.Path(os.environ["DW_SHARED_DIR"]) / "fixtures"


def test_policy_wrapper_as_the_server_sends_it_builds_a_working_driver(gcs_client: Any, bucket: str) -> None:
    # Same shape as the recorded namespace response (shared fixture), with the gcs driver.
    fixture = FIXTURES / "control-plane" / "namespace-set-storage-driver-parity.json"
    recorded = json.loads(fixture.read_text())["response_body"]
    policy = dict(recorded["external_payload_storage"], driver="gcs")
    policy["config"] = {**policy["config"], "bucket": bucket}

    driver = external_storage_driver_from_policy({"external_payload_storage": policy}, gcs_client=gcs_client)

    assert isinstance(driver, GCSExternalStorage)
    assert (driver.bucket, driver.prefix, driver.client) == (bucket, "billing", gcs_client)
    ref = store_external_payload(driver, b"payload", codec="avro")
    sha = hashlib.sha256(b"payload").hexdigest()
    assert ref.uri == f"gs://{bucket}/billing/avro/{sha[:2]}/{sha}"
    assert fetch_external_payload(driver, ref) == b"payload"


@pytest.mark.parametrize(
    "policy",
    [
        {"driver": "gcs", "config": {"bucket": "dw-payloads"}},
        {"driver": "gcs", "reference": "projects/_/buckets/dw-payloads"},
        {"driver": "gcs", "reference": "//storage.googleapis.com/projects/_/buckets/dw-payloads"},
        {"driver": "gcs", "reference": "gs://dw-payloads"},
        {"driver": "gcs", "reference": "gs://dw-payloads/ignored"},
        {"driver": "gcs", "reference": "dw-payloads"},
        {"driver": "gcs", "config": {"bucket": "dw-payloads"}, "reference": "gs://not-this-one"},
    ],
)
def test_bucket_resolution_forms(gcs_client: Any, policy: dict[str, Any]) -> None:
    driver = external_storage_driver_from_policy(policy, gcs_client=gcs_client)
    assert isinstance(driver, GCSExternalStorage)
    assert driver.bucket == "dw-payloads"
    assert driver.prefix == ""


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ({"driver": "gcs"}, "set config.bucket"),
        ({"driver": "gcs", "config": {"bucket": ""}}, "set config.bucket"),
        ({"driver": "gcs", "config": {"bucket": 5}}, "config.bucket must be a string"),
        ({"driver": "gcs", "reference": "s3://dw-payloads"}, "not a GCS bucket"),
        ({"driver": "gcs", "reference": "projects/_/buckets/"}, "invalid GCS bucket name"),
        ({"driver": "gcs", "config": {"bucket": "b1", "prefix": "a/../b"}}, "unsafe storage prefix"),
        ({"driver": "gcs", "enabled": False, "config": {"bucket": "b1"}}, "disabled"),
    ],
)
def test_unusable_policies_are_clear_value_errors(
    gcs_client: Any, policy: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        external_storage_driver_from_policy(policy, gcs_client=gcs_client)


def test_missing_client_names_the_keyword_to_pass() -> None:
    with pytest.raises(ValueError, match=r"gcs_client=google.cloud.storage.Client"):
        external_storage_driver_from_policy({"driver": "gcs", "config": {"bucket": "b1"}})


def test_driver_comes_from_the_entry_point_not_only_direct_registration(gcs_client: Any) -> None:
    policy = ExternalPayloadStoragePolicy.from_dict({"driver": "gcs", "config": {"bucket": "b1"}})
    with_entry_points = create_plugin_manager(load_entry_points=True)
    assert with_entry_points.get_plugin("dw-storage-gcs") is dw_storage_gcs.plugin
    driver = external_storage_driver(
        "gcs", policy=policy, options={"gcs_client": gcs_client}, plugin_manager=with_entry_points
    )
    assert isinstance(driver, GCSExternalStorage)

    builtin_only = create_plugin_manager(load_entry_points=False)
    with pytest.raises(ValueError, match=r"pip install 'durable-workflow\[gcs\]'"):
        external_storage_driver(
            "gcs", policy=policy, options={"gcs_client": gcs_client}, plugin_manager=builtin_only
        )
    assert get_plugin_manager().get_plugin("dw-storage-gcs") is not None


def _cli() -> list[str]:
    script = pathlib.Path(sys.executable).parent / "durable-workflow"
    return [str(script)] if script.exists() else [sys.executable, "-m", "dw_core.cli"]


def test_cli_lists_the_plugin_with_distribution_and_version() -> None:
    done = subprocess.run([*_cli(), "plugins", "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    plugins = {p["name"]: p for p in json.loads(done.stdout)["plugins"]}
    entry = plugins["dw-storage-gcs"]
    assert entry["distribution"] == "dw-storage-gcs"
    assert entry["version"] == dw_storage_gcs.__version__
    assert entry["builtin"] is False
    assert entry["provides"]["storage"] == ["gcs"]


def test_facade_reexports_the_class() -> None:
    from durable_workflow import external_storage

    assert external_storage.GCSExternalStorage is GCSExternalStorage
    assert "GCSExternalStorage" in external_storage.__all__


def test_facade_names_the_extra_when_the_package_is_missing() -> None:
    # Simulates an install without the gcs extra: a None entry in sys.modules makes the import fail.
    code = (
        "import sys; sys.modules['dw_storage_gcs'] = None\n"
        "try:\n"
        "    from durable_workflow.external_storage import GCSExternalStorage\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "pip install 'durable-workflow[gcs]'" in done.stdout
