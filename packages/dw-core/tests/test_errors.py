from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from dw_core import errors
from dw_core.errors import (
    ActivityCancelled,
    ActivityFailed,
    AvroNotInstalledError,
    ChildWorkflowCancelled,
    ChildWorkflowFailed,
    ChildWorkflowTerminated,
    DurableWorkflowError,
    ErrorContext,
    InvalidArgument,
    NamespaceNotFound,
    NonDeterministicReplayError,
    NonRetryableError,
    QueryFailed,
    ScheduleAlreadyExists,
    ScheduleNotFound,
    ServerError,
    SignalFailed,
    Unauthorized,
    UpdateRejected,
    WorkflowAlreadyStarted,
    WorkflowCancelled,
    WorkflowFailed,
    WorkflowNotFound,
    WorkflowPayloadDecodeError,
    WorkflowTerminated,
    error_from_response,
)

# -- hierarchy ------------------------------------------------------------------------------------


@pytest.mark.parametrize("cancel", [WorkflowCancelled(), ActivityCancelled()])
def test_cancellation_is_not_caught_by_except_exception(cancel: BaseException) -> None:
    with pytest.raises(type(cancel)):
        try:
            raise cancel
        except Exception:  # the handler user code writes; it must not swallow cancellation
            pytest.fail("except Exception caught a cancellation")
    with pytest.raises(type(cancel)):
        try:
            raise cancel
        except DurableWorkflowError:
            pytest.fail("except DurableWorkflowError caught a cancellation")


def test_every_public_error_is_a_durable_workflow_error() -> None:
    for name in errors.__all__:
        obj = getattr(errors, name)
        if not isinstance(obj, type) or not issubclass(obj, BaseException):
            continue
        if obj in (WorkflowCancelled, ActivityCancelled):
            assert not issubclass(obj, Exception)
        else:
            assert issubclass(obj, DurableWorkflowError), name


def test_child_outcomes_are_catchable_as_child_workflow_failed() -> None:
    cancelled = ChildWorkflowCancelled(child_workflow_run_id="r1", child_workflow_type="child")
    terminated = ChildWorkflowTerminated()
    assert isinstance(cancelled, ChildWorkflowFailed)
    assert isinstance(terminated, ChildWorkflowFailed)
    assert cancelled.failure_kind == cancelled.failure_category == "cancelled"
    assert terminated.failure_kind == "terminated"
    assert str(cancelled) == "child workflow was cancelled"
    assert str(terminated) == "child workflow was terminated"
    assert cancelled.child_workflow_run_id == "r1"
    assert cancelled.child_workflow_type == "child"


def test_avro_not_installed_is_import_error_with_reinstall_hint() -> None:
    exc = AvroNotInstalledError()
    assert isinstance(exc, ImportError)
    assert isinstance(exc, DurableWorkflowError)
    assert "pip install" in str(exc)
    with pytest.raises(ImportError):
        raise exc


def test_simple_constructors_and_messages() -> None:
    assert str(WorkflowNotFound("wf-1")) == "workflow not found: wf-1"
    assert WorkflowNotFound("wf-1").workflow_id == "wf-1"
    assert WorkflowAlreadyStarted("wf-2").workflow_id == "wf-2"
    assert NamespaceNotFound("ns").namespace == "ns"
    assert ScheduleNotFound("s1").schedule_id == "s1"
    assert ScheduleAlreadyExists("s2").schedule_id == "s2"
    assert str(Unauthorized()) == "unauthorized"
    assert str(WorkflowTerminated()) == "workflow was terminated"
    assert isinstance(WorkflowTerminated(), Exception)
    assert str(WorkflowCancelled()) == "workflow was cancelled"
    assert str(ActivityCancelled()) == "activity was cancelled"
    failed = WorkflowFailed("boom", "ValueError")
    assert failed.exception_class == "ValueError"
    assert failed.message == "boom"
    invalid = InvalidArgument("bad", {"name": ["required"]})
    assert invalid.errors == {"name": ["required"]}
    assert invalid.validation_errors == {"name": ["required"]}


