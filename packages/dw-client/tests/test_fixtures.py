"""Every recorded request/response fixture: our request equals the fixture's, its response parses.

The client talks HTTP to a recording ASGI app (conftest.RecordingServer) that answers with the
fixture's recorded response; no client code is mocked.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import os
import pathlib
from collections.abc import Callable
from typing import Any

import pytest
from dw_client import (
    BridgeAdapterOutcome,
    Client,
    NamespaceDescription,
    NamespaceList,
    ScheduleBackfillResult,
    ScheduleDescription,
    ScheduleHandle,
    ScheduleHistoryPage,
    ScheduleList,
    ScheduleTriggerResult,
    SearchAttributeList,
    StorageTestResult,
    TaskQueueBuildIdRollout,
    TaskQueueBuildIdRolloutState,
    TaskQueueDescription,
    TaskQueueList,
    WorkerDescription,
    WorkerList,
    WorkflowCommandResult,
    WorkflowExecution,
    WorkflowHandle,
    WorkflowList,
    WorkflowRun,
    WorkflowRunList,
)
from dw_core import serializer
from dw_core.metrics import CLIENT_REQUESTS, InMemoryMetrics, route_template

# The recorded fixtures in shared/ beside the repository; the root conftest sets DW_SHARED_DIR.
FIXTURES = pathlib.Path(os.environ["DW_SHARED_DIR"]) / "fixtures" / "control-plane"

# SDK method for fixtures that do not name one (control-plane.md §11).
METHOD_BY_OPERATION = {
    "workflow.start": "start_workflow",
    "workflow.describe": "describe_workflow",
    "workflow.history": "get_history",
    "workflow.signal": "signal_workflow",
    "workflow.query": "query_workflow",
    "workflow.update": "update_workflow",
    "workflow.cancel": "cancel_workflow",
    "workflow.terminate": "terminate_workflow",
    "namespace.list": "list_namespaces",
    "namespace.describe": "describe_namespace",
    "namespace.create": "create_namespace",
    "namespace.update": "update_namespace",
    "namespace.delete": "delete_namespace",
}

# Documented return type of each method (public-api §3.2); None = returns None; dict = raw JSON object.
RETURN_TYPE: dict[str, type[Any] | None] = {
    "start_workflow": WorkflowHandle,
    "describe_workflow": WorkflowExecution,
    "list_workflows": WorkflowList,
    "list_workflow_runs": WorkflowRunList,
    "describe_workflow_run": WorkflowRun,
    "get_history": dict,
    "export_history": dict,
    "signal_workflow": None,
    "query_workflow": dict,
    "update_workflow": dict,
    "cancel_workflow": None,
    "terminate_workflow": None,
    "repair_workflow": WorkflowCommandResult,
    "archive_workflow": WorkflowCommandResult,
    "send_webhook_bridge_event": BridgeAdapterOutcome,
    "create_schedule": ScheduleHandle,
    "list_schedules": ScheduleList,
    "describe_schedule": ScheduleDescription,
    "update_schedule": None,
    "pause_schedule": None,
    "resume_schedule": None,
    "trigger_schedule": ScheduleTriggerResult,
    "delete_schedule": None,
    "backfill_schedule": ScheduleBackfillResult,
    "get_schedule_history": ScheduleHistoryPage,
    "list_namespaces": NamespaceList,
    "describe_namespace": NamespaceDescription,
    "create_namespace": NamespaceDescription,
    "update_namespace": NamespaceDescription,
    "delete_namespace": NamespaceDescription,
    "set_namespace_external_storage": NamespaceDescription,
    "test_external_storage": StorageTestResult,
    "list_task_queues": TaskQueueList,
    "describe_task_queue": TaskQueueDescription,
    "list_task_queue_build_ids": TaskQueueBuildIdRollout,
    "drain_task_queue_build_id": TaskQueueBuildIdRolloutState,
    "promote_task_queue_build_id": TaskQueueBuildIdRolloutState,
    "resume_task_queue_build_id": TaskQueueBuildIdRolloutState,
    "list_workers": WorkerList,
    "describe_worker": WorkerDescription,
    "deregister_worker": dict,
    "list_search_attributes": SearchAttributeList,
    "create_search_attribute": dict,
    "delete_search_attribute": dict,
    "repair_status": dict,
    "repair_pass": dict,
    "retention_status": dict,
    "retention_pass": dict,
    "activity_timeout_status": dict,
    "activity_timeout_pass": dict,
    "register_worker": dict,
    "poll_workflow_task": dict,
    "poll_query_task": dict,
    "workflow_task_history": dict,
    "complete_workflow_task": dict,
    "fail_workflow_task": dict,
    "complete_query_task": dict,
    "fail_query_task": dict,
    "complete_activity_task": dict,
    "fail_activity_task": dict,
}

# Body keys the SDK adds beyond the fixture's (CLI-recorded) body, with the check each must pass.
EXTRA_BODY_KEYS: dict[str, Callable[[Any], bool]] = {
    "poll_request_id": lambda v: isinstance(v, str) and v.split("-poll-")[0] in ("wf", "activity", "query"),
}

WORKER_PLANE_PREFIX = "/worker/"


def _fixture_files() -> list[pathlib.Path]:
    files = sorted(FIXTURES.glob("*.json"))
    assert len(files) >= 60, f"expected the 60 shared fixtures in {FIXTURES}"
    return files


def _pop_path(body: dict[str, Any], dotted: str) -> Any:
    *parents, leaf = dotted.split(".")
    node = body
    for key in parents:
        node = node[key]
    return node.pop(leaf)


def _check_parsed(result: Any, response: Any) -> None:
    """Scalar fields the result type shares with the response carry the response's values."""
    if not dataclasses.is_dataclass(result) or not isinstance(response, dict):
        return
    for f in dataclasses.fields(result):
        value = response.get(f.name)
        if isinstance(value, (str, int, bool)) and not isinstance(getattr(result, f.name), (list, dict)):
            assert getattr(result, f.name) == value, f"{type(result).__name__}.{f.name}"


