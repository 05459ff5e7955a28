"""External payload storage (re-exported from :mod:`dw_core.external_storage`).

The S3, GCS and Azure drivers live in the ``dw-storage-*`` plugin distributions
(``pip install 'durable-workflow[s3]'`` and so on).
"""

from dw_core.external_storage import (
    EXTERNAL_PAYLOAD_REFERENCE_SCHEMA,
    ExternalPayloadCache,
    ExternalPayloadIntegrityError,
    ExternalPayloadReference,
    ExternalPayloadStoragePolicy,
    ExternalStorageDriver,
    LocalFilesystemExternalStorage,
    delete_external_payload,
    external_storage_driver_from_policy,
    fetch_external_payload,
    store_external_payload,
)

__all__ = [
    "EXTERNAL_PAYLOAD_REFERENCE_SCHEMA",
    "ExternalPayloadCache",
    "ExternalPayloadIntegrityError",
    "ExternalPayloadReference",
    "ExternalPayloadStoragePolicy",
    "ExternalStorageDriver",
    "LocalFilesystemExternalStorage",
    "delete_external_payload",
    "external_storage_driver_from_policy",
    "fetch_external_payload",
    "store_external_payload",
]
