"""Azure Blob Storage external-payload storage driver for Durable Workflow.

``AzureBlobExternalStorage(container_client, container="payloads", prefix="billing")`` is a driver
for :func:`dw_core.external_storage.store_external_payload` / ``fetch_external_payload``; installed,
this distribution also registers the ``azure`` and ``azure-blob`` driver names with the plugin
manager, so a namespace policy with ``"driver": "azure"`` resolves through
``external_storage_driver_from_policy(policy, azure_container_client=...)``.
"""

from importlib.metadata import PackageNotFoundError, version

from dw_storage_azure.plugin import DRIVER_NAMES
from dw_storage_azure.storage import CONTENT_TYPE, AzureBlobExternalStorage

try:
    __version__ = version("dw-storage-azure")
except PackageNotFoundError:  # running from a source tree without metadata
    __version__ = "0.0.0+unknown"

__all__ = ["CONTENT_TYPE", "DRIVER_NAMES", "AzureBlobExternalStorage", "__version__"]
