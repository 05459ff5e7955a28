"""Standalone activities: durable activity jobs run without a user workflow."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from dw_core.errors import ErrorContext, WorkflowCancelled, WorkflowFailed, WorkflowTerminated

from dw_client.handles import StandaloneActivityHandle
from dw_client.models.activities import StandaloneActivityExecution, StandaloneActivityList
from dw_client.operations._core import ClientCore, drop_none, expect_object
from dw_client.transport import Retry

_CANCELLED = frozenset({"cancelled", "canceled"})


def _ctx(activity_id: str) -> ErrorContext:
    return ErrorContext(resource="activity", resource_id=activity_id)


class ActivityOperations(ClientCore):
    """Standalone activity operations (mixed into ``Client``)."""

    async def start_activity(
        self,
        *,
        activity_type: str,
        task_queue: str,
        activity_id: str | None = None,
        activity_class: str | None = None,
        input: list[Any] | None = None,
        business_key: str | None = None,
        retry_policy: dict[str, Any] | None = None,
        start_to_close_timeout_seconds: int | None = None,
        schedule_to_start_timeout_seconds: int | None = None,
        schedule_to_close_timeout_seconds: int | None = None,
        heartbeat_timeout_seconds: int | None = None,
    ) -> StandaloneActivityHandle:
        """Start a standalone activity; the server generates ``activity_id`` when omitted."""
        body: dict[str, Any] = {"activity_type": activity_type, "task_queue": task_queue}
        if input is not None:
            context = self._payloads.context(
                "activity_input", activity_name=activity_type, task_queue=task_queue
            )
            body["input"] = self._payloads.envelope_args(input, context=context)
        body.update(
            drop_none(
                activity_id=activity_id,
                activity_class=activity_class,
                business_key=business_key,
                retry_policy=retry_policy,
                start_to_close_timeout_seconds=start_to_close_timeout_seconds,
                schedule_to_start_timeout_seconds=schedule_to_start_timeout_seconds,
                schedule_to_close_timeout_seconds=schedule_to_close_timeout_seconds,
                heartbeat_timeout_seconds=heartbeat_timeout_seconds,
            )
        )
        reply = await self._transport.call(
            "POST", "/activities", body=body, retry=Retry.UNSENT_ONLY, context=_ctx(activity_id or "")
        )
        data = reply.body if isinstance(reply.body, Mapping) else {}

        def text(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) else None

        return StandaloneActivityHandle(
            self._as_client(),
            text("activity_id") or activity_id or "",
            workflow_run_id=text("workflow_run_id"),
            activity_execution_id=text("activity_execution_id"),
            workflow_type=text("workflow_type") or "",
            activity_type=text("activity_type") or activity_type,
        )

    def get_activity_handle(
        self,
        activity_id: str,
        *,
        workflow_run_id: str | None = None,
        activity_execution_id: str | None = None,
        activity_type: str = "",
    ) -> StandaloneActivityHandle:
        """A handle to an existing standalone activity; no network call."""
        return StandaloneActivityHandle(
            self._as_client(),
            activity_id,
            workflow_run_id=workflow_run_id,
            activity_execution_id=activity_execution_id,
            activity_type=activity_type,
        )

    async def describe_activity(self, activity_id: str) -> StandaloneActivityExecution:
        """A standalone activity's state, with its result decoded once it completed."""
        reply = await self._transport.call(
            "GET",
            "/activities/{activity_id}",
            path_params={"activity_id": activity_id},
            retry=Retry.SAFE,
            context=_ctx(activity_id),
        )
        data = expect_object(reply.body, "invalid_activity_response")
        raw = data.get("result")
        result: Any = None
        if isinstance(raw, Mapping) and ("blob" in raw or "external_storage" in raw):
            codec = data.get("payload_codec")
            result = self._payloads.decode(raw, codec if isinstance(codec, str) else None)
        else:
            result = raw
        return StandaloneActivityExecution.from_dict(data, activity_id=activity_id, result=result)

    async def list_activities(
        self, *, status: str | None = None, page_size: int | None = None, next_page_token: str | None = None
    ) -> StandaloneActivityList:
        """One page of standalone activities (``status``: running, completed or failed)."""
        reply = await self._transport.call(
            "GET",
            "/activities",
            query=drop_none(status=status, page_size=page_size, next_page_token=next_page_token),
            retry=Retry.SAFE,
            context=ErrorContext(),
        )
        return StandaloneActivityList.from_dict(expect_object(reply.body, "invalid_activity_list_response"))

    async def get_activity_result(
        self, handle: StandaloneActivityHandle, *, poll_interval: float = 0.5, timeout: float = 30.0
    ) -> Any:
        """Wait for a standalone activity to close and return its result.

        ``failed`` raises ``WorkflowFailed``, ``terminated`` ``WorkflowTerminated``, ``cancelled``
        ``WorkflowCancelled``; ``TimeoutError`` after ``timeout`` seconds.
        """
        if poll_interval <= 0:
            raise ValueError(f"poll_interval must be positive, got {poll_interval}")
        deadline = time.monotonic() + timeout
        while True:
            execution = await self.describe_activity(handle.activity_id)
            status = execution.status
            if status == "completed":
                return execution.result
            if status == "failed":
                raise WorkflowFailed(execution.closed_reason or "activity failed", execution.activity_class)
            if status == "terminated":
                raise WorkflowTerminated(execution.closed_reason or "activity was terminated")
            if status in _CANCELLED:
                raise WorkflowCancelled(execution.closed_reason or "activity was cancelled")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"standalone activity {handle.activity_id} did not close within {timeout} s "
                    f"(last status: {status})"
                )
            await asyncio.sleep(min(poll_interval, remaining))
