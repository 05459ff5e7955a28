"""Payload handling (envelopes, size warnings, external storage) and tolerant result models.

Requests go over HTTP to the recording ASGI app of conftest; standalone activities are tested here
because the dev server has no ``/api/activities`` routes (they are SDK-only in the spec too).
"""

from __future__ import annotations

import dataclasses
import logging
import pathlib
from typing import Any

import pytest
from dw_client import (
    DEFAULT_SDK_VERSION,
    BridgeAdapterOutcome,
    NamespaceDescription,
    ScheduleDescription,
    ScheduleHistoryPage,
    SearchAttributeList,
    StandaloneActivityExecution,
    StandaloneActivityHandle,
    StandaloneActivityList,
    StorageTestResult,
    TaskQueueBuildIdCohort,
    TaskQueueBuildIdRollout,
    TaskQueueBuildIdRolloutState,
    TaskQueueDescription,
    WorkerDescription,
    WorkerList,
    WorkflowCommandResult,
    WorkflowExecution,
    WorkflowList,
    WorkflowRun,
    WorkflowRunList,
)
from dw_client.models import ScheduleList, ScheduleTriggerResult
from dw_core import serializer
from dw_core.errors import WorkflowCancelled, WorkflowFailed, WorkflowTerminated
from dw_core.external_storage import ExternalPayloadReference, LocalFilesystemExternalStorage

# -- payloads -------------------------------------------------------------------------------------


async def test_large_input_is_offloaded_to_external_storage(
    server: Any, make_client: Any, tmp_path: pathlib.Path
) -> None:
    storage = LocalFilesystemExternalStorage(tmp_path)
    big = {"blob": "x" * 5000}
    server.reply(201, {"workflow_id": "big-1", "run_id": "r1", "workflow_type": "t"})
    async with make_client(external_storage=storage, external_storage_threshold_bytes=1024) as client:
        await client.start_workflow(workflow_type="t", task_queue="q", workflow_id="big-1", input=[big])
        small = serializer.envelope(["small"])
        server.reply(201, {"workflow_id": "small-1", "workflow_type": "t"})
        await client.start_workflow(workflow_type="t", task_queue="q", workflow_id="small-1", input=["small"])
    offloaded, inline = (request.body["input"] for request in server.requests)
    assert set(offloaded) == {"codec", "external_storage"}
    reference = ExternalPayloadReference.from_dict(offloaded["external_storage"])
    assert reference.size_bytes > 1024
    assert serializer.decode_envelope(offloaded, external_storage=storage) == [big]
    assert inline == small


async def test_describe_decodes_inline_and_external_envelopes(
    server: Any, make_client: Any, tmp_path: pathlib.Path
) -> None:
    storage = LocalFilesystemExternalStorage(tmp_path)
    output = serializer.external_storage_envelope({"total": 99}, external_storage=storage, threshold_bytes=1)
    server.reply(
        200,
        {
            "workflow_id": "wf",
            "run_id": "r",
            "workflow_type": "t",
            "status": "completed",
            "payload_codec": "avro",
            "input": "server-side copy",
            "input_envelope": serializer.envelope([1, "two"]),
            "output_envelope": output,
        },
    )
    async with make_client(external_storage=storage) as client:
        execution = await client.describe_workflow("wf")
    assert execution.input == [1, "two"]
    assert execution.output == {"total": 99}


async def test_payload_size_warning_is_logged_with_context(
    server: Any, make_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="durable_workflow.serializer")
    async with make_client(
        payload_size_limit_bytes=1000, payload_size_warning_threshold_percent=50
    ) as client:
        await client.signal_workflow("wf-9", "big", args=["y" * 600])
        await client.signal_workflow("wf-9", "small", args=["y"])
    records = [r for r in caplog.records if hasattr(r, "durable_workflow_payload")]
    assert len(records) == 1
    payload = records[0].durable_workflow_payload
    assert payload["kind"] == "signal"
    assert payload["workflow_id"] == "wf-9" and payload["signal_name"] == "big"
    assert payload["namespace"] == "default"
    assert payload["threshold_bytes"] == 500 and payload["limit_bytes"] == 1000


