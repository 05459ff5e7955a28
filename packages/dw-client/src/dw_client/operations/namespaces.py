"""Namespaces, their external payload storage policy, and the storage probe."""

from __future__ import annotations

import warnings
from typing import Any

from dw_core.errors import ErrorContext

from dw_client.models.namespaces import NamespaceDescription, NamespaceList, StorageTestResult
from dw_client.operations._core import ClientCore, drop_none, expect_object
from dw_client.transport import Retry

_INVALID = "invalid_namespace_response"


def _ctx(name: str) -> ErrorContext:
    return ErrorContext(resource="namespace", resource_id=name)


class NamespaceOperations(ClientCore):
    """Namespace administration (mixed into ``Client``)."""

    async def list_namespaces(self) -> NamespaceList:
        """Every namespace visible to the control identity."""
        reply = await self._transport.call("GET", "/namespaces", retry=Retry.SAFE, context=ErrorContext())
        return NamespaceList.from_dict(expect_object(reply.body, _INVALID))

    async def describe_namespace(self, name: str) -> NamespaceDescription:
        """One namespace, including its external payload storage policy."""
        reply = await self._transport.call(
            "GET", "/namespaces/{name}", path_params={"name": name}, retry=Retry.SAFE, context=_ctx(name)
        )
        return NamespaceDescription.from_dict(expect_object(reply.body, _INVALID))

    async def create_namespace(
        self, name: str, *, description: str | None = None, retention_days: int = 30
    ) -> NamespaceDescription:
        """Create a namespace (admin). Not repeated once it may have reached the server."""
        if isinstance(retention_days, bool) or not isinstance(retention_days, int) or retention_days < 1:
            raise ValueError(f"retention_days must be a positive int, got {retention_days!r}")
        reply = await self._transport.call(
            "POST",
            "/namespaces",
            body={"name": name, "description": description, "retention_days": retention_days},
            retry=Retry.UNSENT_ONLY,
            context=_ctx(name),
        )
        return NamespaceDescription.from_dict(expect_object(reply.body, _INVALID))

    async def update_namespace(
        self, name: str, *, description: str | None = None, retention_days: int | None = None
    ) -> NamespaceDescription:
        """Change the given fields of a namespace (admin)."""
        reply = await self._transport.call(
            "PUT",
            "/namespaces/{name}",
            path_params={"name": name},
            body=drop_none(description=description, retention_days=retention_days),
            retry=Retry.SAFE,
            context=_ctx(name),
        )
        return NamespaceDescription.from_dict(expect_object(reply.body, _INVALID))

    async def delete_namespace(self, name: str) -> NamespaceDescription:
        """Delete a namespace and its data; ``deleted`` holds per-table counts."""
        reply = await self._transport.call(
            "DELETE", "/namespaces/{name}", path_params={"name": name}, retry=Retry.SAFE, context=_ctx(name)
        )
        return NamespaceDescription.from_dict(expect_object(reply.body, _INVALID))

    async def set_namespace_external_storage(
        self,
        name: str | None = None,
        *,
        driver: str,
        enabled: bool = True,
        threshold_bytes: int | None = None,
        config: dict[str, Any] | None = None,
        namespace: str | None = None,
    ) -> NamespaceDescription:
        """Set the namespace's external payload storage policy (admin).

        ``namespace=`` is a deprecated alias of ``name``.
        """
        if namespace is not None:
            if name is not None:
                raise TypeError("pass the namespace as name=, not both name= and the deprecated namespace=")
            warnings.warn(
                "set_namespace_external_storage(namespace=...) is deprecated; pass name=... instead",
                DeprecationWarning,
                stacklevel=2,
            )
            name = namespace
        if name is None:
            raise TypeError("set_namespace_external_storage() needs the namespace name as its first argument")
        if threshold_bytes is not None and (
            isinstance(threshold_bytes, bool) or not isinstance(threshold_bytes, int) or threshold_bytes < 1
        ):
            raise ValueError(f"threshold_bytes must be a positive int, got {threshold_bytes!r}")
        body: dict[str, Any] = {"driver": driver, "enabled": enabled}
        body.update(drop_none(threshold_bytes=threshold_bytes, config=config))
        reply = await self._transport.call(
            "PUT",
            "/namespaces/{name}/external-storage",
            path_params={"name": name},
            body=body,
            retry=Retry.SAFE,
            context=_ctx(name),
        )
        return NamespaceDescription.from_dict(expect_object(reply.body, _INVALID))

    async def test_external_storage(
        self,
        *,
        driver: str | None = None,
        small_payload_bytes: int | None = None,
        large_payload_bytes: int | None = None,
    ) -> StorageTestResult:
        """Have the server round-trip probe payloads through this namespace's storage driver (admin)."""
        reply = await self._transport.call(
            "POST",
            "/storage/test",
            body=drop_none(
                small_payload_bytes=small_payload_bytes,
                large_payload_bytes=large_payload_bytes,
                driver=driver,
            ),
            retry=Retry.SAFE,
            context=ErrorContext(resource="storage", resource_id=driver or "storage"),
        )
        return StorageTestResult.from_dict(expect_object(reply.body, "invalid_storage_test_response"))
