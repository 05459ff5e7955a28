"""The external-task result envelope: what an out-of-process handler reports back.

``durable-workflow.v2.external-task-result`` v1 carries either a success (``result`` with the
encoded payload) or a failure (``failure`` with a kind, a classification and retryability), or, when
the carrier could not get a valid envelope out of the handler, a *malformed output* failure with the
``raw_output`` it saw. :func:`parse_external_task_result` validates it fail-closed so a carrier can
make stable retry, cancellation and timeout decisions; violations raise
:class:`ExternalTaskResultError` naming the field. Unknown extra fields are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from dw_core._contract_fields import ContractFieldError, ContractFields
from dw_core.protocol import EXTERNAL_TASK_RESULT_CONTRACT_SCHEMA as _CONTRACT_SCHEMA

__all__ = [
    "EXTERNAL_TASK_FAILURE_CLASSIFICATIONS",
    "EXTERNAL_TASK_FAILURE_KINDS",
    "EXTERNAL_TASK_RESULT_ARTIFACT_PREFIX",
    "EXTERNAL_TASK_RESULT_CONTRACT_SCHEMA",
    "EXTERNAL_TASK_RESULT_MEDIA_TYPE",
    "EXTERNAL_TASK_RESULT_SCHEMA",
    "EXTERNAL_TASK_RESULT_VERSION",
    "EXTERNAL_TASK_SUCCESS_CONTENT_TYPE",
    "EXTERNAL_TASK_TIMEOUT_TYPES",
    "ExternalTaskFailure",
    "ExternalTaskIdentity",
    "ExternalTaskResult",
    "ExternalTaskResultError",
    "ExternalTaskResultKind",
    "parse_external_task_result",
    "parse_external_task_result_artifact",
]

EXTERNAL_TASK_RESULT_SCHEMA: Final = "durable-workflow.v2.external-task-result"
EXTERNAL_TASK_RESULT_CONTRACT_SCHEMA: Final = _CONTRACT_SCHEMA
EXTERNAL_TASK_RESULT_MEDIA_TYPE: Final = "application/vnd.durable-workflow.external-task-result+json"
EXTERNAL_TASK_RESULT_VERSION: Final = 1
EXTERNAL_TASK_RESULT_ARTIFACT_PREFIX: Final = "durable-workflow.v2.external-task-result."
#: ``result.metadata.content_type`` of success envelopes produced by SDK carriers.
EXTERNAL_TASK_SUCCESS_CONTENT_TYPE: Final = "application/vnd.durable-workflow.result+json"

ExternalTaskResultKind = Literal["success", "failure", "malformed_output"]

EXTERNAL_TASK_FAILURE_KINDS: Final = frozenset(
    {
        "application",
        "timeout",
        "cancellation",
        "malformed_output",
        "handler_crash",
        "decode_failure",
        "unsupported_payload",
    }
)
EXTERNAL_TASK_FAILURE_CLASSIFICATIONS: Final = frozenset(
    {
        "application_error",
        "timeout",
        "cancelled",
        "deadline_exceeded",
        "handler_crash",
        "decode_failure",
        "malformed_output",
        "unsupported_payload_codec",
        "unsupported_payload_reference",
    }
)
EXTERNAL_TASK_TIMEOUT_TYPES: Final = frozenset(
    {"schedule_to_start", "start_to_close", "schedule_to_close", "heartbeat", "deadline_exceeded"}
)
_UNSUPPORTED_PAYLOAD_CLASSIFICATIONS: Final = frozenset(
    {"unsupported_payload_codec", "unsupported_payload_reference"}
)


class ExternalTaskResultError(ContractFieldError):
    """A result envelope (or fixture artifact) violates the v1 contract.

    ``message`` says what is wrong; ``field`` is the dotted path of the offending field (``None``
    when the whole document is at fault).
    """


@dataclass(frozen=True)
class ExternalTaskIdentity:
    """``task``: the identity copied from the input envelope."""

    id: str
    kind: str
    attempt: int
    idempotency_key: str


@dataclass(frozen=True)
class ExternalTaskFailure:
    """``failure``: why the task failed and how the failure should be treated."""

    kind: str
    classification: str
    message: str
    type: str | None
    stack_trace: str | None
    timeout_type: str | None
    cancelled: bool
    details: Mapping[str, Any] | None

    @property
    def deadline_exceeded(self) -> bool:
        """The task ran out of time (classification or timeout type ``deadline_exceeded``)."""
        return self.classification == "deadline_exceeded" or self.timeout_type == "deadline_exceeded"

    @property
    def handler_crash(self) -> bool:
        """The handler died before producing a valid envelope."""
        return self.kind == "handler_crash" or self.classification == "handler_crash"

    @property
    def decode_failure(self) -> bool:
        """A payload could not be decoded or encoded."""
        return self.kind == "decode_failure" or self.classification == "decode_failure"

    @property
    def unsupported_payload(self) -> bool:
        """The handler cannot read the payload's codec or resolve its storage reference."""
        return (
            self.kind == "unsupported_payload" or self.classification in _UNSUPPORTED_PAYLOAD_CLASSIFICATIONS
        )


