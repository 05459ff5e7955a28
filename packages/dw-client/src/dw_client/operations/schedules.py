"""Schedules: create, inspect, change, fire, backfill, delete, audit history."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from dw_core.errors import ErrorContext

from dw_client.handles import ScheduleHandle
from dw_client.models.schedules import (
    ScheduleAction,
    ScheduleBackfillResult,
    ScheduleDescription,
    ScheduleHistoryEvent,
    ScheduleHistoryPage,
    ScheduleList,
    ScheduleSpec,
    ScheduleTriggerResult,
)
from dw_client.operations._core import ClientCore, drop_none, expect_object
from dw_client.payloads import is_envelope
from dw_client.transport import Retry

OVERLAP_POLICIES = frozenset(
    {"skip", "buffer_one", "buffer_all", "cancel_other", "terminate_other", "allow_all"}
)


def _ctx(schedule_id: str) -> ErrorContext:
    return ErrorContext(resource="schedule", resource_id=schedule_id)


def _check_overlap(overlap_policy: str | None) -> None:
    if overlap_policy is not None and overlap_policy not in OVERLAP_POLICIES:
        raise ValueError(
            f"overlap_policy {overlap_policy!r} is not one of {', '.join(sorted(OVERLAP_POLICIES))}"
        )


def _spec_dict(spec: ScheduleSpec | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(spec, ScheduleSpec):
        return spec.to_dict()
    if isinstance(spec, Mapping):
        return {key: value for key, value in spec.items() if value is not None}
    raise TypeError(f"spec must be a ScheduleSpec or a dict, got {type(spec).__name__}")


class ScheduleOperations(ClientCore):
    """Schedule operations (mixed into ``Client``)."""

    def _action_dict(
        self, action: ScheduleAction | Mapping[str, Any], schedule_id: str | None
    ) -> dict[str, Any]:
        if isinstance(action, ScheduleAction):
            workflow_type = action.workflow_type
            task_queue = action.task_queue
            out = action.to_dict()
        elif isinstance(action, Mapping):
            out = {key: value for key, value in action.items() if value is not None}
            workflow_type = str(out.get("workflow_type", ""))
            task_queue = out.get("task_queue") if isinstance(out.get("task_queue"), str) else None
        else:
            raise TypeError(f"action must be a ScheduleAction or a dict, got {type(action).__name__}")
        raw_input = out.get("input")
        if raw_input is not None and not is_envelope(raw_input):
            if not isinstance(raw_input, (list, tuple)):
                raise TypeError(
                    f"action input must be a list of workflow arguments, got {type(raw_input).__name__}"
                )
            context = self._payloads.context(
                "schedule_input", schedule_id=schedule_id, workflow_type=workflow_type, task_queue=task_queue
            )
            out["input"] = self._payloads.envelope_args(list(raw_input), context=context)
        return out

    def _search_attributes(
        self, value: dict[str, Any] | None, schedule_id: str | None
    ) -> dict[str, Any] | None:
        if value is not None:
            self._payloads.warn_json(
                value, context=self._payloads.context("schedule_search_attributes", schedule_id=schedule_id)
            )
        return value

    def get_schedule_handle(self, schedule_id: str) -> ScheduleHandle:
        """A handle to an existing schedule; no network call."""
        return ScheduleHandle(self._as_client(), schedule_id)

    async def create_schedule(
        self,
        *,
        schedule_id: str | None = None,
        spec: ScheduleSpec | dict[str, Any],
        action: ScheduleAction | dict[str, Any],
        overlap_policy: str | None = None,
        jitter_seconds: int | None = None,
        max_runs: int | None = None,
        memo: dict[str, Any] | None = None,
        search_attributes: dict[str, Any] | None = None,
        paused: bool = False,
        note: str | None = None,
    ) -> ScheduleHandle:
        """Create a schedule (the server picks an id when ``schedule_id`` is None).

        An existing id raises ``ScheduleAlreadyExists``. Not repeated once it may have reached the server.
        """
        _check_overlap(overlap_policy)
        body: dict[str, Any] = {"spec": _spec_dict(spec), "action": self._action_dict(action, schedule_id)}
        body.update(
            drop_none(
                schedule_id=schedule_id,
                overlap_policy=overlap_policy,
                jitter_seconds=jitter_seconds,
                max_runs=max_runs,
                memo=memo,
                search_attributes=self._search_attributes(search_attributes, schedule_id),
                note=note,
            )
        )
        if paused:
            body["paused"] = True
        reply = await self._transport.call(
            "POST", "/schedules", body=body, retry=Retry.UNSENT_ONLY, context=_ctx(schedule_id or "")
        )
        data = reply.body if isinstance(reply.body, Mapping) else {}
        created_id = data.get("schedule_id")
        return ScheduleHandle(
            self._as_client(), created_id if isinstance(created_id, str) else schedule_id or ""
        )

    async def list_schedules(self) -> ScheduleList:
        """The namespace's schedules (summary fields)."""
        reply = await self._transport.call("GET", "/schedules", retry=Retry.SAFE, context=ErrorContext())
        return ScheduleList.from_dict(expect_object(reply.body, "invalid_schedule_response"))

    async def describe_schedule(self, schedule_id: str) -> ScheduleDescription:
        """A schedule's definition, state and counters."""
        reply = await self._transport.call(
            "GET",
            "/schedules/{schedule_id}",
            path_params={"schedule_id": schedule_id},
            retry=Retry.SAFE,
            context=_ctx(schedule_id),
        )
        return ScheduleDescription.from_dict(expect_object(reply.body, "invalid_schedule_response"))

    async def update_schedule(
        self,
        schedule_id: str,
        *,
        spec: ScheduleSpec | dict[str, Any] | None = None,
        action: ScheduleAction | dict[str, Any] | None = None,
        overlap_policy: str | None = None,
        jitter_seconds: int | None = None,
        max_runs: int | None = None,
        memo: dict[str, Any] | None = None,
        search_attributes: dict[str, Any] | None = None,
        note: str | None = None,
    ) -> None:
        """Change the given fields only (``action`` is merged into the stored action)."""
        _check_overlap(overlap_policy)
        body = drop_none(
            spec=_spec_dict(spec) if spec is not None else None,
            action=self._action_dict(action, schedule_id) if action is not None else None,
            overlap_policy=overlap_policy,
            jitter_seconds=jitter_seconds,
            max_runs=max_runs,
            memo=memo,
            search_attributes=self._search_attributes(search_attributes, schedule_id),
            note=note,
        )
        await self._transport.call(
            "PUT",
            "/schedules/{schedule_id}",
            path_params={"schedule_id": schedule_id},
            body=body,
            retry=Retry.SAFE,
            context=_ctx(schedule_id),
        )

    async def _post(self, schedule_id: str, action: str, body: dict[str, Any], retry: Retry) -> Any:
        reply = await self._transport.call(
            "POST",
            "/schedules/{schedule_id}/" + action,
            path_params={"schedule_id": schedule_id},
            body=body,
            retry=retry,
            context=_ctx(schedule_id),
        )
        return reply.body

    async def pause_schedule(self, schedule_id: str, *, note: str | None = None) -> None:
        """Stop firing until resumed; ``note`` is recorded on the audit event."""
        await self._post(schedule_id, "pause", drop_none(note=note), Retry.UNSENT_ONLY)

    async def resume_schedule(self, schedule_id: str, *, note: str | None = None) -> None:
        """Fire again; ``note`` replaces the stored note."""
        await self._post(schedule_id, "resume", drop_none(note=note), Retry.UNSENT_ONLY)

    async def trigger_schedule(
        self, schedule_id: str, *, overlap_policy: str | None = None
    ) -> ScheduleTriggerResult:
        """Fire once now; ``overlap_policy`` overrides the schedule's for this fire only."""
        _check_overlap(overlap_policy)
        body = await self._post(
            schedule_id, "trigger", drop_none(overlap_policy=overlap_policy), Retry.UNSENT_ONLY
        )
        return ScheduleTriggerResult.from_dict(
            expect_object(body, "invalid_schedule_trigger_response"), schedule_id=schedule_id
        )

    async def backfill_schedule(
        self, schedule_id: str, *, start_time: str, end_time: str, overlap_policy: str | None = None
    ) -> ScheduleBackfillResult:
        """Fire for every time the spec matches in the ISO-8601 window ``[start_time, end_time)``."""
        _check_overlap(overlap_policy)
        body: dict[str, Any] = {"start_time": start_time, "end_time": end_time}
        body.update(drop_none(overlap_policy=overlap_policy))
        data = await self._post(schedule_id, "backfill", body, Retry.UNSENT_ONLY)
        return ScheduleBackfillResult.from_dict(
            expect_object(data, "invalid_schedule_backfill_response"), schedule_id=schedule_id
        )

    async def delete_schedule(self, schedule_id: str) -> None:
        """Delete a schedule; running workflows continue and the audit history stays readable."""
        await self._transport.call(
            "DELETE",
            "/schedules/{schedule_id}",
            path_params={"schedule_id": schedule_id},
            retry=Retry.SAFE,
            context=_ctx(schedule_id),
        )

    async def get_schedule_history(
        self, schedule_id: str, *, limit: int | None = None, after_sequence: int | None = None
    ) -> ScheduleHistoryPage:
        """One page of the schedule's audit events after ``after_sequence`` (server limit 1..500)."""
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise ValueError(f"limit must be a positive int, got {limit!r}")
        if after_sequence is not None and (
            isinstance(after_sequence, bool) or not isinstance(after_sequence, int) or after_sequence < 0
        ):
            raise ValueError(f"after_sequence must be a non-negative int, got {after_sequence!r}")
        reply = await self._transport.call(
            "GET",
            "/schedules/{schedule_id}/history",
            path_params={"schedule_id": schedule_id},
            query=drop_none(limit=limit, after_sequence=after_sequence),
            retry=Retry.SAFE,
            context=_ctx(schedule_id),
        )
        return ScheduleHistoryPage.from_dict(
            expect_object(reply.body, "invalid_schedule_history_response"), schedule_id=schedule_id
        )

    async def iter_schedule_history(
        self, schedule_id: str, *, limit: int | None = None, after_sequence: int | None = None
    ) -> AsyncIterator[ScheduleHistoryEvent]:
        """Every audit event from ``after_sequence`` on, following pages until the last one."""
        cursor = after_sequence
        while True:
            page = await self.get_schedule_history(schedule_id, limit=limit, after_sequence=cursor)
            for event in page.events:
                yield event
            if not page.has_more or page.next_cursor is None or page.next_cursor == cursor:
                return
            cursor = page.next_cursor
