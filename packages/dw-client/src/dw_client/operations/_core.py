"""State every operation family shares: the transport, the payload codec, the namespace."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from dw_core.errors import ServerError

from dw_client.payloads import PayloadCodec
from dw_client.transport import Transport

if TYPE_CHECKING:
    from dw_client.client import Client


def drop_none(**fields: Any) -> dict[str, Any]:
    """The keyword arguments whose value is not ``None`` (optional body fields are omitted)."""
    return {key: value for key, value in fields.items() if value is not None}


def expect_object(body: Any, reason: str, status: int = 200) -> dict[str, Any]:
    """``body`` as a dict, or ``ServerError(status, {"reason": reason, ...})`` when it is not an object."""
    if isinstance(body, Mapping):
        return dict(body)
    raise ServerError(
        status,
        {
            "reason": reason,
            "message": f"expected a JSON object from the server, got {type(body).__name__}",
            "body": body,
        },
    )


class ClientCore:
    """Base of the operation mixins: holds what they all use."""

    _transport: Transport
    _payloads: PayloadCodec
    namespace: str

    def _as_client(self) -> Client:
        # Handles are typed against the full Client, which every mixin is part of.
        return cast("Client", self)
