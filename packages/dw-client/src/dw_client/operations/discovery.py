"""Server discovery: health probe and cluster information."""

from __future__ import annotations

from typing import Any

from dw_core.errors import ErrorContext

from dw_client.operations._core import ClientCore, expect_object
from dw_client.transport import Retry


class DiscoveryOperations(ClientCore):
    """Health and cluster info (mixed into ``Client``)."""

    async def get_cluster_info(self) -> dict[str, Any]:
        """Server identity, capabilities and protocol manifests (``GET /api/cluster/info``)."""
        reply = await self._transport.call(
            "GET", "/cluster/info", retry=Retry.SAFE, context=ErrorContext(resource_id="get_cluster_info")
        )
        return expect_object(reply.body, "invalid_cluster_info")

    async def health(self) -> dict[str, Any]:
        """Readiness probe (``GET /api/health``); a degraded server answers 503, raised as ``ServerError``."""
        reply = await self._transport.call(
            "GET", "/health", retry=Retry.SAFE, context=ErrorContext(resource_id="health")
        )
        return expect_object(reply.body, "invalid_health_response")
