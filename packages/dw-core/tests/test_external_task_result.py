"""External-task result envelopes: all eight recorded outcomes parse into the right decisions, every
contract rule fails closed naming its field, and fixture artifacts are verified by SHA-256."""

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
from dw_core.external_task_result import (
    EXTERNAL_TASK_RESULT_CONTRACT_SCHEMA,
    EXTERNAL_TASK_RESULT_MEDIA_TYPE,
    EXTERNAL_TASK_RESULT_SCHEMA,
    EXTERNAL_TASK_RESULT_VERSION,
    ExternalTaskResultError,
    parse_external_task_result,
    parse_external_task_result_artifact,
)

REPO = Path(__file__).resolve().parents[3]
# The recorded fixtures in shared/ beside the repository; the root conftest sets DW_SHARED_DIR.
FIXTURES = Path(os.environ["DW_SHARED_DIR"]) / "fixtures"
RESULT_FIXTURES = FIXTURES / "external-task-result"
NAMES = sorted(p.name.removesuffix(".v1.json") for p in RESULT_FIXTURES.glob("*.v1.json"))
DELETE = object()
NOTES = "__notes__"  # set by BaseException.add_note() on 3.11+


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RESULT_FIXTURES / f"{name}.v1.json").read_text())
    return data


def mutate(envelope: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
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


def artifact_for(name: str, example: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(example, separators=(",", ":"))
    return {
        "artifact": f"durable-workflow.v2.external-task-result.{name}.v1",
        "media_type": EXTERNAL_TASK_RESULT_MEDIA_TYPE,
        "schema": EXTERNAL_TASK_RESULT_SCHEMA,
        "version": 1,
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
        "example": example,
    }


def test_contract_identifiers_and_all_eight_fixtures_present() -> None:
    assert EXTERNAL_TASK_RESULT_SCHEMA == "durable-workflow.v2.external-task-result"
    assert EXTERNAL_TASK_RESULT_CONTRACT_SCHEMA == "durable-workflow.v2.external-task-result.contract"
    assert EXTERNAL_TASK_RESULT_MEDIA_TYPE == "application/vnd.durable-workflow.external-task-result+json"
    assert EXTERNAL_TASK_RESULT_VERSION == 1
    assert NAMES == [
        "cancellation",
        "decode-failure",
        "failure",
        "handler-crash",
        "malformed-output",
        "success",
        "unsupported-payload-codec",
        "unsupported-payload-reference",
    ]


# name -> (kind, retryable, recorded, cancelled, deadline, crash, decode, unsupported, classification)
EXPECTED = {
    "success": ("success", False, True, False, False, False, False, False, None),
    "failure": ("failure", True, True, False, True, False, False, False, "deadline_exceeded"),
    "cancellation": ("failure", False, True, True, False, False, False, False, "cancelled"),
    "handler-crash": ("failure", True, True, False, False, True, False, False, "handler_crash"),
    "decode-failure": ("failure", False, True, False, False, False, True, False, "decode_failure"),
    "malformed-output": (
        "malformed_output", False, False, False, False, False, False, False, "malformed_output",
    ),
    "unsupported-payload-codec": (
        "failure", False, True, False, False, False, False, True, "unsupported_payload_codec",
    ),
    "unsupported-payload-reference": (
        "failure", False, True, False, False, False, False, True, "unsupported_payload_reference",
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", NAMES)
def test_every_fixture_parses_into_its_decision(name: str) -> None:
    parsed = parse_external_task_result(load(name))
    kind, retryable, recorded, cancelled, deadline, crash, decode, unsupported, classification = EXPECTED[
        name
    ]
    assert parsed.kind == kind
    assert parsed.succeeded is (kind == "success")
    assert parsed.failed is (kind != "success")
    assert parsed.malformed_output is (kind == "malformed_output")
    assert parsed.retryable is retryable
    assert parsed.recorded is recorded
    assert parsed.cancelled is cancelled
    assert parsed.deadline_exceeded is deadline
    assert parsed.handler_crash is crash
    assert parsed.decode_failure is decode
    assert parsed.unsupported_payload is unsupported
    assert parsed.failure_classification == classification
    assert parsed.task.id == "acttask_01HV7D3G3G61TAH2YB5RK45XJS"
    assert parsed.task.kind == "activity_task" and parsed.task.attempt == 1
    assert parsed.metadata["handler"] == "billing.charge-card"


def test_success_and_failure_details_are_exposed() -> None:
    success = parse_external_task_result(load("success"))
    assert success.result == {
        "payload": {"codec": "avro", "blob": "BASE64_AVRO_RESULT"},
        "metadata": {"content_type": "application/vnd.durable-workflow.result+json"},
    }
    assert success.failure is None and success.failure_kind is None
    failure = parse_external_task_result(load("failure"))
    assert failure.failure is not None
    assert failure.failure_kind == "timeout"
    assert failure.failure.timeout_type == "deadline_exceeded"
    assert failure.failure.type == "ProviderTimeout"
    assert failure.failure.details == {"codec": "avro", "blob": "BASE64_AVRO_FAILURE_DETAILS"}
    malformed = parse_external_task_result(load("malformed-output"))
    assert malformed.raw_output == {
        "stdout_preview": "{not json",
        "stderr_preview": "deprecated flag ignored",
        "exit_code": 64,
    }


def test_success_result_may_be_null() -> None:
    parsed = parse_external_task_result(mutate(load("success"), "result", None))
    assert parsed.succeeded and parsed.result is None


def test_raw_output_alone_makes_a_failure_malformed() -> None:
    envelope = load("handler-crash")
    envelope["raw_output"] = {"stdout_preview": "", "exit_code": 70}
    parsed = parse_external_task_result(envelope)
    assert parsed.malformed_output and parsed.handler_crash
    assert parsed.retryable is True  # still taken from the outcome when present


def test_malformed_output_retryable_defaults_to_false() -> None:
    parsed = parse_external_task_result(mutate(load("malformed-output"), "outcome.retryable", DELETE))
    assert parsed.malformed_output and parsed.retryable is False


def test_unknown_extra_fields_are_ignored() -> None:
    for name in NAMES:
        envelope = load(name)
        envelope["trace"] = {"id": "abc"}
        envelope["outcome"]["future"] = 1
        envelope["task"]["future"] = "x"
        if "failure" in envelope:
            envelope["failure"]["future"] = None
        assert parse_external_task_result(envelope) == parse_external_task_result(load(name))


SUCCESS_VIOLATIONS = [
    ("schema", DELETE),
    ("schema", "durable-workflow.v2.external-task-input"),
    ("version", 2),
    ("version", True),
    ("outcome", DELETE),
    ("outcome", "succeeded"),
    ("outcome.status", DELETE),
    ("outcome.status", "done"),
    ("outcome.recorded", DELETE),
    ("outcome.recorded", "true"),
    ("task", DELETE),
    ("task.id", DELETE),
    ("task.kind", 1),
    ("task.attempt", 0),
    ("task.attempt", True),
    ("task.idempotency_key", DELETE),
    ("metadata", DELETE),
    ("metadata", None),
    ("result", DELETE),
    ("result", "BASE64_AVRO_RESULT"),
]

FAILURE_VIOLATIONS = [
    ("outcome.retryable", DELETE),
    ("outcome.retryable", 1),
    ("failure", DELETE),
    ("failure", None),
    ("failure.kind", DELETE),
    ("failure.kind", "explosion"),
    ("failure.classification", DELETE),
    ("failure.classification", "flaky"),
    ("failure.message", DELETE),
    ("failure.message", None),
    ("failure.type", DELETE),
    ("failure.type", 3),
    ("failure.stack_trace", DELETE),
    ("failure.timeout_type", DELETE),
    ("failure.timeout_type", "forever"),
    ("failure.cancelled", DELETE),
    ("failure.cancelled", "no"),
    ("failure.details", DELETE),
    ("failure.details", ["a"]),
]


@pytest.mark.parametrize(("path", "value"), SUCCESS_VIOLATIONS, ids=lambda v: str(v)[:40])
def test_each_success_rule_fails_closed_naming_the_field(path: str, value: Any) -> None:
    with pytest.raises(ExternalTaskResultError) as caught:
        parse_external_task_result(mutate(load("success"), path, value))
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.field == path and path in error.message and str(error) == error.message


@pytest.mark.parametrize(("path", "value"), FAILURE_VIOLATIONS, ids=lambda v: str(v)[:40])
def test_each_failure_rule_fails_closed_naming_the_field(path: str, value: Any) -> None:
    with pytest.raises(ExternalTaskResultError) as caught:
        parse_external_task_result(mutate(load("failure"), path, value))
    assert caught.value.field == path and path in caught.value.message


def test_a_cancelled_classification_requires_cancelled_true() -> None:
    with pytest.raises(ExternalTaskResultError) as caught:
        parse_external_task_result(mutate(load("cancellation"), "failure.cancelled", False))
    assert caught.value.field == "failure.cancelled"


@pytest.mark.parametrize("value", [DELETE, None, "stdout", [1]])
def test_malformed_output_needs_a_raw_output_object(value: Any) -> None:
    with pytest.raises(ExternalTaskResultError) as caught:
        parse_external_task_result(mutate(load("malformed-output"), "raw_output", value))
    assert caught.value.field == "raw_output"


def test_a_non_object_envelope_is_a_typed_error() -> None:
    with pytest.raises(ExternalTaskResultError) as caught:
        parse_external_task_result([load("success")])  # type: ignore[arg-type]
    assert caught.value.field is None
    assert pickle.loads(pickle.dumps(caught.value)) == caught.value
    with pytest.raises(FrozenInstanceError):
        caught.value.field = "x"  # type: ignore[misc]
    # Python sets these on raise/chaining (and add_note() sets __notes__ on 3.11+)
    caught.value.__cause__ = KeyError("from carrier 3")
    setattr(caught.value, NOTES, ["from carrier 3"])
    assert getattr(caught.value, NOTES) == ["from carrier 3"]


# -- fixture artifacts --------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_artifact_forms_of_all_fixtures_verify_and_parse(name: str) -> None:
    example = load(name)
    assert parse_external_task_result_artifact(artifact_for(name, example)) == parse_external_task_result(
        example
    )


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("artifact", "durable-workflow.v2.external-task-input.activity-task.v1"),
        ("media_type", "application/vnd.durable-workflow.external-task-input+json"),
        ("schema", "durable-workflow.v2.external-task-result.contract"),
        ("version", "1"),
        ("sha256", hashlib.sha256(b"{}").hexdigest()),
        ("example", None),
    ],
    ids=lambda v: str(v)[:40],
)
def test_artifact_violations_name_the_field(path: str, value: Any) -> None:
    artifact = mutate(artifact_for("success", load("success")), path, value)
    with pytest.raises(ExternalTaskResultError) as caught:
        parse_external_task_result_artifact(artifact)
    assert caught.value.field == path


def test_a_tampered_result_example_fails_its_hash() -> None:
    artifact = artifact_for("failure", load("failure"))
    artifact["example"]["outcome"]["retryable"] = False  # flipping retryability must not go unnoticed
    with pytest.raises(ExternalTaskResultError, match="sha256 mismatch"):
        parse_external_task_result_artifact(artifact)


# -- the published SDK makes the same decisions on the same fixtures ------------------------------

_REFERENCE_SCRIPT = r"""
import json, sys
from durable_workflow.external_task_result import parse_external_task_result
out = []
for envelope in json.load(sys.stdin):
    r = parse_external_task_result(envelope)
    out.append([r.kind, r.retryable, r.recorded, r.cancelled, r.deadline_exceeded, r.handler_crash,
                r.decode_failure, r.unsupported_payload, r.failure_kind, r.failure_classification])
print(json.dumps(out))
"""


@pytest.mark.reference_sdk
def test_published_sdk_makes_the_same_decisions() -> None:
    ref = subprocess.run(
        [sys.executable, "tools/dev.py", "ref-venv"], cwd=REPO, capture_output=True, text=True, timeout=900
    )
    assert ref.returncode == 0, ref.stderr
    result = subprocess.run(
        [ref.stdout.strip().splitlines()[-1], "-c", _REFERENCE_SCRIPT],
        input=json.dumps([load(name) for name in NAMES]),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    for name, theirs in zip(NAMES, json.loads(result.stdout), strict=True):
        r = parse_external_task_result(load(name))
        ours = [
            r.kind,
            r.retryable,
            r.recorded,
            r.cancelled,
            r.deadline_exceeded,
            r.handler_crash,
            r.decode_failure,
            r.unsupported_payload,
            r.failure_kind,
            r.failure_classification,
        ]
        assert ours == theirs, name
