"""External payload storage: references, drivers, the verified-bytes cache and integrity checks.

Large payloads can be stored outside the server and replaced on the wire by an
:class:`ExternalPayloadReference`. Every fetch checks size and SHA-256 before the bytes are used.
Drivers are resolved by name through the plugin manager: ``local`` is built in, object stores come
from plugin distributions (``pip install 'durable-workflow[s3]'`` and so on).
"""

from dw_core.external_storage.cache import (
    DEFAULT_CACHE_MAX_BYTES,
    DEFAULT_CACHE_MAX_ENTRIES,
    ExternalPayloadCache,
)
from dw_core.external_storage.driver import ExternalStorageDriver, normalize_prefix, payload_object_key
from dw_core.external_storage.integrity import (
    ExternalPayloadIntegrityError,
    delete_external_payload,
    fetch_external_payload,
    store_external_payload,
)
from dw_core.external_storage.local import LocalFilesystemExternalStorage
from dw_core.external_storage.object_store import (
    ObjectStoreDriverPlugin,
    ObjectStoreLayout,
    delete_ignoring_missing,
    downloaded_bytes,
    policy_error,
    read_object_bytes,
)
from dw_core.external_storage.policy import (
    ExternalPayloadStoragePolicy,
    external_storage_driver_from_policy,
)
from dw_core.external_storage.reference import (
    EXTERNAL_PAYLOAD_REFERENCE_SCHEMA,
    ExternalPayloadReference,
    parse_rfc3339,
)

__all__ = [
    "DEFAULT_CACHE_MAX_BYTES",
    "DEFAULT_CACHE_MAX_ENTRIES",
    "EXTERNAL_PAYLOAD_REFERENCE_SCHEMA",
    "ExternalPayloadCache",
    "ExternalPayloadIntegrityError",
    "ExternalPayloadReference",
    "ExternalPayloadStoragePolicy",
    "ExternalStorageDriver",
    "LocalFilesystemExternalStorage",
    "ObjectStoreDriverPlugin",
    "ObjectStoreLayout",
    "delete_external_payload",
    "delete_ignoring_missing",
    "downloaded_bytes",
    "external_storage_driver_from_policy",
    "fetch_external_payload",
    "normalize_prefix",
    "parse_rfc3339",
    "payload_object_key",
    "policy_error",
    "read_object_bytes",
    "store_external_payload",
]