@pytest.mark.parametrize("path", _fixture_files(), ids=lambda p: p.stem)
async def test_fixture_request_and_response(path: pathlib.Path, server: Any, make_client: Any) -> None:
    fixture = json.loads(path.read_text())
    sdk = fixture["sdk_python"]
    method_name = sdk.get("method") or METHOD_BY_OPERATION[fixture["operation"]]
    response = fixture.get("response_body")
    server.reply(200, copy.deepcopy(response) if response is not None else {})

    metrics = InMemoryMetrics()
    client: Client = make_client(token="fixture-token", metrics=metrics)
    try:
        method = getattr(client, method_name)
        result = await method(**sdk.get("args", {}), **sdk.get("kwargs", {}))
    finally:
        await client.aclose()

    assert len(server.requests) == 1
    sent = server.last
    expected_request = fixture["request"]
    assert sent.method == expected_request["method"]
    assert sent.api_path == expected_request["path"]

    # The metrics route tag is the templated path, as dw_core.metrics.route_template would make it.
    (tags,) = [dict(tags) for (name, tags) in metrics.counters if name == CLIENT_REQUESTS]
    assert tags["route"] == route_template(sent.raw_path)
    assert tags["method"] == expected_request["method"] and tags["outcome"] == "ok"

    # Headers of the plane the route belongs to.
    worker_plane = expected_request["path"].startswith(WORKER_PLANE_PREFIX)
    assert sent.headers["authorization"] == "Bearer fixture-token"
    assert sent.headers["x-namespace"] == "default"
    if worker_plane:
        assert sent.headers["x-durable-workflow-protocol-version"] == "1.1"
        assert "x-durable-workflow-control-plane-version" not in sent.headers
    else:
        assert sent.headers["x-durable-workflow-control-plane-version"] == "2"
        assert "x-durable-workflow-protocol-version" not in sent.headers

    # Query string.
    expected_query = expected_request.get("query")
    if expected_query is None and fixture["operation"] == "workflow.list":
        expected_query = fixture["cli"]["expected_query"]  # same filters as the SDK call
    assert sent.query == {k: str(v) for k, v in (expected_query or {}).items()}

    # Body: the SDK-specific expectation when given, else the recorded request body.
    body = copy.deepcopy(sent.body)
    envelope_spec = sdk.get("payload_envelope")
    if "expected_body" in sdk:
        expected_body = copy.deepcopy(sdk["expected_body"])
    else:
        expected_body = copy.deepcopy(expected_request.get("body"))
    if envelope_spec is not None:
        envelope = _pop_path(body, envelope_spec["field"])
        assert set(envelope) == {"codec", "blob"}
        assert envelope["codec"] == envelope_spec["codec"]
        assert serializer.decode_envelope(envelope) == envelope_spec["decoded"]
        if expected_body is not None:
            with contextlib.suppress(KeyError):
                _pop_path(expected_body, envelope_spec["field"])
    if expected_request["method"] in ("GET", "DELETE"):
        assert body is None, "GET/DELETE must not carry a body"
    else:
        assert isinstance(body, dict)
        for key, check in EXTRA_BODY_KEYS.items():
            if key in body and key not in (expected_body or {}):
                assert check(body.pop(key)), key
        assert body == (expected_body if expected_body is not None else {})

    # Response parses into the documented return type.
    expected_type = RETURN_TYPE[method_name]
    if expected_type is None:
        assert result is None
    elif method_name in ("poll_workflow_task", "poll_query_task"):
        assert result == response["task"]
    else:
        assert isinstance(result, expected_type), (method_name, type(result))
        _check_parsed(result, response)
