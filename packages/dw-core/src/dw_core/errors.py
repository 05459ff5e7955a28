"""Exception hierarchy of the SDK and the mapping from HTTP error responses to it.

Cancellation (``WorkflowCancelled``, ``ActivityCancelled``) derives from ``BaseException`` on purpose:
a bare ``except Exception`` in user code must not swallow a cancellation request.

Errors built from a server response (``ServerError`` and the typed errors the mapping produces) share
the accessors ``status``, ``body``, ``message``, ``validation_errors`` and ``server_reason``. ``reason``
is an attribute on all of them except ``ServerError``, where the published API made it a method.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ActivityCancelled",
    "ActivityFailed",
    "AvroNotInstalledError",
    "ChildWorkflowCancelled",
    "ChildWorkflowFailed",
    "ChildWorkflowTerminated",
    "DurableWorkflowError",
    "ErrorContext",
    "InvalidArgument",
    "NamespaceNotFound",
    "NonDeterministicReplayError",
    "NonRetryableError",
    "QueryFailed",
    "ScheduleAlreadyExists",
    "ScheduleNotFound",
    "ServerError",
    "SignalFailed",
    "Unauthorized",
    "UpdateRejected",
    "WorkflowAlreadyStarted",
    "WorkflowCancelled",
    "WorkflowFailed",
    "WorkflowNotFound",
    "WorkflowPayloadDecodeError",
    "WorkflowTerminated",
    "error_from_response",
]


def _body_field(body: object, key: str) -> object:
    return body.get(key) if isinstance(body, Mapping) else None


def _body_str(body: object, key: str) -> str | None:
    value = _body_field(body, key)
    return value if isinstance(value, str) else None


def _body_validation_errors(body: object) -> dict[str, Any] | None:
    for key in ("validation_errors", "errors"):
        value = _body_field(body, key)
        if isinstance(value, Mapping) and value:
            return dict(value)
    return None


class DurableWorkflowError(Exception):
    """Common base of every SDK error that is an ``Exception``."""


class _ResponseDetails:
    """Uniform view on the HTTP response an error was built from (all ``None`` when not from HTTP)."""

    status: int | None = None
    body: object = None

    def _attach_response(self, status: int | None, body: object) -> None:
        self.status = status
        self.body = body

    @property
    def server_reason(self) -> str | None:
        """The body's ``reason`` code, the same accessor on every server-derived error."""
        return _body_str(self.body, "reason")

    @property
    def message(self) -> str:
        """The server's human message when it sent one, else the exception text."""
        from_body = _body_str(self.body, "message")
        if from_body:
            return from_body
        if isinstance(self.body, str) and self.body:
            return self.body
        return str(self)

    @property
    def validation_errors(self) -> dict[str, Any] | None:
        """Field → messages map from the body's ``validation_errors`` or ``errors``, when it is a dict."""
        return _body_validation_errors(self.body)


class _ResponseWithReason(_ResponseDetails):
    reason: str | None = None

    def _attach_response(self, status: int | None, body: object) -> None:
        super()._attach_response(status, body)
        if self.reason is None:
            self.reason = _body_str(body, "reason")


class ServerError(_ResponseDetails, DurableWorkflowError):
    """An HTTP error response the SDK has no more specific exception for; keeps the whole body."""

    def __init__(self, status: int, body: object) -> None:
        super().__init__(f"server returned {status}: {body!r}")
        self.status = status
        self.body = body

    def reason(self) -> str | None:
        """The body's ``reason`` code (a method, as in the published API)."""
        return self.server_reason


class WorkflowFailed(DurableWorkflowError):
    """The workflow run ended in failure."""

    def __init__(self, message: str, exception_class: str | None = None) -> None:
        super().__init__(message)
        self.exception_class = exception_class

    @property
    def message(self) -> str:
        """The failure message."""
        return str(self)


class WorkflowNotFound(_ResponseWithReason, DurableWorkflowError):
    """No workflow instance (or run) with this id exists in the namespace."""

    def __init__(self, workflow_id: str) -> None:
        super().__init__(f"workflow not found: {workflow_id}")
        self.workflow_id = workflow_id


class WorkflowAlreadyStarted(_ResponseWithReason, DurableWorkflowError):
    """A workflow with this id already exists and the duplicate policy refused the start."""

    def __init__(self, workflow_id: str) -> None:
        super().__init__(f"workflow already started: {workflow_id}")
        self.workflow_id = workflow_id


