"""Activities through a real Worker and dev server: context, retries, failures, heartbeats, cancellation."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest
from dw_core import activity, workflow
from dw_core.errors import ActivityCancelled, ActivityFailed, NonRetryableError
from dw_worker import Worker

TIMEOUT = 30.0
attempts: dict[str, list[int]] = defaultdict(list)
saw_cancel: dict[str, threading.Event] = defaultdict(threading.Event)


@activity.defn(name="act.flaky")
def flaky(key: str, failures: int) -> str:
    info = activity.context().info
    attempts[key].append(info.attempt_number)
    if len(attempts[key]) <= failures:
        raise ConnectionError(f"attempt {info.attempt_number} failed")
    return f"ok after {info.attempt_number}"


@activity.defn(name="act.refuses")
async def refuses(key: str) -> None:
    attempts[key].append(activity.context().info.attempt_number)
    raise NonRetryableError("card declined")


class PaymentDeclined(Exception):
    def __init__(self, message: str, details: dict[str, Any]) -> None:
        super().__init__(message)
        self.details = details


@activity.defn(name="act.declines")
def declines() -> None:
    raise PaymentDeclined("declined by issuer", {"code": 51, "retry_at": None})


release_silent = threading.Event()


@activity.defn(name="act.silent")
def silent(seconds: float) -> str:
    release_silent.wait(seconds)  # never heartbeats; the test releases it once the timeout was seen
    return "finished too late"


@activity.defn(name="act.sync_heartbeats")
def sync_heartbeats(key: str) -> str:
    ctx = activity.context()
    deadline = time.monotonic() + 20
    try:
        while time.monotonic() < deadline:
            ctx.heartbeat({"alive": True})  # plain call from a pool thread
            time.sleep(0.05)
    except ActivityCancelled:
        saw_cancel[key].set()
        raise
    return "never cancelled"


@activity.defn(name="act.async_heartbeats")
async def async_heartbeats(key: str) -> str:
    ctx = activity.context()
    try:
        for _ in range(400):
            await ctx.heartbeat({"alive": True})
            await asyncio.sleep(0.05)
    except ActivityCancelled:
        saw_cancel[key].set()
        raise
    return "never cancelled"


@activity.defn(name="act.info")
def describe_info() -> dict[str, Any]:
    info = activity.context().info
    return {"type": info.activity_type, "attempt": info.attempt_number, "worker": info.worker_id}


@workflow.defn(name="act.retrying")
class Retrying:
    def run(self, ctx: Any, key: str, failures: int) -> Any:
        from dw_core.retry_policy import ActivityRetryPolicy

        policy = ActivityRetryPolicy(max_attempts=5, backoff_seconds=[1])
        result = yield ctx.schedule_activity("act.flaky", [key, failures], retry_policy=policy)
        return result


@workflow.defn(name="act.non_retryable")
class NonRetryable:
    def run(self, ctx: Any, key: str) -> Any:
        from dw_core.retry_policy import ActivityRetryPolicy

        try:
            yield ctx.schedule_activity(
                "act.refuses", [key], retry_policy=ActivityRetryPolicy(max_attempts=5, backoff_seconds=[1])
            )
        except ActivityFailed as failed:
            return {
                "message": str(failed),
                "type": failed.exception_type,
                "non_retryable": failed.non_retryable,
            }
        return "unexpected success"


@workflow.defn(name="act.failure_details")
class FailureDetails:
    def run(self, ctx: Any) -> Any:
        try:
            yield ctx.schedule_activity("act.declines", [])
        except ActivityFailed as failed:
            return {"type": failed.exception_type, "payload": failed.exception_payload}
        return "unexpected success"


@workflow.defn(name="act.heartbeat_timeout")
class HeartbeatTimeout:
    def run(self, ctx: Any) -> Any:
        try:
            yield ctx.schedule_activity("act.silent", [20.0], heartbeat_timeout=1, start_to_close_timeout=30)
        except ActivityFailed as failed:
            return f"timed out: {failed.failure_category or failed.exception_type or failed}"
        return "no timeout"


@workflow.defn(name="act.long")
class Long:
    def run(self, ctx: Any, activity_type: str, key: str) -> Any:
        result = yield ctx.schedule_activity(activity_type, [key], heartbeat_timeout=10)
        return result


@workflow.defn(name="act.info_wf")
class InfoWorkflow:
    def run(self, ctx: Any) -> Any:
        info = yield ctx.schedule_activity("act.info", [])
        return info


ACTIVITIES: list[Callable[..., Any]] = [
    declines,
    flaky,
    refuses,
    silent,
    sync_heartbeats,
    async_heartbeats,
    describe_info,
]
WORKFLOWS = [FailureDetails, Retrying, NonRetryable, HeartbeatTimeout, Long, InfoWorkflow]


def wf_id() -> str:
    return f"wf-{uuid.uuid4().hex[:12]}"


def worker(client: Any, queue: str, **kwargs: Any) -> Worker:
    return Worker(client, task_queue=queue, workflows=WORKFLOWS, activities=ACTIVITIES, **kwargs)


async def test_activity_context_reports_the_attempt(client: Any, queue: str) -> None:
    w = worker(client, queue, worker_id=f"info-{uuid.uuid4().hex[:6]}")
    async with w:
        handle = await client.start_workflow(
            workflow_type="act.info_wf", task_queue=queue, workflow_id=wf_id()
        )
        info = await handle.result(timeout=TIMEOUT)
    assert info == {"type": "act.info", "attempt": 1, "worker": w.worker_id}


async def test_retries_with_backoff_then_success(client: Any, queue: str) -> None:
    key = uuid.uuid4().hex
    async with worker(client, queue):
        started = time.monotonic()
        handle = await client.start_workflow(
            workflow_type="act.retrying", task_queue=queue, workflow_id=wf_id(), input=[key, 2]
        )
        assert await handle.result(timeout=TIMEOUT) == "ok after 3"
    assert attempts[key] == [1, 2, 3]
    assert time.monotonic() - started >= 2.0  # two 1 s backoffs


async def test_non_retryable_error_skips_the_retry_budget(client: Any, queue: str) -> None:
    key = uuid.uuid4().hex
    async with worker(client, queue):
        handle = await client.start_workflow(
            workflow_type="act.non_retryable", task_queue=queue, workflow_id=wf_id(), input=[key]
        )
        result = await handle.result(timeout=TIMEOUT)
    assert attempts[key] == [1]
    assert result["non_retryable"] is True
    assert "card declined" in result["message"]
    assert result["type"] == "NonRetryableError"


async def test_failure_reports_type_message_and_details(client: Any, queue: str) -> None:
    from dw_core import serializer

    async with worker(client, queue):
        handle = await client.start_workflow(
            workflow_type="act.failure_details", task_queue=queue, workflow_id=wf_id()
        )
        result = await handle.result(timeout=TIMEOUT)
    payload = result["payload"]
    assert result["type"] == "PaymentDeclined"
    assert payload["message"] == "declined by issuer" and payload["non_retryable"] is False
    details = serializer.decode(payload["details"], payload["details_payload_codec"])
    assert details == {"code": 51, "retry_at": None}


async def test_heartbeat_timeout_fails_the_activity(client: Any, queue: str) -> None:
    async with worker(client, queue, shutdown_timeout=0.1):  # do not wait for the abandoned attempt
        handle = await client.start_workflow(
            workflow_type="act.heartbeat_timeout", task_queue=queue, workflow_id=wf_id()
        )
        try:
            result = await handle.result(timeout=TIMEOUT)
        finally:
            release_silent.set()
    assert result.startswith("timed out")


@pytest.mark.parametrize("activity_type", ["act.sync_heartbeats", "act.async_heartbeats"])
async def test_cancelling_the_workflow_cancels_the_running_activity(
    client: Any, queue: str, activity_type: str
) -> None:
    from dw_core.errors import WorkflowCancelled

    key = uuid.uuid4().hex
    async with worker(client, queue):
        handle = await client.start_workflow(
            workflow_type="act.long", task_queue=queue, workflow_id=wf_id(), input=[activity_type, key]
        )
        await _wait_for_event(client, handle, "ActivityStarted")
        await handle.cancel(reason="test")
        assert await asyncio.to_thread(saw_cancel[key].wait, TIMEOUT)
        with pytest.raises(WorkflowCancelled):
            await handle.result(timeout=TIMEOUT)


async def _wait_for_event(client: Any, handle: Any, event_type: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        description = await handle.describe()
        if description.run_id:
            history = await client.get_history(handle.workflow_id, description.run_id)
            if any(e.get("event_type") == event_type for e in history.get("events", [])):
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{event_type} never recorded")
