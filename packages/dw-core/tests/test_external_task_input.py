"""External-task input envelopes: the recorded fixtures parse, every contract rule fails closed on
exactly the field that breaks it, and fixture artifacts are verified by name, media type and SHA-256."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import pickle
import subprocess
import sys
from dataclasses import FrozenInstanceError
from pathlib import Path
from typing import Any

import pytest
from dw_core.external_task_input import (
    EXTERNAL_TASK_INPUT_CONTRACT_SCHEMA,
    EXTERNAL_TASK_INPUT_MEDIA_TYPE,
    EXTERNAL_TASK_INPUT_SCHEMA,
    EXTERNAL_TASK_INPUT_VERSION,
    ExternalTaskInputError,
    parse_external_task_input,
    parse_external_task_input_artifact,
)

REPO = Path(__file__).resolve().parents[3]
# The recorded fixtures in shared/ beside the repository; the root conftest sets DW_SHARED_DIR.
FIXTURES = Path(os.environ["DW_SHARED_DIR"]) / "fixtures"
INPUT_FIXTURES = FIXTURES / "external-task-input"
DELETE = object()
NOTES = "__notes__"  # set by BaseException.add_note() on 3.11+


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((INPUT_FIXTURES / f"{name}.v1.json").read_text())
    return data


def mutate(envelope: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``envelope`` with the dotted ``path`` set to ``value`` (or removed)."""
    changed = copy.deepcopy(envelope)
    *parents, leaf = path.split(".")
    target = changed
    for key in parents:
        target = target[key]
    if value is DELETE:
        del target[leaf]
    else:
        target[leaf] = value
    return changed


def artifact_for(kind: str, example: dict[str, Any], *, ensure_ascii: bool = True) -> dict[str, Any]:
    text = json.dumps(example, separators=(",", ":"), ensure_ascii=ensure_ascii)
    return {
        "artifact": f"durable-workflow.v2.external-task-input.{kind}.v1",
        "media_type": EXTERNAL_TASK_INPUT_MEDIA_TYPE,
        "schema": EXTERNAL_TASK_INPUT_SCHEMA,
        "version": 1,
        "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "example": example,
    }


def test_contract_identifiers() -> None:
    assert EXTERNAL_TASK_INPUT_SCHEMA == "durable-workflow.v2.external-task-input"
    assert EXTERNAL_TASK_INPUT_CONTRACT_SCHEMA == "durable-workflow.v2.external-task-input.contract"
    assert EXTERNAL_TASK_INPUT_MEDIA_TYPE == "application/vnd.durable-workflow.external-task-input+json"
    assert EXTERNAL_TASK_INPUT_VERSION == 1


def test_activity_task_fixture_parses_into_typed_fields() -> None:
    parsed = parse_external_task_input(load("activity-task"))
    assert parsed.kind == "activity_task" and parsed.is_activity_task and not parsed.is_workflow_task
    task = parsed.task
    assert task.id == "acttask_01HV7D3G3G61TAH2YB5RK45XJS"
    assert task.attempt == 1
    assert task.activity_attempt_id == "attempt_01HV7D3KJ1C8WQNNY8MVM8J40X"
    assert task.idempotency_key == task.activity_attempt_id
    assert (task.task_queue, task.handler, task.connection, task.compatibility) == (
        "billing-activities",
        "billing.charge-card",
        None,
        None,
    )
    assert (parsed.workflow.id, parsed.workflow.run_id) == (
        "invoice-2026-0001",
        "run_01HV7D2M5N1HDZ4Z8XBQJY6P9R",
    )
    assert parsed.workflow.status is None and parsed.workflow.resume is None
    assert parsed.lease.owner == "worker-python-a"
    assert parsed.lease.expires_at == "2026-04-22T01:10:00.000000Z"
    assert parsed.lease.heartbeat_endpoint.endswith("/acttask_01HV7D3G3G61TAH2YB5RK45XJS/heartbeat")
    assert parsed.payloads["arguments"] == {"codec": "avro", "blob": "BASE64_AVRO_ARGUMENTS"}
    assert (
        parsed.deadlines is not None and parsed.deadlines["start_to_close"] == "2026-04-22T01:07:00.000000Z"
    )
    assert parsed.history is None
    assert parsed.headers["traceparent"].startswith("00-4bf92f35")


