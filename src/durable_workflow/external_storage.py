"""External payload storage (re-exported from :mod:`dw_core.external_storage`).

The S3, GCS and Azure drivers live in the ``dw-storage-*`` plugin distributions
(``pip install 'durable-workflow[s3]'`` and so on); their classes are importable from here once
installed, and importing one that is not installed raises ``ImportError`` naming the extra.
"""

from __future__ import annotations

import importlib
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any, Final

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

if TYPE_CHECKING:
    from dw_storage_azure import AzureBlobExternalStorage as AzureBlobExternalStorage
    from dw_storage_gcs import GCSExternalStorage as GCSExternalStorage
    from dw_storage_s3 import S3ExternalStorage as S3ExternalStorage

# name -> (module that defines it, extra that installs it)
_PLUGIN_CLASSES: Final = {
    "S3ExternalStorage": ("dw_storage_s3", "s3"),
    "GCSExternalStorage": ("dw_storage_gcs", "gcs"),
    "AzureBlobExternalStorage": ("dw_storage_azure", "azure"),
}


def __getattr__(name: str) -> Any:
    """Import a storage-driver class from its plugin distribution on first use."""
    if name not in _PLUGIN_CLASSES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module_name, extra = _PLUGIN_CLASSES[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ImportError(
            f"{name} is provided by the {module_name.replace('_', '-')} distribution, which is not "
            f"installed; install it with: pip install 'durable-workflow[{extra}]'",
            name=module_name,
        ) from exc
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PLUGIN_CLASSES))


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
# Only installed drivers are listed, so ``from durable_workflow.external_storage import *`` keeps
# working without the optional extras.
__all__ += [name for name, (module, _) in _PLUGIN_CLASSES.items() if find_spec(module) is not None]
