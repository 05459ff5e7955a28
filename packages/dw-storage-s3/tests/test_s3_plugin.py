"""The ``s3`` driver resolved by name through the plugin manager, the CLI listing and the facade."""

from __future__ import annotations

from dw_storage_s3 import S3ExternalStorage
from dw_testing.storage_contract import BundledStoragePluginContract


class TestS3PluginContract(BundledStoragePluginContract):
    distribution = "dw-storage-s3"
    plugin_module = "dw_storage_s3.plugin"
    driver_names = ("s3",)
    driver_class = S3ExternalStorage
    client_option = "s3_client"
    missing_client_message = r"s3_client=boto3.client"
    install_hint = r"pip install 'durable-workflow\[s3\]'"
    extra = "s3"
    resolvable_policies = (
        {"driver": "s3", "config": {"bucket": "dw-payloads"}},
        {"driver": "s3", "reference": "arn:aws:s3:::dw-payloads"},
        {"driver": "s3", "reference": "arn:aws:s3:::dw-payloads/ignored/path"},
        {"driver": "s3", "reference": "s3://dw-payloads"},
        {"driver": "s3", "reference": "s3://dw-payloads/ignored"},
        {"driver": "s3", "reference": "dw-payloads"},
        {"driver": "s3", "config": {"bucket": "dw-payloads"}, "reference": "s3://not-this-one"},
    )
    unusable_policies = (
        ({"driver": "s3"}, "set config.bucket"),
        ({"driver": "s3", "config": {"bucket": ""}}, "set config.bucket"),
        ({"driver": "s3", "config": {"bucket": 5}}, "config.bucket must be a string"),
        ({"driver": "s3", "reference": "gs://dw-payloads"}, "not an S3 bucket"),
        ({"driver": "s3", "reference": "dw-payloads/sub"}, "invalid S3 bucket name"),
        ({"driver": "s3", "config": {"bucket": "b1", "prefix": "a/../b"}}, "unsafe storage prefix"),
        ({"driver": "s3", "enabled": False, "config": {"bucket": "b1"}}, "disabled"),
    )
