"""Command dataclasses: wire shapes of commands.md and the checks made before anything is sent."""

from __future__ import annotations

from typing import Any

import pytest
from dw_core.workflow import (
    ActivityRetryPolicy,
    ChildWorkflowRetryPolicy,
    CompleteUpdate,
    CompleteWorkflow,
    ContinueAsNew,
    FailUpdate,
    FailWorkflow,
    InvalidCommandError,
    RecordSideEffect,
    RecordVersionMarker,
    ScheduleActivity,
    StartChildWorkflow,
    StartTimer,
    UpsertSearchAttributes,
    WaitCondition,
    WorkflowContext,
    commands_to_server_commands,
    noop_server_command,
)

ctx = WorkflowContext(run_id="run-1")


def wire(command: Any) -> dict[str, Any]:
    result: dict[str, Any] = command.to_server_command("default")
    return result


def test_wire_shapes_match_the_published_examples() -> None:
    # commands.md §7: the exact output of the 0.4.84 converter for task queue "default".
    assert wire(
        ctx.schedule_activity(
            "greet",
            ["Ada"],
            retry_policy=ActivityRetryPolicy(),
            start_to_close_timeout=30,
            heartbeat_timeout=10,
        )
    ) == {
        "type": "schedule_activity",
        "activity_type": "greet",
        "queue": "default",
        "retry_policy": {"max_attempts": 3, "backoff_seconds": [1, 2], "non_retryable_error_types": []},
        "start_to_close_timeout": 30,
        "heartbeat_timeout": 10,
        "arguments": {"codec": "avro", "blob": "AA5bIkFkYSJdAg=="},
    }
    assert wire(ctx.start_timer(2)) == {"type": "start_timer", "delay_seconds": 2}
    assert wire(ctx.sleep(1.2)) == {"type": "start_timer", "delay_seconds": 2}
    assert wire(RecordSideEffect(7)) == {"type": "record_side_effect", "result": "AAI3Ag=="}
    assert wire(ctx.patched("p1")) == {
        "type": "record_version_marker",
        "change_id": "p1",
        "version": 1,
        "min_supported": -1,
        "max_supported": 1,
    }
    assert wire(ctx.upsert_search_attributes({"Status": "done"})) == {
        "type": "upsert_search_attributes",
        "attributes": {"Status": "done"},
    }
    assert wire(
        ctx.start_child_workflow(
            "child",
            ["x"],
            parent_close_policy="terminate",
            retry_policy=ChildWorkflowRetryPolicy(max_attempts=2),
            execution_timeout_seconds=60,
            run_timeout_seconds=30,
        )
    ) == {
        "type": "start_child_workflow",
        "workflow_type": "child",
        "queue": "default",
        "parent_close_policy": "terminate",
        "retry_policy": {"max_attempts": 2, "backoff_seconds": [1], "non_retryable_error_types": []},
        "execution_timeout_seconds": 60,
        "run_timeout_seconds": 30,
        "arguments": {"codec": "avro", "blob": "AApbIngiXQI="},
    }
    assert wire(ctx.continue_as_new("a", 1)) == {
        "type": "continue_as_new",
        "queue": "default",
        "arguments": {"codec": "avro", "blob": "AA5bImEiLDFdAg=="},
    }
    assert wire(CompleteWorkflow({"ok": True})) == {
        "type": "complete_workflow",
        "result": {"codec": "avro", "blob": "ABZ7Im9rIjp0cnVlfQI="},
    }
    assert wire(FailWorkflow("boom", "ValueError")) == {
        "type": "fail_workflow",
        "message": "boom",
        "exception_type": "ValueError",
    }
    assert wire(CompleteUpdate("u1", 3)) == {
        "type": "complete_update",
        "update_id": "u1",
        "result": {"codec": "avro", "blob": "AAIzAg=="},
    }
    assert wire(FailUpdate("u2", "bad", "ValueError", "builtins.ValueError")) == {
        "type": "fail_update",
        "update_id": "u2",
        "message": "bad",
        "exception_type": "ValueError",
        "exception_class": "builtins.ValueError",
        "non_retryable": True,
    }


def test_wait_condition_wire_rounds_the_timeout_up() -> None:
    command = ctx.wait_condition(lambda: False, key="approval", timeout=2.5)
    assert isinstance(command, WaitCondition)
    shape = wire(command)
    assert shape["type"] == "open_condition_wait"
    assert shape["condition_key"] == "approval" and shape["timeout_seconds"] == 3
    assert shape["condition_definition_fingerprint"].startswith("sha256:")


def test_sleep_rounds_up_and_clamps_negative_values() -> None:
    assert ctx.sleep(0.01).delay_seconds == 1
    assert ctx.sleep(-5).delay_seconds == 0


def test_queue_override_and_default() -> None:
    assert wire(ScheduleActivity("a", [], queue="gpu"))["queue"] == "gpu"
    assert wire(ContinueAsNew(workflow_type="other", task_queue="q2"))["queue"] == "q2"
    assert wire(ContinueAsNew(workflow_type="other"))["workflow_type"] == "other"


