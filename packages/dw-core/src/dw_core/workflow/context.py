"""``WorkflowContext``: what workflow code calls to build commands and deterministic values."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import random as _random
import types
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timezone
from typing import Any, Final

from dw_core.retry_policy import ActivityRetryPolicy, ChildWorkflowRetryPolicy
from dw_core.workflow.commands import (
    ContinueAsNew,
    RecordSideEffect,
    RecordVersionMarker,
    ScheduleActivity,
    StartChildWorkflow,
    StartTimer,
    UpsertSearchAttributes,
    WaitCondition,
)

__all__ = ["REPLAY_LOGGER_NAME", "ReplayAwareLogger", "WorkflowContext", "predicate_fingerprint"]

REPLAY_LOGGER_NAME: Final = "durable_workflow.workflow.replay"
_PREDICATE_FINGERPRINT_TAG: Final = b"durable-workflow-python.wait-condition.v1\0"
_UUID7_MAX_MS: Final = (1 << 48) - 1


def _stable_repr(value: object) -> str:
    """``repr`` without process-specific parts: nested code objects by digest, sets sorted."""
    if isinstance(value, types.CodeType):
        return f"<code {_code_digest(value)}>"
    if isinstance(value, tuple):
        inner = ", ".join(_stable_repr(item) for item in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, frozenset):
        return "frozenset({" + ", ".join(sorted(_stable_repr(item) for item in value)) + "})"
    return repr(value)


def _code_fields(code: types.CodeType) -> str:
    return _stable_repr(
        (
            code.co_argcount,
            code.co_posonlyargcount,
            code.co_kwonlyargcount,
            code.co_code,
            code.co_consts,
            code.co_names,
            code.co_varnames,
            code.co_freevars,
        )
    )


def _code_digest(code: types.CodeType) -> str:
    return hashlib.sha256(f"{code.co_name}\0{_code_fields(code)}".encode()).hexdigest()


def predicate_fingerprint(predicate: Callable[[], Any]) -> str:
    """``sha256:<hex>`` identifying a wait predicate's code, identical in every process.

    Same recipe as replay.md §5 (so simple predicates match the published SDK), except that nested
    code objects and sets are rendered without memory addresses or hash-seed dependent order.
    """
    function = getattr(predicate, "__func__", predicate)
    code = getattr(function, "__code__", None)
    module = getattr(function, "__module__", None) or ""
    qualname = getattr(function, "__qualname__", None) or type(predicate).__qualname__
    digest = hashlib.sha256(_PREDICATE_FINGERPRINT_TAG)
    digest.update(f"{module}\0{qualname}\0".encode())
    digest.update((_code_fields(code) if code is not None else repr(type(predicate).__qualname__)).encode())
    return "sha256:" + digest.hexdigest()


class ReplayAwareLogger:
    """Logger for workflow code: records made while replaying already-recorded history are dropped.

    Forwards to the ``durable_workflow.workflow.replay`` logger otherwise. Code running for the
    first time logs, including code that runs before the task's first new command.
    """

    def __init__(self, context: WorkflowContext, logger: logging.Logger | None = None) -> None:
        self._context = context
        self._logger = logger or logging.getLogger(REPLAY_LOGGER_NAME)

    @property
    def logger(self) -> logging.Logger:
        """The underlying standard-library logger."""
        return self._logger

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        """Log at ``level`` unless replaying."""
        if not self._context.is_replaying:
            kwargs.setdefault("stacklevel", 3)
            self._logger.log(level, msg, *args, **kwargs)

    def debug(self, msg: object, *args: Any, **kwargs: Any) -> None:
        """Log at DEBUG unless replaying."""
        self.log(logging.DEBUG, msg, *args, **kwargs)

    def info(self, msg: object, *args: Any, **kwargs: Any) -> None:
        """Log at INFO unless replaying."""
        self.log(logging.INFO, msg, *args, **kwargs)

    def warning(self, msg: object, *args: Any, **kwargs: Any) -> None:
        """Log at WARNING unless replaying."""
        self.log(logging.WARNING, msg, *args, **kwargs)

    def error(self, msg: object, *args: Any, **kwargs: Any) -> None:
        """Log at ERROR unless replaying."""
        self.log(logging.ERROR, msg, *args, **kwargs)

    def exception(self, msg: object, *args: Any, **kwargs: Any) -> None:
        """Log at ERROR with the current exception unless replaying."""
        kwargs.setdefault("exc_info", True)
        self.log(logging.ERROR, msg, *args, **kwargs)

    def critical(self, msg: object, *args: Any, **kwargs: Any) -> None:
        """Log at CRITICAL unless replaying."""
        self.log(logging.CRITICAL, msg, *args, **kwargs)


class WorkflowContext:
    """Passed to ``run(ctx, ...)``: builds the commands to yield and gives deterministic values.

    ``now()`` is the time history recorded for the point the workflow has reached (the start time,
    then the time of the event that last resumed it); ``random()``, ``uuid4()`` and ``uuid7()``
    draw from a generator seeded by the run id, so every replay sees the same values.
    """

    def __init__(
        self,
        *,
        run_id: str = "",
        current_time: datetime | None = None,
        workflow_id: str = "",
        workflow_type: str = "",
        task_queue: str | None = None,
        namespace: str | None = None,
    ) -> None:
        self.run_id = run_id or ""
        self.workflow_id = workflow_id or ""
        self.workflow_type = workflow_type or ""
        self.task_queue = task_queue
        self.namespace = namespace
        if current_time is None:
            current_time = datetime.now(timezone.utc)
        elif current_time.tzinfo is None:
            current_time = current_time.replace(tzinfo=timezone.utc)
        self._now = current_time
        seed = int(hashlib.sha256(self.run_id.encode()).hexdigest()[:16], 16)
        self._random = _random.Random(seed)
        self._uuid7_counter = 0
        self._replaying = False
        self.logger = ReplayAwareLogger(self)

    # -- state the engine drives --------------------------------------------------------------

    @property
    def is_replaying(self) -> bool:
        """True while the code running is re-executing what an earlier task already executed."""
        return self._replaying

    def _set_replaying(self, replaying: bool) -> None:
        self._replaying = replaying

    def _advance_clock(self, moment: datetime) -> None:
        if moment > self._now:
            self._now = moment

    @contextlib.contextmanager
    def _isolated_randomness(self, label: str) -> Iterator[None]:
        """Give code that runs only once (a side effect) its own generator and uuid7 counter."""
        saved = (self._random, self._uuid7_counter)
        seed = int(hashlib.sha256(f"{self.run_id}\0{label}".encode()).hexdigest()[:16], 16)
        self._random = _random.Random(seed)
        self._uuid7_counter = 0
        try:
            yield
        finally:
            self._random, self._uuid7_counter = saved

    # -- commands -------------------------------------------------------------------------------

    def schedule_activity(
        self,
        activity_type: str,
        arguments: list[Any] | None = None,
        *,
        queue: str | None = None,
        retry_policy: ActivityRetryPolicy | Mapping[str, Any] | None = None,
        start_to_close_timeout: int | None = None,
        schedule_to_start_timeout: int | None = None,
        schedule_to_close_timeout: int | None = None,
        heartbeat_timeout: int | None = None,
    ) -> ScheduleActivity:
        """Run activity ``activity_type``; the yield resumes with its result or raises ``ActivityFailed``."""
        return ScheduleActivity(
            activity_type,
            [] if arguments is None else arguments,
            queue=queue,
            retry_policy=retry_policy,
            start_to_close_timeout=start_to_close_timeout,
            schedule_to_start_timeout=schedule_to_start_timeout,
            schedule_to_close_timeout=schedule_to_close_timeout,
            heartbeat_timeout=heartbeat_timeout,
        )

    def start_timer(self, seconds: int) -> StartTimer:
        """A durable timer of ``seconds`` whole seconds."""
        return StartTimer(seconds)

    def sleep(self, seconds: float) -> StartTimer:
        """A durable timer rounded up to whole seconds (negative values sleep 0 s)."""
        return StartTimer(max(0, math.ceil(seconds)))

    def wait_condition(
        self, predicate: Callable[[], bool], *, key: str | None = None, timeout: float | None = None
    ) -> WaitCondition:
        """Block until ``predicate()`` holds (``True``) or ``timeout`` seconds pass (``False``).

        The predicate is checked when reached and after every signal/update; ``timeout=0`` checks
        once and never waits.
        """
        return WaitCondition(
            predicate,
            condition_key=key,
            condition_definition_fingerprint=predicate_fingerprint(predicate),
            timeout_seconds=None if timeout is None else max(0, math.ceil(timeout)),
        )

    def side_effect(self, fn: Callable[[], Any]) -> RecordSideEffect:
        """Run ``fn`` once, the first time the workflow gets here; replays see the recorded value."""
        if not callable(fn):
            raise TypeError(f"side_effect needs a callable, got {fn!r}")
        return RecordSideEffect(fn=fn)

    def start_child_workflow(
        self,
        workflow_type: str,
        arguments: list[Any] | None = None,
        *,
        task_queue: str | None = None,
        parent_close_policy: str | None = None,
        retry_policy: ChildWorkflowRetryPolicy | ActivityRetryPolicy | Mapping[str, Any] | None = None,
        execution_timeout_seconds: int | None = None,
        run_timeout_seconds: int | None = None,
    ) -> StartChildWorkflow:
        """Start a child run; the yield resumes with its result or raises a child error."""
        return StartChildWorkflow(
            workflow_type,
            [] if arguments is None else arguments,
            task_queue=task_queue,
            parent_close_policy=parent_close_policy,
            retry_policy=retry_policy,
            execution_timeout_seconds=execution_timeout_seconds,
            run_timeout_seconds=run_timeout_seconds,
        )

    def get_version(self, change_id: str, min_supported: int, max_supported: int) -> RecordVersionMarker:
        """Yield resumes with the recorded version; new runs record ``max_supported``.

        A run whose history predates the marker resumes with -1 (``DEFAULT_VERSION``) when
        ``min_supported <= -1``; otherwise replay fails as non-deterministic.
        """
        return RecordVersionMarker(change_id, max_supported, min_supported, max_supported, "version")

    def patched(self, change_id: str) -> RecordVersionMarker:
        """Yield resumes ``True`` for runs that took the new path, ``False`` for older runs."""
        return RecordVersionMarker(change_id, 1, -1, 1, "patched")

    def deprecate_patch(self, change_id: str) -> RecordVersionMarker:
        """Keep the marker of a patch whose old branch was removed; the yield resumes ``None``."""
        return RecordVersionMarker(change_id, 1, -1, 1, "deprecate_patch")

    def upsert_search_attributes(self, attributes: dict[str, Any]) -> UpsertSearchAttributes:
        """Merge search attributes into the run; the yield resumes ``None``."""
        return UpsertSearchAttributes(dict(attributes) if isinstance(attributes, Mapping) else attributes)

    def continue_as_new(
        self, *args: Any, workflow_type: str | None = None, task_queue: str | None = None
    ) -> ContinueAsNew:
        """Return (or yield) this to restart as a new run with ``args``."""
        return ContinueAsNew(workflow_type=workflow_type, arguments=list(args), task_queue=task_queue)

    # -- deterministic helpers ----------------------------------------------------------------------

    def now(self) -> datetime:
        """Deterministic current time (UTC), taken from history."""
        return self._now

    def random(self) -> _random.Random:
        """A ``random.Random`` seeded from the run id; same run id, same sequence."""
        return self._random

    def uuid4(self) -> uuid.UUID:
        """A version-4 UUID drawn from :meth:`random`."""
        return uuid.UUID(int=self._random.getrandbits(128), version=4)

    def uuid7(self) -> uuid.UUID:
        """A version-7 UUID: milliseconds of :meth:`now`, a per-context counter, 62 random bits."""
        millis = int(self._now.timestamp() * 1000)
        if not 0 <= millis <= _UUID7_MAX_MS:
            raise ValueError(
                f"now() = {self._now.isoformat()} is outside the UUIDv7 48-bit millisecond range"
            )
        counter = self._uuid7_counter & 0xFFF
        self._uuid7_counter += 1
        value = (millis << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | self._random.getrandbits(62)
        return uuid.UUID(int=value)
