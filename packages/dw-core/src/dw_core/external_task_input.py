"""The external-task input envelope: a leased task handed to an out-of-process handler.

A carrier (process, HTTP endpoint, serverless function) receives one JSON envelope
``durable-workflow.v2.external-task-input`` v1 describing the task, its workflow, its lease, its
argument payloads and its deadlines. :func:`parse_external_task_input` validates it fail-closed
before any user code runs: a wrong schema or version, an unknown task kind, a missing required key
(nullable keys must be present with ``null``) or a wrong JSON type raises
:class:`ExternalTaskInputError` naming the offending field. Unknown extra fields are ignored, as the
contract's additive-field policy requires.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from dw_core._contract_fields import ContractFieldError, ContractFields, artifact_example_sha256_candidates
from dw_core.protocol import EXTERNAL_TASK_INPUT_CONTRACT_SCHEMA as _CONTRACT_SCHEMA

__all__ = [
    "EXTERNAL_TASK_INPUT_ARTIFACT_PREFIX",
    "EXTERNAL_TASK_INPUT_CONTRACT_SCHEMA",
    "EXTERNAL_TASK_INPUT_MEDIA_TYPE",
    "EXTERNAL_TASK_INPUT_SCHEMA",
    "EXTERNAL_TASK_INPUT_VERSION",
    "ExternalTaskInput",
    "ExternalTaskInputError",
    "ExternalTaskInputIdentity",
    "ExternalTaskInputKind",
    "ExternalTaskLease",
    "ExternalTaskWorkflowContext",
    "artifact_example_sha256_candidates",
    "parse_external_task_input",
    "parse_external_task_input_artifact",
]

EXTERNAL_TASK_INPUT_SCHEMA: Final = "durable-workflow.v2.external-task-input"
EXTERNAL_TASK_INPUT_CONTRACT_SCHEMA: Final = _CONTRACT_SCHEMA
EXTERNAL_TASK_INPUT_MEDIA_TYPE: Final = "application/vnd.durable-workflow.external-task-input+json"
EXTERNAL_TASK_INPUT_VERSION: Final = 1
#: Fixture artifacts in the cluster-info contract are named ``<prefix><kind>.v1``.
EXTERNAL_TASK_INPUT_ARTIFACT_PREFIX: Final = "durable-workflow.v2.external-task-input."

ExternalTaskInputKind = Literal["activity_task", "workflow_task"]
_KINDS: Final = ("activity_task", "workflow_task")
_DEADLINE_KEYS: Final = ("schedule_to_start", "start_to_close", "schedule_to_close", "heartbeat")


class ExternalTaskInputError(ContractFieldError):
    """An input envelope (or fixture artifact) violates the v1 contract; nothing was run.

    ``message`` says what is wrong and what to send instead; ``field`` is the dotted path of the
    offending field (``None`` when the whole document is at fault).
    """


@dataclass(frozen=True)
class ExternalTaskInputIdentity:
    """``task``: which task and attempt this is, and who should handle it."""

    id: str
    kind: ExternalTaskInputKind
    attempt: int
    task_queue: str
    handler: str | None
    connection: str | None
    idempotency_key: str
    activity_attempt_id: str | None = None
    compatibility: str | None = None


@dataclass(frozen=True)
class ExternalTaskWorkflowContext:
    """``workflow``: the run the task belongs to (status and resume context for workflow tasks)."""

    id: str
    run_id: str
    status: str | None = None
    resume: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class ExternalTaskLease:
    """``lease``: who holds the task, until when, and where to heartbeat."""

    owner: str
    expires_at: str
    heartbeat_endpoint: str


@dataclass(frozen=True)
class ExternalTaskInput:
    """A validated input envelope. ``deadlines`` is set for activity tasks, ``history`` for workflow tasks."""

    kind: ExternalTaskInputKind
    task: ExternalTaskInputIdentity
    workflow: ExternalTaskWorkflowContext
    lease: ExternalTaskLease
    payloads: Mapping[str, Any]
    headers: Mapping[str, Any]
    deadlines: Mapping[str, Any] | None = None
    history: Mapping[str, Any] | None = None

    @property
    def is_activity_task(self) -> bool:
        """True for ``activity_task`` envelopes, the only kind a carrier may execute."""
        return self.kind == "activity_task"

    @property
    def is_workflow_task(self) -> bool:
        """True for ``workflow_task`` envelopes (compatibility and drift tests only)."""
        return self.kind == "workflow_task"


_fields = ContractFields(ExternalTaskInputError, "external task input")


# --------------------------------------------------------------------------------------------
# Parsing


def _parse_kind(task: Mapping[str, Any]) -> ExternalTaskInputKind:
    kind = _fields.string(task, "task", "kind")
    if kind == "activity_task":
        return "activity_task"
    if kind == "workflow_task":
        return "workflow_task"
    _fields.fail("task.kind", f"unsupported task.kind {kind!r}; expected one of {', '.join(_KINDS)}")


def _parse_task(task: Mapping[str, Any], kind: ExternalTaskInputKind) -> ExternalTaskInputIdentity:
    task_id = _fields.string(task, "task", "id", non_empty=True)
    attempt = _fields.integer(task, "task", "attempt")
    if attempt < 1:
        _fields.fail(
            "task.attempt", f"field 'task.attempt' must be >= 1 (attempts count from 1), got {attempt}"
        )
    task_queue = _fields.string(task, "task", "task_queue")
    if kind == "activity_task":
        activity_attempt_id: str | None = _fields.string(task, "task", "activity_attempt_id", non_empty=True)
        handler: str | None = _fields.string(task, "task", "handler", non_empty=True)
        compatibility = None
    else:
        activity_attempt_id = None
        handler = _fields.nullable_string(task, "task", "handler")
        compatibility = _fields.nullable_string(task, "task", "compatibility")
    return ExternalTaskInputIdentity(
        id=task_id,
        kind=kind,
        attempt=attempt,
        task_queue=task_queue,
        handler=handler,
        connection=_fields.nullable_string(task, "task", "connection"),
        idempotency_key=_fields.string(task, "task", "idempotency_key", non_empty=True),
        activity_attempt_id=activity_attempt_id,
        compatibility=compatibility,
    )


def _parse_workflow(workflow: Mapping[str, Any], kind: ExternalTaskInputKind) -> ExternalTaskWorkflowContext:
    workflow_id = _fields.string(workflow, "workflow", "id", non_empty=True)
    run_id = _fields.string(workflow, "workflow", "run_id", non_empty=True)
    if kind == "activity_task":
        return ExternalTaskWorkflowContext(id=workflow_id, run_id=run_id)
    return ExternalTaskWorkflowContext(
        id=workflow_id,
        run_id=run_id,
        status=_fields.nullable_string(workflow, "workflow", "status"),
        resume=_fields.json_object(workflow, "workflow", "resume"),
    )


def _parse_lease(lease: Mapping[str, Any]) -> ExternalTaskLease:
    return ExternalTaskLease(
        owner=_fields.string(lease, "lease", "owner"),
        expires_at=_fields.string(lease, "lease", "expires_at"),
        heartbeat_endpoint=_fields.string(lease, "lease", "heartbeat_endpoint"),
    )


def _parse_deadlines(envelope: Mapping[str, Any]) -> Mapping[str, Any]:
    deadlines = _fields.json_object(envelope, "", "deadlines")
    for key in _DEADLINE_KEYS:
        _fields.nullable_string(deadlines, "deadlines", key)
    return deadlines


def _parse_history(envelope: Mapping[str, Any]) -> Mapping[str, Any]:
    history = _fields.json_object(envelope, "", "history")
    _fields.array(history, "history", "events")
    _fields.integer(history, "history", "last_sequence")
    _fields.nullable_string(history, "history", "next_page_token")
    _fields.nullable_string(history, "history", "encoding")
    return history


def parse_external_task_input(envelope: Mapping[str, Any]) -> ExternalTaskInput:
    """Validate a v1 input envelope and return it typed; :class:`ExternalTaskInputError` otherwise.

    Every required key must be present (nullable ones with ``null``), JSON types must match
    (booleans are not integers), ``task.attempt`` is at least 1. Extra fields are ignored.
    """
    envelope = _fields.document(envelope, "envelope")
    _fields.pinned(envelope, "schema", EXTERNAL_TASK_INPUT_SCHEMA)
    _fields.pinned(envelope, "version", EXTERNAL_TASK_INPUT_VERSION)
    task_fields = _fields.json_object(envelope, "", "task")
    kind = _parse_kind(task_fields)
    task = _parse_task(task_fields, kind)
    workflow = _parse_workflow(_fields.json_object(envelope, "", "workflow"), kind)
    lease = _parse_lease(_fields.json_object(envelope, "", "lease"))
    payloads = _fields.json_object(envelope, "", "payloads")
    _fields.nullable_object(payloads, "payloads", "arguments")
    headers = _fields.json_object(envelope, "", "headers")
    # Activity tasks carry deadlines, workflow tasks a history page; each reads only its own.
    activity = kind == "activity_task"
    return ExternalTaskInput(
        kind=kind,
        task=task,
        workflow=workflow,
        lease=lease,
        payloads=payloads,
        headers=headers,
        deadlines=_parse_deadlines(envelope) if activity else None,
        history=None if activity else _parse_history(envelope),
    )


# --------------------------------------------------------------------------------------------
# Cluster-info fixture artifacts


def parse_external_task_input_artifact(artifact: Mapping[str, Any]) -> ExternalTaskInput:
    """Verify a fixture artifact (name, media type, schema, version, SHA-256) and parse its example."""
    example = _fields.verified_artifact_example(
        artifact,
        prefix=EXTERNAL_TASK_INPUT_ARTIFACT_PREFIX,
        media_type=EXTERNAL_TASK_INPUT_MEDIA_TYPE,
        schema=EXTERNAL_TASK_INPUT_SCHEMA,
        version=EXTERNAL_TASK_INPUT_VERSION,
    )
    return parse_external_task_input(example)