def test_server_error_keeps_status_and_body_and_reason_is_a_method() -> None:
    body = {"reason": "forbidden", "message": "no", "role": "worker"}
    exc = ServerError(403, body)
    assert exc.status == 403
    assert exc.body is body
    assert exc.reason() == "forbidden"
    assert exc.server_reason == "forbidden"
    assert exc.message == "no"
    assert str(exc) == f"server returned 403: {body!r}"
    text = ServerError(502, "Bad Gateway")
    assert text.reason() is None
    assert text.message == "Bad Gateway"


def test_query_and_signal_failed_validation_errors() -> None:
    body = {"reason": "invalid_query_arguments", "validation_errors": {"x": ["int"]}}
    q = QueryFailed("bad args", reason="invalid_query_arguments", status=422, body=body)
    assert (q.reason, q.status, q.body) == ("invalid_query_arguments", 422, body)
    assert q.validation_errors == {"x": ["int"]}
    s = SignalFailed("bad", body={"errors": {"y": ["str"]}})
    assert s.validation_errors == {"y": ["str"]}
    assert SignalFailed("bad", body={"errors": ["not", "a", "dict"]}).validation_errors is None


def test_payload_decode_error_attributes() -> None:
    exc = WorkflowPayloadDecodeError(
        "cannot decode",
        workflow_id="wf",
        run_id="run",
        event_id="e1",
        receiver_kind="signal",
        receiver_name="go",
        codec="avro",
        payload_head="x" * 500,
        exception_type="ValueError",
    )
    assert (exc.workflow_id, exc.run_id, exc.event_id) == ("wf", "run", "e1")
    assert (exc.receiver_kind, exc.receiver_name, exc.codec) == ("signal", "go", "avro")
    assert exc.payload_head == "x" * 128
    assert exc.exception_type == "ValueError"


def test_non_deterministic_replay_error_names_step_events_and_shape() -> None:
    recorded = ["ActivityScheduled", "ActivityCompleted"]
    exc = NonDeterministicReplayError(3, "timer(5s)", recorded, detail="activity type changed")
    recorded.append("mutated")
    assert exc.recorded_event_types == ["ActivityScheduled", "ActivityCompleted"]
    text = str(exc)
    assert "3" in text and "ActivityScheduled" in text and "timer(5s)" in text
    assert "activity type changed" in text
    assert "patched" in text  # the actionable hint


def test_activity_failed_filters_runtime_diagnostics() -> None:
    payload: dict[str, Any] = {
        "type": "ValueError",
        "message": "bad",
        "code": 7,
        "details": "x",
        "details_payload_codec": "avro",
        "non_retryable": True,
        "file": "/srv/app.py",
        "line": 12,
        "trace": "Traceback ...",
        "class": "app.errors.ValueError",
    }
    exc = ActivityFailed("bad", activity_type="charge", non_retryable=True, exception_payload=payload)
    assert exc.exception_payload == {
        "type": "ValueError",
        "message": "bad",
        "code": 7,
        "details": "x",
        "details_payload_codec": "avro",
        "non_retryable": True,
    }
    with_diag = ActivityFailed("bad", exception_payload={"type": "E", "diagnostics": {"trace": "t"}})
    assert with_diag.exception_payload == {"type": "E", "diagnostics": {"trace": "t"}}
    assert exc.activity_type == "charge" and exc.non_retryable is True and exc.message == "bad"


def test_non_retryable_error_sets_cause() -> None:
    root = KeyError("k")
    exc = NonRetryableError("no retry", cause=root)
    assert exc.__cause__ is root


# -- HTTP mapping, row by row ------------------------------------------------------------------------

WF = ErrorContext(resource="workflow", resource_id="order-1")


