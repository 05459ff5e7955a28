"""Invocable activity carriers: run one activity from an external-task input envelope.

An *invocable* carrier is an HTTP endpoint or a serverless function that the server (or a poll
worker acting for it) calls with a ``durable-workflow.v2.external-task-input`` envelope for one
leased ``activity_task``. :class:`InvocableActivityHandler` decodes the arguments, runs the matching
activity function (plain or ``async``) and answers with a ``durable-workflow.v2.external-task-result``
envelope whose failure kind, classification and retryability tell the server what to do next.
Workflow tasks are refused: replay stays inside an SDK worker, never in a carrier.

:func:`handle_invocable_http_request` and :func:`handle_invocable_lambda_event` wrap the handler for
HTTP frameworks and AWS Lambda / API Gateway; :func:`lambda_invocable_activity_handler` builds the
synchronous ``(event, context)`` function Lambda calls.

Where this carrier decides differently from the published 0.4.84 SDK, on purpose:

- arguments in a codec the carrier cannot decode fail as ``unsupported_payload`` /
  ``unsupported_payload_codec``, and arguments stored by reference with no storage configured fail as
  ``unsupported_payload_reference`` without being fetched, as the input contract requires (0.4.84
  reported both as ``decode_failure``);
- ``deadlines.schedule_to_start`` is checked on receipt only: once the task started it was met, so
  it does not cut the run short or fail a run that completes after it;
- a result the codec cannot encode is a ``decode_failure`` result envelope for that task (0.4.84
  raised, which the HTTP adapter turned into a 400 blaming the request);
- plain functions run on a worker thread so the event loop keeps serving; they are waited for
  rather than abandoned at the deadline (a running thread cannot be stopped, and a retry must not
  overlap it), and an overrun is reported when they return. ``async`` functions are cancelled at
  the earliest deadline;
- ``activity.context()`` works inside handlers (heartbeats are no-ops: a carrier has no channel back).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextvars
import functools
import inspect
import json
import re
import threading
import time
import traceback
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Final, cast

from dw_core import activity as _activity
from dw_core import serializer
from dw_core.errors import ActivityCancelled, NonRetryableError
from dw_core.external_storage import ExternalPayloadCache, ExternalStorageDriver
from dw_core.external_task_input import ExternalTaskInput, ExternalTaskInputError, parse_external_task_input
from dw_core.external_task_result import (
    EXTERNAL_TASK_RESULT_MEDIA_TYPE,
    EXTERNAL_TASK_RESULT_SCHEMA,
    EXTERNAL_TASK_RESULT_VERSION,
    EXTERNAL_TASK_SUCCESS_CONTENT_TYPE,
)
from dw_core.payload_errors import UnsupportedPayloadCodecError

__all__ = [
    "DEFAULT_INVOCABLE_CARRIER",
    "INVALID_INVOCABLE_REQUEST",
    "InvocableActivityCallable",
    "InvocableActivityHandler",
    "InvocableHttpResponse",
    "handle_invocable_activity",
    "handle_invocable_http_request",
    "handle_invocable_lambda_event",
    "lambda_invocable_activity_handler",
]

InvocableActivityCallable = Callable[..., Any]
"""An activity function: plain, or ``async`` (returning an awaitable)."""

DEFAULT_INVOCABLE_CARRIER: Final = "python-invocable"
#: ``error`` of the HTTP 400 body for a request that is not a valid input envelope.
INVALID_INVOCABLE_REQUEST: Final = "invalid_invocable_request"
_JSON_CONTENT_TYPE: Final = "application/json"
_RESULT_CODECS: Final = (serializer.AVRO_CODEC, serializer.JSON_CODEC)

# RFC 3339 date-time; the zone is optional because the server writes UTC and a zone-less deadline
# is read as UTC (as 0.4.84 does). Any number of fraction digits is accepted on every Python.
_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?",
    re.ASCII,
)


def _parse_deadline(value: str) -> datetime:
    match = _TIMESTAMP.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"{value!r} is not an ISO-8601 date-time such as 2026-04-22T01:07:00Z")
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    fraction = match.group(7) or ""
    micro = int((fraction + "000000")[:6])
    zone = timezone.utc
    if match.group(9):
        hours, minutes = int(match.group(10)), int(match.group(11))
        if hours > 23 or minutes > 59:
            raise ValueError(f"{value!r} has an invalid UTC offset")
        sign = 1 if match.group(9) == "+" else -1
        zone = timezone(sign * timedelta(hours=hours, minutes=minutes))
    try:
        # A leap second (:60) is read as the last representable instant of that minute.
        moment = datetime(year, month, day, hour, minute, min(second, 59), micro, tzinfo=zone)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a valid date-time ({exc})") from None
    return moment.astimezone(timezone.utc)


@dataclass(frozen=True)
class _Deadline:
    name: str
    raw: str
    # Whether the deadline bounds the run itself; schedule_to_start is met once the task started.
    bounds_execution: bool


@dataclass(frozen=True)
class _Failure:
    """A failure decision, before it is wrapped in an envelope."""

    kind: str
    classification: str
    message: str
    type: str | None
    retryable: bool
    stack_trace: str | None = None
    timeout_type: str | None = None
    cancelled: bool = False
    details: Mapping[str, Any] | None = None


def _stack(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def _is_async_callable(fn: Callable[..., Any]) -> bool:
    if inspect.iscoroutinefunction(fn):
        return True
    call = getattr(fn, "__call__", None)  # noqa: B004 - an instance with an async __call__
    return call is not None and inspect.iscoroutinefunction(call)


class InvocableActivityHandler:
    """Runs activity functions for external-task input envelopes and builds result envelopes.

    ``handlers`` maps activity type names (``task.handler``) to functions. Results are encoded with
    ``result_codec`` (``avro`` by default, or ``json``). ``external_storage`` (with an optional
    ``external_storage_cache``) lets arguments stored by reference be fetched and verified; without
    it such arguments fail as ``unsupported_payload_reference`` and are never dereferenced.
    """

    def __init__(
        self,
        handlers: Mapping[str, InvocableActivityCallable],
        *,
        carrier: str = DEFAULT_INVOCABLE_CARRIER,
        result_codec: str = serializer.AVRO_CODEC,
        external_storage: ExternalStorageDriver | None = None,
        external_storage_cache: ExternalPayloadCache | None = None,
    ) -> None:
        if result_codec not in _RESULT_CODECS:
            raise ValueError(
                f"unsupported invocable result codec {result_codec!r}; use 'avro' (the default, "
                "read by every runtime) or 'json'"
            )
        if not isinstance(handlers, Mapping):
            raise TypeError(
                f"handlers must map activity type names to functions, got {type(handlers).__name__}; "
                "e.g. {'billing.charge-card': charge_card}"
            )
        for name, fn in handlers.items():
            if not isinstance(name, str) or not name:
                raise TypeError(f"handler names must be non-empty strings, got {name!r}")
            if not callable(fn):
                raise TypeError(f"handler {name!r} must be callable, got {type(fn).__name__}")
        if not isinstance(carrier, str) or not carrier:
            raise ValueError(f"carrier must be a non-empty string naming this carrier, got {carrier!r}")
        self.handlers: dict[str, InvocableActivityCallable] = dict(handlers)
        self.carrier = carrier
        self.result_codec = result_codec
        self.external_storage = external_storage
        self.external_storage_cache = external_storage_cache

    async def handle(self, envelope: Mapping[str, Any]) -> dict[str, Any]:
        """Run the activity an input envelope names and return the result envelope.

        Raises :class:`ExternalTaskInputError` when ``envelope`` is not a valid v1 input envelope
        (no result can be trusted without a task identity); every other outcome, handler errors
        included, is a result envelope.
        """
        started = time.monotonic()
        task_input = parse_external_task_input(envelope)
        outcome = await self._run(task_input)
        if isinstance(outcome, _Failure):
            return self._failure_envelope(task_input, started, outcome)
        return self._success_envelope(task_input, started, outcome)

    # -- decisions -----------------------------------------------------------------------------

    async def _run(self, task_input: ExternalTaskInput) -> _Failure | dict[str, Any]:
        if not task_input.is_activity_task:
            return _Failure(
                "application",
                "application_error",
                "invocable activity handlers only accept activity_task inputs; workflow tasks are "
                "executed by an SDK worker",
                "UnsupportedExternalTaskKind",
                retryable=False,
            )
        deadlines = self._deadlines(task_input)
        parsed: list[tuple[_Deadline, datetime]] = []
        for deadline in deadlines:
            try:
                parsed.append((deadline, _parse_deadline(deadline.raw)))
            except ValueError as exc:
                return _Failure(
                    "decode_failure",
                    "decode_failure",
                    f"carrier could not parse the task deadline {deadline.name}: {exc}",
                    "ValueError",
                    retryable=False,
                    stack_trace=_stack(exc),
                    details={"deadline": deadline.name, "expires_at": deadline.raw},
                )
        expired = self._expired(parsed, completed=False)
        if expired is not None:
            return expired

        handler_name = task_input.task.handler or ""
        fn = self.handlers.get(handler_name)
        if fn is None:
            known = ", ".join(sorted(self.handlers)) or "none"
            return _Failure(
                "application",
                "application_error",
                f"no invocable activity handler registered for {handler_name!r} (registered: {known})",
                "UnknownActivityHandler",
                retryable=False,
            )

        arguments = task_input.payloads.get("arguments")
        input_codec = self._input_codec(arguments)
        if (
            isinstance(arguments, Mapping)
            and "external_storage" in arguments
            and self.external_storage is None
        ):
            return _Failure(
                "unsupported_payload",
                "unsupported_payload_reference",
                "the arguments are stored by external reference and this carrier has no external "
                "storage configured; pass external_storage= to resolve them",
                "UnsupportedPayloadReference",
                retryable=False,
                details={"codec": input_codec},
            )

        try:
            args = self._decode_arguments(arguments, input_codec)
        except UnsupportedPayloadCodecError as exc:
            return _Failure(
                "unsupported_payload",
                "unsupported_payload_codec",
                f"carrier cannot decode argument payloads with codec {input_codec!r}: {exc}",
                "UnsupportedPayloadCodec",
                retryable=False,
                details={"codec": input_codec},
            )
        except (TypeError, ValueError) as exc:
            return _Failure(
                "decode_failure",
                "decode_failure",
                f"carrier could not decode the activity arguments: {exc}",
                type(exc).__name__,
                retryable=False,
                stack_trace=_stack(exc),
                details={"codec": input_codec},
            )
        except Exception as exc:
            # e.g. the external storage was unreachable: worth another attempt.
            return _Failure(
                "application",
                "application_error",
                f"carrier could not load the activity arguments: {exc!r}",
                type(exc).__name__,
                retryable=True,
                stack_trace=_stack(exc),
            )

        execution_deadlines = [moment for deadline, moment in parsed if deadline.bounds_execution]
        try:
            result = await self._invoke(fn, args, task_input, min(execution_deadlines, default=None))
        except ActivityCancelled as exc:
            return _Failure(
                "cancellation",
                "cancelled",
                str(exc) or "activity was cancelled before the handler completed",
                "ActivityCancelled",
                retryable=False,
                cancelled=True,
            )
        except NonRetryableError as exc:
            return _Failure(
                "application",
                "application_error",
                str(exc) or type(exc).__name__,
                type(exc).__name__,
                retryable=False,
                stack_trace=_stack(exc),
            )
        except (asyncio.TimeoutError, TimeoutError) as exc:
            return _Failure(
                "timeout",
                "deadline_exceeded",
                str(exc) or "invocable activity handler timed out",
                type(exc).__name__,
                retryable=True,
                stack_trace=_stack(exc),
                timeout_type="deadline_exceeded",
            )
        except (TypeError, ValueError) as exc:
            # The published contract classifies these as decode failures (typically arguments that
            # do not fit the function's signature); they are not retried.
            return _Failure(
                "decode_failure",
                "decode_failure",
                f"activity handler {handler_name!r} rejected its arguments: {type(exc).__name__}: {exc}",
                type(exc).__name__,
                retryable=False,
                stack_trace=_stack(exc),
                details={"codec": input_codec},
            )
        except Exception as exc:
            return _Failure(
                "application",
                "application_error",
                str(exc) or type(exc).__name__,
                type(exc).__name__,
                retryable=True,
                stack_trace=_stack(exc),
            )

        late = self._expired([(d, m) for d, m in parsed if d.bounds_execution], completed=True)
        if late is not None:
            return late
        try:
            payload = serializer.envelope(result, self.result_codec)
        except (TypeError, ValueError) as exc:
            return _Failure(
                "decode_failure",
                "decode_failure",
                f"the activity result could not be encoded with codec {self.result_codec!r}: {exc}",
                type(exc).__name__,
                retryable=False,
                stack_trace=_stack(exc),
                details={"codec": self.result_codec},
            )
        return payload

    @staticmethod
    def _deadlines(task_input: ExternalTaskInput) -> list[_Deadline]:
        deadlines = [_Deadline("lease.expires_at", task_input.lease.expires_at, True)]
        declared = task_input.deadlines or {}
        for key in ("schedule_to_start", "start_to_close", "schedule_to_close", "heartbeat"):
            raw = declared.get(key)
            if isinstance(raw, str):
                deadlines.append(_Deadline(f"deadlines.{key}", raw, key != "schedule_to_start"))
        return deadlines

    @staticmethod
    def _expired(deadlines: list[tuple[_Deadline, datetime]], *, completed: bool) -> _Failure | None:
        now = datetime.now(timezone.utc)
        for deadline, moment in deadlines:
            if moment <= now:
                when = "completed after" if completed else "received after"
                return _Failure(
                    "timeout",
                    "deadline_exceeded",
                    f"invocable activity task {when} {deadline.name} ({deadline.raw})",
                    "ExternalTaskDeadlineExceeded",
                    retryable=True,
                    timeout_type="deadline_exceeded",
                    details={"deadline": deadline.name, "expires_at": deadline.raw},
                )
        return None

    # -- running the handler -------------------------------------------------------------------

    @staticmethod
    def _input_codec(arguments: Any) -> str:
        if isinstance(arguments, Mapping):
            codec = arguments.get("codec")
            if codec is not None and codec != "":
                # a non-string codec is reported as written, never silently read as JSON
                return codec if isinstance(codec, str) else json.dumps(codec)
        return serializer.JSON_CODEC

    def _decode_arguments(self, arguments: Any, codec: str) -> tuple[Any, ...]:
        if arguments is None:
            return ()
        value = serializer.decode_envelope(
            arguments,
            codec,
            external_storage=self.external_storage,
            external_storage_cache=self.external_storage_cache,
        )
        if value is None:
            return ()
        if isinstance(value, list):
            return tuple(value)
        return (value,)

    async def _invoke(
        self,
        fn: InvocableActivityCallable,
        args: tuple[Any, ...],
        task_input: ExternalTaskInput,
        deadline: datetime | None,
    ) -> Any:
        info = _activity.ActivityInfo(
            task_id=task_input.task.id,
            activity_type=task_input.task.handler or "",
            activity_attempt_id=task_input.task.activity_attempt_id or "",
            attempt_number=task_input.task.attempt,
            task_queue=task_input.task.task_queue,
            worker_id=self.carrier,
        )
        # activity.context() works inside the handler; heartbeats are no-ops (a carrier has no lease
        # channel back to the server).
        token = _activity._current_context.set(_activity.ActivityContext(info=info))
        try:
            if _is_async_callable(fn):
                return await self._await_within(fn(*args), deadline)
            # A plain function runs on a thread so the event loop (and other requests) keep going. It
            # is waited for, not abandoned at the deadline: a thread cannot be stopped, and reporting
            # a timeout while it still runs would let a retry overlap it. The completion check then
            # reports the overrun.
            loop = asyncio.get_running_loop()
            call = functools.partial(contextvars.copy_context().run, fn, *args)
            result = await loop.run_in_executor(None, call)
            if inspect.isawaitable(result):
                result = await self._await_within(result, deadline)
            return result
        finally:
            _activity._current_context.reset(token)

    @staticmethod
    async def _await_within(awaitable: Awaitable[Any], deadline: datetime | None) -> Any:
        if deadline is None:
            return await awaitable
        remaining = max(0.0, (deadline - datetime.now(timezone.utc)).total_seconds())
        try:
            return await asyncio.wait_for(awaitable, timeout=remaining)
        except asyncio.TimeoutError as exc:
            if str(exc) or datetime.now(timezone.utc) < deadline:
                raise  # the handler's own timeout
            raise asyncio.TimeoutError(
                f"invocable activity handler did not finish before its deadline ({remaining:.3f} s "
                "after it started); it was cancelled"
            ) from exc

    # -- envelopes -----------------------------------------------------------------------------

    def _common(self, task_input: ExternalTaskInput, started: float) -> tuple[dict[str, Any], dict[str, Any]]:
        task = {
            "id": task_input.task.id,
            "kind": task_input.task.kind,
            "attempt": task_input.task.attempt,
            "idempotency_key": task_input.task.idempotency_key,
        }
        metadata = {
            "handler": task_input.task.handler,
            "carrier": self.carrier,
            "duration_ms": max(0, int((time.monotonic() - started) * 1000)),
        }
        return task, metadata

    def _success_envelope(
        self, task_input: ExternalTaskInput, started: float, payload: dict[str, Any]
    ) -> dict[str, Any]:
        task, metadata = self._common(task_input, started)
        return {
            "schema": EXTERNAL_TASK_RESULT_SCHEMA,
            "version": EXTERNAL_TASK_RESULT_VERSION,
            "outcome": {"status": "succeeded", "recorded": True},
            "task": task,
            "result": {"payload": payload, "metadata": {"content_type": EXTERNAL_TASK_SUCCESS_CONTENT_TYPE}},
            "metadata": metadata,
        }

    def _failure_envelope(
        self, task_input: ExternalTaskInput, started: float, failure: _Failure
    ) -> dict[str, Any]:
        task, metadata = self._common(task_input, started)
        return {
            "schema": EXTERNAL_TASK_RESULT_SCHEMA,
            "version": EXTERNAL_TASK_RESULT_VERSION,
            "outcome": {"status": "failed", "retryable": failure.retryable, "recorded": True},
            "task": task,
            "failure": {
                "kind": failure.kind,
                "classification": failure.classification,
                "message": failure.message,
                "type": failure.type,
                "stack_trace": failure.stack_trace,
                "timeout_type": failure.timeout_type,
                "cancelled": failure.cancelled,
                "details": dict(failure.details) if failure.details is not None else None,
            },
            "metadata": metadata,
        }


async def handle_invocable_activity(
    envelope: Mapping[str, Any],
    handlers: Mapping[str, InvocableActivityCallable],
    **options: Any,
) -> dict[str, Any]:
    """Handle one envelope with a one-off :class:`InvocableActivityHandler` (``options``: its kwargs)."""
    return await InvocableActivityHandler(handlers, **options).handle(envelope)


# --------------------------------------------------------------------------------------------
# HTTP and Lambda adapters


@dataclass(frozen=True)
class InvocableHttpResponse:
    """What an HTTP endpoint should answer: status, headers and the JSON body text."""

    status_code: int
    headers: Mapping[str, str]
    body: str

    def json(self) -> dict[str, Any]:
        """The body as a JSON object; ``ValueError`` if it is not one."""
        decoded = json.loads(self.body)
        if not isinstance(decoded, dict):
            raise ValueError(
                f"invocable HTTP response body is not a JSON object (got {type(decoded).__name__})"
            )
        return cast(dict[str, Any], decoded)


def _compact_json(value: Mapping[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _bad_request(message: str) -> InvocableHttpResponse:
    return InvocableHttpResponse(
        status_code=400,
        headers={"Content-Type": _JSON_CONTENT_TYPE},
        body=_compact_json({"error": INVALID_INVOCABLE_REQUEST, "message": message}),
    )


def _request_object(body: bytes | bytearray | memoryview | str | Mapping[str, Any]) -> dict[str, Any]:
    """The request body as a JSON object; ``ValueError`` with a reason otherwise."""
    if isinstance(body, Mapping):
        return dict(body)
    if isinstance(body, (bytes, bytearray, memoryview)):
        try:
            body = bytes(body).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"request body is not UTF-8 text: {exc}") from exc
    if not isinstance(body, str):
        raise ValueError(f"request body must be bytes, str or a JSON object, got {type(body).__name__}")
    try:
        decoded = json.loads(body)
    except json.JSONDecodeError as exc:
        raise ValueError(f"request body is not valid JSON: {exc}") from exc
    if not isinstance(decoded, dict):
        raise ValueError(
            f"request body must be a JSON object (an external-task input envelope), got "
            f"{type(decoded).__name__}"
        )
    return cast(dict[str, Any], decoded)


async def _respond(handler: InvocableActivityHandler, body: Any) -> InvocableHttpResponse:
    try:
        envelope = _request_object(body)
    except ValueError as exc:
        return _bad_request(str(exc))
    try:
        result = await handler.handle(envelope)
    except ExternalTaskInputError as exc:
        return _bad_request(exc.message)
    return InvocableHttpResponse(
        status_code=200,
        headers={"Content-Type": EXTERNAL_TASK_RESULT_MEDIA_TYPE},
        body=_compact_json(result),
    )


async def handle_invocable_http_request(
    body: bytes | str | Mapping[str, Any],
    handlers: Mapping[str, InvocableActivityCallable],
    **options: Any,
) -> InvocableHttpResponse:
    """Answer one HTTP request carrying an input envelope.

    HTTP 200 with the result media type and a compact, key-sorted result envelope for every task
    outcome (handler failures included). HTTP 400 ``{"error": "invalid_invocable_request",
    "message": ...}`` when the body is not JSON, not an object or not a valid input envelope: no
    result envelope is possible without a trusted task identity. ``options`` are the
    :class:`InvocableActivityHandler` keyword arguments; invalid options raise (a server
    misconfiguration is not the caller's fault).
    """
    return await _respond(InvocableActivityHandler(handlers, **options), body)


def _lambda_body(event: Any) -> bytes | str | Mapping[str, Any]:
    if not isinstance(event, Mapping):
        raise ValueError(f"Lambda event must be an object, got {type(event).__name__}")
    body = event.get("body")
    if body is None:
        raise ValueError("Lambda event has no body; it must carry the external-task input envelope JSON")
    if event.get("isBase64Encoded") is True:
        if not isinstance(body, (str, bytes, bytearray)):
            raise ValueError(
                f"Lambda event body is marked isBase64Encoded but is a {type(body).__name__}, not base64 text"
            )
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError(
                f"Lambda event body is marked isBase64Encoded but is not valid base64: {exc}"
            ) from exc
    if isinstance(body, (bytes, str, Mapping)):
        return body
    raise ValueError(f"Lambda event body must be a JSON string, got {type(body).__name__}")


def _lambda_response(response: InvocableHttpResponse) -> dict[str, Any]:
    return {
        "statusCode": response.status_code,
        "headers": dict(response.headers),
        "body": response.body,
        "isBase64Encoded": False,
    }


async def _respond_to_event(handler: InvocableActivityHandler, event: Any) -> dict[str, Any]:
    try:
        body = _lambda_body(event)
    except ValueError as exc:
        return _lambda_response(_bad_request(str(exc)))
    return _lambda_response(await _respond(handler, body))


async def handle_invocable_lambda_event(
    event: Mapping[str, Any],
    handlers: Mapping[str, InvocableActivityCallable],
    **options: Any,
) -> dict[str, Any]:
    """Answer an AWS Lambda / API Gateway proxy event carrying an input envelope.

    Reads ``event["body"]`` (base64-decoded when ``isBase64Encoded`` is true) and returns
    ``{"statusCode", "headers", "body", "isBase64Encoded": False}`` with the same statuses as
    :func:`handle_invocable_http_request`; a missing body is a 400.
    """
    return await _respond_to_event(InvocableActivityHandler(handlers, **options), event)


def lambda_invocable_activity_handler(
    handlers: Mapping[str, InvocableActivityCallable],
    **options: Any,
) -> Callable[[Mapping[str, Any], Any], dict[str, Any]]:
    """Build the synchronous ``handler(event, context)`` AWS Lambda calls.

    Options are validated now, so a misconfigured function fails at cold start rather than on the
    first request. Each call runs in a fresh event loop; when called from a thread that already runs
    one (e.g. from async test code) the call runs on a helper thread instead of failing.
    """
    handler = InvocableActivityHandler(handlers, **options)

    def run(event: Mapping[str, Any]) -> dict[str, Any]:
        return asyncio.run(_respond_to_event(handler, event))

    def lambda_handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return run(event)
        outcome: dict[str, Any] = {}

        def run_elsewhere() -> None:
            try:
                outcome["value"] = run(event)
            except BaseException as exc:  # re-raised on the caller's thread
                outcome["error"] = exc

        thread = threading.Thread(target=run_elsewhere, name="invocable-lambda", daemon=True)
        thread.start()
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
        return cast(dict[str, Any], outcome["value"])

    return lambda_handler
