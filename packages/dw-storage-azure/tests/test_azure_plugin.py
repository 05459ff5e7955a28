"""The ``azure``/``azure-blob`` driver resolved by name through the plugin manager, CLI listing, facade."""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import subprocess
import sys
from typing import Any

import dw_storage_azure
import pytest
from dw_core.external_storage import (
    ExternalPayloadStoragePolicy,
    external_storage_driver_from_policy,
    fetch_external_payload,
    store_external_payload,
)
from dw_core.plugins import create_plugin_manager, external_storage_driver
from dw_storage_azure import AzureBlobExternalStorage

# The recorded fixtures in shared/ beside the repository; the root conftest sets DW_SHARED_DIR.
FIXTURES = pathlib.Path(os.environ["DW_SHARED_DIR"]) / "fixtures"


@pytest.mark.parametrize("driver_name", ["azure", "azure-blob"])
def test_policy_wrapper_as_the_server_sends_it_builds_a_working_driver(
    container_client: Any, container: str, driver_name: str
) -> None:
    # Same shape as the recorded namespace response (shared fixture), with the azure driver.
    fixture = FIXTURES / "control-plane" / "namespace-set-storage-driver-parity.json"
    recorded = json.loads(fixture.read_text())["response_body"]
    policy = dict(recorded["external_payload_storage"], driver=driver_name)
    policy["config"] = {**policy["config"], "container": container}

    driver = external_storage_driver_from_policy(
        {"external_payload_storage": policy}, azure_container_client=container_client
    )

    assert isinstance(driver, AzureBlobExternalStorage)
    assert (driver.container, driver.prefix, driver.container_client) == (
        container,
        "billing",
        container_client,
    )
    ref = store_external_payload(driver, b"payload", codec="avro")
    sha = hashlib.sha256(b"payload").hexdigest()
    assert ref.uri == f"azure-blob://{container}/billing/avro/{sha[:2]}/{sha}"
    assert fetch_external_payload(driver, ref) == b"payload"


@pytest.mark.parametrize(
    "policy",
    [
        {"driver": "azure", "config": {"container": "dw-payloads"}},
        {"driver": "azure", "config": {"bucket": "dw-payloads"}},
        {"driver": "azure", "config": {"container": "dw-payloads", "bucket": "not-this-one"}},
        {"driver": "azure-blob", "reference": "azure://dw-payloads"},
        {"driver": "azure", "reference": "azure-blob://dw-payloads"},
        {"driver": "azure", "reference": "azure-blob://dw-payloads/ignored"},
        {"driver": "azure", "reference": "https://acct.blob.core.windows.net/dw-payloads"},
        {"driver": "azure", "reference": "dw-payloads"},
    ],
)
def test_container_resolution_forms(policy: dict[str, Any]) -> None:
    # The duck-typed client has no container_name, so no emulator round trip is needed here.
    driver = external_storage_driver_from_policy(policy, azure_container_client=object())
    assert isinstance(driver, AzureBlobExternalStorage)
    assert driver.container == "dw-payloads"
    assert driver.prefix == ""


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ({"driver": "azure"}, "set config.container"),
        ({"driver": "azure", "config": {"container": ""}}, "set config.container"),
        ({"driver": "azure", "config": {"container": 5}}, "config.container must be a string"),
        ({"driver": "azure", "reference": "gs://dw-payloads"}, "not an Azure Blob container"),
        ({"driver": "azure", "reference": "azure-blob://"}, "invalid Azure Blob container name"),
        ({"driver": "azure", "config": {"container": "c1", "prefix": "a/../b"}}, "unsafe storage prefix"),
        ({"driver": "azure", "enabled": False, "config": {"container": "c1"}}, "disabled"),
    ],
)
def test_unusable_policies_are_clear_value_errors(policy: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        external_storage_driver_from_policy(policy, azure_container_client=object())


def test_client_of_another_container_is_refused_through_the_policy(blob_service: Any) -> None:
    with pytest.raises(ValueError, match="container client is for container"):
        external_storage_driver_from_policy(
            {"driver": "azure", "config": {"container": "dw-payloads"}},
            azure_container_client=blob_service.get_container_client("other"),
        )


def test_missing_client_names_the_keyword_to_pass() -> None:
    with pytest.raises(ValueError, match=r"azure_container_client=BlobServiceClient"):
        external_storage_driver_from_policy({"driver": "azure", "config": {"container": "c1"}})


def test_driver_comes_from_the_entry_point() -> None:
    policy = ExternalPayloadStoragePolicy.from_dict({"driver": "azure", "config": {"container": "c1"}})
    with_entry_points = create_plugin_manager(load_entry_points=True)
    assert with_entry_points.get_plugin("dw-storage-azure") is dw_storage_azure.plugin
    driver = external_storage_driver(
        "azure-blob",
        policy=policy,
        options={"azure_container_client": object()},
        plugin_manager=with_entry_points,
    )
    assert isinstance(driver, AzureBlobExternalStorage)

    builtin_only = create_plugin_manager(load_entry_points=False)
    with pytest.raises(ValueError, match=r"pip install 'durable-workflow\[azure\]'"):
        external_storage_driver(
            "azure", policy=policy, options={"azure_container_client": object()}, plugin_manager=builtin_only
        )


def _cli() -> list[str]:
    script = pathlib.Path(sys.executable).parent / "durable-workflow"
    return [str(script)] if script.exists() else [sys.executable, "-m", "dw_core.cli"]


def test_cli_lists_the_plugin_with_distribution_and_version() -> None:
    done = subprocess.run([*_cli(), "plugins", "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    plugins = {p["name"]: p for p in json.loads(done.stdout)["plugins"]}
    entry = plugins["dw-storage-azure"]
    assert entry["distribution"] == "dw-storage-azure"
    assert entry["version"] == dw_storage_azure.__version__
    assert entry["builtin"] is False
    assert entry["provides"]["storage"] == ["azure", "azure-blob"]


def test_facade_reexports_the_class() -> None:
    from durable_workflow import external_storage

    assert external_storage.AzureBlobExternalStorage is AzureBlobExternalStorage
    assert "AzureBlobExternalStorage" in external_storage.__all__


def test_facade_names_the_extra_when_the_package_is_missing() -> None:
    # Simulates an install without the azure extra: a None entry in sys.modules makes the import fail.
    code = (
        "import sys; sys.modules['dw_storage_azure'] = None\n"
        "import durable_workflow.external_storage as es\n"
        "assert 'AzureBlobExternalStorage' not in es.__all__, es.__all__\n"
        "try:\n"
        "    from durable_workflow.external_storage import AzureBlobExternalStorage\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "pip install 'durable-workflow[azure]'" in done.stdout
