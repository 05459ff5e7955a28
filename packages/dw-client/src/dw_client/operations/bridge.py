"""Webhook bridge: deliver an external event that starts, signals or updates a workflow."""

from __future__ import annotations

from typing import Any

from dw_core.errors import ErrorContext

from dw_client.models.bridge import BridgeAdapterOutcome
from dw_client.operations._core import ClientCore, drop_none, expect_object
from dw_client.transport import Retry


class BridgeOperations(ClientCore):
    """Webhook bridge events (mixed into ``Client``)."""

    async def send_webhook_bridge_event(
        self,
        adapter: str,
        *,
        action: str,
        idempotency_key: str,
        target: dict[str, Any],
        input: dict[str, Any] | None = None,
        correlation: dict[str, Any] | None = None,
    ) -> BridgeAdapterOutcome:
        """Deliver one webhook event through ``adapter``.

        ``action`` is ``start_workflow``, ``signal_workflow`` or ``update_workflow``. A rejection
        (HTTP 422) is returned as an outcome with ``accepted=False``, not raised. The
        ``idempotency_key`` makes redelivery safe, so the call is retried like a read.
        """
        if not idempotency_key:
            raise ValueError("idempotency_key must be a non-empty string that identifies this event")
        body: dict[str, Any] = {"action": action, "idempotency_key": idempotency_key, "target": dict(target)}
        body.update(drop_none(input=input, correlation=correlation))
        reply = await self._transport.call(
            "POST",
            "/bridge-adapters/webhook/{adapter}",
            path_params={"adapter": adapter},
            body=body,
            retry=Retry.SAFE,
            context=ErrorContext(resource="bridge_adapter", resource_id=adapter),
            returned_error_statuses=(422,),
            error_outcome="bridge_rejected",
        )
        if not reply.body:
            expect_object(None, "invalid_bridge_outcome", reply.status)
        return BridgeAdapterOutcome.from_dict(
            expect_object(reply.body, "invalid_bridge_outcome", reply.status)
        )
