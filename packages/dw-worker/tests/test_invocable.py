"""Invocable activity carriers: the B14 outcome mapping row by row through real activity functions
(plain and async), the HTTP and Lambda adapters (with a real HTTP round trip), and the published
0.4.84 handler producing the same result envelopes for the same inputs."""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from dw_core import activity, serializer
from dw_core.errors import ActivityCancelled, NonRetryableError
from dw_core.external_storage import LocalFilesystemExternalStorage
from dw_core.external_task_input import ExternalTaskInputError
from dw_core.external_task_result import EXTERNAL_TASK_RESULT_MEDIA_TYPE, parse_external_task_result
from dw_worker.invocable import (
    InvocableActivityHandler,
    InvocableHttpResponse,
    handle_invocable_activity,
    handle_invocable_http_request,
    handle_invocable_lambda_event,
    lambda_invocable_activity_handler,
)

REPO = Path(__file__).resolve().parents[3]
# The recorded fixtures in shared/ beside the repository; the root conftest sets DW_SHARED_DIR.
FIXTURES = Path(os.environ["DW_SHARED_DIR"]) / "fixtures"

# Activity functions shared, as source, with the published SDK's run of the same cases (it needs its own
# error classes, so the text is executed in each process with that process's ActivityCancelled and
# NonRetryableError in scope).
ZOO = r'''
import asyncio, time
from datetime import datetime, timedelta, timezone

def add(a, b):
    return a + b

async def async_add(a, b):
    await asyncio.sleep(0)
    return a + b

def echo(*args):
    return list(args)

def cancel(*args):
    raise ActivityCancelled("stopped by the server")

async def async_cancel(*args):
    raise ActivityCancelled("stopped by the server")

def declined(*args):
    raise NonRetryableError("card declined")

def crash(*args):
    raise RuntimeError("provider down")

async def async_crash(*args):
    raise RuntimeError("provider down")

def bad_amount(*args):
    raise ValueError("bad amount")

async def slow(*args):
    await asyncio.sleep(60)

def sleepy(*args):
    time.sleep(1.5)
    return "late"

def own_timeout(*args):
    raise TimeoutError("provider timed out")

def now(*args):
    return datetime.now(timezone.utc)

HANDLERS = {
    "math.add": add, "math.async-add": async_add, "echo": echo, "cancel": cancel,
    "async-cancel": async_cancel, "declined": declined, "crash": crash, "async-crash": async_crash,
    "bad-amount": bad_amount, "slow": slow, "sleepy": sleepy, "own-timeout": own_timeout,
    "now": now,
}

def at(seconds):
    moment = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

def fill(case):
    """The case's envelope with deadlines relative to now, as the server would stamp them."""
    envelope = case["envelope"]
    if "lease_in" in case:
        envelope["lease"]["expires_at"] = at(case["lease_in"])
    for key, seconds in case.get("deadlines_in", {}).items():
        envelope["deadlines"][key] = at(seconds)
    return envelope
'''

zoo: dict[str, Any] = {"ActivityCancelled": ActivityCancelled, "NonRetryableError": NonRetryableError}
exec(ZOO, zoo)
HANDLERS: dict[str, Callable[..., Any]] = zoo["HANDLERS"]
at: Callable[[float], str] = zoo["at"]
fill: Callable[[dict[str, Any]], dict[str, Any]] = zoo["fill"]

FAR = 3600.0


def fixture(kind: str, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / kind / f"{name}.v1.json").read_text())
    return data


def case(
    handler: str = "math.add",
    arguments: Any = "default",
    *,
    lease_in: float = FAR,
    deadlines_in: dict[str, float] | None = None,
) -> dict[str, Any]:
    """A case: the recorded activity-task fixture with this handler, arguments and relative deadlines."""
    envelope = fixture("external-task-input", "activity-task")
    envelope["task"]["handler"] = handler
    envelope["payloads"]["arguments"] = serializer.envelope([2, 3]) if arguments == "default" else arguments
    envelope["deadlines"] = dict.fromkeys(envelope["deadlines"])
    return {
        "envelope": envelope,
        "lease_in": lease_in,
        "deadlines_in": {"start_to_close": FAR, "schedule_to_close": FAR, **(deadlines_in or {})},
    }


def envelope_for(handler: str = "math.add", arguments: Any = "default", **kwargs: Any) -> dict[str, Any]:
    return fill(case(handler, arguments, **kwargs))


