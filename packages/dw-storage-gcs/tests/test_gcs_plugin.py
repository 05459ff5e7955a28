"""The ``gcs`` driver resolved by name through the plugin manager, the CLI listing and the facade."""

from __future__ import annotations

from dw_storage_gcs import GCSExternalStorage
from dw_testing.storage_contract import BundledStoragePluginContract


class TestGCSPluginContract(BundledStoragePluginContract):
    distribution = "dw-storage-gcs"
    plugin_module = "dw_storage_gcs.plugin"
    driver_names = ("gcs",)
    driver_class = GCSExternalStorage
    client_option = "gcs_client"
    missing_client_message = r"gcs_client=google.cloud.storage.Client"
    install_hint = r"pip install 'durable-workflow\[gcs\]'"
    extra = "gcs"
    resolvable_policies = (
        {"driver": "gcs", "config": {"bucket": "dw-payloads"}},
        {"driver": "gcs", "reference": "projects/_/buckets/dw-payloads"},
        {"driver": "gcs", "reference": "//storage.googleapis.com/projects/_/buckets/dw-payloads"},
        {"driver": "gcs", "reference": "gs://dw-payloads"},
        {"driver": "gcs", "reference": "gs://dw-payloads/ignored"},
        {"driver": "gcs", "reference": "dw-payloads"},
        {"driver": "gcs", "config": {"bucket": "dw-payloads"}, "reference": "gs://not-this-one"},
    )
    unusable_policies = (
        ({"driver": "gcs"}, "set config.bucket"),
        ({"driver": "gcs", "config": {"bucket": ""}}, "set config.bucket"),
        ({"driver": "gcs", "config": {"bucket": 5}}, "config.bucket must be a string"),
        ({"driver": "gcs", "reference": "s3://dw-payloads"}, "not a GCS bucket"),
        ({"driver": "gcs", "reference": "projects/_/buckets/"}, "invalid GCS bucket name"),
        ({"driver": "gcs", "config": {"bucket": "b1", "prefix": "a/../b"}}, "unsafe storage prefix"),
        ({"driver": "gcs", "enabled": False, "config": {"bucket": "b1"}}, "disabled"),
    )
