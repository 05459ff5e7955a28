"""Errors the client raises about the HTTP exchange itself (not about a server answer)."""

from __future__ import annotations

import httpx
from dw_core.errors import DurableWorkflowError


class RequestOutcomeUnknown(DurableWorkflowError, httpx.TransportError):
    """A non-idempotent request failed after it may have reached the server, so it was not retried.

    The server may or may not have applied it. Check the resource's state (for example
    ``describe_workflow`` or ``get_history``) before sending it again. The original httpx error is
    ``__cause__``; this class is also an ``httpx.TransportError`` so existing handlers still match.
    """

    def __init__(
        self, message: str, *, method: str, route: str, request: httpx.Request | None = None
    ) -> None:
        DurableWorkflowError.__init__(self, message)
        self.method = method
        self.route = route
        self._request = request

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""