async def run(
    envelope: dict[str, Any], handlers: dict[str, Any] | None = None, **options: Any
) -> dict[str, Any]:
    result = await handle_invocable_activity(envelope, HANDLERS if handlers is None else handlers, **options)
    # Every envelope this carrier produces must be one our own parser accepts.
    parse_external_task_result(result)
    return result


def keys_tree(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: keys_tree(item) for key, item in value.items() if key not in ("payload", "details")}
    return None


def assert_failure(
    result: dict[str, Any],
    kind: str,
    classification: str,
    *,
    retryable: bool,
    failure_type: str | None = None,
    timeout_type: str | None = None,
    cancelled: bool = False,
) -> dict[str, Any]:
    assert result["outcome"] == {"status": "failed", "retryable": retryable, "recorded": True}
    failure: dict[str, Any] = result["failure"]
    assert (failure["kind"], failure["classification"]) == (kind, classification)
    if failure_type is not None:
        assert failure["type"] == failure_type
    assert failure["timeout_type"] == timeout_type
    assert failure["cancelled"] is cancelled
    assert failure["message"]
    # Same shape as the recorded failure fixtures.
    assert keys_tree(result) == keys_tree(fixture("external-task-result", "failure"))
    return failure


def payload_value(result: dict[str, Any]) -> Any:
    return serializer.decode_envelope(result["result"]["payload"])


# -- success --------------------------------------------------------------------------------------


@pytest.mark.parametrize("handler", ["math.add", "math.async-add"])
async def test_success_from_plain_and_async_functions(handler: str) -> None:
    result = await run(envelope_for(handler))
    assert result["outcome"] == {"status": "succeeded", "recorded": True}
    assert result["result"]["payload"]["codec"] == "avro"
    assert payload_value(result) == 5
    assert result["result"]["metadata"] == {"content_type": "application/vnd.durable-workflow.result+json"}
    assert result["task"] == {
        "id": "acttask_01HV7D3G3G61TAH2YB5RK45XJS",
        "kind": "activity_task",
        "attempt": 1,
        "idempotency_key": "attempt_01HV7D3KJ1C8WQNNY8MVM8J40X",
    }
    assert result["metadata"]["handler"] == handler
    assert result["metadata"]["carrier"] == "python-invocable"
    assert isinstance(result["metadata"]["duration_ms"], int) and result["metadata"]["duration_ms"] >= 0
    assert keys_tree(result) == keys_tree(fixture("external-task-result", "success"))
    assert parse_external_task_result(result).succeeded


async def test_json_result_codec_and_custom_carrier_name() -> None:
    result = await run(envelope_for("math.add"), result_codec="json", carrier="billing-lambda")
    assert result["result"]["payload"] == {"codec": "json", "blob": "5"}
    assert result["metadata"]["carrier"] == "billing-lambda"


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (None, []),
        (serializer.envelope(None), []),
        (serializer.envelope({"amount": 12}), [{"amount": 12}]),  # a non-list is one argument
        (serializer.envelope(["a", 1]), ["a", 1]),
        ({"codec": "json", "blob": '["x", {"y": null}]'}, ["x", {"y": None}]),
    ],
)
async def test_arguments_decode_to_positional_arguments(arguments: Any, expected: list[Any]) -> None:
    result = await run(envelope_for("echo", arguments))
    assert payload_value(result) == expected


async def test_activity_context_is_available_inside_the_handler() -> None:
    seen: dict[str, Any] = {}

    def inspect_context() -> str:
        info = activity.context().info
        seen.update(info.__dict__)
        return "ok"

    result = await run(envelope_for("inspect", None), {"inspect": inspect_context}, carrier="lambda-a")
    assert payload_value(result) == "ok"
    assert seen == {
        "task_id": "acttask_01HV7D3G3G61TAH2YB5RK45XJS",
        "activity_type": "inspect",
        "activity_attempt_id": "attempt_01HV7D3KJ1C8WQNNY8MVM8J40X",
        "attempt_number": 1,
        "task_queue": "billing-activities",
        "worker_id": "lambda-a",
    }
    with pytest.raises(RuntimeError):
        activity.context()  # the context does not leak out of the attempt


async def test_plain_functions_do_not_block_the_event_loop() -> None:
    loop_reached = threading.Event()

    def waits_for_the_loop() -> bool:
        # Only true if the loop kept running while this function ran (i.e. it ran on another thread).
        return loop_reached.wait(timeout=30)

    async def set_from_loop() -> None:
        await asyncio.sleep(0)
        loop_reached.set()

    result, _ = await asyncio.gather(
        run(envelope_for("wait", None), {"wait": waits_for_the_loop}), set_from_loop()
    )
    assert payload_value(result) is True


