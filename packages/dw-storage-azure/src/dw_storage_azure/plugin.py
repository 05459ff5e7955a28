"""The ``azure`` / ``azure-blob`` storage-driver plugin (entry point ``dw-storage-azure``)."""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

from dw_core.external_storage import (
    ExternalPayloadStoragePolicy,
    ObjectStoreDriverPlugin,
    policy_error,
)

from dw_storage_azure.storage import LAYOUT, AzureBlobExternalStorage

__all__ = [
    "DRIVER_NAMES",
    "container_from_policy",
    "dw_external_storage_driver",
    "dw_external_storage_driver_names",
]

DRIVER_NAMES: Final = ("azure", "azure-blob")
_REFERENCE_SCHEMES: Final = ("azure://", "azure-blob://")


def _container_from_reference(reference: str) -> str:
    for scheme in _REFERENCE_SCHEMES:
        if reference.startswith(scheme):
            return reference[len(scheme) :].split("/", 1)[0]
    if reference.startswith(("https://", "http://")):
        # A container URL: https://<account>.blob.core.windows.net/<container>[/...]
        return urlsplit(reference).path.lstrip("/").split("/", 1)[0]
    if "://" in reference or "/" in reference:
        raise policy_error(
            LAYOUT.driver,
            f"reference {reference!r} is not an Azure Blob container (use azure-blob://container, "
            "azure://container or the container URL)",
        )
    return reference


_PLUGIN = ObjectStoreDriverPlugin(
    driver_names=DRIVER_NAMES,
    layout=LAYOUT,
    # The server's policy config has no "container" key; there the container travels as "bucket".
    container_config_keys=("container", "bucket"),
    container_from_reference=_container_from_reference,
    reference_examples="azure-blob://container",
    client_option="azure_container_client",
    client_description="container client",
    client_example="BlobServiceClient.from_connection_string(...).get_container_client(...)",
    build=lambda client, name, prefix: AzureBlobExternalStorage(client, container=name, prefix=prefix),
)


def container_from_policy(policy: ExternalPayloadStoragePolicy) -> str:
    """The container from ``config.container``, ``config.bucket``, else ``reference``.

    A reference may be ``azure-blob://c``, ``azure://c``, ``https://<account>.blob.core.windows.net/c``
    or ``c``; only the container is taken from it, the name prefix comes from the policy's ``prefix``.
    """
    return _PLUGIN.container_from_policy(policy)


# The hook implementations pluggy finds on this module (the entry point).
dw_external_storage_driver_names = _PLUGIN.dw_external_storage_driver_names
dw_external_storage_driver = _PLUGIN.dw_external_storage_driver
