"""Schedule specs, actions and the results of schedule operations."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dw_client.models._fields import (
    as_mapping,
    dict_list,
    opt_dict,
    opt_int,
    opt_str,
    req_int,
    req_str,
)


@dataclass
class ScheduleSpec:
    """When a schedule fires: cron expressions and/or ISO-8601 intervals, in a timezone."""

    cron_expressions: list[str] | None = None
    intervals: list[dict[str, str]] | None = None
    timezone: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Wire form; only the keys that are set."""
        out: dict[str, Any] = {}
        if self.cron_expressions is not None:
            out["cron_expressions"] = list(self.cron_expressions)
        if self.intervals is not None:
            out["intervals"] = [dict(item) for item in self.intervals]
        if self.timezone is not None:
            out["timezone"] = self.timezone
        return out


@dataclass
class ScheduleAction:
    """The workflow start a schedule performs on every fire."""

    workflow_type: str
    task_queue: str | None = None
    input: list[Any] | None = None
    execution_timeout_seconds: int | None = None
    run_timeout_seconds: int | None = None

    def to_dict(self, *, input_encoder: Callable[[list[Any]], Any] | None = None) -> dict[str, Any]:
        """Wire form; ``input_encoder`` turns the argument list into its payload envelope.

        Without an encoder the argument list is sent as plain JSON, which the server also accepts.
        """
        out: dict[str, Any] = {"workflow_type": self.workflow_type}
        if self.task_queue is not None:
            out["task_queue"] = self.task_queue
        if self.input is not None:
            values = list(self.input)
            out["input"] = input_encoder(values) if input_encoder is not None else values
        if self.execution_timeout_seconds is not None:
            out["execution_timeout_seconds"] = self.execution_timeout_seconds
        if self.run_timeout_seconds is not None:
            out["run_timeout_seconds"] = self.run_timeout_seconds
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScheduleAction:
        """Build from the wire form (``input`` is kept as sent: envelope or plain list)."""
        data = as_mapping(data)
        raw_input = data.get("input")
        return cls(
            workflow_type=req_str(data, "workflow_type"),
            task_queue=opt_str(data, "task_queue"),
            input=raw_input if isinstance(raw_input, list) else None,
            execution_timeout_seconds=opt_int(data, "execution_timeout_seconds"),
            run_timeout_seconds=opt_int(data, "run_timeout_seconds"),
        )


@dataclass
class ScheduleDescription:
    """A schedule's definition, state and counters."""

    schedule_id: str
    status: str | None = None
    spec: dict[str, Any] | None = None
    action: dict[str, Any] | None = None
    overlap_policy: str | None = None
    note: str | None = None
    memo: dict[str, Any] | None = None
    search_attributes: dict[str, Any] | None = None
    jitter_seconds: int | None = None
    max_runs: int | None = None
    remaining_actions: int | None = None
    fires_count: int = 0
    failures_count: int = 0
    next_fire_at: str | None = None
    last_fired_at: str | None = None
    latest_workflow_instance_id: str | None = None
    paused_at: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    info: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScheduleDescription:
        """Build from a server JSON object.

        Reads the flat fields first and falls back to the nested ``state``/``info`` blocks and the
        ``next_fire``/``last_fire`` spellings some servers emit instead.
        """
        data = as_mapping(data)
        state = as_mapping(data.get("state"))
        info = opt_dict(data, "info")
        info_map = info or {}

        def pick_str(*candidates: tuple[Mapping[str, Any], str]) -> str | None:
            for source, key in candidates:
                value = opt_str(source, key)
                if value is not None:
                    return value
            return None

        def pick_int(*candidates: tuple[Mapping[str, Any], str]) -> int | None:
            for source, key in candidates:
                value = opt_int(source, key)
                if value is not None:
                    return value
            return None

        return cls(
            schedule_id=req_str(data, "schedule_id"),
            status=pick_str((data, "status"), (state, "status")),
            spec=opt_dict(data, "spec"),
            action=opt_dict(data, "action"),
            overlap_policy=opt_str(data, "overlap_policy"),
            note=pick_str((data, "note"), (state, "note")),
            memo=opt_dict(data, "memo"),
            search_attributes=opt_dict(data, "search_attributes"),
            jitter_seconds=opt_int(data, "jitter_seconds"),
            max_runs=opt_int(data, "max_runs"),
            remaining_actions=opt_int(data, "remaining_actions"),
            fires_count=pick_int((data, "fires_count"), (info_map, "fires_count")) or 0,
            failures_count=pick_int((data, "failures_count"), (info_map, "failures_count")) or 0,
            next_fire_at=pick_str((data, "next_fire_at"), (data, "next_fire"), (info_map, "next_fire")),
            last_fired_at=pick_str((data, "last_fired_at"), (data, "last_fire"), (info_map, "last_fire")),
            latest_workflow_instance_id=opt_str(data, "latest_workflow_instance_id"),
            paused_at=pick_str((data, "paused_at"), (state, "paused_at")),
            created_at=opt_str(data, "created_at"),
            updated_at=opt_str(data, "updated_at"),
            info=info,
        )


