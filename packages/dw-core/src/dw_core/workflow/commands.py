"""Commands a workflow yields or returns, and their wire form (``commands.md``).

Every field is checked when a command is built (so a mistake surfaces at the line of workflow
code that made it) and again when it is converted to the wire, in both the single and the batch
path, so nothing the server would reject with a 422 ever leaves the process.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, TypeAlias

from dw_core import protocol, serializer
from dw_core.payload_size import DEFAULT_PAYLOAD_SIZE_WARNING, PayloadSizeWarningConfig, PayloadWarningContext
from dw_core.retry_policy import ActivityRetryPolicy, ChildWorkflowRetryPolicy

if TYPE_CHECKING:
    from dw_core.external_storage import ExternalStorageDriver

__all__ = [
    "NOOP_MARKER_CHANGE_ID",
    "ActivityRetryPolicyInput",
    "ChildWorkflowRetryPolicyInput",
    "Command",
    "CompleteUpdate",
    "CompleteWorkflow",
    "ContinueAsNew",
    "FailUpdate",
    "FailWorkflow",
    "InvalidCommandError",
    "RecordSideEffect",
    "RecordVersionMarker",
    "ScheduleActivity",
    "StartChildWorkflow",
    "StartTimer",
    "UpsertSearchAttributes",
    "WaitCondition",
    "commands_to_server_commands",
    "noop_server_command",
]

ActivityRetryPolicyInput: TypeAlias = "ActivityRetryPolicy | Mapping[str, Any] | None"
ChildWorkflowRetryPolicyInput: TypeAlias = (
    "ChildWorkflowRetryPolicy | ActivityRetryPolicy | Mapping[str, Any] | None"
)

#: ``change_id`` of the marker sent when a workflow task has nothing new to say (see README,
#: "Replay semantics"): the server requires a non-empty command list, and re-sending pending
#: commands would start duplicate activities. The replay engine ignores markers with this id.
NOOP_MARKER_CHANGE_ID: Final = "durable-workflow.noop"

_SEARCH_ATTRIBUTE_KEY = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
_RETRY_POLICY_KEYS: Final = frozenset({"max_attempts", "backoff_seconds", "non_retryable_error_types"})


class InvalidCommandError(ValueError):
    """A command field the server would reject; the message names the field and the fix."""


# -- field checks ----------------------------------------------------------------------------------


def _check_name(command: str, field_name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidCommandError(
            f"{command}: {field_name} must be a non-empty string (a registered type name), got {value!r}"
        )
    return value


def _check_optional_name(command: str, field_name: str, value: object) -> str | None:
    if value is None:
        return None
    return _check_name(command, field_name, value)


def _check_seconds(command: str, field_name: str, value: object, *, minimum: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidCommandError(
            f"{command}: {field_name} must be a whole number of seconds (int), got {value!r}; "
            "the server accepts no fractions, round with math.ceil()"
        )
    if value < minimum:
        raise InvalidCommandError(
            f"{command}: {field_name} must be at least {minimum} second(s), got {value}"
        )
    return value


def _check_not_above(command: str, low_name: str, low: int | None, high_name: str, high: int | None) -> None:
    if low is not None and high is not None and low > high:
        raise InvalidCommandError(
            f"{command}: {low_name} ({low}) must not exceed {high_name} ({high}); the server rejects it"
        )


def _check_arguments(command: str, value: object) -> list[Any]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise InvalidCommandError(
            f"{command}: arguments must be a list of positional arguments, got {type(value).__name__}; "
            "wrap a single value in a list"
        )
    return list(value)


def _wire_retry_policy(command: str, policy: object) -> dict[str, Any] | None:
    if policy is None:
        return None
    if isinstance(policy, ActivityRetryPolicy):
        return policy.to_dict()
    if not isinstance(policy, Mapping):
        raise InvalidCommandError(
            f"{command}: retry_policy must be an ActivityRetryPolicy/ChildWorkflowRetryPolicy or a mapping, "
            f"got {type(policy).__name__}"
        )
    unknown = sorted(str(key) for key in policy if key not in _RETRY_POLICY_KEYS)
    if unknown:
        raise InvalidCommandError(
            f"{command}: retry_policy has unknown keys {unknown}; allowed: {sorted(_RETRY_POLICY_KEYS)} "
            "(or build an ActivityRetryPolicy, which computes backoff_seconds for you)"
        )
    wire = dict(policy)
    attempts = wire.get("max_attempts")
    if attempts is not None and (isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1):
        raise InvalidCommandError(
            f"{command}: retry_policy.max_attempts must be an int >= 1, got {attempts!r}"
        )
    backoff = wire.get("backoff_seconds")
    if backoff is not None and (
        not isinstance(backoff, (list, tuple))
        or any(isinstance(item, bool) or not isinstance(item, int) or item < 0 for item in backoff)
    ):
        raise InvalidCommandError(
            f"{command}: retry_policy.backoff_seconds must be a list of ints >= 0, got {backoff!r}"
        )
    types = wire.get("non_retryable_error_types")
    if types is not None and (
        not isinstance(types, (list, tuple)) or any(not isinstance(t, str) or not t.strip() for t in types)
    ):
        raise InvalidCommandError(
            f"{command}: retry_policy.non_retryable_error_types must be a list of non-empty strings, "
            f"got {types!r}"
        )
    return wire


def _check_search_attributes(attributes: object) -> dict[str, Any]:
    if not isinstance(attributes, Mapping) or not attributes:
        raise InvalidCommandError(
            "upsert_search_attributes: attributes must be a non-empty dict of name -> value "
            f"(None deletes a key), got {attributes!r}"
        )
    for key, value in attributes.items():
        if not isinstance(key, str) or not _SEARCH_ATTRIBUTE_KEY.match(key):
            raise InvalidCommandError(
                f"upsert_search_attributes: key {key!r} must match [A-Za-z0-9_.:-]{{1,64}}"
            )
        scalar = (
            value is None
            or isinstance(value, (str, int, bool))
            or (isinstance(value, float) and math.isfinite(value))
        )
        strings = isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value)
        if not (scalar or strings):
            raise InvalidCommandError(
                f"upsert_search_attributes: value of {key!r} must be a string, number, bool, None or a list "
                f"of strings, got {type(value).__name__}"
            )
    return dict(attributes)


# -- payload encoding ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Encoding:
    codec: str
    size_warning: PayloadSizeWarningConfig | None
    warning_context: PayloadWarningContext
    external_storage: ExternalStorageDriver | None
    external_storage_threshold_bytes: int | None

    def envelope(self, value: Any, kind: str) -> dict[str, Any]:
        context = self._context(kind)
        if self.external_storage is not None and self.external_storage_threshold_bytes is not None:
            return serializer.external_storage_envelope(
                value,
                external_storage=self.external_storage,
                threshold_bytes=self.external_storage_threshold_bytes,
                codec=self.codec,
                size_warning=self.size_warning,
                warning_context=context,
            )
        return serializer.envelope(value, self.codec, size_warning=self.size_warning, warning_context=context)

    def bare(self, value: Any, kind: str) -> str | dict[str, Any]:
        wire = self.envelope(value, kind)
        # record_side_effect carries a bare blob unless it was offloaded.
        blob: str | dict[str, Any] = wire.get("blob", wire)
        return blob

    def _context(self, kind: str) -> PayloadWarningContext:
        if self.warning_context is None:
            return {"kind": kind}
        if isinstance(self.warning_context, Mapping):
            return {"kind": kind, **self.warning_context}
        return self.warning_context


def _encoding(
    payload_codec: str,
    size_warning: PayloadSizeWarningConfig | None,
    warning_context: PayloadWarningContext,
    external_storage: ExternalStorageDriver | None,
    external_storage_threshold_bytes: int | None,
) -> _Encoding:
    if payload_codec not in serializer.SUPPORTED_CODECS:
        raise InvalidCommandError(
            f"payload_codec {payload_codec!r} is not supported; "
            f"use one of {list(serializer.SUPPORTED_CODECS)}"
        )
    return _Encoding(
        payload_codec, size_warning, warning_context, external_storage, external_storage_threshold_bytes
    )


class _WireCommand:
    """Shared ``to_server_command`` entry point of every command dataclass."""

    def validate(self) -> None:
        """Raise :class:`InvalidCommandError` when a field would be rejected by the server."""

    def _wire(self, task_queue: str, encoding: _Encoding) -> dict[str, Any]:
        raise NotImplementedError

    def to_server_command(
        self,
        task_queue: str,
        *,
        payload_codec: str = serializer.AVRO_CODEC,
        size_warning: PayloadSizeWarningConfig | None = DEFAULT_PAYLOAD_SIZE_WARNING,
        warning_context: PayloadWarningContext = None,
        external_storage: ExternalStorageDriver | None = None,
        external_storage_threshold_bytes: int | None = None,
    ) -> dict[str, Any]:
        """The wire command (``commands.md`` §3), payloads encoded with ``payload_codec``."""
        self.validate()
        encoding = _encoding(
            payload_codec, size_warning, warning_context, external_storage, external_storage_threshold_bytes
        )
        return self._wire(task_queue, encoding)


# -- the commands ----------------------------------------------------------------------------------


@dataclass
class ScheduleActivity(_WireCommand):
    """Run an activity; yielding it resumes with its result or throws ``ActivityFailed``."""

    activity_type: str
    arguments: list[Any] = field(default_factory=list)
    queue: str | None = None
    retry_policy: ActivityRetryPolicy | Mapping[str, Any] | None = None
    start_to_close_timeout: int | None = None
    schedule_to_start_timeout: int | None = None
    schedule_to_close_timeout: int | None = None
    heartbeat_timeout: int | None = None

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check names, timeouts (ints >= 1, ordered as the server requires) and the retry policy."""
        name = "schedule_activity"
        _check_name(name, "activity_type", self.activity_type)
        self.arguments = _check_arguments(name, self.arguments)
        _check_optional_name(name, "queue", self.queue)
        start = _check_seconds(name, "start_to_close_timeout", self.start_to_close_timeout, minimum=1)
        to_start = _check_seconds(
            name, "schedule_to_start_timeout", self.schedule_to_start_timeout, minimum=1
        )
        to_close = _check_seconds(
            name, "schedule_to_close_timeout", self.schedule_to_close_timeout, minimum=1
        )
        heartbeat = _check_seconds(name, "heartbeat_timeout", self.heartbeat_timeout, minimum=1)
        _check_not_above(name, "heartbeat_timeout", heartbeat, "start_to_close_timeout", start)
        _check_not_above(name, "start_to_close_timeout", start, "schedule_to_close_timeout", to_close)
        _check_not_above(name, "schedule_to_start_timeout", to_start, "schedule_to_close_timeout", to_close)
        _wire_retry_policy(name, self.retry_policy)

    def _wire(self, task_queue: str, encoding: _Encoding) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "type": protocol.COMMAND_SCHEDULE_ACTIVITY,
            "activity_type": self.activity_type,
            "queue": self.queue or task_queue,
        }
        policy = _wire_retry_policy("schedule_activity", self.retry_policy)
        if policy is not None:
            wire["retry_policy"] = policy
        for key in ("start_to_close_timeout", "schedule_to_start_timeout", "schedule_to_close_timeout"):
            if getattr(self, key) is not None:
                wire[key] = getattr(self, key)
        if self.heartbeat_timeout is not None:
            wire["heartbeat_timeout"] = self.heartbeat_timeout
        wire["arguments"] = encoding.envelope(self.arguments, "activity_input")
        return wire


