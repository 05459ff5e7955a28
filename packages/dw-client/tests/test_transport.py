"""Transport behaviour a user notices: URLs, headers, tokens, errors, retries over HTTP, metrics.

Requests go over httpx to a recording ASGI app (conftest.RecordingServer) that scripts the answers.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from dw_client import Client
from dw_core.errors import (
    InvalidArgument,
    NamespaceNotFound,
    QueryFailed,
    ScheduleAlreadyExists,
    ScheduleNotFound,
    ServerError,
    SignalFailed,
    Unauthorized,
    UpdateRejected,
    WorkflowAlreadyStarted,
    WorkflowNotFound,
)
from dw_core.metrics import CLIENT_REQUEST_DURATION_SECONDS, CLIENT_REQUESTS, InMemoryMetrics
from dw_core.retry_policy import TransportRetryPolicy

FAST_RETRIES = TransportRetryPolicy(max_attempts=3, initial_backoff_seconds=0.01, max_backoff_seconds=0.02)


# -- base URL -------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["http://h:1/api", "http://h:1/api/", "https://h/prefix/api"])
def test_trailing_api_is_refused_with_what_to_remove(url: str) -> None:
    with pytest.raises(ValueError, match=r"remove the trailing '/api'") as info:
        Client(url)
    assert repr(url.rstrip("/")[: -len("/api")]) in str(info.value)


@pytest.mark.parametrize("url", ["", "127.0.0.1:8080", "ftp://h", "http://h?x=1"])
def test_malformed_base_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="base_url"):
        Client(url)


async def test_base_url_with_path_prefix_keeps_it(server: Any, make_client: Any) -> None:
    async with make_client(base_url="http://testserver/tenants/a/") as client:
        assert client.base_url == "http://testserver/tenants/a"
        server.reply(200, {"status": "serving"})
        await client.health()
    assert server.last.raw_path == "/tenants/a/api/health"


# -- headers and tokens ---------------------------------------------------------------------------


async def test_single_token_goes_to_both_planes(server: Any, make_client: Any) -> None:
    async with make_client(token="shared", namespace="billing") as client:
        await client.health()
        control = server.last
        await client.heartbeat_worker(worker_id="w1")
        worker = server.last
    for request in (control, worker):
        assert request.headers["authorization"] == "Bearer shared"
        assert request.headers["x-namespace"] == "billing"
        assert request.headers["content-type"] == "application/json"
        assert request.headers["accept"] == "application/json"
    assert control.headers["x-durable-workflow-control-plane-version"] == "2"
    assert "x-durable-workflow-protocol-version" not in control.headers
    assert worker.headers["x-durable-workflow-protocol-version"] == "1.1"
    assert "x-durable-workflow-control-plane-version" not in worker.headers


@pytest.mark.parametrize(
    ("kwargs", "control", "worker"),
    [
        ({"control_token": "C", "worker_token": "W"}, "C", "W"),
        ({"token": "T", "control_token": "C"}, "C", "T"),
        ({"token": "T", "worker_token": "W"}, "T", "W"),
        ({"control_token": "C"}, "C", "C"),
        ({"worker_token": "W"}, "W", "W"),
    ],
)
async def test_token_resolution_per_plane(
    server: Any, make_client: Any, kwargs: dict[str, str], control: str, worker: str
) -> None:
    async with make_client(**kwargs) as client:
        await client.get_cluster_info()
        assert server.last.headers["authorization"] == f"Bearer {control}"
        await client.register_worker(worker_id="w", task_queue="q")
        assert server.last.headers["authorization"] == f"Bearer {worker}"


async def test_no_token_sends_no_authorization(server: Any, make_client: Any) -> None:
    async with make_client() as client:
        await client.health()
    assert "authorization" not in server.last.headers


async def test_version_headers_follow_environment_overrides(
    server: Any, make_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DURABLE_WORKFLOW_CONTROL_PLANE_VERSION", "3")
    monkeypatch.setenv("DURABLE_WORKFLOW_WORKER_PROTOCOL_VERSION", "1.4")
    async with make_client() as client:
        await client.health()
        assert server.last.headers["x-durable-workflow-control-plane-version"] == "3"
        await client.heartbeat_worker(worker_id="w")
        assert server.last.headers["x-durable-workflow-protocol-version"] == "1.4"


# -- path escaping --------------------------------------------------------------------------------


@pytest.mark.parametrize("workflow_id", ["a/b", "q?x=1", "frag#1", "50%", "with space", "ünï"])
async def test_ids_are_escaped_into_one_path_segment(server: Any, make_client: Any, workflow_id: str) -> None:
    server.reply(200, {"workflow_id": workflow_id, "workflow_type": "t", "status": "running"})
    async with make_client() as client:
        execution = await client.describe_workflow(workflow_id)
        await client.signal_workflow(workflow_id, "go/now?", args=[1])
    assert execution.workflow_id == workflow_id
    describe, signal = server.requests
    segments = describe.api_path.split("/")
    assert segments[:2] == ["", "workflows"] and len(segments) == 3
    assert describe.decoded_api_path == f"/workflows/{workflow_id}"
    assert describe.query == {}
    assert signal.api_path.count("/") == 4
    assert signal.decoded_api_path == f"/workflows/{workflow_id}/signal/go/now?"


# -- error mapping --------------------------------------------------------------------------------


async def _error_for(server: Any, make_client: Any, call: Any, status: int, body: Any) -> BaseException:
    server.reply(status, body)
    async with make_client(retry_policy=TransportRetryPolicy(max_attempts=1)) as client:
        with pytest.raises(BaseException) as info:
            await call(client)
    return info.value


@pytest.mark.parametrize(
    ("call", "status", "body", "expected", "attrs"),
    [
        (lambda c: c.health(), 401, {"reason": "unauthorized", "message": "bad token"}, Unauthorized, {}),
        (
            lambda c: c.signal_workflow("wf", "s"),
            404,
            {"reason": "unknown_signal", "message": "no such signal"},
            SignalFailed,
            {"reason": "unknown_signal", "status": 404},
        ),
        (
            lambda c: c.query_workflow("wf", "q"),
            404,
            {"reason": "rejected_unknown_query", "message": "nope"},
            QueryFailed,
            {"reason": "rejected_unknown_query", "status": 404},
        ),
        (
            lambda c: c.describe_schedule("sched-1"),
            404,
            {"reason": "schedule_not_found"},
            ScheduleNotFound,
            {"schedule_id": "sched-1"},
        ),
        (
            lambda c: c.describe_workflow("order-1"),
            404,
            {"reason": "instance_not_found"},
            WorkflowNotFound,
            {"workflow_id": "order-1"},
        ),
        (
            lambda c: c.describe_namespace("ghost"),
            404,
            {"reason": "namespace_not_found", "namespace": "ghost"},
            NamespaceNotFound,
            {"namespace": "ghost"},
        ),
        (
            lambda c: c.create_schedule(
                spec={"cron_expressions": ["* * * * *"]}, action={"workflow_type": "t"}, schedule_id="dup"
            ),
            409,
            {"reason": "schedule_already_exists", "schedule_id": "dup"},
            ScheduleAlreadyExists,
            {"schedule_id": "dup"},
        ),
        (
            lambda c: c.start_workflow(workflow_type="t", task_queue="q", workflow_id="wf-9"),
            409,
            {"reason": "duplicate_not_allowed", "outcome": "rejected_duplicate"},
            WorkflowAlreadyStarted,
            {"workflow_id": "wf-9"},
        ),
        (
            lambda c: c.signal_workflow("wf", "s", args=[1]),
            409,
            {"reason": "run_not_active", "control_plane": {"operation": "signal"}},
            SignalFailed,
            {"reason": "run_not_active", "status": 409},
        ),
        (
            lambda c: c.query_workflow("wf", "q"),
            409,
            {"reason": "query_worker_unavailable"},
            QueryFailed,
            {"reason": "query_worker_unavailable"},
        ),
        (
            lambda c: c.update_workflow("wf", "u"),
            409,
            {"reason": "update_rejected", "message": "validator said no"},
            UpdateRejected,
            {},
        ),
        (
            lambda c: c.signal_workflow("wf", "s", args=["x"]),
            422,
            {"reason": "invalid_signal_arguments", "validation_errors": {"input.0": ["must be int"]}},
            SignalFailed,
            {"status": 422, "validation_errors": {"input.0": ["must be int"]}},
        ),
        (
            lambda c: c.query_workflow("wf", "q", args=["x"]),
            422,
            {"reason": "invalid_query_arguments", "errors": {"input": ["bad"]}},
            QueryFailed,
            {"status": 422, "validation_errors": {"input": ["bad"]}},
        ),
        (
            lambda c: c.create_namespace("x"),
            422,
            {"reason": "validation_failed", "message": "bad", "errors": {"name": ["taken"]}},
            InvalidArgument,
            {"errors": {"name": ["taken"]}, "status": 422},
        ),
        (
            lambda c: c.query_workflow("wf", "q"),
            504,
            {"reason": "query_worker_timeout"},
            QueryFailed,
            {"reason": "query_worker_timeout", "status": 504},
        ),
    ],
)
async def test_status_and_reason_become_typed_errors(
    server: Any, make_client: Any, call: Any, status: int, body: Any, expected: type, attrs: dict[str, Any]
) -> None:
    error = await _error_for(server, make_client, call, status, body)
    assert type(error) is expected
    for name, value in attrs.items():
        assert getattr(error, name) == value, name
    assert getattr(error, "status", status) == status


@pytest.mark.parametrize("status", [400, 403, 404, 405, 409, 413, 500, 503])
async def test_unmapped_errors_are_server_errors_keeping_the_body(
    server: Any, make_client: Any, status: int
) -> None:
    body = {"reason": "something_else", "message": "why", "extra": [1, 2]}
    error = await _error_for(server, make_client, lambda c: c.list_workers(), status, body)
    assert isinstance(error, ServerError)
    assert error.status == status
    assert error.body == body
    assert error.reason() == "something_else"


async def test_non_json_error_body_is_kept_as_text(server: Any, make_client: Any) -> None:
    server.reply_raw(502, b"<html>bad gateway</html>")
    async with make_client(retry_policy=TransportRetryPolicy(max_attempts=1)) as client:
        with pytest.raises(ServerError) as info:
            await client.list_namespaces()
    assert info.value.body == "<html>bad gateway</html>"


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        (lambda c: c.get_cluster_info(), "invalid_cluster_info"),
        (lambda c: c.health(), "invalid_health_response"),
        (lambda c: c.describe_namespace("n"), "invalid_namespace_response"),
        (lambda c: c.repair_status(), "invalid_repair_status_response"),
        (lambda c: c.list_task_queue_build_ids("q"), "invalid_task_queue_build_ids_response"),
    ],
)
async def test_success_that_is_not_an_object_is_a_clear_server_error(
    server: Any, make_client: Any, call: Any, reason: str
) -> None:
    server.reply(200, ["not", "an", "object"])
    async with make_client() as client:
        with pytest.raises(ServerError) as info:
            await call(client)
    assert info.value.status == 200
    assert info.value.reason() == reason


# -- retries over HTTP ----------------------------------------------------------------------------


async def test_safe_call_is_retried_after_5xx(server: Any, make_client: Any) -> None:
    server.reply(500, {"reason": "server_error"}).reply(502, {}).reply(200, {"namespaces": []})
    async with make_client(retry_policy=FAST_RETRIES) as client:
        result = await client.list_namespaces()
    assert result.namespaces == []
    assert len(server.requests) == 3


async def test_retries_stop_at_max_attempts_and_raise_the_mapped_error(server: Any, make_client: Any) -> None:
    for _ in range(3):
        server.reply(500, {"reason": "server_error", "message": "boom"})
    async with make_client(retry_policy=FAST_RETRIES) as client:
        with pytest.raises(ServerError) as info:
            await client.list_namespaces()
    assert info.value.status == 500
    assert len(server.requests) == 3


async def test_non_idempotent_call_is_not_repeated_after_a_500(server: Any, make_client: Any) -> None:
    server.reply(500, {"reason": "server_error"}).reply(202, {"outcome": "signal_received"})
    async with make_client(retry_policy=FAST_RETRIES) as client:
        with pytest.raises(ServerError):
            await client.signal_workflow("wf", "approve", args=[True])
    assert len(server.requests) == 1, "a signal that may have been applied must not be sent twice"


@pytest.mark.parametrize("status", [429, 503])
async def test_not_processed_statuses_are_retried_even_for_non_idempotent_calls(
    server: Any, make_client: Any, status: int
) -> None:
    server.reply(status, {"reason": "busy"}).reply(202, {"outcome": "signal_received"})
    async with make_client(retry_policy=FAST_RETRIES) as client:
        await client.signal_workflow("wf", "approve")
    assert len(server.requests) == 2


async def test_retry_after_is_honoured(server: Any, make_client: Any) -> None:
    server.reply(429, {"reason": "slow_down"}, headers={"Retry-After": "0.4"}).reply(200, {"namespaces": []})
    async with make_client(retry_policy=FAST_RETRIES) as client:
        started = time.monotonic()
        await client.list_namespaces()
        waited = time.monotonic() - started
    assert len(server.requests) == 2
    assert waited >= 0.35


async def test_retry_after_beyond_the_policy_cap_is_not_waited_for(server: Any, make_client: Any) -> None:
    server.reply(503, {"reason": "maintenance"}, headers={"Retry-After": "3600"})
    policy = TransportRetryPolicy(max_attempts=3, initial_backoff_seconds=0.01, max_retry_after_seconds=5)
    async with make_client(retry_policy=policy) as client:
        started = time.monotonic()
        with pytest.raises(ServerError) as info:
            await client.list_namespaces()
        assert time.monotonic() - started < 2
    assert info.value.status == 503
    assert len(server.requests) == 1


async def test_4xx_is_never_retried(server: Any, make_client: Any) -> None:
    server.reply(400, {"reason": "malformed_json"}).reply(200, {})
    async with make_client(retry_policy=FAST_RETRIES) as client:
        with pytest.raises(ServerError):
            await client.list_namespaces()
    assert len(server.requests) == 1


# -- metrics --------------------------------------------------------------------------------------


async def test_request_metrics_are_tagged_with_templated_routes(server: Any, make_client: Any) -> None:
    metrics = InMemoryMetrics()
    server.reply(202, {"outcome": "signal_received"}).reply(404, {"reason": "instance_not_found"})
    async with make_client(metrics=metrics, retry_policy=FAST_RETRIES) as client:
        await client.signal_workflow("order/42", "approve")
        with pytest.raises(WorkflowNotFound):
            await client.describe_workflow("order/42")
    ok = {
        "method": "POST",
        "route": "/workflows/{workflow_id}/signal/{name}",
        "plane": "control",
        "status_code": "202",
        "outcome": "ok",
    }
    failed = {
        "method": "GET",
        "route": "/workflows/{workflow_id}",
        "plane": "control",
        "status_code": "404",
        "outcome": "http_error",
    }
    assert metrics.counter_value(CLIENT_REQUESTS, ok) == 1
    assert metrics.counter_value(CLIENT_REQUESTS, failed) == 1
    assert len(metrics.observations(CLIENT_REQUEST_DURATION_SECONDS, ok)) == 1
    assert metrics.observations(CLIENT_REQUEST_DURATION_SECONDS, ok)[0] >= 0


async def test_worker_plane_metrics_use_the_task_placeholder(server: Any, make_client: Any) -> None:
    metrics = InMemoryMetrics()
    server.reply(200, {"outcome": "completed"})
    async with make_client(metrics=metrics) as client:
        await client.complete_workflow_task(
            task_id="t-1", lease_owner="w", workflow_task_attempt=1, commands=[]
        )
    tags = {
        "method": "POST",
        "route": "/worker/workflow-tasks/{task_id}/complete",
        "plane": "worker",
        "status_code": "200",
        "outcome": "ok",
    }
    assert metrics.counter_value(CLIENT_REQUESTS, tags) == 1


# -- lifecycle ------------------------------------------------------------------------------------


async def test_closed_client_refuses_calls_and_close_is_idempotent(server: Any, make_client: Any) -> None:
    client = make_client()
    async with client:
        await client.health()
    assert client.closed
    await client.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await client.health()


def test_constructor_validates_its_settings() -> None:
    with pytest.raises(ValueError, match="external_storage_threshold_bytes"):
        Client("http://h", external_storage_threshold_bytes=0)
    with pytest.raises(ValueError, match="threshold_percent"):
        Client("http://h", payload_size_warning_threshold_percent=150)
    with pytest.raises(ValueError, match="namespace"):
        Client("http://h", namespace="")
    with pytest.raises(ValueError, match="timeout"):
        Client("http://h", timeout=0)
    assert Client("http://h", payload_size_warnings=False).payload_size_warning_config is None


async def test_the_configured_policy_decides_retries(server: Any, make_client: Any) -> None:
    class NeverOn503(TransportRetryPolicy):
        def should_retry(self, exc: BaseException, attempt: int) -> bool:
            response = getattr(exc, "response", None)
            if getattr(response, "status_code", None) == 503:
                return False
            return super().should_retry(exc, attempt)

    policy = NeverOn503(max_attempts=3, initial_backoff_seconds=0.01)
    server.reply(503, {"reason": "busy"}).reply(200, {"namespaces": []})
    async with make_client(retry_policy=policy) as client:
        assert client.retry_policy is policy
        with pytest.raises(ServerError):
            await client.list_namespaces()
        server.replies.clear()
        server.reply(502, {}).reply(200, {"namespaces": []})
        assert (await client.list_namespaces()).namespaces == []
    assert len(server.requests) == 3


@pytest.mark.parametrize("memo", [{"ratio": float("nan")}, {"when": object()}])
async def test_non_json_plain_fields_fail_locally_with_a_clear_error(
    server: Any, make_client: Any, memo: dict[str, Any]
) -> None:
    async with make_client() as client:
        with pytest.raises((TypeError, ValueError), match="memo, search_attributes"):
            await client.start_workflow(workflow_type="t", task_queue="q", workflow_id="w", memo=memo)
    assert server.requests == []