@dataclass
class ScheduleList:
    """Summary of the namespace's schedules."""

    schedules: list[ScheduleDescription] = field(default_factory=list)
    next_page_token: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScheduleList:
        """Build from a server JSON object."""
        data = as_mapping(data)
        return cls(
            schedules=[ScheduleDescription.from_dict(item) for item in dict_list(data, "schedules")],
            next_page_token=opt_str(data, "next_page_token"),
        )


@dataclass
class ScheduleTriggerResult:
    """Outcome of an immediate fire: ``triggered``, ``buffered``, ``buffer_full`` or ``skipped``."""

    schedule_id: str
    outcome: str
    workflow_id: str | None = None
    run_id: str | None = None
    reason: str | None = None
    buffer_depth: int | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, schedule_id: str | None = None) -> ScheduleTriggerResult:
        """Build from a server JSON object."""
        data = as_mapping(data)
        return cls(
            schedule_id=req_str(data, "schedule_id", schedule_id or ""),
            outcome=req_str(data, "outcome"),
            workflow_id=opt_str(data, "workflow_id"),
            run_id=opt_str(data, "run_id"),
            reason=opt_str(data, "reason"),
            buffer_depth=opt_int(data, "buffer_depth"),
        )


@dataclass
class ScheduleBackfillResult:
    """Outcome of a backfill over a time window, one result per fire."""

    schedule_id: str
    outcome: str
    fires_attempted: int = 0
    results: list[dict[str, Any]] | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, schedule_id: str | None = None) -> ScheduleBackfillResult:
        """Build from a server JSON object."""
        data = as_mapping(data)
        return cls(
            schedule_id=req_str(data, "schedule_id", schedule_id or ""),
            outcome=req_str(data, "outcome"),
            fires_attempted=req_int(data, "fires_attempted"),
            results=dict_list(data, "results") if isinstance(data.get("results"), list) else None,
        )


@dataclass
class ScheduleHistoryEvent:
    """One audit event of a schedule (created, paused, triggered, ...)."""

    sequence: int
    event_type: str | None = None
    recorded_at: str | None = None
    workflow_instance_id: str | None = None
    workflow_run_id: str | None = None
    payload: dict[str, Any] | None = None
    id: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScheduleHistoryEvent:
        """Build from a server JSON object."""
        data = as_mapping(data)
        return cls(
            sequence=req_int(data, "sequence"),
            event_type=opt_str(data, "event_type"),
            recorded_at=opt_str(data, "recorded_at"),
            workflow_instance_id=opt_str(data, "workflow_instance_id"),
            workflow_run_id=opt_str(data, "workflow_run_id"),
            payload=opt_dict(data, "payload"),
            id=opt_str(data, "id"),
        )


@dataclass
class ScheduleHistoryPage:
    """One page of a schedule's audit history; continue after ``next_cursor`` while ``has_more``."""

    schedule_id: str
    events: list[ScheduleHistoryEvent] = field(default_factory=list)
    has_more: bool = False
    next_cursor: int | None = None
    namespace: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, schedule_id: str | None = None) -> ScheduleHistoryPage:
        """Build from a server JSON object; a non-integer cursor becomes ``None``."""
        data = as_mapping(data)
        cursor = data.get("next_cursor")
        return cls(
            schedule_id=req_str(data, "schedule_id", schedule_id or ""),
            events=[ScheduleHistoryEvent.from_dict(item) for item in dict_list(data, "events")],
            has_more=data.get("has_more") is True,
            next_cursor=cursor if isinstance(cursor, int) and not isinstance(cursor, bool) else None,
            namespace=opt_str(data, "namespace"),
        )