# -- B14 failure rows, in the order they are checked ------------------------------------------------


async def test_workflow_task_input_is_refused_without_running_anything() -> None:
    calls: list[str] = []
    envelope = fixture("external-task-input", "workflow-task")
    result = await run(envelope, {"billing.invoice.workflow": lambda *a: calls.append("ran")})
    assert_failure(
        result,
        "application",
        "application_error",
        retryable=False,
        failure_type="UnsupportedExternalTaskKind",
    )
    assert result["task"]["kind"] == "workflow_task"
    assert result["task"]["idempotency_key"] == "wft_01HV7D2K3X9K2M7YVQ4T0A1B2C:2"
    assert calls == []


@pytest.mark.parametrize(
    ("path", "name"),
    [("lease.expires_at", "lease.expires_at"), ("deadlines.heartbeat", "deadlines.heartbeat")],
)
async def test_an_unparsable_deadline_is_a_decode_failure(path: str, name: str) -> None:
    envelope = envelope_for()
    section, key = path.split(".")
    envelope[section][key] = "tomorrow at noon"
    failure = assert_failure(await run(envelope), "decode_failure", "decode_failure", retryable=False)
    assert failure["details"] == {"deadline": name, "expires_at": "tomorrow at noon"}


@pytest.mark.parametrize(
    ("overrides", "name"),
    [
        ({"lease_in": -1.0}, "lease.expires_at"),
        ({"deadlines_in": {"schedule_to_start": -5.0}}, "deadlines.schedule_to_start"),
        ({"deadlines_in": {"start_to_close": -0.001}}, "deadlines.start_to_close"),
        ({"deadlines_in": {"heartbeat": -60.0}}, "deadlines.heartbeat"),
    ],
)
async def test_a_deadline_passed_on_receipt_is_a_retryable_timeout_and_nothing_runs(
    overrides: dict[str, Any], name: str
) -> None:
    calls: list[str] = []
    envelope = envelope_for("record", **overrides)
    result = await run(envelope, {"record": lambda *a: calls.append("ran")})
    failure = assert_failure(
        result,
        "timeout",
        "deadline_exceeded",
        retryable=True,
        failure_type="ExternalTaskDeadlineExceeded",
        timeout_type="deadline_exceeded",
    )
    assert failure["details"]["deadline"] == name
    assert "received after" in failure["message"]
    assert calls == []
    assert parse_external_task_result(result).deadline_exceeded


def stamp(seconds: float, pattern: str, offset: timedelta | None = None) -> str:
    moment = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    return moment.astimezone(timezone(offset or timedelta(0))).strftime(pattern)


@pytest.mark.parametrize(
    ("lease", "expired"),
    [
        (stamp(FAR, "%Y-%m-%dT%H:%M:%SZ"), False),
        (stamp(FAR, "%Y-%m-%dT%H:%M:%S.%f123Z"), False),  # nanosecond precision
        (stamp(FAR, "%Y-%m-%dT%H:%M:%S"), False),  # no zone: read as UTC
        (stamp(FAR, "%Y-%m-%dT%H:%M:%S%z", timedelta(hours=-8)), False),
        (stamp(-30, "%Y-%m-%dT%H:%M:%S.%f+05:30", timedelta(hours=5, minutes=30)), True),
        (stamp(-30, "%Y-%m-%d %H:%M:%S.%fZ"), True),
    ],
)
async def test_deadline_formats_and_offsets_are_read_exactly(lease: str, expired: bool) -> None:
    envelope = envelope_for()
    envelope["lease"]["expires_at"] = lease
    result = await run(envelope)
    assert result["outcome"]["status"] == ("failed" if expired else "succeeded")
    if expired:
        assert result["failure"]["details"] == {"deadline": "lease.expires_at", "expires_at": lease}


async def test_the_recorded_fixture_as_is_arrives_after_its_lease() -> None:
    # The recorded envelope's deadlines are in the past: a carrier must refuse it, not run it.
    result = await run(
        fixture("external-task-input", "activity-task"), {"billing.charge-card": HANDLERS["echo"]}
    )
    failure = assert_failure(
        result, "timeout", "deadline_exceeded", retryable=True, timeout_type="deadline_exceeded"
    )
    assert failure["details"] == {"deadline": "lease.expires_at", "expires_at": "2026-04-22T01:10:00.000000Z"}


async def test_an_unknown_handler_is_a_non_retryable_application_error() -> None:
    failure = assert_failure(
        await run(envelope_for("billing.refund")),
        "application",
        "application_error",
        retryable=False,
        failure_type="UnknownActivityHandler",
    )
    assert "billing.refund" in failure["message"] and "math.add" in failure["message"]


