"""The ``s3`` storage-driver plugin (entry point ``dw-storage-s3`` in the ``durable_workflow`` group)."""

from __future__ import annotations

from typing import Final

from dw_core.external_storage import (
    ExternalPayloadStoragePolicy,
    ObjectStoreDriverPlugin,
    policy_error,
)

from dw_storage_s3.storage import LAYOUT, S3ExternalStorage

__all__ = [
    "DRIVER_NAME",
    "bucket_from_policy",
    "dw_external_storage_driver",
    "dw_external_storage_driver_names",
]

DRIVER_NAME: Final = "s3"
_ARN_PREFIX: Final = "arn:aws:s3:::"


def _bucket_from_reference(reference: str) -> str:
    if reference.startswith(_ARN_PREFIX):
        return reference[len(_ARN_PREFIX) :].split("/", 1)[0]
    if reference.startswith(LAYOUT.uri_lead):
        return reference[len(LAYOUT.uri_lead) :].split("/", 1)[0]
    if "://" in reference or reference.startswith("arn:"):
        raise policy_error(
            DRIVER_NAME,
            f"reference {reference!r} is not an S3 bucket (use arn:aws:s3:::bucket or s3://bucket)",
        )
    return reference


_PLUGIN = ObjectStoreDriverPlugin(
    layout=LAYOUT,
    container_from_reference=_bucket_from_reference,
    reference_examples="arn:aws:s3:::bucket or s3://bucket",
    client_description="S3 client",
    client_example="boto3.client('s3', ...)",
    build=lambda client, bucket, prefix: S3ExternalStorage(client, bucket=bucket, prefix=prefix),
)


def bucket_from_policy(policy: ExternalPayloadStoragePolicy) -> str:
    """The bucket named by ``config.bucket``, else by ``reference`` (``arn:aws:s3:::b``, ``s3://b`` or ``b``).

    Only the bucket is taken from a reference; the key prefix comes from the policy's ``prefix``.
    """
    return _PLUGIN.container_from_policy(policy)


# The hook implementations pluggy finds on this module (the entry point).
dw_external_storage_driver_names = _PLUGIN.dw_external_storage_driver_names
dw_external_storage_driver = _PLUGIN.dw_external_storage_driver