@dataclass
class StartTimer(_WireCommand):
    """A durable timer of ``delay_seconds`` whole seconds; yielding it resumes with ``None``."""

    delay_seconds: int

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """``delay_seconds`` must be an int >= 0."""
        _check_seconds("start_timer", "delay_seconds", self.delay_seconds, minimum=0)

    def _wire(self, task_queue: str, encoding: _Encoding) -> dict[str, Any]:
        return {"type": protocol.COMMAND_START_TIMER, "delay_seconds": self.delay_seconds}


_PARENT_CLOSE_POLICIES: Final = ("abandon", "request_cancel", "terminate")


@dataclass
class StartChildWorkflow(_WireCommand):
    """Start a child run; yielding it resumes with the child's result or throws a child error."""

    workflow_type: str
    arguments: list[Any] = field(default_factory=list)
    task_queue: str | None = None
    parent_close_policy: str | None = None
    retry_policy: ChildWorkflowRetryPolicy | ActivityRetryPolicy | Mapping[str, Any] | None = None
    execution_timeout_seconds: int | None = None
    run_timeout_seconds: int | None = None

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check the type name, parent-close policy, timeouts and retry policy."""
        name = "start_child_workflow"
        _check_name(name, "workflow_type", self.workflow_type)
        self.arguments = _check_arguments(name, self.arguments)
        _check_optional_name(name, "task_queue", self.task_queue)
        if self.parent_close_policy is not None and self.parent_close_policy not in _PARENT_CLOSE_POLICIES:
            raise InvalidCommandError(
                f"{name}: parent_close_policy must be one of {list(_PARENT_CLOSE_POLICIES)}, "
                f"got {self.parent_close_policy!r}"
            )
        execution = _check_seconds(
            name, "execution_timeout_seconds", self.execution_timeout_seconds, minimum=1
        )
        run = _check_seconds(name, "run_timeout_seconds", self.run_timeout_seconds, minimum=1)
        _check_not_above(name, "run_timeout_seconds", run, "execution_timeout_seconds", execution)
        _wire_retry_policy(name, self.retry_policy)

    def _wire(self, task_queue: str, encoding: _Encoding) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "type": protocol.COMMAND_START_CHILD_WORKFLOW,
            "workflow_type": self.workflow_type,
            "queue": self.task_queue or task_queue,
        }
        if self.parent_close_policy is not None:
            wire["parent_close_policy"] = self.parent_close_policy
        policy = _wire_retry_policy("start_child_workflow", self.retry_policy)
        if policy is not None:
            wire["retry_policy"] = policy
        if self.execution_timeout_seconds is not None:
            wire["execution_timeout_seconds"] = self.execution_timeout_seconds
        if self.run_timeout_seconds is not None:
            wire["run_timeout_seconds"] = self.run_timeout_seconds
        wire["arguments"] = encoding.envelope(self.arguments, "child_workflow_input")
        return wire


@dataclass
class ContinueAsNew(_WireCommand):
    """Close this run and start a new one (same workflow id, fresh history) with ``arguments``."""

    workflow_type: str | None = None
    arguments: list[Any] = field(default_factory=list)
    task_queue: str | None = None

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Optional type and queue must be non-empty names; arguments a list."""
        _check_optional_name("continue_as_new", "workflow_type", self.workflow_type)
        _check_optional_name("continue_as_new", "task_queue", self.task_queue)
        self.arguments = _check_arguments("continue_as_new", self.arguments)

    def _wire(self, task_queue: str, encoding: _Encoding) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "type": protocol.COMMAND_CONTINUE_AS_NEW,
            "queue": self.task_queue or task_queue,
        }
        if self.workflow_type is not None:
            wire["workflow_type"] = self.workflow_type
        wire["arguments"] = encoding.envelope(self.arguments, "continue_as_new_input")
        return wire