@pytest.mark.parametrize("handler", ["cancel", "async-cancel"])
async def test_activity_cancelled_is_a_cancellation(handler: str) -> None:
    result = await run(envelope_for(handler))
    assert_failure(
        result, "cancellation", "cancelled", retryable=False, failure_type="ActivityCancelled", cancelled=True
    )
    assert parse_external_task_result(result).cancelled


async def test_non_retryable_error_is_not_retried() -> None:
    failure = assert_failure(
        await run(envelope_for("declined")),
        "application",
        "application_error",
        retryable=False,
        failure_type="NonRetryableError",
    )
    assert failure["message"] == "card declined"
    assert "card declined" in failure["stack_trace"]


async def test_an_async_handler_is_cancelled_at_the_earliest_deadline() -> None:
    finished: list[str] = []

    async def slow() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            finished.append("cancelled")
            raise
        finished.append("done")

    loop = asyncio.get_running_loop()
    started = loop.time()
    envelope = envelope_for("slow", None, deadlines_in={"start_to_close": 1.0})
    result = await run(envelope, {"slow": slow})
    assert loop.time() - started < 30
    assert_failure(
        result, "timeout", "deadline_exceeded", retryable=True, failure_type="TimeoutError",
        timeout_type="deadline_exceeded",
    )  # fmt: skip
    assert finished == ["cancelled"]


async def test_a_timeout_raised_by_the_handler_is_a_retryable_timeout() -> None:
    failure = assert_failure(
        await run(envelope_for("own-timeout")),
        "timeout",
        "deadline_exceeded",
        retryable=True,
        failure_type="TimeoutError",
        timeout_type="deadline_exceeded",
    )
    assert failure["message"] == "provider timed out"


@pytest.mark.parametrize(
    ("handler", "arguments", "failure_type"),
    [
        ("bad-amount", "default", "ValueError"),
        ("math.add", serializer.envelope([1, 2, 3]), "TypeError"),  # does not fit the signature
    ],
)
async def test_type_and_value_errors_are_decode_failures(
    handler: str, arguments: Any, failure_type: str
) -> None:
    failure = assert_failure(
        await run(envelope_for(handler, arguments)),
        "decode_failure",
        "decode_failure",
        retryable=False,
        failure_type=failure_type,
    )
    assert failure["details"] == {"codec": "avro"}


async def test_undecodable_arguments_are_a_decode_failure_before_the_handler_runs() -> None:
    calls: list[str] = []
    envelope = envelope_for("record", {"codec": "avro", "blob": "BASE64_AVRO_ARGUMENTS"})
    result = await run(envelope, {"record": lambda *a: calls.append("ran")})
    failure = assert_failure(result, "decode_failure", "decode_failure", retryable=False)
    assert failure["details"] == {"codec": "avro"}
    assert calls == []


@pytest.mark.parametrize("handler", ["crash", "async-crash"])
async def test_any_other_exception_is_a_retryable_application_error(handler: str) -> None:
    failure = assert_failure(
        await run(envelope_for(handler)),
        "application",
        "application_error",
        retryable=True,
        failure_type="RuntimeError",
    )
    assert failure["message"] == "provider down"
    assert "RuntimeError: provider down" in failure["stack_trace"]


async def test_completing_after_a_deadline_is_a_timeout() -> None:
    envelope = envelope_for("sleepy", None, deadlines_in={"start_to_close": 1.0})
    failure = assert_failure(
        await run(envelope),
        "timeout",
        "deadline_exceeded",
        retryable=True,
        failure_type="ExternalTaskDeadlineExceeded",
        timeout_type="deadline_exceeded",
    )
    assert failure["details"]["deadline"] == "deadlines.start_to_close"
    assert "completed after" in failure["message"]


# -- where this carrier does better than 0.4.84 (see the module docstring of dw_worker.invocable) ---


async def test_schedule_to_start_does_not_bound_a_started_run() -> None:
    # schedule_to_start was met when the task started; 0.4.84 also timed the run out against it.
    envelope = envelope_for("sleepy", None, deadlines_in={"schedule_to_start": 1.0})
    result = await run(envelope)
    assert result["outcome"]["status"] == "succeeded"
    assert payload_value(result) == "late"