def test_401_is_unauthorized_with_server_message() -> None:
    exc = error_from_response(401, {"reason": "unauthorized", "message": "Invalid token."})
    assert isinstance(exc, Unauthorized)
    assert str(exc) == "Invalid token."
    assert exc.status == 401 and exc.reason == "unauthorized"
    assert str(error_from_response(401, "")) == "unauthorized"


def test_404_unknown_signal_is_signal_failed() -> None:
    body = {"reason": "unknown_signal", "message": "no such signal"}
    exc = error_from_response(404, body, context=WF)
    assert isinstance(exc, SignalFailed)
    assert (exc.reason, exc.status, exc.body, str(exc)) == ("unknown_signal", 404, body, "no such signal")


@pytest.mark.parametrize("reason", ["query_not_found", "rejected_unknown_query"])
def test_404_unknown_query_is_query_failed(reason: str) -> None:
    exc = error_from_response(404, {"reason": reason}, context=WF)
    assert isinstance(exc, QueryFailed)
    assert exc.reason == reason and exc.status == 404


def test_404_schedule_not_found_uses_context_id() -> None:
    ctx = ErrorContext(resource="schedule", resource_id="nightly")
    exc = error_from_response(404, {"reason": "schedule_not_found"}, context=ctx)
    assert isinstance(exc, ScheduleNotFound) and exc.schedule_id == "nightly"


@pytest.mark.parametrize("reason", ["instance_not_found", "workflow_not_found", "run_not_found"])
def test_404_workflow_not_found_reasons(reason: str) -> None:
    exc = error_from_response(404, {"reason": reason, "message": "gone"}, context=WF)
    assert isinstance(exc, WorkflowNotFound)
    assert exc.workflow_id == "order-1"
    assert exc.status == 404 and exc.reason == reason and exc.message == "gone"


def test_404_workflow_id_from_body_when_context_is_not_a_workflow() -> None:
    exc = error_from_response(404, {"reason": "instance_not_found", "workflow_id": "wf-9"})
    assert isinstance(exc, WorkflowNotFound) and exc.workflow_id == "wf-9"


def test_404_is_not_guessed_from_an_id_that_contains_workflow() -> None:
    # The published SDK maps any 404 whose context id contains "workflow" to WorkflowNotFound.
    ctx = ErrorContext(resource="worker", resource_id="my-workflow-worker")
    exc = error_from_response(404, {"reason": "worker_not_found"}, context=ctx)
    assert type(exc) is ServerError and exc.reason() == "worker_not_found"
    ns = error_from_response(
        404,
        {"reason": "namespace_not_found", "namespace": "billing"},
        context=ErrorContext(resource="workflow", resource_id="order-workflow-1"),
    )
    assert isinstance(ns, NamespaceNotFound) and ns.namespace == "billing"


def test_404_namespace_not_found() -> None:
    exc = error_from_response(
        404,
        {"reason": "namespace_not_found", "message": "Namespace not found.", "namespace": "billing"},
    )
    assert isinstance(exc, NamespaceNotFound) and exc.namespace == "billing"
    from_message = error_from_response(404, {"reason": "namespace_not_found", "message": "nope"})
    assert isinstance(from_message, NamespaceNotFound) and from_message.namespace == "nope"


def test_404_other_is_server_error() -> None:
    exc = error_from_response(404, {"reason": "not_found"}, context=WF)
    assert type(exc) is ServerError and exc.status == 404


def test_409_schedule_already_exists() -> None:
    body = {"reason": "schedule_already_exists", "schedule_id": "nightly"}
    exc = error_from_response(409, body)
    assert isinstance(exc, ScheduleAlreadyExists) and exc.schedule_id == "nightly"