@dataclass
class RecordSideEffect(_WireCommand):
    """Record a non-deterministic value once; replays see the recorded value.

    Built by ``ctx.side_effect(fn)``: ``fn`` runs only when the workflow first reaches this point
    (never during replay); ``result`` holds the value it returned.
    """

    result: Any = None
    fn: Callable[[], Any] | None = field(default=None, repr=False, compare=False)

    def _wire(self, task_queue: str, encoding: _Encoding) -> dict[str, Any]:
        return {
            "type": protocol.COMMAND_RECORD_SIDE_EFFECT,
            "result": encoding.bare(self.result, "side_effect_result"),
        }


@dataclass
class RecordVersionMarker(_WireCommand):
    """A version marker; ``result_kind`` says what the yield resumes with (version/patched/None)."""

    change_id: str
    version: int
    min_supported: int
    max_supported: int
    result_kind: str = "version"

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """``min_supported <= version <= max_supported``, all ints; change id non-empty."""
        name = "record_version_marker"
        _check_name(name, "change_id", self.change_id)
        for key in ("version", "min_supported", "max_supported"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidCommandError(f"{name}: {key} must be an int, got {value!r}")
        if not self.min_supported <= self.version <= self.max_supported:
            raise InvalidCommandError(
                f"{name}: need min_supported <= version <= max_supported, got {self.min_supported} <= "
                f"{self.version} <= {self.max_supported}"
            )
        if self.result_kind not in ("version", "patched", "deprecate_patch"):
            raise InvalidCommandError(f"{name}: unknown result_kind {self.result_kind!r}")

    def _wire(self, task_queue: str, encoding: _Encoding) -> dict[str, Any]:
        return {
            "type": protocol.COMMAND_RECORD_VERSION_MARKER,
            "change_id": self.change_id,
            "version": self.version,
            "min_supported": self.min_supported,
            "max_supported": self.max_supported,
        }


@dataclass
class UpsertSearchAttributes(_WireCommand):
    """Merge search attributes into the run (``None`` deletes a key); resumes with ``None``."""

    attributes: dict[str, Any]

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Keys ``[A-Za-z0-9_.:-]{1,64}``; values scalars, lists of strings or ``None``."""
        self.attributes = _check_search_attributes(self.attributes)

    def _wire(self, task_queue: str, encoding: _Encoding) -> dict[str, Any]:
        if encoding.size_warning is not None:
            serializer.warn_if_json_payload_near_limit(
                self.attributes,
                size_warning=encoding.size_warning,
                warning_context={"kind": "search_attributes"},
            )
        return {"type": protocol.COMMAND_UPSERT_SEARCH_ATTRIBUTES, "attributes": dict(self.attributes)}


@dataclass
class WaitCondition(_WireCommand):
    """Block until ``predicate()`` holds (resumes ``True``) or the timeout passes (``False``)."""

    predicate: Callable[[], bool]
    condition_key: str | None = None
    condition_definition_fingerprint: str | None = None
    timeout_seconds: int | None = None

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """The predicate must be callable; key a string; timeout an int >= 0."""
        if not callable(self.predicate):
            raise InvalidCommandError(f"wait_condition: predicate must be callable, got {self.predicate!r}")
        if self.condition_key is not None and not isinstance(self.condition_key, str):
            raise InvalidCommandError(f"wait_condition: key must be a string, got {self.condition_key!r}")
        _check_seconds("open_condition_wait", "timeout_seconds", self.timeout_seconds, minimum=0)

    def _wire(self, task_queue: str, encoding: _Encoding) -> dict[str, Any]:
        wire: dict[str, Any] = {"type": protocol.COMMAND_OPEN_CONDITION_WAIT}
        if self.condition_key is not None:
            wire["condition_key"] = self.condition_key
        if self.condition_definition_fingerprint is not None:
            wire["condition_definition_fingerprint"] = self.condition_definition_fingerprint
        if self.timeout_seconds is not None:
            wire["timeout_seconds"] = self.timeout_seconds
        return wire


@dataclass
class CompleteWorkflow(_WireCommand):
    """Terminal: the run completed with ``result``."""

    result: Any = None

    def _wire(self, task_queue: str, encoding: _Encoding) -> dict[str, Any]:
        return {
            "type": protocol.COMMAND_COMPLETE_WORKFLOW,
            "result": encoding.envelope(self.result, "workflow_result"),
        }


@dataclass
class FailWorkflow(_WireCommand):
    """Terminal: the run failed; ``message`` is never empty on the wire."""

    message: str
    exception_type: str | None = None
    non_retryable: bool = False

    def _wire(self, task_queue: str, encoding: _Encoding) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "type": protocol.COMMAND_FAIL_WORKFLOW,
            # The server rejects an empty message with a 422; fall back to the type name.
            "message": self.message or self.exception_type or "workflow failed",
        }
        if self.exception_type:
            wire["exception_type"] = self.exception_type
        if self.non_retryable:
            wire["non_retryable"] = True
        return wire


@dataclass
class CompleteUpdate(_WireCommand):
    """The accepted update ``update_id`` was applied and returned ``result``."""

    update_id: str
    result: Any = None

    def validate(self) -> None:
        """``update_id`` must be a non-empty string."""
        _check_name("complete_update", "update_id", self.update_id)

    def _wire(self, task_queue: str, encoding: _Encoding) -> dict[str, Any]:
        return {
            "type": protocol.COMMAND_COMPLETE_UPDATE,
            "update_id": self.update_id,
            "result": encoding.envelope(self.result, "update_result"),
        }


@dataclass
class FailUpdate(_WireCommand):
    """The accepted update ``update_id`` was rejected by its validator or its handler raised."""

    update_id: str
    message: str
    exception_type: str | None = None
    exception_class: str | None = None
    non_retryable: bool = True

    def validate(self) -> None:
        """``update_id`` must be a non-empty string."""
        _check_name("fail_update", "update_id", self.update_id)

    def _wire(self, task_queue: str, encoding: _Encoding) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "type": protocol.COMMAND_FAIL_UPDATE,
            "update_id": self.update_id,
            "message": self.message or self.exception_type or "update failed",
        }
        if self.exception_type:
            wire["exception_type"] = self.exception_type
        if self.exception_class:
            wire["exception_class"] = self.exception_class
        wire["non_retryable"] = bool(self.non_retryable)
        return wire


Command: TypeAlias = (
    ScheduleActivity
    | StartTimer
    | StartChildWorkflow
    | ContinueAsNew
    | RecordSideEffect
    | RecordVersionMarker
    | UpsertSearchAttributes
    | WaitCondition
    | CompleteWorkflow
    | FailWorkflow
    | CompleteUpdate
    | FailUpdate
)


def noop_server_command() -> dict[str, Any]:
    """The wire command sent when a workflow task produced nothing new (ignored by replay)."""
    return {
        "type": protocol.COMMAND_RECORD_VERSION_MARKER,
        "change_id": NOOP_MARKER_CHANGE_ID,
        "version": 0,
        "min_supported": 0,
        "max_supported": 0,
    }


def commands_to_server_commands(
    commands: Sequence[Command],
    task_queue: str,
    *,
    payload_codec: str = serializer.AVRO_CODEC,
    size_warning: PayloadSizeWarningConfig | None = DEFAULT_PAYLOAD_SIZE_WARNING,
    warning_context: PayloadWarningContext = None,
    external_storage: ExternalStorageDriver | None = None,
    external_storage_threshold_bytes: int | None = None,
) -> list[dict[str, Any]]:
    """Convert a command batch to wire dicts, validating every command (unlike 0.4.84's batch path).

    Raises :class:`InvalidCommandError` naming the offending command index and field.
    """
    encoding = _encoding(
        payload_codec, size_warning, warning_context, external_storage, external_storage_threshold_bytes
    )
    wire: list[dict[str, Any]] = []
    for index, command in enumerate(commands):
        if not isinstance(command, _WireCommand):
            raise InvalidCommandError(
                f"commands[{index}] is {type(command).__name__}, not a workflow command; yield the objects "
                "returned by ctx.schedule_activity(), ctx.start_timer(), ..."
            )
        try:
            command.validate()
        except InvalidCommandError as exc:
            raise InvalidCommandError(f"commands[{index}]: {exc}") from exc
        wire.append(command._wire(task_queue, encoding))
    return wire