async def test_an_unsupported_codec_is_reported_as_such() -> None:
    calls: list[str] = []
    envelope = envelope_for("record", {"codec": "msgpack", "blob": "gqNmb2+jYmFy"})
    result = await run(envelope, {"record": lambda *a: calls.append("ran")})
    failure = assert_failure(
        result, "unsupported_payload", "unsupported_payload_codec", retryable=False,
        failure_type="UnsupportedPayloadCodec",
    )  # fmt: skip
    assert failure["details"] == {"codec": "msgpack"}
    assert calls == []
    assert parse_external_task_result(result).unsupported_payload


async def test_a_non_string_codec_is_unsupported_and_reported_as_written() -> None:
    result = await run(envelope_for("echo", {"codec": 5, "blob": "WzFd"}))
    failure = assert_failure(result, "unsupported_payload", "unsupported_payload_codec", retryable=False)
    assert failure["details"] == {"codec": "5"}


async def test_a_storage_reference_without_storage_is_not_dereferenced(tmp_path: Path) -> None:
    storage = LocalFilesystemExternalStorage(tmp_path)
    stored = serializer.external_storage_envelope([20, 22], external_storage=storage, threshold_bytes=1)
    assert "external_storage" in stored
    result = await run(envelope_for("math.add", stored))
    assert_failure(
        result, "unsupported_payload", "unsupported_payload_reference", retryable=False,
        failure_type="UnsupportedPayloadReference",
    )  # fmt: skip
    with_storage = await run(envelope_for("math.add", stored), external_storage=storage)
    assert payload_value(with_storage) == 42


async def test_tampered_stored_arguments_fail_integrity_and_never_reach_the_handler(tmp_path: Path) -> None:
    storage = LocalFilesystemExternalStorage(tmp_path)
    stored = serializer.external_storage_envelope([20, 22], external_storage=storage, threshold_bytes=1)
    path = Path(stored["external_storage"]["uri"].removeprefix("file://"))
    path.chmod(0o644)
    path.write_bytes(serializer.encode([1, 1]).encode())  # same size class, different hash
    calls: list[str] = []
    result = await run(
        envelope_for("record", stored), {"record": lambda *a: calls.append("ran")}, external_storage=storage
    )
    assert_failure(result, "decode_failure", "decode_failure", retryable=False)
    assert calls == []


async def test_a_result_that_cannot_be_encoded_is_a_failure_envelope_not_an_exception() -> None:
    def now() -> datetime:
        return datetime.now(timezone.utc)

    failure = assert_failure(
        await run(envelope_for("now", None), {"now": now}),
        "decode_failure",
        "decode_failure",
        retryable=False,
    )
    assert failure["details"] == {"codec": "avro"}
    assert "to_avro_payload_value" in failure["message"]  # says how to fix it


# -- what is not a result envelope ------------------------------------------------------------------


async def test_an_invalid_envelope_raises_a_typed_error() -> None:
    envelope = envelope_for()
    del envelope["task"]["idempotency_key"]
    with pytest.raises(ExternalTaskInputError) as caught:
        await handle_invocable_activity(envelope, HANDLERS)
    assert caught.value.field == "task.idempotency_key"


def test_constructor_rejects_bad_options() -> None:
    with pytest.raises(ValueError, match="avro"):
        InvocableActivityHandler(HANDLERS, result_codec="msgpack")
    with pytest.raises(TypeError, match="callable"):
        InvocableActivityHandler({"x": "not a function"})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="map"):
        InvocableActivityHandler([HANDLERS["math.add"]])  # type: ignore[arg-type]
    handler = InvocableActivityHandler(HANDLERS, carrier="c", result_codec="json")
    assert (handler.carrier, handler.result_codec, handler.external_storage) == ("c", "json", None)
    assert handler.handlers == HANDLERS and handler.handlers is not HANDLERS


# -- HTTP adapter -----------------------------------------------------------------------------------


@pytest.mark.parametrize("as_type", ["bytes", "str", "dict"])
async def test_http_success_is_200_with_compact_sorted_result(as_type: str) -> None:
    envelope = envelope_for()
    forms: dict[str, Any] = {
        "bytes": json.dumps(envelope).encode(),
        "str": json.dumps(envelope),
        "dict": envelope,
    }
    body = forms[as_type]
    response = await handle_invocable_http_request(body, HANDLERS)
    assert response.status_code == 200
    assert response.headers == {"Content-Type": EXTERNAL_TASK_RESULT_MEDIA_TYPE}
    result = response.json()
    assert response.body == json.dumps(result, separators=(",", ":"), sort_keys=True)
    assert parse_external_task_result(result).succeeded and payload_value(result) == 5