def test_workflow_task_fixture_parses_into_typed_fields() -> None:
    parsed = parse_external_task_input(load("workflow-task"))
    assert parsed.kind == "workflow_task" and parsed.is_workflow_task and not parsed.is_activity_task
    assert parsed.task.attempt == 2
    assert parsed.task.idempotency_key == "wft_01HV7D2K3X9K2M7YVQ4T0A1B2C:2"
    assert parsed.task.compatibility == "build-2026-04-22"
    assert parsed.task.activity_attempt_id is None
    assert parsed.workflow.status == "running"
    assert parsed.workflow.resume is not None and parsed.workflow.resume["workflow_sequence"] == 42
    assert len(parsed.workflow.resume) == 20
    assert parsed.history is not None
    assert (
        parsed.history["last_sequence"] == 42
        and parsed.history["events"][0]["event_type"] == "WorkflowStarted"
    )
    assert parsed.deadlines is None


def test_parsed_values_are_frozen() -> None:
    parsed = parse_external_task_input(load("activity-task"))
    with pytest.raises(FrozenInstanceError):
        parsed.task.attempt = 2  # type: ignore[misc]


def test_nullable_keys_accept_null() -> None:
    envelope = load("activity-task")
    envelope["payloads"]["arguments"] = None
    envelope["deadlines"] = dict.fromkeys(envelope["deadlines"])
    parsed = parse_external_task_input(envelope)
    assert parsed.payloads["arguments"] is None
    assert parsed.deadlines == dict.fromkeys(
        ("schedule_to_start", "start_to_close", "schedule_to_close", "heartbeat")
    )
    workflow = load("workflow-task")
    for path in (
        "task.handler",
        "task.compatibility",
        "task.connection",
        "workflow.status",
        "history.encoding",
    ):
        workflow = mutate(workflow, path, None)
    workflow = mutate(workflow, "history.next_page_token", None)
    parsed_workflow = parse_external_task_input(workflow)
    assert parsed_workflow.task.handler is None and parsed_workflow.workflow.status is None


def test_unknown_extra_fields_are_ignored_everywhere() -> None:
    for name in ("activity-task", "workflow-task"):
        envelope = load(name)
        envelope["future_top_level"] = {"x": 1}
        for section in ("task", "workflow", "lease", "payloads", "headers"):
            envelope[section]["future_field"] = [1, 2]
        envelope["deadlines" if name == "activity-task" else "history"]["future_field"] = "later"
        plain = parse_external_task_input(load(name))
        extended = parse_external_task_input(envelope)
        assert extended.task == plain.task
        assert extended.lease == plain.lease
        assert extended.workflow.id == plain.workflow.id


ACTIVITY_VIOLATIONS = [
    ("schema", DELETE),
    ("schema", "durable-workflow.v2.external-task-result"),
    ("version", DELETE),
    ("version", 2),
    ("version", True),  # a boolean is not the integer 1
    ("version", "1"),
    ("task", DELETE),
    ("task", ["not", "an", "object"]),
    ("task.kind", DELETE),
    ("task.kind", "query_task"),
    ("task.kind", None),
    ("task.id", DELETE),
    ("task.id", 17),
    ("task.id", ""),
    ("task.attempt", DELETE),
    ("task.attempt", 0),
    ("task.attempt", -1),
    ("task.attempt", True),
    ("task.attempt", "1"),
    ("task.attempt", 1.0),
    ("task.task_queue", DELETE),
    ("task.task_queue", None),
    ("task.idempotency_key", DELETE),
    ("task.idempotency_key", None),
    ("task.connection", DELETE),
    ("task.connection", 3),
    ("task.activity_attempt_id", DELETE),
    ("task.activity_attempt_id", None),
    ("task.handler", DELETE),
    ("task.handler", None),
    ("workflow", DELETE),
    ("workflow.id", DELETE),
    ("workflow.run_id", 5),
    ("lease", DELETE),
    ("lease", "soon"),
    ("lease.owner", DELETE),
    ("lease.expires_at", DELETE),
    ("lease.expires_at", 1713747000),
    ("lease.heartbeat_endpoint", DELETE),
    ("payloads", DELETE),
    ("payloads.arguments", DELETE),
    ("payloads.arguments", "BASE64_AVRO_ARGUMENTS"),
    ("payloads.arguments", [1, 2]),
    ("headers", DELETE),
    ("headers", ["traceparent"]),
    ("deadlines", DELETE),
    ("deadlines", None),
    ("deadlines.schedule_to_start", DELETE),
    ("deadlines.start_to_close", DELETE),
    ("deadlines.schedule_to_close", 30),
    ("deadlines.heartbeat", DELETE),
]


