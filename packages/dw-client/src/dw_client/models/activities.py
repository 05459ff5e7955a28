"""Standalone activity executions (activity jobs backed by a server-managed host run)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dw_client.models._fields import as_mapping, dict_list, opt_int, opt_str, req_int, req_str


@dataclass
class StandaloneActivityExecution:
    """A standalone activity's state; ``result`` is the decoded value once it completed."""

    activity_id: str
    workflow_run_id: str | None
    activity_execution_id: str | None
    workflow_type: str
    activity_type: str | None
    activity_class: str | None
    task_queue: str | None
    namespace: str | None
    status: str | None
    activity_status: str | None
    closed_reason: str | None
    business_key: str | None
    payload_codec: str | None
    started_at: str | None
    closed_at: str | None
    last_progress_at: str | None
    last_heartbeat_at: str | None
    schedule_to_start_deadline_at: str | None
    schedule_to_close_deadline_at: str | None
    attempt_count: int | None
    result: Any = None

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, activity_id: str | None = None, result: Any = None
    ) -> StandaloneActivityExecution:
        """Build from a server JSON object; ``result`` is the already-decoded result value."""
        data = as_mapping(data)
        return cls(
            activity_id=req_str(data, "activity_id", activity_id or ""),
            workflow_run_id=opt_str(data, "workflow_run_id"),
            activity_execution_id=opt_str(data, "activity_execution_id"),
            workflow_type=req_str(data, "workflow_type"),
            activity_type=opt_str(data, "activity_type"),
            activity_class=opt_str(data, "activity_class"),
            task_queue=opt_str(data, "task_queue"),
            namespace=opt_str(data, "namespace"),
            status=opt_str(data, "status"),
            activity_status=opt_str(data, "activity_status"),
            closed_reason=opt_str(data, "closed_reason"),
            business_key=opt_str(data, "business_key"),
            payload_codec=opt_str(data, "payload_codec"),
            started_at=opt_str(data, "started_at"),
            closed_at=opt_str(data, "closed_at"),
            last_progress_at=opt_str(data, "last_progress_at"),
            last_heartbeat_at=opt_str(data, "last_heartbeat_at"),
            schedule_to_start_deadline_at=opt_str(data, "schedule_to_start_deadline_at"),
            schedule_to_close_deadline_at=opt_str(data, "schedule_to_close_deadline_at"),
            attempt_count=opt_int(data, "attempt_count"),
            result=result,
        )


@dataclass
class StandaloneActivityList:
    """One page of standalone activities."""

    activities: list[StandaloneActivityExecution] = field(default_factory=list)
    activity_count: int = 0
    next_page_token: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StandaloneActivityList:
        """Build from a server JSON object (results are not decoded in list views)."""
        data = as_mapping(data)
        items = [StandaloneActivityExecution.from_dict(item) for item in dict_list(data, "activities")]
        return cls(
            activities=items,
            activity_count=req_int(data, "activity_count", len(items)),
            next_page_token=opt_str(data, "next_page_token"),
        )