async def test_http_handler_failure_is_still_200_with_a_failure_envelope() -> None:
    response = await handle_invocable_http_request(json.dumps(envelope_for("crash")), HANDLERS)
    assert response.status_code == 200
    assert response.json()["failure"]["kind"] == "application"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        (b"\xff\xfe{}", "UTF-8"),
        ('{"schema": "durable-workflow.v2.external-task-input", "version": 1}', "task"),
        (42, "bytes, str or a JSON object"),
    ],
)
async def test_http_bad_requests_are_400_without_a_result_envelope(body: Any, fragment: str) -> None:
    response = await handle_invocable_http_request(body, HANDLERS)
    assert response.status_code == 400
    assert response.headers == {"Content-Type": "application/json"}
    data = response.json()
    assert set(data) == {"error", "message"}
    assert data["error"] == "invalid_invocable_request"
    assert fragment in data["message"]


def test_http_response_json_requires_an_object() -> None:
    with pytest.raises(ValueError, match="not a JSON object"):
        InvocableHttpResponse(200, {}, "[1]").json()


@pytest.fixture
async def carrier_url() -> AsyncIterator[str]:
    """A real HTTP carrier: handle_invocable_http_request behind a minimal ASGI app on 127.0.0.1."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        response = await handle_invocable_http_request(body, HANDLERS, carrier="asgi-carrier")
        headers = [(name.lower().encode(), value.encode()) for name, value in response.headers.items()]
        await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": response.body.encode()})

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)  # connections wait in the backlog until the server accepts: no start-up race
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, timeout=30)
        sock.close()


async def test_real_http_round_trip(carrier_url: str) -> None:
    headers = {"Content-Type": "application/vnd.durable-workflow.external-task-input+json"}
    async with httpx.AsyncClient(timeout=30) as http:
        ok = await http.post(carrier_url, content=json.dumps(envelope_for("math.async-add")), headers=headers)
        assert ok.status_code == 200
        assert ok.headers["content-type"] == EXTERNAL_TASK_RESULT_MEDIA_TYPE
        result = parse_external_task_result(ok.json())
        assert result.succeeded and result.metadata["carrier"] == "asgi-carrier"
        assert serializer.decode_envelope(result.result["payload"]) == 5  # type: ignore[index]

        # The recorded fixture, posted verbatim: its lease is long gone.
        recorded = (FIXTURES / "external-task-input" / "activity-task.v1.json").read_bytes()
        late = await http.post(carrier_url, content=recorded, headers=headers)
        assert late.status_code == 200
        assert parse_external_task_result(late.json()).deadline_exceeded

        bad = await http.post(carrier_url, content=b"{", headers=headers)
        assert bad.status_code == 400
        assert bad.headers["content-type"] == "application/json"
        assert bad.json()["error"] == "invalid_invocable_request"


# -- Lambda adapter ---------------------------------------------------------------------------------


async def test_lambda_event_with_a_plain_and_a_base64_body() -> None:
    text = json.dumps(envelope_for())
    plain = await handle_invocable_lambda_event({"body": text, "isBase64Encoded": False}, HANDLERS)
    encoded = await handle_invocable_lambda_event(
        {"body": base64.b64encode(text.encode()).decode(), "isBase64Encoded": True}, HANDLERS
    )
    for response in (plain, encoded):
        assert set(response) == {"statusCode", "headers", "body", "isBase64Encoded"}
        assert response["statusCode"] == 200 and response["isBase64Encoded"] is False
        assert response["headers"] == {"Content-Type": EXTERNAL_TASK_RESULT_MEDIA_TYPE}
        assert payload_value(json.loads(response["body"])) == 5


@pytest.mark.parametrize(
    ("event", "fragment"),
    [
        ({}, "no body"),
        ({"body": None}, "no body"),
        ({"body": "not base64!", "isBase64Encoded": True}, "not valid base64"),
        ({"body": base64.b64encode(b"[]").decode(), "isBase64Encoded": True}, "JSON object"),
        ({"body": "{oops"}, "not valid JSON"),
        ({"body": 12}, "JSON string"),
        (["not", "an", "event"], "must be an object"),
    ],
)
async def test_lambda_bad_events_are_400(event: Any, fragment: str) -> None:
    response = await handle_invocable_lambda_event(event, HANDLERS)
    assert response["statusCode"] == 400 and response["isBase64Encoded"] is False
    body = json.loads(response["body"])
    assert body["error"] == "invalid_invocable_request" and fragment in body["message"]


def test_sync_lambda_handler_from_a_plain_function() -> None:
    lambda_handler = lambda_invocable_activity_handler(HANDLERS, carrier="aws-lambda")
    response = lambda_handler({"body": json.dumps(envelope_for("math.async-add"))}, object())
    assert response["statusCode"] == 200
    result = json.loads(response["body"])
    assert result["metadata"]["carrier"] == "aws-lambda" and payload_value(result) == 5
    again = lambda_handler({"body": json.dumps(envelope_for("crash"))}, None)  # a fresh loop per call
    assert json.loads(again["body"])["failure"]["type"] == "RuntimeError"


async def test_sync_lambda_handler_called_where_a_loop_already_runs() -> None:
    lambda_handler = lambda_invocable_activity_handler(HANDLERS)
    response = lambda_handler({"body": json.dumps(envelope_for())}, None)
    assert response["statusCode"] == 200


def test_sync_lambda_handler_validates_options_at_build_time() -> None:
    with pytest.raises(ValueError, match="result codec"):
        lambda_invocable_activity_handler(HANDLERS, result_codec="pickle")


# -- the published SDK answers the same inputs with the same envelopes -----------------------------

_REFERENCE_RUNNER = r"""
import asyncio, json, sys
from durable_workflow.errors import ActivityCancelled, NonRetryableError
from durable_workflow.invocable import handle_invocable_activity
zoo = {"ActivityCancelled": ActivityCancelled, "NonRetryableError": NonRetryableError}
exec(sys.argv[1], zoo)
out = []
for case in json.load(sys.stdin):
    envelope = zoo["fill"](case)
    try:
        options = case.get("options", {})
        out.append(asyncio.run(handle_invocable_activity(envelope, zoo["HANDLERS"], **options)))
    except Exception as exc:
        out.append({"raised": type(exc).__name__})
