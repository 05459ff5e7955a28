"""System maintenance (admin): task repair, retention and activity-timeout sweeps."""

from __future__ import annotations

from typing import Any

from dw_core.errors import ErrorContext

from dw_client.operations._core import ClientCore, drop_none, expect_object
from dw_client.transport import Retry


def _ids(name: str, values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    if not isinstance(values, (list, tuple)):
        raise TypeError(f"{name} must be a list of ids, got {type(values).__name__}")
    return list(values) or None


def _limit(limit: int | None) -> int | None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive int, got {limit!r}")
    return limit


class SystemOperations(ClientCore):
    """Maintenance status and passes (mixed into ``Client``); each returns the server's JSON object.

    Passes answer HTTP 207 when some items failed; the per-item outcomes are in the result.
    """

    async def _status(self, route: str, name: str) -> dict[str, Any]:
        reply = await self._transport.call(
            "GET",
            "/system" + route,
            retry=Retry.SAFE,
            context=ErrorContext(resource="system", resource_id=name),
        )
        return expect_object(reply.body, f"invalid_{name}_response")

    async def _pass(self, route: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        # A sweep may act on items; it is not repeated once it may have reached the server.
        reply = await self._transport.call(
            "POST",
            "/system" + route,
            body=body,
            retry=Retry.UNSENT_ONLY,
            context=ErrorContext(resource="system", resource_id=name),
        )
        return expect_object(reply.body, f"invalid_{name}_response")

    async def repair_status(self) -> dict[str, Any]:
        """Task-repair policy and current candidates."""
        return await self._status("/repair", "repair_status")

    async def repair_pass(
        self, *, run_ids: list[str] | None = None, instance_id: str | None = None
    ) -> dict[str, Any]:
        """Run one repair sweep, optionally limited to runs or one workflow instance."""
        body = drop_none(run_ids=_ids("run_ids", run_ids), instance_id=instance_id)
        return await self._pass("/repair/pass", "repair_pass", body)

    async def retention_status(self) -> dict[str, Any]:
        """Retention window, cutoff and the runs eligible for pruning."""
        return await self._status("/retention", "retention_status")

    async def retention_pass(
        self, *, run_ids: list[str] | None = None, limit: int | None = None
    ) -> dict[str, Any]:
        """Run one retention sweep (deletes closed runs past the namespace's retention)."""
        body = drop_none(run_ids=_ids("run_ids", run_ids), limit=_limit(limit))
        return await self._pass("/retention/pass", "retention_pass", body)

    async def activity_timeout_status(self) -> dict[str, Any]:
        """Activity executions past a deadline."""
        return await self._status("/activity-timeouts", "activity_timeout_status")

    async def activity_timeout_pass(
        self, *, execution_ids: list[str] | None = None, limit: int | None = None
    ) -> dict[str, Any]:
        """Run one activity-timeout enforcement sweep."""
        body = drop_none(execution_ids=_ids("execution_ids", execution_ids), limit=_limit(limit))
        return await self._pass("/activity-timeouts/pass", "activity_timeout_pass", body)
