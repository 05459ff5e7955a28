"""Worker roster and search-attribute definitions."""

from __future__ import annotations

from typing import Any

from dw_core.errors import ErrorContext

from dw_client.models.workers import SearchAttributeList, WorkerDescription, WorkerList
from dw_client.operations._core import ClientCore, drop_none, expect_object
from dw_client.transport import Retry

SEARCH_ATTRIBUTE_TYPES = frozenset({"keyword", "text", "int", "double", "bool", "datetime", "keyword_list"})


class WorkerRosterOperations(ClientCore):
    """Registered workers (mixed into ``Client``)."""

    async def list_workers(self, *, task_queue: str | None = None, status: str | None = None) -> WorkerList:
        """Registered workers, optionally filtered by queue and status (``active``/``draining``/``stale``)."""
        reply = await self._transport.call(
            "GET",
            "/workers",
            query=drop_none(task_queue=task_queue, status=status),
            retry=Retry.SAFE,
            context=ErrorContext(),
        )
        return WorkerList.from_dict(expect_object(reply.body, "invalid_worker_response"))

    async def describe_worker(self, worker_id: str) -> WorkerDescription:
        """One worker: runtime, build id, supported types, heartbeat and slots."""
        reply = await self._transport.call(
            "GET",
            "/workers/{worker_id}",
            path_params={"worker_id": worker_id},
            retry=Retry.SAFE,
            context=ErrorContext(resource="worker", resource_id=worker_id),
        )
        return WorkerDescription.from_dict(
            expect_object(reply.body, "invalid_worker_response"), worker_id=worker_id
        )

    async def deregister_worker(self, worker_id: str) -> dict[str, Any]:
        """Remove a worker from the roster (its leases are not interrupted)."""
        reply = await self._transport.call(
            "DELETE",
            "/workers/{worker_id}",
            path_params={"worker_id": worker_id},
            retry=Retry.SAFE,
            context=ErrorContext(resource="worker", resource_id=worker_id),
        )
        return expect_object(reply.body, "invalid_worker_response")


class SearchAttributeOperations(ClientCore):
    """Search-attribute definitions (mixed into ``Client``)."""

    async def list_search_attributes(self) -> SearchAttributeList:
        """System and custom search-attribute definitions."""
        reply = await self._transport.call(
            "GET", "/search-attributes", retry=Retry.SAFE, context=ErrorContext()
        )
        return SearchAttributeList.from_dict(expect_object(reply.body, "invalid_search_attribute_response"))

    async def create_search_attribute(self, name: str, attribute_type: str) -> dict[str, Any]:
        """Define a custom search attribute of ``attribute_type`` (keyword, text, int, double, bool,
        datetime, keyword_list)."""
        if attribute_type not in SEARCH_ATTRIBUTE_TYPES:
            raise ValueError(
                f"attribute_type {attribute_type!r} is not a search-attribute type; use one of "
                f"{', '.join(sorted(SEARCH_ATTRIBUTE_TYPES))}"
            )
        reply = await self._transport.call(
            "POST",
            "/search-attributes",
            body={"name": name, "type": attribute_type},
            retry=Retry.UNSENT_ONLY,
            context=ErrorContext(resource="search_attribute", resource_id=name),
        )
        return expect_object(reply.body, "invalid_search_attribute_response")

    async def delete_search_attribute(self, name: str) -> dict[str, Any]:
        """Remove a custom search attribute."""
        reply = await self._transport.call(
            "DELETE",
            "/search-attributes/{name}",
            path_params={"name": name},
            retry=Retry.SAFE,
            context=ErrorContext(resource="search_attribute", resource_id=name),
        )
        return expect_object(reply.body, "invalid_search_attribute_response")
