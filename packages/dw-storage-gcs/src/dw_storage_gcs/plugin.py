"""The ``gcs`` storage-driver plugin (entry point ``dw-storage-gcs`` in the ``durable_workflow`` group)."""

from __future__ import annotations

from typing import Final

from dw_core.external_storage import (
    ExternalPayloadStoragePolicy,
    ObjectStoreDriverPlugin,
    policy_error,
)

from dw_storage_gcs.storage import LAYOUT, GCSExternalStorage

__all__ = [
    "DRIVER_NAME",
    "bucket_from_policy",
    "dw_external_storage_driver",
    "dw_external_storage_driver_names",
]

DRIVER_NAME: Final = "gcs"
_BUCKETS_SEGMENT: Final = "buckets"


def _bucket_from_reference(reference: str) -> str:
    if reference.startswith(LAYOUT.uri_lead):
        return reference[len(LAYOUT.uri_lead) :].split("/", 1)[0]
    segments = reference.split("/")
    # Resource names such as projects/_/buckets/<b> or //storage.googleapis.com/projects/_/buckets/<b>.
    if _BUCKETS_SEGMENT in segments:
        index = segments.index(_BUCKETS_SEGMENT)
        return segments[index + 1] if index + 1 < len(segments) else ""
    if "://" in reference or "/" in reference:
        raise policy_error(
            DRIVER_NAME,
            f"reference {reference!r} is not a GCS bucket (use gs://bucket or projects/_/buckets/bucket)",
        )
    return reference


_PLUGIN = ObjectStoreDriverPlugin(
    layout=LAYOUT,
    container_from_reference=_bucket_from_reference,
    reference_examples="gs://bucket or projects/_/buckets/bucket",
    client_description="GCS client",
    client_example="google.cloud.storage.Client(...)",
    build=lambda client, bucket, prefix: GCSExternalStorage(client, bucket=bucket, prefix=prefix),
)


def bucket_from_policy(policy: ExternalPayloadStoragePolicy) -> str:
    """The bucket named by ``config.bucket``, else by ``reference`` (``gs://b``, ``…/buckets/b`` or ``b``).

    Only the bucket is taken from a reference; the key prefix comes from the policy's ``prefix``.
    """
    return _PLUGIN.container_from_policy(policy)


# The hook implementations pluggy finds on this module (the entry point).
dw_external_storage_driver_names = _PLUGIN.dw_external_storage_driver_names
dw_external_storage_driver = _PLUGIN.dw_external_storage_driver