print(json.dumps(out))
"""


async def run_reference(python: str, cases: list[dict[str, Any]]) -> str:
    """Run the cases through 0.4.84's handler in its own venv; returns its JSON output."""
    process = await asyncio.create_subprocess_exec(
        python,
        "-c",
        _REFERENCE_RUNNER,
        ZOO,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(json.dumps(cases).encode()), timeout=180)
    assert process.returncode == 0, stderr.decode()
    return stdout.decode()


PARITY_CASES: list[tuple[str, dict[str, Any]]] = [
    ("sync success", case("math.add")),
    ("async success", case("math.async-add")),
    (
        "json result codec",
        {**case("echo", {"codec": "json", "blob": '[1, "a"]'}), "options": {"result_codec": "json"}},
    ),
    ("null arguments", case("echo", None)),
    ("workflow task", {"envelope": fixture("external-task-input", "workflow-task")}),
    ("lease passed", case("math.add", lease_in=-1)),
    ("start_to_close passed", case("math.add", deadlines_in={"start_to_close": -1})),
    ("unknown handler", case("billing.refund")),
    ("cancelled", case("cancel")),
    ("async cancelled", case("async-cancel")),
    ("non-retryable", case("declined")),
    ("crash", case("crash")),
    ("value error", case("bad-amount")),
    ("signature mismatch", case("math.add", serializer.envelope([1, 2, 3]))),
    ("own timeout", case("own-timeout")),
    ("async past deadline", case("slow", None, deadlines_in={"start_to_close": 1.0})),
    ("completed after deadline", case("sleepy", None, deadlines_in={"start_to_close": 1.0})),
]


def comparable(envelope: dict[str, Any]) -> dict[str, Any]:
    """The envelope without what legitimately differs: timing, prose, traces, stamped deadlines."""
    data = copy.deepcopy(envelope)
    del data["metadata"]["duration_ms"]
    failure = data.get("failure")
    if failure is not None:
        failure["message"] = bool(failure["message"])
        failure["stack_trace"] = failure["stack_trace"] is not None
        if isinstance(failure["details"], dict):
            failure["details"].pop("expires_at", None)
    return data


@pytest.mark.reference_sdk
async def test_published_sdk_produces_the_same_envelopes() -> None:
    ref = subprocess.run(
        [sys.executable, "tools/dev.py", "ref-venv"], cwd=REPO, capture_output=True, text=True, timeout=900
    )
    assert ref.returncode == 0, ref.stderr
    cases = [c for _, c in PARITY_CASES]

    async def run_ours() -> list[dict[str, Any]]:
        return [await run(fill(copy.deepcopy(c)), **c.get("options", {})) for c in cases]

    # Both sides run at the same time (each handles its cases one by one) to halve the waiting.
    reference, ours_all = await asyncio.gather(
        run_reference(ref.stdout.strip().splitlines()[-1], cases), run_ours()
    )
    theirs_all = json.loads(reference)
    compared: list[tuple[str, str]] = []
    for (label, _), ours, theirs in zip(PARITY_CASES, ours_all, theirs_all, strict=True):
        assert comparable(ours) == comparable(theirs), label
        compared.append((label, theirs["outcome"]["status"]))
    # the comparison covered successes and failures alike
    assert {status for _, status in compared} == {"succeeded", "failed"}
    assert len(compared) == len(PARITY_CASES)


