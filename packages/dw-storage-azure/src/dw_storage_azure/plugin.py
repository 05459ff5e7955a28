"""The ``azure`` / ``azure-blob`` storage-driver plugin (entry point ``dw-storage-azure``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final
from urllib.parse import urlsplit

from dw_core.external_storage import ExternalPayloadStoragePolicy, ExternalStorageDriver
from dw_core.plugins import hookimpl

from dw_storage_azure.locator import check_container_name
from dw_storage_azure.storage import AzureBlobExternalStorage

__all__ = [
    "DRIVER_NAMES",
    "container_from_policy",
    "dw_external_storage_driver",
    "dw_external_storage_driver_names",
]

DRIVER_NAMES: Final = ("azure", "azure-blob")
_REFERENCE_SCHEMES: Final = ("azure://", "azure-blob://")


def _fail(detail: str) -> ValueError:
    return ValueError(f"invalid azure external payload storage policy: {detail}")


def _container_from_reference(reference: str) -> str:
    for scheme in _REFERENCE_SCHEMES:
        if reference.startswith(scheme):
            return reference[len(scheme) :].split("/", 1)[0]
    if reference.startswith(("https://", "http://")):
        # A container URL: https://<account>.blob.core.windows.net/<container>[/...]
        return urlsplit(reference).path.lstrip("/").split("/", 1)[0]
    if "://" in reference or "/" in reference:
        raise _fail(
            f"reference {reference!r} is not an Azure Blob container (use azure-blob://container, "
            "azure://container or the container URL)"
        )
    return reference


def _config_string(policy: ExternalPayloadStoragePolicy, key: str) -> str | None:
    value = policy.config.get(key)
    if value is not None and not isinstance(value, str):
        raise _fail(f"config.{key} must be a string, got {type(value).__name__}")
    return value or None


def container_from_policy(policy: ExternalPayloadStoragePolicy) -> str:
    """The container from ``config.container``, ``config.bucket``, else ``reference``.

    A reference may be ``azure-blob://c``, ``azure://c``, ``https://<account>.blob.core.windows.net/c``
    or ``c``; only the container is taken from it, the name prefix comes from the policy's ``prefix``.
    """
    candidate = _config_string(policy, "container") or _config_string(policy, "bucket")
    if candidate is None:
        if not policy.reference:
            raise _fail("set config.container, or a reference such as azure-blob://container")
        candidate = _container_from_reference(policy.reference)
    try:
        return check_container_name(candidate)
    except ValueError as exc:
        raise _fail(str(exc)) from None


@hookimpl
def dw_external_storage_driver_names() -> Iterable[str]:
    return list(DRIVER_NAMES)


@hookimpl
def dw_external_storage_driver(
    name: str, policy: ExternalPayloadStoragePolicy, options: Mapping[str, Any]
) -> ExternalStorageDriver | None:
    if name not in DRIVER_NAMES:
        return None
    container = container_from_policy(policy)
    client = options.get("azure_container_client")
    if client is None:
        raise ValueError(
            f"the {name} external storage driver needs the application's container client: pass "
            "azure_container_client=BlobServiceClient.from_connection_string(...).get_container_client(...) "
            "to external_storage_driver_from_policy()"
        )
    try:
        return AzureBlobExternalStorage(client, container=container, prefix=policy.prefix)
    except ValueError as exc:
        raise _fail(str(exc)) from None
