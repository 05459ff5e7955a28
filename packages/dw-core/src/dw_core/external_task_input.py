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

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, NoReturn

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


@dataclass(frozen=True)
class ExternalTaskInputError(ValueError):
    """An input envelope (or fixture artifact) violates the v1 contract; nothing was run.

    ``message`` says what is wrong and what to send instead; ``field`` is the dotted path of the
    offending field (``None`` when the whole document is at fault).
    """

    message: str
    field: str | None = None

    def __post_init__(self) -> None:
        # The dataclass __init__ bypasses ValueError.__init__; keep args meaningful for repr/logging.
        object.__setattr__(self, "args", (self.message,))

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        # BaseException's default pickling would set attributes on a frozen instance.
        return (type(self), (self.message, self.field))


def _set_exception_attribute(self: object, name: str, value: Any) -> None:
    # Fields stay frozen, but Python's own exception bookkeeping (__traceback__, __notes__ via
    # add_note(), __cause__, ...) must keep working on a raised error.
    if name.startswith("__") and name.endswith("__"):
        ValueError.__setattr__(self, name, value)
    else:
        _frozen_setattr(self, name, value)


_frozen_setattr = ExternalTaskInputError.__setattr__
ExternalTaskInputError.__setattr__ = _set_exception_attribute  # type: ignore[method-assign]


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


# --------------------------------------------------------------------------------------------
# Field readers: each names the full dotted path of what it reads in its error.


def _fail(path: str | None, message: str) -> NoReturn:
    raise ExternalTaskInputError(f"external task input: {message}", field=path)


def _join(parent: str, key: str) -> str:
    return f"{parent}.{key}" if parent else key


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    return type(value).__name__


def _present(obj: Mapping[str, Any], parent: str, key: str) -> Any:
    if key not in obj:
        _fail(_join(parent, key), f"required field '{_join(parent, key)}' is missing")
    return obj[key]


def _object(obj: Mapping[str, Any], parent: str, key: str) -> Mapping[str, Any]:
    value = _present(obj, parent, key)
    if not isinstance(value, Mapping):
        path = _join(parent, key)
        _fail(path, f"field '{path}' must be an object, got {_type_name(value)}")
    return value


def _nullable_object(obj: Mapping[str, Any], parent: str, key: str) -> Mapping[str, Any] | None:
    value = _present(obj, parent, key)
    if value is not None and not isinstance(value, Mapping):
        path = _join(parent, key)
        _fail(path, f"field '{path}' must be an object or null, got {_type_name(value)}")
    return value


def _string(obj: Mapping[str, Any], parent: str, key: str, *, non_empty: bool = False) -> str:
    value = _present(obj, parent, key)
    path = _join(parent, key)
    if not isinstance(value, str):
        _fail(path, f"field '{path}' must be a string, got {_type_name(value)}")
    if non_empty and not value:
        _fail(path, f"field '{path}' must be a non-empty string; it identifies the task")
    return value


def _nullable_string(obj: Mapping[str, Any], parent: str, key: str) -> str | None:
    value = _present(obj, parent, key)
    if value is not None and not isinstance(value, str):
        path = _join(parent, key)
        _fail(path, f"field '{path}' must be a string or null, got {_type_name(value)}")
    return value


def _integer(obj: Mapping[str, Any], parent: str, key: str) -> int:
    value = _present(obj, parent, key)
    if isinstance(value, bool) or not isinstance(value, int):
        path = _join(parent, key)
        _fail(path, f"field '{path}' must be an integer, got {_type_name(value)}")
    return value


def _array(obj: Mapping[str, Any], parent: str, key: str) -> list[Any]:
    value = _present(obj, parent, key)
    if not isinstance(value, (list, tuple)):
        path = _join(parent, key)
        _fail(path, f"field '{path}' must be an array, got {_type_name(value)}")
    return list(value)


def _pinned(obj: Mapping[str, Any], key: str, expected: str | int) -> None:
    value = _present(obj, "", key)
    # bool is an int in Python: `True == 1` must not pass for version 1.
    if isinstance(value, bool) or type(value) is not type(expected) or value != expected:
        _fail(key, f"field '{key}' must be {expected!r}, got {value!r}; this SDK reads v1 envelopes")


# --------------------------------------------------------------------------------------------
# Parsing


def _parse_kind(task: Mapping[str, Any]) -> ExternalTaskInputKind:
    kind = _string(task, "task", "kind")
    if kind == "activity_task":
        return "activity_task"
    if kind == "workflow_task":
        return "workflow_task"
    _fail("task.kind", f"unsupported task.kind {kind!r}; expected one of {', '.join(_KINDS)}")


def _parse_task(task: Mapping[str, Any], kind: ExternalTaskInputKind) -> ExternalTaskInputIdentity:
    task_id = _string(task, "task", "id", non_empty=True)
    attempt = _integer(task, "task", "attempt")
    if attempt < 1:
        _fail("task.attempt", f"field 'task.attempt' must be >= 1 (attempts count from 1), got {attempt}")
    task_queue = _string(task, "task", "task_queue")
    if kind == "activity_task":
        activity_attempt_id: str | None = _string(task, "task", "activity_attempt_id", non_empty=True)
        handler: str | None = _string(task, "task", "handler", non_empty=True)
        compatibility = None
    else:
        activity_attempt_id = None
        handler = _nullable_string(task, "task", "handler")
        compatibility = _nullable_string(task, "task", "compatibility")
    return ExternalTaskInputIdentity(
        id=task_id,
        kind=kind,
        attempt=attempt,
        task_queue=task_queue,
        handler=handler,
        connection=_nullable_string(task, "task", "connection"),
        idempotency_key=_string(task, "task", "idempotency_key", non_empty=True),
        activity_attempt_id=activity_attempt_id,
        compatibility=compatibility,
    )