@pytest.mark.parametrize(("path", "value"), ACTIVITY_VIOLATIONS, ids=lambda v: str(v)[:40])
def test_each_activity_rule_fails_closed_naming_the_field(path: str, value: Any) -> None:
    envelope = mutate(load("activity-task"), path, value)
    with pytest.raises(ExternalTaskInputError) as caught:
        parse_external_task_input(envelope)
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.field == path
    assert path in error.message
    assert str(error) == error.message


WORKFLOW_VIOLATIONS = [
    ("task.compatibility", DELETE),
    ("task.compatibility", 7),
    ("task.handler", DELETE),
    ("task.handler", 1),
    ("workflow.status", DELETE),
    ("workflow.status", False),
    ("workflow.resume", DELETE),
    ("workflow.resume", None),
    ("history", DELETE),
    ("history.events", DELETE),
    ("history.events", {"0": {}}),
    ("history.last_sequence", DELETE),
    ("history.last_sequence", "42"),
    ("history.next_page_token", DELETE),
    ("history.next_page_token", 3),
    ("history.encoding", DELETE),
    ("history.encoding", ["gzip"]),
]


@pytest.mark.parametrize(("path", "value"), WORKFLOW_VIOLATIONS, ids=lambda v: str(v)[:40])
def test_each_workflow_rule_fails_closed_naming_the_field(path: str, value: Any) -> None:
    envelope = mutate(load("workflow-task"), path, value)
    with pytest.raises(ExternalTaskInputError) as caught:
        parse_external_task_input(envelope)
    assert caught.value.field == path
    assert path in caught.value.message


def test_kind_specific_fields_are_not_required_of_the_other_kind() -> None:
    activity = load("activity-task")
    activity.pop("history", None)
    assert parse_external_task_input(activity).history is None
    workflow = load("workflow-task")
    assert "deadlines" not in workflow and "activity_attempt_id" not in workflow["task"]
    assert parse_external_task_input(workflow).deadlines is None


@pytest.mark.parametrize("document", [None, [], "{}", 42])
def test_a_non_object_envelope_is_a_typed_error(document: Any) -> None:
    with pytest.raises(ExternalTaskInputError) as caught:
        parse_external_task_input(document)
    assert caught.value.field is None
    assert "JSON object" in caught.value.message


def test_error_survives_pickling_and_is_immutable() -> None:
    with pytest.raises(ExternalTaskInputError) as caught:
        parse_external_task_input(mutate(load("activity-task"), "task.attempt", 0))
    error = caught.value
    copied = pickle.loads(pickle.dumps(error))
    assert (copied.message, copied.field) == (error.message, error.field)
    assert error.args == (error.message,)
    with pytest.raises(FrozenInstanceError):
        error.message = "changed"  # type: ignore[misc]
    # ...while Python's exception bookkeeping still works on it
    # Python sets these on raise/chaining (and add_note() sets __notes__ on 3.11+)
    error.__traceback__ = None
    error.__cause__ = KeyError("task")
    setattr(error, NOTES, ["while reading carrier request 7"])
    assert getattr(error, NOTES) == ["while reading carrier request 7"]


# -- fixture artifacts --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["activity-task", "workflow-task"])
def test_artifact_forms_of_the_fixtures_verify_and_parse(kind: str) -> None:
    example = load(kind)
    parsed = parse_external_task_input_artifact(artifact_for(kind, example))
    assert parsed == parse_external_task_input(example)