async def test_payload_size_warnings_can_be_turned_off(
    server: Any, make_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="durable_workflow.serializer")
    async with make_client(payload_size_limit_bytes=100, payload_size_warnings=False) as client:
        await client.signal_workflow("wf", "big", args=["y" * 600])
    assert not [r for r in caplog.records if hasattr(r, "durable_workflow_payload")]


async def test_non_json_input_is_refused_before_sending(server: Any, make_client: Any) -> None:
    async with make_client() as client:
        with pytest.raises(TypeError):
            await client.start_workflow(workflow_type="t", task_queue="q", workflow_id="w", input=[object()])
        with pytest.raises(TypeError, match="list"):
            await client.start_workflow(workflow_type="t", task_queue="q", workflow_id="w", input="abc")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="priority"):
            await client.start_workflow(workflow_type="t", task_queue="q", workflow_id="w", priority=10)
    assert server.requests == []


async def test_worker_registration_defaults(server: Any, make_client: Any) -> None:
    async with make_client() as client:
        await client.register_worker(worker_id="w", task_queue="q", capabilities=["query_tasks", ""])
        with pytest.raises(ValueError, match="max_concurrent_workflow_tasks"):
            await client.register_worker(worker_id="w", task_queue="q", max_concurrent_workflow_tasks=0)
    body = server.last.body
    assert body["runtime"] == "python"
    assert body["sdk_version"] == DEFAULT_SDK_VERSION
    assert DEFAULT_SDK_VERSION.startswith("durable-workflow-python/")
    assert body["supported_workflow_types"] == [] and body["supported_activity_types"] == []
    assert body["capabilities"] == ["query_tasks"]
    assert "build_id" not in body and "workflow_definition_fingerprints" not in body


# -- standalone activities ------------------------------------------------------------------------


async def test_standalone_activity_start_describe_list_and_cancel(server: Any, make_client: Any) -> None:
    server.reply(
        201,
        {
            "activity_id": "act-1",
            "workflow_run_id": "run-1",
            "activity_execution_id": "exec-1",
            "workflow_type": "dw.standalone_activity",
            "activity_type": "email.send",
        },
    )
    server.reply(
        200,
        {
            "activity_id": "act-1",
            "status": "completed",
            "payload_codec": "avro",
            "result": serializer.envelope({"sent": True}),
            "attempt_count": 1,
        },
    )
    server.reply(200, {"activities": [{"activity_id": "act-1", "status": "completed"}], "activity_count": 1})
    server.reply(200, {"outcome": "cancelled"})
    async with make_client() as client:
        handle = await client.start_activity(
            activity_type="email.send",
            task_queue="mail",
            input=["ada@example.com"],
            retry_policy={"max_attempts": 3},
            start_to_close_timeout_seconds=30,
        )
        assert isinstance(handle, StandaloneActivityHandle)
        assert (handle.activity_id, handle.workflow_run_id, handle.workflow_type) == (
            "act-1",
            "run-1",
            "dw.standalone_activity",
        )
        described = await handle.describe()
        listed = await client.list_activities(status="completed", page_size=10)
        await handle.cancel(reason="stop")
    start, describe, list_request, cancel = server.requests
    assert start.api_path == "/activities"
    assert serializer.decode_envelope(start.body.pop("input")) == ["ada@example.com"]
    assert start.body == {
        "activity_type": "email.send",
        "task_queue": "mail",
        "retry_policy": {"max_attempts": 3},
        "start_to_close_timeout_seconds": 30,
    }
    assert describe.api_path == "/activities/act-1"
    assert isinstance(described, StandaloneActivityExecution) and described.result == {"sent": True}
    assert list_request.query == {"status": "completed", "page_size": "10"}
    assert isinstance(listed, StandaloneActivityList) and listed.activity_count == 1
    assert cancel.api_path == "/workflows/act-1/cancel" and cancel.body == {"reason": "stop"}