def _parse_workflow(workflow: Mapping[str, Any], kind: ExternalTaskInputKind) -> ExternalTaskWorkflowContext:
    workflow_id = _string(workflow, "workflow", "id", non_empty=True)
    run_id = _string(workflow, "workflow", "run_id", non_empty=True)
    if kind == "activity_task":
        return ExternalTaskWorkflowContext(id=workflow_id, run_id=run_id)
    return ExternalTaskWorkflowContext(
        id=workflow_id,
        run_id=run_id,
        status=_nullable_string(workflow, "workflow", "status"),
        resume=_object(workflow, "workflow", "resume"),
    )


def _parse_lease(lease: Mapping[str, Any]) -> ExternalTaskLease:
    return ExternalTaskLease(
        owner=_string(lease, "lease", "owner"),
        expires_at=_string(lease, "lease", "expires_at"),
        heartbeat_endpoint=_string(lease, "lease", "heartbeat_endpoint"),
    )


def _parse_deadlines(envelope: Mapping[str, Any]) -> Mapping[str, Any]:
    deadlines = _object(envelope, "", "deadlines")
    for key in _DEADLINE_KEYS:
        _nullable_string(deadlines, "deadlines", key)
    return deadlines


def _parse_history(envelope: Mapping[str, Any]) -> Mapping[str, Any]:
    history = _object(envelope, "", "history")
    _array(history, "history", "events")
    _integer(history, "history", "last_sequence")
    _nullable_string(history, "history", "next_page_token")
    _nullable_string(history, "history", "encoding")
    return history


def parse_external_task_input(envelope: Mapping[str, Any]) -> ExternalTaskInput:
    """Validate a v1 input envelope and return it typed; :class:`ExternalTaskInputError` otherwise.

    Every required key must be present (nullable ones with ``null``), JSON types must match
    (booleans are not integers), ``task.attempt`` is at least 1. Extra fields are ignored.
    """
    if not isinstance(envelope, Mapping):
        _fail(None, f"the envelope must be a JSON object, got {_type_name(envelope)}")
    _pinned(envelope, "schema", EXTERNAL_TASK_INPUT_SCHEMA)
    _pinned(envelope, "version", EXTERNAL_TASK_INPUT_VERSION)
    task_fields = _object(envelope, "", "task")
    kind = _parse_kind(task_fields)
    task = _parse_task(task_fields, kind)
    workflow = _parse_workflow(_object(envelope, "", "workflow"), kind)
    lease = _parse_lease(_object(envelope, "", "lease"))
    payloads = _object(envelope, "", "payloads")
    _nullable_object(payloads, "payloads", "arguments")
    headers = _object(envelope, "", "headers")
    if kind == "activity_task":
        return ExternalTaskInput(
            kind=kind,
            task=task,
            workflow=workflow,
            lease=lease,
            payloads=payloads,
            headers=headers,
            deadlines=_parse_deadlines(envelope),
        )
    return ExternalTaskInput(
        kind=kind,
        task=task,
        workflow=workflow,
        lease=lease,
        payloads=payloads,
        headers=headers,
        history=_parse_history(envelope),
    )


# --------------------------------------------------------------------------------------------
# Cluster-info fixture artifacts


def artifact_example_sha256_candidates(example: Mapping[str, Any]) -> tuple[str, ...]:
    """The SHA-256 digests an artifact may carry for ``example``: server form first.

    The server hashes PHP ``json_encode`` output (compact, slashes unescaped, non-ASCII escaped as
    ``\\uXXXX``); the 0.4.84 SDK hashed raw UTF-8 instead. Both are the same for ASCII-only examples;
    accepting both keeps artifacts with non-ASCII text verifiable whichever side produced them.
    """
    try:
        escaped = json.dumps(example, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
        raw = json.dumps(example, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"artifact example is not JSON data: {exc}") from exc
    server = hashlib.sha256(escaped.encode("ascii")).hexdigest()
    if raw == escaped:
        return (server,)
    return (server, hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest())


def parse_external_task_input_artifact(artifact: Mapping[str, Any]) -> ExternalTaskInput:
    """Verify a fixture artifact (name, media type, schema, version, SHA-256) and parse its example."""
    if not isinstance(artifact, Mapping):
        _fail(None, f"the artifact must be a JSON object, got {_type_name(artifact)}")
    name = _string(artifact, "", "artifact")
    if not name.startswith(EXTERNAL_TASK_INPUT_ARTIFACT_PREFIX):
        _fail(
            "artifact",
            f"unsupported artifact {name!r}; expected a name starting with "
            f"{EXTERNAL_TASK_INPUT_ARTIFACT_PREFIX!r}",
        )
    _pinned(artifact, "media_type", EXTERNAL_TASK_INPUT_MEDIA_TYPE)
    _pinned(artifact, "schema", EXTERNAL_TASK_INPUT_SCHEMA)
    _pinned(artifact, "version", EXTERNAL_TASK_INPUT_VERSION)
    example = _object(artifact, "", "example")
    expected = _string(artifact, "", "sha256").lower()
    try:
        candidates = artifact_example_sha256_candidates(example)
    except ValueError as exc:
        _fail("example", f"artifact {name!r}: {exc}")
    if expected not in candidates:
        _fail(
            "sha256",
            f"artifact {name!r} sha256 mismatch: artifact says {expected}, the example hashes to "
            f"{candidates[0]}; the example was altered or the artifact is corrupt",
        )
    return parse_external_task_input(example)
