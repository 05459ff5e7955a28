"""The ``azure``/``azure-blob`` driver resolved by name through the plugin manager, CLI listing, facade."""

from __future__ import annotations

from typing import Any

import pytest
from dw_core.external_storage import external_storage_driver_from_policy
from dw_storage_azure import AzureBlobExternalStorage
from dw_testing.storage_contract import BundledStoragePluginContract


class TestAzurePluginContract(BundledStoragePluginContract):
    # The duck-typed client (plugin_client is a bare object) has no container_name, so the policy
    # cases need no emulator round trip.
    distribution = "dw-storage-azure"
    plugin_module = "dw_storage_azure.plugin"
    driver_names = ("azure", "azure-blob")
    driver_class = AzureBlobExternalStorage
    client_option = "azure_container_client"
    missing_client_message = r"azure_container_client=BlobServiceClient"
    install_hint = r"pip install 'durable-workflow\[azure\]'"
    extra = "azure"
    location_attribute = "container"
    resolvable_policies = (
        {"driver": "azure", "config": {"container": "dw-payloads"}},
        {"driver": "azure", "config": {"bucket": "dw-payloads"}},
        {"driver": "azure", "config": {"container": "dw-payloads", "bucket": "not-this-one"}},
        {"driver": "azure-blob", "reference": "azure://dw-payloads"},
        {"driver": "azure", "reference": "azure-blob://dw-payloads"},
        {"driver": "azure", "reference": "azure-blob://dw-payloads/ignored"},
        {"driver": "azure", "reference": "https://acct.blob.core.windows.net/dw-payloads"},
        {"driver": "azure", "reference": "dw-payloads"},
    )
    unusable_policies = (
        ({"driver": "azure"}, "set config.container"),
        ({"driver": "azure", "config": {"container": ""}}, "set config.container"),
        ({"driver": "azure", "config": {"container": 5}}, "config.container must be a string"),
        ({"driver": "azure", "reference": "gs://dw-payloads"}, "not an Azure Blob container"),
        ({"driver": "azure", "reference": "azure-blob://"}, "invalid Azure Blob container name"),
        ({"driver": "azure", "config": {"container": "c1", "prefix": "a/../b"}}, "unsafe storage prefix"),
        ({"driver": "azure", "enabled": False, "config": {"container": "c1"}}, "disabled"),
    )


def test_client_of_another_container_is_refused_through_the_policy(blob_service: Any) -> None:
    with pytest.raises(ValueError, match="container client is for container"):
        external_storage_driver_from_policy(
            {"driver": "azure", "config": {"container": "dw-payloads"}},
            azure_container_client=blob_service.get_container_client("other"),
        )