def test_artifact_hash_accepts_the_server_form_for_non_ascii_examples() -> None:
    example = mutate(load("activity-task"), "headers.note", "Zürich → 東京 😀")
    server_form = artifact_for("activity-task", example, ensure_ascii=True)
    raw_form = artifact_for("activity-task", example, ensure_ascii=False)
    assert server_form["sha256"] != raw_form["sha256"]
    # The server hashes \uXXXX-escaped JSON (PHP json_encode); 0.4.84 only accepted the raw form.
    assert parse_external_task_input_artifact(server_form).headers["note"] == "Zürich → 東京 😀"
    assert parse_external_task_input_artifact(raw_form).headers["note"] == "Zürich → 東京 😀"


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("artifact", "durable-workflow.v2.external-task-result.success.v1", "artifact"),
        ("artifact", DELETE, "artifact"),
        ("media_type", "application/json", "media_type"),
        ("schema", "durable-workflow.v2.external-task-input.contract", "schema"),
        ("version", 2, "version"),
        ("sha256", "0" * 64, "sha256"),
        ("sha256", DELETE, "sha256"),
        ("example", DELETE, "example"),
        ("example", "{}", "example"),
        ("example.task.attempt", 0, "task.attempt"),
    ],
    ids=lambda v: str(v)[:40],
)
def test_artifact_violations_are_typed_and_name_the_field(path: str, value: Any, field: str) -> None:
    artifact = artifact_for("activity-task", load("activity-task"))
    if path == "example.task.attempt":
        # the hash is recomputed so only the example's own rule can fail
        artifact = artifact_for("activity-task", mutate(load("activity-task"), "task.attempt", 0))
    else:
        artifact = mutate(artifact, path, value)
    with pytest.raises(ExternalTaskInputError) as caught:
        parse_external_task_input_artifact(artifact)
    assert caught.value.field == field


def test_a_tampered_example_fails_its_hash() -> None:
    artifact = artifact_for("activity-task", load("activity-task"))
    artifact["example"]["task"]["handler"] = "billing.refund"
    with pytest.raises(ExternalTaskInputError, match="sha256 mismatch") as caught:
        parse_external_task_input_artifact(artifact)
    assert caught.value.field == "sha256"


# -- the published SDK reads the same fixtures the same way ---------------------------------------

_REFERENCE_SCRIPT = r"""
import json, sys
from durable_workflow.external_task_input import parse_external_task_input
out = []
for envelope in json.load(sys.stdin):
    try:
        parsed = parse_external_task_input(envelope)
    except ValueError as exc:
        out.append({"error": str(exc)})
        continue
    out.append({"kind": parsed.kind, "task": parsed.task.__dict__, "workflow": {
        "id": parsed.workflow.id, "run_id": parsed.workflow.run_id, "status": parsed.workflow.status},
        "lease": parsed.lease.__dict__})
print(json.dumps(out))
"""


def _reference_python() -> str:
    result = subprocess.run(
        [sys.executable, "tools/dev.py", "ref-venv"], cwd=REPO, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.reference_sdk
def test_published_sdk_agrees_on_fixtures_and_on_rejections() -> None:
    valid = [load("activity-task"), load("workflow-task")]
    # A sample of violations both must reject (0.4.84 accepts version=True, which we refuse).
    invalid = [mutate(load("activity-task"), path, value) for path, value in ACTIVITY_VIOLATIONS[::4]]
    invalid = [e for e in invalid if e.get("version") is not True]
    result = subprocess.run(
        [_reference_python(), "-c", _REFERENCE_SCRIPT],
        input=json.dumps(valid + invalid),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    reference = json.loads(result.stdout)
    for envelope, theirs in zip(valid, reference[: len(valid)], strict=True):
        ours = parse_external_task_input(envelope)
        assert theirs["kind"] == ours.kind
        assert theirs["task"] == ours.task.__dict__
        assert theirs["lease"] == ours.lease.__dict__
        assert theirs["workflow"] == {
            "id": ours.workflow.id,
            "run_id": ours.workflow.run_id,
            "status": ours.workflow.status,
        }
    for envelope, theirs in zip(invalid, reference[len(valid) :], strict=True):
        assert "error" in theirs, envelope
        with pytest.raises(ExternalTaskInputError):
            parse_external_task_input(envelope)