@pytest.mark.parametrize(
    ("status", "error"),
    [("failed", WorkflowFailed), ("terminated", WorkflowTerminated), ("cancelled", WorkflowCancelled)],
)
async def test_standalone_activity_result_outcomes(
    server: Any, make_client: Any, status: str, error: type[BaseException]
) -> None:
    server.reply(200, {"activity_id": "a", "status": "running"})
    server.reply(200, {"activity_id": "a", "status": status, "closed_reason": f"it {status}"})
    async with make_client() as client:
        with pytest.raises(error, match=f"it {status}"):
            await client.get_activity_handle("a").result(poll_interval=0.01, timeout=5)
    assert len(server.requests) == 2


async def test_standalone_activity_result_times_out(server: Any, make_client: Any) -> None:
    for _ in range(50):
        server.reply(200, {"activity_id": "a", "status": "running"})
    async with make_client() as client:
        with pytest.raises(TimeoutError, match="did not close"):
            await client.get_activity_result(
                client.get_activity_handle("a"), poll_interval=0.01, timeout=0.05
            )


# -- tolerant models ------------------------------------------------------------------------------

MODELS_WITH_FROM_DICT = [
    WorkflowExecution,
    WorkflowList,
    WorkflowRun,
    WorkflowRunList,
    WorkflowCommandResult,
    NamespaceDescription,
    StorageTestResult,
    StandaloneActivityExecution,
    StandaloneActivityList,
    SearchAttributeList,
    TaskQueueDescription,
    TaskQueueBuildIdCohort,
    TaskQueueBuildIdRollout,
    TaskQueueBuildIdRolloutState,
    WorkerDescription,
    WorkerList,
    ScheduleDescription,
    ScheduleList,
    ScheduleTriggerResult,
    ScheduleHistoryPage,
    BridgeAdapterOutcome,
]


@pytest.mark.parametrize("model", MODELS_WITH_FROM_DICT, ids=lambda m: m.__name__)
def test_from_dict_tolerates_missing_and_mistyped_keys(model: Any) -> None:
    empty = model.from_dict({})
    assert dataclasses.is_dataclass(empty)
    garbage = {f.name: object() for f in dataclasses.fields(model)}
    assert dataclasses.is_dataclass(model.from_dict(garbage))


def test_php_empty_maps_and_flat_or_nested_schedule_fields() -> None:
    run = WorkflowRun.from_dict({"workflow_id": "w", "run_id": "r", "memo": [], "search_attributes": []})
    assert run.memo == {} and run.search_attributes == {}
    attributes = SearchAttributeList.from_dict(
        {"system_attributes": {"WorkflowId": "keyword"}, "custom_attributes": []}
    )
    assert attributes.custom_attributes == {}
    nested = ScheduleDescription.from_dict(
        {
            "schedule_id": "s",
            "state": {"status": "paused", "note": "hold"},
            "info": {"next_fire": "2026-01-01T00:00:00Z", "fires_count": 4},
        }
    )
    assert (nested.status, nested.note, nested.next_fire_at, nested.fires_count) == (
        "paused",
        "hold",
        "2026-01-01T00:00:00Z",
        4,
    )
    page = ScheduleHistoryPage.from_dict({"schedule_id": "s", "next_cursor": "7", "has_more": True})
    assert page.next_cursor is None and page.has_more
    cohort = TaskQueueBuildIdCohort.from_dict({"build_id": None, "rollout_status": "active"})
    assert cohort.build_id is None and cohort.new_start_selected is False
    assert WorkflowRunList.from_dict({"runs": [{"run_id": "r1"}]}, workflow_id="w").runs[0].workflow_id == "w"
    listed = WorkflowList.from_dict({"workflows": [{"workflow_id": "a"}, "junk"]})
    assert [e.workflow_id for e in listed.executions] == ["a"]


async def test_undecodable_envelope_falls_back_to_the_servers_decoded_copy(
    server: Any, make_client: Any
) -> None:
    server.reply(
        200,
        {
            "workflow_id": "wf",
            "workflow_type": "t",
            "input": ["php-decoded"],
            "input_envelope": {"codec": "workflow-serializer-y", "blob": "opaque"},
        },
    )
    server.reply(
        200, {"workflow_id": "wf", "workflow_type": "t", "output_envelope": {"codec": "avro", "blob": "!!"}}
    )
    async with make_client() as client:
        assert (await client.describe_workflow("wf")).input == ["php-decoded"]
        with pytest.raises(ValueError):
            await client.describe_workflow("wf")
