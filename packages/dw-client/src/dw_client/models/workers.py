"""Worker roster and search-attribute definitions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dw_client.models._fields import (
    as_mapping,
    dict_list,
    opt_dict,
    opt_int,
    opt_str,
    req_str,
    str_list,
    str_map,
)


@dataclass
class WorkerDescription:
    """A registered worker: identity, build, supported types, heartbeat and free slots."""

    worker_id: str
    task_queue: str | None = None
    runtime: str | None = None
    namespace: str | None = None
    sdk_version: str | None = None
    build_id: str | None = None
    status: str | None = None
    max_concurrent_workflow_tasks: int | None = None
    max_concurrent_activity_tasks: int | None = None
    supported_workflow_types: list[str] | None = None
    supported_activity_types: list[str] | None = None
    last_heartbeat_at: str | None = None
    registered_at: str | None = None
    updated_at: str | None = None
    task_slots: dict[str, int | None] | None = None
    process_metrics: dict[str, Any] | None = None
    heartbeat_interval_seconds: int | None = None
    raw: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, worker_id: str | None = None) -> WorkerDescription:
        """Build from a server JSON object; ``worker_id`` fills in an absent key."""
        data = as_mapping(data)
        slots_raw = opt_dict(data, "task_slots")
        slots = None
        if slots_raw is not None:
            slots = {str(k): opt_int(slots_raw, str(k)) for k in slots_raw}
        return cls(
            worker_id=req_str(data, "worker_id", worker_id or ""),
            task_queue=opt_str(data, "task_queue"),
            runtime=opt_str(data, "runtime"),
            namespace=opt_str(data, "namespace"),
            sdk_version=opt_str(data, "sdk_version"),
            build_id=opt_str(data, "build_id"),
            status=opt_str(data, "status"),
            max_concurrent_workflow_tasks=opt_int(data, "max_concurrent_workflow_tasks"),
            max_concurrent_activity_tasks=opt_int(data, "max_concurrent_activity_tasks"),
            supported_workflow_types=(
                str_list(data, "supported_workflow_types")
                if isinstance(data.get("supported_workflow_types"), list)
                else None
            ),
            supported_activity_types=(
                str_list(data, "supported_activity_types")
                if isinstance(data.get("supported_activity_types"), list)
                else None
            ),
            last_heartbeat_at=opt_str(data, "last_heartbeat_at"),
            registered_at=opt_str(data, "registered_at"),
            updated_at=opt_str(data, "updated_at"),
            task_slots=slots,
            process_metrics=opt_dict(data, "process_metrics"),
            heartbeat_interval_seconds=opt_int(data, "heartbeat_interval_seconds"),
            raw=dict(data),
        )


@dataclass
class WorkerList:
    """The registered worker roster of the namespace."""

    namespace: str | None
    workers: list[WorkerDescription] = field(default_factory=list)
    stale_after_seconds: int | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WorkerList:
        """Build from a server JSON object."""
        data = as_mapping(data)
        return cls(
            namespace=opt_str(data, "namespace"),
            workers=[WorkerDescription.from_dict(item) for item in dict_list(data, "workers")],
            stale_after_seconds=opt_int(data, "stale_after_seconds"),
        )


@dataclass
class SearchAttributeList:
    """Search-attribute definitions: the server's system ones and the namespace's custom ones."""

    system_attributes: dict[str, str] = field(default_factory=dict)
    custom_attributes: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SearchAttributeList:
        """Build from a server JSON object (an empty PHP ``[]`` map reads as ``{}``)."""
        data = as_mapping(data)
        return cls(
            system_attributes=str_map(data, "system_attributes"),
            custom_attributes=str_map(data, "custom_attributes"),
        )