def test_empty_failure_message_never_reaches_the_server() -> None:
    assert wire(FailWorkflow("", "KeyError"))["message"] == "KeyError"
    assert wire(FailWorkflow(""))["message"] == "workflow failed"


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (lambda: ScheduleActivity("", []), "activity_type must be a non-empty string"),
        (lambda: ScheduleActivity("a", "not-a-list"), "arguments must be a list"),  # type: ignore[arg-type]
        (lambda: ScheduleActivity("a", [], start_to_close_timeout=0), "at least 1 second"),
        (lambda: ScheduleActivity("a", [], start_to_close_timeout=1.5), "whole number of seconds"),  # type: ignore[arg-type]
        (lambda: ScheduleActivity("a", [], start_to_close_timeout=True), "whole number of seconds"),
        (
            lambda: ScheduleActivity("a", [], start_to_close_timeout=5, heartbeat_timeout=10),
            "heartbeat_timeout (10) must not exceed start_to_close_timeout (5)",
        ),
        (
            lambda: ScheduleActivity("a", [], start_to_close_timeout=50, schedule_to_close_timeout=10),
            "start_to_close_timeout (50) must not exceed schedule_to_close_timeout (10)",
        ),
        (
            lambda: ScheduleActivity("a", [], schedule_to_start_timeout=50, schedule_to_close_timeout=10),
            "schedule_to_start_timeout (50) must not exceed schedule_to_close_timeout (10)",
        ),
        (lambda: ScheduleActivity("a", [], retry_policy={"max_attempt": 3}), "unknown keys ['max_attempt']"),
        (
            lambda: ScheduleActivity("a", [], retry_policy={"max_attempts": 0}),
            "max_attempts must be an int >= 1",
        ),
        (lambda: ScheduleActivity("a", [], retry_policy={"backoff_seconds": [-1]}), "backoff_seconds"),
        (lambda: ScheduleActivity("a", [], retry_policy=3), "retry_policy must be"),  # type: ignore[arg-type]
        (lambda: StartTimer(-1), "at least 0 second"),
        (
            lambda: StartChildWorkflow("c", [], parent_close_policy="kill"),
            "parent_close_policy must be one of",
        ),
        (
            lambda: StartChildWorkflow("c", [], execution_timeout_seconds=10, run_timeout_seconds=20),
            "run_timeout_seconds (20) must not exceed execution_timeout_seconds (10)",
        ),
        (lambda: RecordVersionMarker("p", 5, 1, 2), "min_supported <= version <= max_supported"),
        (lambda: RecordVersionMarker("", 1, 1, 1), "change_id"),
        (lambda: UpsertSearchAttributes({}), "non-empty dict"),
        (lambda: UpsertSearchAttributes({"bad key!": 1}), "must match"),
        (lambda: UpsertSearchAttributes({"Tags": [1, 2]}), "list of strings"),
        (lambda: WaitCondition("not callable"), "predicate must be callable"),  # type: ignore[arg-type]
        (lambda: ContinueAsNew(workflow_type=""), "workflow_type must be a non-empty string"),
    ],
)
def test_invalid_commands_are_refused_where_they_are_built(build: Any, fragment: str) -> None:
    with pytest.raises(InvalidCommandError) as info:
        build()
    assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)


def test_batch_conversion_checks_every_command_and_names_its_index() -> None:
    good = ScheduleActivity("a", [1])
    bad = StartChildWorkflow("c", [])
    bad.run_timeout_seconds = 0
    with pytest.raises(
        InvalidCommandError, match=r"commands\[1\]: start_child_workflow: run_timeout_seconds"
    ):
        commands_to_server_commands([good, bad], "default")
    with pytest.raises(InvalidCommandError, match="not a workflow command"):
        commands_to_server_commands([{"type": "start_timer"}], "default")  # type: ignore[list-item]


def test_batch_conversion_encodes_in_the_requested_codec() -> None:
    (shape,) = commands_to_server_commands([ScheduleActivity("a", ["x"])], "q", payload_codec="json")
    assert shape["arguments"] == {"codec": "json", "blob": '["x"]'}
    with pytest.raises(InvalidCommandError, match="payload_codec 'xml' is not supported"):
        commands_to_server_commands([ScheduleActivity("a", [])], "q", payload_codec="xml")


def test_retry_policy_mapping_passes_through_when_valid() -> None:
    policy = {"max_attempts": 4, "backoff_seconds": [1, 5], "non_retryable_error_types": ["ValueError"]}
    assert wire(ScheduleActivity("a", [], retry_policy=policy))["retry_policy"] == policy


def test_noop_command_is_a_valid_version_marker() -> None:
    shape = noop_server_command()
    marker = RecordVersionMarker(
        shape["change_id"], shape["version"], shape["min_supported"], shape["max_supported"]
    )
    assert wire(marker) == shape