@pytest.mark.reference_sdk
async def test_where_we_decide_differently_from_the_published_sdk() -> None:
    """Each case pins a 0.4.84 decision this carrier deliberately improves (module docstring)."""
    ref = subprocess.run(
        [sys.executable, "tools/dev.py", "ref-venv"], cwd=REPO, capture_output=True, text=True, timeout=900
    )
    assert ref.returncode == 0, ref.stderr
    cases = {
        "unsupported codec": case("echo", {"codec": "msgpack", "blob": "gqNmb2+jYmFy"}),
        "schedule_to_start during the run": case("sleepy", None, deadlines_in={"schedule_to_start": 1.0}),
        "unencodable result": case("now", None),
        # JSON text 1e999 reads as infinity in Python, which no JSON payload can carry back
        "infinite result": case("echo", {"codec": "json", "blob": "[1e999]"}),
    }

    async def run_ours() -> dict[str, dict[str, Any]]:
        return {label: await run(fill(copy.deepcopy(c))) for label, c in cases.items()}

    reference, ours = await asyncio.gather(
        run_reference(ref.stdout.strip().splitlines()[-1], list(cases.values())), run_ours()
    )
    theirs = dict(zip(cases, json.loads(reference), strict=True))

    assert theirs["unsupported codec"]["failure"]["classification"] == "decode_failure"
    assert ours["unsupported codec"]["failure"]["classification"] == "unsupported_payload_codec"

    assert theirs["schedule_to_start during the run"]["failure"]["classification"] == "deadline_exceeded"
    assert ours["schedule_to_start during the run"]["outcome"]["status"] == "succeeded"

    assert theirs["unencodable result"] == {"raised": "TypeError"}
    assert ours["unencodable result"]["failure"]["classification"] == "decode_failure"

    # 0.4.84 sends the non-JSON token Infinity, which the server and other runtimes cannot read.
    infinite_blob = theirs["infinite result"]["result"]["payload"]["blob"]
    assert "Infinity" in base64.b64decode(infinite_blob).decode()
    assert ours["infinite result"]["failure"]["classification"] == "decode_failure"


def test_facade_modules_re_export_the_public_names() -> None:
    import importlib

    expected = {
        "external_task_input": (
            "dw_core.external_task_input",
            "EXTERNAL_TASK_INPUT_CONTRACT_SCHEMA EXTERNAL_TASK_INPUT_MEDIA_TYPE EXTERNAL_TASK_INPUT_SCHEMA "
            "EXTERNAL_TASK_INPUT_VERSION ExternalTaskInput ExternalTaskInputError ExternalTaskInputIdentity "
            "ExternalTaskLease ExternalTaskWorkflowContext parse_external_task_input "
            "parse_external_task_input_artifact",
        ),
        "external_task_result": (
            "dw_core.external_task_result",
            "EXTERNAL_TASK_RESULT_CONTRACT_SCHEMA EXTERNAL_TASK_RESULT_MEDIA_TYPE "
            "EXTERNAL_TASK_RESULT_SCHEMA EXTERNAL_TASK_RESULT_VERSION ExternalTaskFailure "
            "ExternalTaskIdentity ExternalTaskResult ExternalTaskResultError parse_external_task_result "
            "parse_external_task_result_artifact",
        ),
        "auth_composition": (
            "dw_core.auth_composition",
            "AUTH_COMPOSITION_CONTRACT_SCHEMA AUTH_COMPOSITION_CONTRACT_VERSION "
            "AUTH_COMPOSITION_REQUIRED_EFFECTIVE_CONFIG_FIELDS AuthCompositionContract "
            "AuthCompositionContractError parse_auth_composition_contract",
        ),
        "invocable": (
            "dw_worker.invocable",
            "InvocableActivityHandler InvocableHttpResponse handle_invocable_activity "
            "handle_invocable_http_request handle_invocable_lambda_event lambda_invocable_activity_handler",
        ),
    }
    for module_name, (source_name, names) in expected.items():
        facade = importlib.import_module(f"durable_workflow.{module_name}")
        source = importlib.import_module(source_name)
        for name in names.split():
            assert name in facade.__all__, (module_name, name)
            assert getattr(facade, name) is getattr(source, name), (module_name, name)