@dataclass(frozen=True)
class ExternalTaskResult:
    """A validated result envelope; ``kind`` is ``success``, ``failure`` or ``malformed_output``."""

    kind: ExternalTaskResultKind
    task: ExternalTaskIdentity
    recorded: bool
    metadata: Mapping[str, Any]
    result: Mapping[str, Any] | None = None
    failure: ExternalTaskFailure | None = None
    raw_output: Mapping[str, Any] | None = None
    retryable: bool = False

    @property
    def succeeded(self) -> bool:
        """The handler succeeded; the value (if any) is at ``result["payload"]``."""
        return self.kind == "success"

    @property
    def failed(self) -> bool:
        """Any failure, malformed output included."""
        return self.kind != "success"

    @property
    def malformed_output(self) -> bool:
        """The carrier got no valid envelope from the handler."""
        return self.kind == "malformed_output"

    @property
    def cancelled(self) -> bool:
        """The failure is a cancellation."""
        return self.failure is not None and self.failure.cancelled

    @property
    def deadline_exceeded(self) -> bool:
        """The failure is a deadline overrun."""
        return self.failure is not None and self.failure.deadline_exceeded

    @property
    def handler_crash(self) -> bool:
        """The failure is a handler crash."""
        return self.failure is not None and self.failure.handler_crash

    @property
    def decode_failure(self) -> bool:
        """The failure is a payload decode/encode failure."""
        return self.failure is not None and self.failure.decode_failure

    @property
    def unsupported_payload(self) -> bool:
        """The failure is an unsupported payload codec or reference."""
        return self.failure is not None and self.failure.unsupported_payload

    @property
    def failure_kind(self) -> str | None:
        """``failure.kind`` or ``None`` for a success."""
        return self.failure.kind if self.failure is not None else None

    @property
    def failure_classification(self) -> str | None:
        """``failure.classification`` or ``None`` for a success."""
        return self.failure.classification if self.failure is not None else None


_fields = ContractFields(ExternalTaskResultError, "external task result")


# --------------------------------------------------------------------------------------------
# Parsing


def _parse_task(task: Mapping[str, Any]) -> ExternalTaskIdentity:
    task_id = _fields.string(task, "task", "id")
    kind = _fields.string(task, "task", "kind")
    attempt = _fields.integer(task, "task", "attempt")
    if attempt < 1:
        _fields.fail(
            "task.attempt", f"field 'task.attempt' must be >= 1 (attempts count from 1), got {attempt}"
        )
    return ExternalTaskIdentity(
        id=task_id,
        kind=kind,
        attempt=attempt,
        idempotency_key=_fields.string(task, "task", "idempotency_key"),
    )


