"""Task queues, their admission budgets and build-id rollout cohorts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from dw_client.models._fields import (
    as_mapping,
    dict_list,
    opt_bool,
    opt_dict,
    opt_int,
    opt_str,
    req_bool,
    req_int,
    req_str,
    str_list,
)

_TEXT_ADMISSION_FIELDS = frozenset(
    {"status", "budget_source", "server_budget_source", "server_dispatch_budget_group"}
)
_BOOL_ADMISSION_FIELDS = frozenset(
    {"server_lock_required", "server_lock_supported", "lock_required", "lock_supported"}
)


def _admission_kwargs(cls: type[Any], data: Mapping[str, Any]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        if f.name in _TEXT_ADMISSION_FIELDS:
            kwargs[f.name] = opt_str(data, f.name)
        elif f.name in _BOOL_ADMISSION_FIELDS:
            kwargs[f.name] = opt_bool(data, f.name)
        else:
            kwargs[f.name] = opt_int(data, f.name)
    return kwargs


@dataclass
class TaskQueueTaskAdmission:
    """Admission budget for workflow or activity tasks on one queue (limits ``None`` when unset)."""

    status: str | None = None
    budget_source: str | None = None
    server_budget_source: str | None = None
    active_worker_count: int | None = None
    configured_slot_count: int | None = None
    leased_count: int | None = None
    ready_count: int | None = None
    available_slot_count: int | None = None
    server_max_active_leases_per_queue: int | None = None
    server_active_lease_count: int | None = None
    server_remaining_active_lease_capacity: int | None = None
    server_max_active_leases_per_namespace: int | None = None
    server_namespace_active_lease_count: int | None = None
    server_remaining_namespace_active_lease_capacity: int | None = None
    server_max_dispatches_per_minute: int | None = None
    server_dispatch_count_this_minute: int | None = None
    server_remaining_dispatch_capacity: int | None = None
    server_max_dispatches_per_minute_per_namespace: int | None = None
    server_namespace_dispatch_count_this_minute: int | None = None
    server_remaining_namespace_dispatch_capacity: int | None = None
    server_dispatch_budget_group: str | None = None
    server_max_dispatches_per_minute_per_budget_group: int | None = None
    server_budget_group_dispatch_count_this_minute: int | None = None
    server_remaining_budget_group_dispatch_capacity: int | None = None
    server_lock_required: bool | None = None
    server_lock_supported: bool | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> TaskQueueTaskAdmission | None:
        """Build from a server JSON object; ``None`` when the block is absent."""
        if not isinstance(data, Mapping):
            return None
        return cls(**_admission_kwargs(cls, data))


@dataclass
class TaskQueueQueryAdmission:
    """Admission budget for server-routed query tasks on one queue."""

    status: str | None = None
    budget_source: str | None = None
    max_pending_per_queue: int | None = None
    approximate_pending_count: int | None = None
    remaining_pending_capacity: int | None = None
    lock_required: bool | None = None
    lock_supported: bool | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> TaskQueueQueryAdmission | None:
        """Build from a server JSON object; ``None`` when the block is absent."""
        if not isinstance(data, Mapping):
            return None
        return cls(**_admission_kwargs(cls, data))


@dataclass
class TaskQueueAdmission:
    """Admission budgets of a queue for each task kind; ``raw`` keeps the whole block."""

    workflow_tasks: TaskQueueTaskAdmission | None = None
    activity_tasks: TaskQueueTaskAdmission | None = None
    query_tasks: TaskQueueQueryAdmission | None = None
    raw: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> TaskQueueAdmission | None:
        """Build from a server JSON object; ``None`` when the block is absent."""
        if not isinstance(data, Mapping):
            return None
        return cls(
            workflow_tasks=TaskQueueTaskAdmission.from_dict(data.get("workflow_tasks")),
            activity_tasks=TaskQueueTaskAdmission.from_dict(data.get("activity_tasks")),
            query_tasks=TaskQueueQueryAdmission.from_dict(data.get("query_tasks")),
            raw=dict(data),
        )


@dataclass
class TaskQueueDescription:
    """A task queue: backlog stats, pollers, current leases and admission."""

    name: str
    namespace: str | None = None
    stats: dict[str, Any] | None = None
    admission: TaskQueueAdmission | None = None
    pollers: list[dict[str, Any]] | None = None
    current_leases: list[dict[str, Any]] | None = None
    raw: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, namespace: str | None = None) -> TaskQueueDescription:
        """Build from a server JSON object; ``namespace`` fills in an absent key."""
        data = as_mapping(data)
        return cls(
            name=req_str(data, "name"),
            namespace=opt_str(data, "namespace") or namespace,
            stats=opt_dict(data, "stats"),
            admission=TaskQueueAdmission.from_dict(data.get("admission")),
            pollers=dict_list(data, "pollers") if isinstance(data.get("pollers"), list) else None,
            current_leases=(
                dict_list(data, "current_leases") if isinstance(data.get("current_leases"), list) else None
            ),
            raw=dict(data),
        )


@dataclass
class TaskQueueList:
    """Every task queue known in the namespace."""

    namespace: str | None
    task_queues: list[TaskQueueDescription] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TaskQueueList:
        """Build from a server JSON object."""
        data = as_mapping(data)
        namespace = opt_str(data, "namespace")
        return cls(
            namespace=namespace,
            task_queues=[
                TaskQueueDescription.from_dict(item, namespace=namespace)
                for item in dict_list(data, "task_queues")
            ],
        )


@dataclass
class TaskQueueBuildIdCohort:
    """Workers of one build id on a queue (``build_id`` ``None`` is the unversioned cohort)."""

    build_id: str | None
    rollout_status: str
    active_worker_count: int
    draining_worker_count: int
    stale_worker_count: int
    total_worker_count: int
    runtimes: list[str]
    sdk_versions: list[str]
    last_heartbeat_at: str | None = None
    first_seen_at: str | None = None
    drain_intent: str | None = None
    drained_at: str | None = None
    promoted_at: str | None = None
    rolled_back_at: str | None = None
    new_start_selected: bool = False
    workflow_definition_fingerprint_count: int = 0
    workflow_definition_fingerprint_conflicts: list[dict[str, Any]] | None = None
    raw: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TaskQueueBuildIdCohort:
        """Build from a server JSON object."""
        data = as_mapping(data)
        conflicts = data.get("workflow_definition_fingerprint_conflicts")
        return cls(
            build_id=opt_str(data, "build_id") or None,
            rollout_status=req_str(data, "rollout_status"),
            active_worker_count=req_int(data, "active_worker_count"),
            draining_worker_count=req_int(data, "draining_worker_count"),
            stale_worker_count=req_int(data, "stale_worker_count"),
            total_worker_count=req_int(data, "total_worker_count"),
            runtimes=str_list(data, "runtimes"),
            sdk_versions=str_list(data, "sdk_versions"),
            last_heartbeat_at=opt_str(data, "last_heartbeat_at"),
            first_seen_at=opt_str(data, "first_seen_at"),
            drain_intent=opt_str(data, "drain_intent"),
            drained_at=opt_str(data, "drained_at"),
            promoted_at=opt_str(data, "promoted_at"),
            rolled_back_at=opt_str(data, "rolled_back_at"),
            new_start_selected=req_bool(data, "new_start_selected"),
            workflow_definition_fingerprint_count=req_int(data, "workflow_definition_fingerprint_count"),
            workflow_definition_fingerprint_conflicts=(
                dict_list(data, "workflow_definition_fingerprint_conflicts")
                if isinstance(conflicts, list)
                else None
            ),
            raw=dict(data),
        )


@dataclass
class TaskQueueBuildIdRollout:
    """Build-id cohorts of a queue, for rolling out new worker versions."""

    namespace: str | None
    task_queue: str
    stale_after_seconds: int | None
    build_ids: list[TaskQueueBuildIdCohort] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, task_queue: str | None = None) -> TaskQueueBuildIdRollout:
        """Build from a server JSON object."""
        data = as_mapping(data)
        return cls(
            namespace=opt_str(data, "namespace"),
            task_queue=req_str(data, "task_queue", task_queue or ""),
            stale_after_seconds=opt_int(data, "stale_after_seconds"),
            build_ids=[TaskQueueBuildIdCohort.from_dict(item) for item in dict_list(data, "build_ids")],
        )


@dataclass
class TaskQueueBuildIdRolloutState:
    """State of one build-id cohort after a drain, resume or promote."""

    namespace: str | None
    task_queue: str
    build_id: str | None
    drain_intent: str
    drained_at: str | None
    promoted_at: str | None = None
    rolled_back_at: str | None = None
    new_start_selected: bool = False
    deployment: dict[str, Any] | None = None
    raw: dict[str, Any] | None = None

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, task_queue: str | None = None
    ) -> TaskQueueBuildIdRolloutState:
        """Build from a server JSON object."""
        data = as_mapping(data)
        return cls(
            namespace=opt_str(data, "namespace"),
            task_queue=req_str(data, "task_queue", task_queue or ""),
            build_id=opt_str(data, "build_id") or None,
            drain_intent=req_str(data, "drain_intent"),
            drained_at=opt_str(data, "drained_at"),
            promoted_at=opt_str(data, "promoted_at"),
            rolled_back_at=opt_str(data, "rolled_back_at"),
            new_start_selected=req_bool(data, "new_start_selected"),
            deployment=opt_dict(data, "deployment"),
            raw=dict(data),
        )
