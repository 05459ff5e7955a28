"""Outcome of a webhook bridge event."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dw_client.models._fields import as_mapping, opt_dict, opt_str, req_bool, req_int, req_str


@dataclass
class BridgeAdapterOutcome:
    """What the server did with a webhook event: ``accepted``, ``duplicate`` or ``rejected``."""

    schema: str
    version: int
    adapter: str
    action: str | None
    accepted: bool
    outcome: str
    idempotency_key: str | None = None
    reason: str | None = None
    target: dict[str, Any] | None = None
    correlation: dict[str, Any] | None = None
    workflow_id: str | None = None
    run_id: str | None = None
    workflow_type: str | None = None
    control_plane_outcome: str | None = None
    raw: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BridgeAdapterOutcome:
        """Build from a server JSON object."""
        data = as_mapping(data)
        return cls(
            schema=req_str(data, "schema"),
            version=req_int(data, "version"),
            adapter=req_str(data, "adapter"),
            action=opt_str(data, "action"),
            accepted=req_bool(data, "accepted"),
            outcome=req_str(data, "outcome"),
            idempotency_key=opt_str(data, "idempotency_key"),
            reason=opt_str(data, "reason"),
            target=opt_dict(data, "target"),
            correlation=opt_dict(data, "correlation"),
            workflow_id=opt_str(data, "workflow_id"),
            run_id=opt_str(data, "run_id"),
            workflow_type=opt_str(data, "workflow_type"),
            control_plane_outcome=opt_str(data, "control_plane_outcome"),
            raw=dict(data),
        )