def test_409_duplicate_start_is_workflow_already_started() -> None:
    exc = error_from_response(409, {"reason": "duplicate_not_allowed"}, context=WF)
    assert isinstance(exc, WorkflowAlreadyStarted) and exc.workflow_id == "order-1"
    # What the real server sends for a duplicate start: no reason, outcome rejected_duplicate.
    real = error_from_response(409, {"outcome": "rejected_duplicate", "workflow_id": "order-1"})
    assert isinstance(real, WorkflowAlreadyStarted) and real.workflow_id == "order-1"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"reason": "run_not_active", "control_plane": {"operation": "signal"}}, SignalFailed),
        ({"reason": "run_not_active", "control_plane_operation": "query"}, QueryFailed),
    ],
)
def test_409_run_not_active_by_operation(body: dict[str, Any], expected: type) -> None:
    exc = error_from_response(409, body, context=WF)
    assert type(exc) is expected
    assert exc.status == 409


def test_409_run_not_active_operation_from_context() -> None:
    ctx = ErrorContext(resource="workflow", resource_id="w", operation="signal")
    assert isinstance(error_from_response(409, {"reason": "run_not_active"}, context=ctx), SignalFailed)
    assert type(error_from_response(409, {"reason": "run_not_active"})) is ServerError


@pytest.mark.parametrize(
    "reason",
    [
        "query_rejected",
        "query_worker_unavailable",
        "query_worker_incompatible",
        "query_workflow_state_unavailable",
    ],
)
def test_409_query_conflicts(reason: str) -> None:
    exc = error_from_response(409, {"reason": reason, "message": "m"})
    assert isinstance(exc, QueryFailed) and exc.reason == reason and str(exc) == "m"


def test_409_update_rejected() -> None:
    exc = error_from_response(409, {"reason": "update_rejected", "message": "nope"})
    assert isinstance(exc, UpdateRejected) and str(exc) == "nope" and exc.reason == "update_rejected"
    # The server rejects updates with engine reasons; the operation says it was an update.
    engine = error_from_response(409, {"reason": "run_not_active", "control_plane": {"operation": "update"}})
    assert isinstance(engine, UpdateRejected) and engine.reason == "run_not_active"


def test_409_other_is_server_error() -> None:
    exc = error_from_response(409, {"reason": "namespace_already_exists"})
    assert type(exc) is ServerError and exc.reason() == "namespace_already_exists"


def test_422_signal_and_query_arguments() -> None:
    body = {"reason": "invalid_signal_arguments", "validation_errors": {"amount": ["must be int"]}}
    sig = error_from_response(422, body)
    assert isinstance(sig, SignalFailed)
    assert sig.status == 422 and sig.validation_errors == {"amount": ["must be int"]}
    query = error_from_response(422, {"reason": "invalid_query_arguments", "errors": {"q": ["x"]}})
    assert isinstance(query, QueryFailed) and query.status == 422
    assert query.validation_errors == {"q": ["x"]}


def test_422_other_is_invalid_argument_with_errors() -> None:
    body = {
        "message": "The name field is required.",
        "reason": "validation_failed",
        "errors": {"name": ["r"]},
    }
    exc = error_from_response(422, body)
    assert isinstance(exc, InvalidArgument)
    assert str(exc) == "The name field is required."
    assert exc.errors == {"name": ["r"]}
    assert exc.validation_errors == {"name": ["r"]}
    assert exc.status == 422 and exc.reason == "validation_failed"
    assert error_from_response(422, {"message": "m", "errors": {}}).errors is None  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "reason", ["query_worker_timeout", "query_worker_execution_timeout", "query_task_not_claimed"]
)
def test_504_query_timeouts(reason: str) -> None:
    exc = error_from_response(504, {"reason": reason})
    assert isinstance(exc, QueryFailed) and exc.status == 504


@pytest.mark.parametrize("status", [400, 403, 405, 413, 415, 429, 500, 503, 504])
def test_everything_else_is_server_error_preserving_body(status: int) -> None:
    body = {"reason": "something", "message": "m", "extra": [1, 2]}
    exc = error_from_response(status, body)
    assert type(exc) is ServerError
    assert exc.status == status and exc.body == body and exc.reason() == "something"


def test_non_json_body_is_passed_as_text() -> None:
    exc = error_from_response(500, "<html>oops</html>")
    assert isinstance(exc, ServerError) and exc.body == "<html>oops</html>"
    assert exc.message == "<html>oops</html>"