def _parse_failure(envelope: Mapping[str, Any]) -> ExternalTaskFailure:
    failure = _fields.json_object(envelope, "", "failure")
    kind = _fields.string(failure, "failure", "kind")
    if kind not in EXTERNAL_TASK_FAILURE_KINDS:
        _fields.fail(
            "failure.kind",
            f"unsupported failure.kind {kind!r}; expected one of "
            f"{', '.join(sorted(EXTERNAL_TASK_FAILURE_KINDS))}",
        )
    classification = _fields.string(failure, "failure", "classification")
    if classification not in EXTERNAL_TASK_FAILURE_CLASSIFICATIONS:
        known = ", ".join(sorted(EXTERNAL_TASK_FAILURE_CLASSIFICATIONS))
        _fields.fail(
            "failure.classification",
            f"unsupported failure.classification {classification!r}; expected one of {known}",
        )
    message = _fields.string(failure, "failure", "message")
    failure_type = _fields.nullable_string(failure, "failure", "type")
    stack_trace = _fields.nullable_string(failure, "failure", "stack_trace")
    timeout_type = _fields.nullable_string(failure, "failure", "timeout_type")
    if timeout_type is not None and timeout_type not in EXTERNAL_TASK_TIMEOUT_TYPES:
        known = ", ".join(sorted(EXTERNAL_TASK_TIMEOUT_TYPES))
        _fields.fail(
            "failure.timeout_type",
            f"unsupported failure.timeout_type {timeout_type!r}; expected null or one of {known}",
        )
    cancelled = _fields.boolean(failure, "failure", "cancelled")
    if classification == "cancelled" and not cancelled:
        _fields.fail(
            "failure.cancelled",
            "field 'failure.cancelled' must be true when failure.classification is 'cancelled'",
        )
    return ExternalTaskFailure(
        kind=kind,
        classification=classification,
        message=message,
        type=failure_type,
        stack_trace=stack_trace,
        timeout_type=timeout_type,
        cancelled=cancelled,
        details=_fields.nullable_object(failure, "failure", "details"),
    )


def parse_external_task_result(envelope: Mapping[str, Any]) -> ExternalTaskResult:
    """Validate a v1 result envelope and return it typed; :class:`ExternalTaskResultError` otherwise.

    A ``failed`` outcome is *malformed output* when the failure kind or classification says
    ``malformed_output`` or a ``raw_output`` key exists; ``raw_output`` must then be an object and
    ``outcome.retryable`` may be omitted (it defaults to false). Extra fields are ignored.
    """
    envelope = _fields.document(envelope, "envelope")
    _fields.pinned(envelope, "schema", EXTERNAL_TASK_RESULT_SCHEMA)
    _fields.pinned(envelope, "version", EXTERNAL_TASK_RESULT_VERSION)
    outcome = _fields.json_object(envelope, "", "outcome")
    status = _fields.string(outcome, "outcome", "status")
    if status not in ("succeeded", "failed"):
        _fields.fail(
            "outcome.status", f"unsupported outcome.status {status!r}; expected 'succeeded' or 'failed'"
        )
    recorded = _fields.boolean(outcome, "outcome", "recorded")
    task = _parse_task(_fields.json_object(envelope, "", "task"))
    metadata = _fields.json_object(envelope, "", "metadata")
    if status == "succeeded":
        return ExternalTaskResult(
            kind="success",
            task=task,
            recorded=recorded,
            metadata=metadata,
            result=_fields.nullable_object(envelope, "", "result"),
        )
    failure = _parse_failure(envelope)
    malformed = (
        failure.kind == "malformed_output"
        or failure.classification == "malformed_output"
        or "raw_output" in envelope
    )
    if not malformed:
        return ExternalTaskResult(
            kind="failure",
            task=task,
            recorded=recorded,
            metadata=metadata,
            failure=failure,
            retryable=_fields.boolean(outcome, "outcome", "retryable"),
        )
    retryable = _fields.boolean(outcome, "outcome", "retryable") if "retryable" in outcome else False
    return ExternalTaskResult(
        kind="malformed_output",
        task=task,
        recorded=recorded,
        metadata=metadata,
        failure=failure,
        raw_output=_fields.json_object(envelope, "", "raw_output"),
        retryable=retryable,
    )


def parse_external_task_result_artifact(artifact: Mapping[str, Any]) -> ExternalTaskResult:
    """Verify a fixture artifact (name, media type, schema, version, SHA-256) and parse its example."""
    example = _fields.verified_artifact_example(
        artifact,
        prefix=EXTERNAL_TASK_RESULT_ARTIFACT_PREFIX,
        media_type=EXTERNAL_TASK_RESULT_MEDIA_TYPE,
        schema=EXTERNAL_TASK_RESULT_SCHEMA,
        version=EXTERNAL_TASK_RESULT_VERSION,
    )
    return parse_external_task_result(example)