class NamespaceNotFound(_ResponseWithReason, DurableWorkflowError):
    """The namespace does not exist on the server (create it, or fix the client's namespace)."""

    def __init__(self, namespace: str) -> None:
        super().__init__(f"namespace not found: {namespace}")
        self.namespace = namespace


class InvalidArgument(_ResponseWithReason, DurableWorkflowError):
    """The server rejected the request's arguments; ``errors`` maps each field to its problems."""

    def __init__(self, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.errors = errors

    @property
    def validation_errors(self) -> dict[str, Any] | None:
        """Same as ``errors`` (falls back to the body)."""
        return self.errors if self.errors else _body_validation_errors(self.body)


class Unauthorized(_ResponseWithReason, DurableWorkflowError):
    """Missing or invalid credentials (HTTP 401): check the client's auth token."""

    def __init__(self, message: str = "unauthorized") -> None:
        super().__init__(message)


class ScheduleNotFound(_ResponseWithReason, DurableWorkflowError):
    """No schedule with this id exists in the namespace."""

    def __init__(self, schedule_id: str) -> None:
        super().__init__(f"schedule not found: {schedule_id}")
        self.schedule_id = schedule_id


class ScheduleAlreadyExists(_ResponseWithReason, DurableWorkflowError):
    """A schedule with this id already exists."""

    def __init__(self, schedule_id: str) -> None:
        super().__init__(f"schedule already exists: {schedule_id}")
        self.schedule_id = schedule_id


class _ReceiverFailure(_ResponseWithReason, DurableWorkflowError):
    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        status: int | None = None,
        body: object | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status
        self.body = body


class QueryFailed(_ReceiverFailure):
    """A query could not be answered (unknown query, run not active, worker unavailable, bad args…)."""


class SignalFailed(_ReceiverFailure):
    """A signal was not accepted (unknown signal, run not active, invalid arguments…)."""


class UpdateRejected(_ResponseWithReason, DurableWorkflowError):
    """An update was rejected before it was applied."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)


class WorkflowPayloadDecodeError(DurableWorkflowError):
    """A signal/update payload recorded in history could not be decoded during replay."""

    def __init__(
        self,
        message: str,
        *,
        workflow_id: str | None = None,
        run_id: str | None = None,
        event_id: str | None = None,
        receiver_kind: str | None = None,
        receiver_name: str | None = None,
        codec: str | None = None,
        payload_head: str | None = None,
        exception_type: str | None = None,
    ) -> None:
        super().__init__(message)
        self.workflow_id = workflow_id
        self.run_id = run_id
        self.event_id = event_id
        self.receiver_kind = receiver_kind
        self.receiver_name = receiver_name
        self.codec = codec
        self.payload_head = payload_head[:128] if payload_head is not None else None
        self.exception_type = exception_type


class NonDeterministicReplayError(DurableWorkflowError):
    """Workflow code yielded something other than what history recorded at this step."""

    def __init__(
        self,
        workflow_sequence: int,
        expected_shape: str,
        recorded_event_types: list[str],
        *,
        detail: str | None = None,
    ) -> None:
        self.workflow_sequence = workflow_sequence
        self.expected_shape = expected_shape
        self.recorded_event_types = list(recorded_event_types)
        self.detail = detail
        recorded = ", ".join(self.recorded_event_types) or "no event"
        text = (
            f"non-deterministic replay at workflow sequence {workflow_sequence}: history recorded "
            f"[{recorded}] but the workflow yielded {expected_shape}"
        )
        if detail:
            text += f" ({detail})"
        text += (
            ". Workflow code changed incompatibly with running histories: restore the previous "
            "code path, or guard the change with ctx.patched()/ctx.get_version()."
        )
        super().__init__(text)


class ChildWorkflowFailed(DurableWorkflowError):
    """A child workflow ended without a result (failed, or one of the subclasses)."""

    def __init__(
        self,
        message: str,
        exception_class: str | None = None,
        *,
        failure_kind: str | None = None,
        child_workflow_run_id: str | None = None,
        child_workflow_type: str | None = None,
    ) -> None:
        super().__init__(message)
        self.exception_class = exception_class
        self.failure_kind = failure_kind
        self.child_workflow_run_id = child_workflow_run_id
        self.child_workflow_type = child_workflow_type

    @property
    def failure_category(self) -> str | None:
        """Alias of ``failure_kind``."""
        return self.failure_kind


class ChildWorkflowCancelled(ChildWorkflowFailed):
    """The child workflow was cancelled (still catchable as ``ChildWorkflowFailed``)."""

    def __init__(
        self,
        message: str = "child workflow was cancelled",
        exception_class: str | None = None,
        *,
        child_workflow_run_id: str | None = None,
        child_workflow_type: str | None = None,
    ) -> None:
        super().__init__(
            message,
            exception_class,
            failure_kind="cancelled",
            child_workflow_run_id=child_workflow_run_id,
            child_workflow_type=child_workflow_type,
        )


class ChildWorkflowTerminated(ChildWorkflowFailed):
    """The child workflow was terminated."""

    def __init__(
        self,
        message: str = "child workflow was terminated",
        exception_class: str | None = None,
        *,
        child_workflow_run_id: str | None = None,
        child_workflow_type: str | None = None,
    ) -> None:
        super().__init__(
            message,
            exception_class,
            failure_kind="terminated",
            child_workflow_run_id=child_workflow_run_id,
            child_workflow_type=child_workflow_type,
        )


# Keys of a failure payload that mean the same thing in every runtime; anything else (class paths,
# files, lines, traces) is runtime-specific and stays out unless sent in an explicit envelope.
_NEUTRAL_FAILURE_KEYS = ("type", "message", "code", "details", "details_payload_codec", "non_retryable")
_DIAGNOSTIC_ENVELOPE_KEYS = ("diagnostics", "runtime_diagnostics")


def _neutral_exception_payload(payload: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if payload is None:
        return None
    kept = {key: payload[key] for key in _NEUTRAL_FAILURE_KEYS if key in payload}
    kept.update({key: payload[key] for key in _DIAGNOSTIC_ENVELOPE_KEYS if key in payload})
    return kept


class ActivityFailed(DurableWorkflowError):
    """An activity failed after its retries (thrown into the workflow generator)."""

    def __init__(
        self,
        message: str,
        *,
        activity_type: str | None = None,
        activity_execution_id: str | None = None,
        activity_attempt_id: str | None = None,
        failure_id: str | None = None,
        failure_category: str | None = None,
        exception_type: str | None = None,
        exception_class: str | None = None,
        non_retryable: bool = False,
        code: Any = None,
        exception_payload: dict[str, Any] | None = None,
        activity: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.activity_type = activity_type
        self.activity_execution_id = activity_execution_id
        self.activity_attempt_id = activity_attempt_id
        self.failure_id = failure_id
        self.failure_category = failure_category
        self.exception_type = exception_type
        self.exception_class = exception_class
        self.non_retryable = non_retryable
        self.code = code
        self.exception_payload = _neutral_exception_payload(exception_payload)
        self.activity = activity


class WorkflowTerminated(DurableWorkflowError):
    """The workflow run was terminated (an ordinary ``Exception``, unlike cancellation)."""

    def __init__(self, message: str = "workflow was terminated") -> None:
        super().__init__(message)


class WorkflowCancelled(BaseException):
    """The workflow was cancelled; a ``BaseException`` so ``except Exception`` does not swallow it."""

    def __init__(self, message: str = "workflow was cancelled") -> None:
        super().__init__(message)


class ActivityCancelled(BaseException):
    """Cancellation was requested for the running activity (raised by ``heartbeat()``)."""

    def __init__(self, message: str = "activity was cancelled") -> None:
        super().__init__(message)


class NonRetryableError(DurableWorkflowError):
    """Raise from an activity to fail it without using the remaining retry budget."""

    def __init__(self, message: str, *, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.__cause__ = cause


class AvroNotInstalledError(DurableWorkflowError, ImportError):
    """The ``avro`` package, a core dependency, cannot be imported."""

    def __init__(self, *args: object) -> None:
        if not args:
            args = (
                "the 'avro' package is required for the avro payload codec but could not be "
                "imported; reinstall the SDK with its dependencies: pip install --force-reinstall "
                "durable-workflow (or: pip install 'avro>=1.12,<2')",
            )
        super().__init__(*args)


# --------------------------------------------------------------------------------------------------
# HTTP response → exception


@dataclass(frozen=True)
class ErrorContext:
    """What the failed call was about, so the mapping can name the right resource.

    ``resource`` is the kind of thing addressed (``"workflow"``, ``"schedule"``, ``"namespace"``,
    ``"task_queue"``, ``"worker"``, ``"search_attribute"``, …), ``resource_id`` its id, and
    ``operation`` the control-plane operation (``"signal"``, ``"query"``, ``"update"``, ``"start"``, …)
    when the response body does not say it.
    """

    resource: str | None = None
    resource_id: str = ""
    operation: str | None = None


_QUERY_NOT_FOUND_REASONS = frozenset({"query_not_found", "rejected_unknown_query"})
_WORKFLOW_NOT_FOUND_REASONS = frozenset({"instance_not_found", "workflow_not_found", "run_not_found"})
_QUERY_CONFLICT_REASONS = frozenset(
    {
        "query_rejected",
        "query_worker_unavailable",
        "query_worker_incompatible",
        "query_workflow_state_unavailable",
    }
)
_QUERY_TIMEOUT_REASONS = frozenset(
    {"query_worker_timeout", "query_worker_execution_timeout", "query_task_not_claimed"}
)
_WORKFLOW_DUPLICATE_REASONS = frozenset({"duplicate_not_allowed", "workflow_id_reserved_in_namespace"})


def _operation(body: object, context: ErrorContext) -> str | None:
    control_plane = _body_field(body, "control_plane")
    from_block = _body_str(control_plane, "operation")
    return from_block or _body_str(body, "control_plane_operation") or context.operation


def _resource_id(context: ErrorContext, resource: str, body: object, body_key: str) -> str:
    if context.resource == resource and context.resource_id:
        return context.resource_id
    return _body_str(body, body_key) or context.resource_id


def error_from_response(
    status: int,
    body: object,
    *,
    context: ErrorContext | None = None,
) -> DurableWorkflowError:
    """Return the typed exception for an HTTP error response (the caller raises it).

    ``body`` is the parsed JSON body, or the raw text when it was not JSON. The decision uses the
    status, the body's ``reason`` and control-plane operation, and ``context``; it never guesses
    from the spelling of an id. Every result carries ``status`` and ``body``.
    """
    ctx = context or ErrorContext()
    reason = _body_str(body, "reason")
    message = _body_str(body, "message") or (body if isinstance(body, str) and body else None)
    operation = _operation(body, ctx)

    def receiver_failure(cls: type[_ReceiverFailure], default: str) -> _ReceiverFailure:
        return cls(message or default, reason=reason, status=status, body=body)

    error: DurableWorkflowError | None = None
    if status == 401:
        error = Unauthorized(message or "unauthorized")
    elif status == 404:
        if reason == "unknown_signal":
            error = receiver_failure(SignalFailed, "signal not found")
        elif reason in _QUERY_NOT_FOUND_REASONS:
            error = receiver_failure(QueryFailed, "query not found")
        elif reason == "unknown_update":
            error = UpdateRejected(message or "unknown update")
        elif reason == "schedule_not_found":
            error = ScheduleNotFound(_resource_id(ctx, "schedule", body, "schedule_id"))
        elif reason in _WORKFLOW_NOT_FOUND_REASONS:
            error = WorkflowNotFound(_resource_id(ctx, "workflow", body, "workflow_id"))
        elif reason == "namespace_not_found":
            error = NamespaceNotFound(_resource_id(ctx, "namespace", body, "namespace") or message or "")
    elif status == 409:
        if reason == "schedule_already_exists":
            error = ScheduleAlreadyExists(_resource_id(ctx, "schedule", body, "schedule_id"))
        elif reason in _WORKFLOW_DUPLICATE_REASONS or (
            reason is None and _body_str(body, "outcome") == "rejected_duplicate"
        ):
            error = WorkflowAlreadyStarted(_resource_id(ctx, "workflow", body, "workflow_id"))
        elif reason == "update_rejected" or operation == "update":
            error = UpdateRejected(
                message
                or (
                    "update rejected" if reason in (None, "update_rejected") else f"update rejected: {reason}"
                )
            )
        elif reason == "run_not_active" and operation == "signal":
            error = receiver_failure(SignalFailed, "signal rejected")
        elif (reason == "run_not_active" and operation == "query") or reason in _QUERY_CONFLICT_REASONS:
            error = receiver_failure(QueryFailed, "query rejected")
    elif status == 422:
        if reason == "invalid_signal_arguments":
            error = receiver_failure(SignalFailed, "signal argument validation failed")
        elif reason == "invalid_query_arguments":
            error = receiver_failure(QueryFailed, "query argument validation failed")
        else:
            error = InvalidArgument(message or reason or "invalid argument", _body_validation_errors(body))
    elif status == 504 and reason in _QUERY_TIMEOUT_REASONS:
        error = receiver_failure(QueryFailed, "query worker timed out")

    if error is None:
        return ServerError(status, body)
    if isinstance(error, _ResponseDetails):
        error._attach_response(status, body)
    return error