# -- parity with the published SDK where we do not deliberately differ ----------------------------------

REPO = Path(__file__).resolve().parents[3]

# (status, body, context resource, context id); ids without "workflow" avoid the reference quirk.
PARITY_CASES: list[tuple[int, Any, str | None, str]] = [
    (401, {"reason": "unauthorized", "message": "Invalid token."}, None, ""),
    (401, "", None, ""),
    (404, {"reason": "unknown_signal", "message": "no"}, "workflow", "order-1"),
    (404, {"reason": "query_not_found"}, "workflow", "order-1"),
    (404, {"reason": "rejected_unknown_query", "message": "m"}, "workflow", "order-1"),
    (404, {"reason": "schedule_not_found"}, "schedule", "nightly"),
    (404, {"reason": "instance_not_found", "message": "gone"}, "workflow", "order-1"),
    (404, {"reason": "workflow_not_found"}, "workflow", "order-1"),
    (404, {"reason": "not_found"}, None, "x"),
    (409, {"reason": "schedule_already_exists"}, "schedule", "nightly"),
    (409, {"reason": "duplicate_not_allowed"}, "workflow", "order-1"),
    (409, {"reason": "run_not_active", "control_plane": {"operation": "signal"}}, "workflow", "o"),
    (409, {"reason": "run_not_active", "control_plane_operation": "query"}, "workflow", "o"),
    (409, {"reason": "query_rejected", "message": "m"}, "workflow", "o"),
    (409, {"reason": "query_worker_unavailable"}, "workflow", "o"),
    (409, {"reason": "update_rejected"}, "workflow", "o"),
    (409, {"reason": "update_rejected", "message": "no way"}, "workflow", "o"),
    (409, {"reason": "namespace_already_exists"}, "namespace", "billing"),
    (422, {"reason": "invalid_signal_arguments", "validation_errors": {"a": ["x"]}}, "workflow", "o"),
    (422, {"reason": "invalid_query_arguments", "errors": {"a": ["x"]}}, "workflow", "o"),
    (422, {"message": "The name field is required.", "errors": {"name": ["required"]}}, None, ""),
    (422, {"message": "m", "errors": {}}, None, ""),
    (504, {"reason": "query_worker_timeout"}, "workflow", "o"),
    (504, {"reason": "gateway"}, None, ""),
    (400, {"reason": "missing_control_plane_version"}, None, ""),
    (403, {"reason": "forbidden", "role": "worker"}, None, ""),
    (429, {"reason": "query_task_queue_full"}, None, ""),
    (500, "<html>boom</html>", None, ""),
    (503, {"reason": "query_task_queue_unavailable"}, None, ""),
]

_REFERENCE_MAPPING_SCRIPT = """
import json, sys
from durable_workflow.errors import _raise_for_status
out = []
for status, body, context in json.load(sys.stdin):
    try:
        _raise_for_status(status, body, context=context)
        out.append(None)
    except Exception as exc:
        out.append([type(exc).__name__, str(exc)])
print(json.dumps(out))
"""


def _reference_python() -> str:
    result = subprocess.run(
        [sys.executable, "tools/dev.py", "ref-venv"], cwd=REPO, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.reference_sdk
def test_mapping_agrees_with_published_sdk_outside_its_quirks() -> None:
    job = [[status, body, context_id] for status, body, _, context_id in PARITY_CASES]
    result = subprocess.run(
        [_reference_python(), "-c", _REFERENCE_MAPPING_SCRIPT],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    theirs = json.loads(result.stdout)
    ours = []
    for status, body, resource, context_id in PARITY_CASES:
        exc = error_from_response(status, body, context=ErrorContext(resource, context_id))
        ours.append([type(exc).__name__, str(exc)])
    mismatches = [(case, o, t) for case, o, t in zip(PARITY_CASES, ours, theirs, strict=True) if o != t]
    assert not mismatches, mismatches
