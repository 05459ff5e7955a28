"""The incremental replay engine: the live state of one workflow run, advanced event by event.

How it works (the full rules are in the package README, "Replay semantics"):

* History is consumed one event at a time, in order, and every event does a bounded amount of
  work, so applying k new events costs O(k) whatever the history length; a full replay is a fresh
  state plus all events. Because the state after a prefix never depends on how the prefix was cut
  into ``apply`` calls, full and incremental replay give the same commands.
* The workflow generator runs from one blocking yield to the next without interruption. A command
  the code yields is *issued*; the event that records it (``ActivityScheduled``,
  ``TimerScheduled``, ``ConditionWaitOpened``, ``SideEffectRecorded``, ...) *confirms* the next
  issued command, in order, and is checked against it (shape, activity/child type, change id).
  Results are matched to steps by their step number (``payload.sequence``), so members of a
  parallel group bind by yield position, not completion order. Histories without step numbers
  (minimal legacy fixtures) fall back to positional matching.
* ``commands()`` returns the issued commands history has not confirmed yet (plus a terminal
  command); confirmed commands are never sent again, so a task that arrives while an activity
  runs does not start it twice.
* Non-blocking yields (side effects, version markers, search-attribute upserts) take their
  recorded values while history has them; past the end of history they run live, once.
* Signals are applied, in history order, while the generator is parked at a blocking yield;
  updates are re-applied at their ``UpdateApplied`` event.
"""

from __future__ import annotations

import copy
import inspect
import logging
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from dw_core import protocol, serializer
from dw_core.errors import NonDeterministicReplayError, QueryFailed, WorkflowPayloadDecodeError
from dw_core.payload_size import DEFAULT_PAYLOAD_SIZE_WARNING, PayloadSizeWarningConfig, PayloadWarningContext
from dw_core.replay.events import (
    activity_failure,
    child_failure,
    decode_value,
    event_payload,
    event_type,
    parse_timestamp,
    step_number,
)
from dw_core.workflow.commands import (
    NOOP_MARKER_CHANGE_ID,
    Command,
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
    commands_to_server_commands,
    noop_server_command,
)
from dw_core.workflow.context import WorkflowContext
from dw_core.workflow.definition import WorkflowDefinition, get_definition

if TYPE_CHECKING:
    from dw_core.external_storage import ExternalPayloadCache, ExternalStorageDriver

__all__ = ["HistoryMismatchError", "ReplayStateUnusableError", "WorkflowRunState"]

log = logging.getLogger("durable_workflow.workflow.replay")

# Step kinds; the strings appear in non-determinism messages.
ACTIVITY: Final = "activity"
TIMER: Final = "timer"
CHILD: Final = "child workflow"
SIDE_EFFECT: Final = "side effect"
MARKER: Final = "version marker"
UPSERT: Final = "search attributes upsert"
WAIT: Final = "condition wait"

_CONDITION_TIMER_KINDS: Final = frozenset({"condition_timeout", "signal_timeout"})

# Events written when a workflow task completes: code that ran before one of them had already run in
# an earlier task, so its log records are replays.
_COMPLETION_EVENTS: Final = frozenset(
    {
        protocol.ACTIVITY_SCHEDULED,
        protocol.TIMER_SCHEDULED,
        protocol.CHILD_WORKFLOW_SCHEDULED,
        protocol.CONDITION_WAIT_OPENED,
        protocol.CONDITION_WAIT_SATISFIED,
        protocol.SIDE_EFFECT_RECORDED,
        protocol.VERSION_MARKER_RECORDED,
        protocol.SEARCH_ATTRIBUTES_UPSERTED,
        protocol.UPDATE_APPLIED,
        protocol.UPDATE_COMPLETED,
        protocol.WORKFLOW_COMPLETED,
        protocol.WORKFLOW_FAILED,
        protocol.WORKFLOW_CONTINUED_AS_NEW,
    }
)


class HistoryMismatchError(RuntimeError):
    """The events given do not extend the history this state has applied (gap, overlap or rewrite).

    The state is unchanged; build a fresh state and replay the whole history instead.
    """


class ReplayStateUnusableError(RuntimeError):
    """An earlier error left this run state inconsistent; replay the history into a fresh state."""


class _Step:
    """One command the workflow issued (or history recorded), and what became of it."""

    __slots__ = ("command", "confirmed", "error", "kind", "number", "resolved", "value", "wait")

    def __init__(self, kind: str, command: Command) -> None:
        self.kind = kind
        self.command = command
        self.number: int | None = None
        self.confirmed = False
        self.resolved = False
        self.value: Any = None
        self.error: BaseException | None = None
        self.wait: _Wait | None = None


class _Wait:
    """A logical ``wait_condition``; each physical ``open_condition_wait`` is a step of it."""

    __slots__ = ("command", "opens", "resolved")

    def __init__(self, command: WaitCondition) -> None:
        self.command = command
        self.opens: list[_Step] = []
        self.resolved = False


class _Receiver:
    __slots__ = ("args", "index", "name")

    def __init__(self, name: str, args: list[Any], index: int) -> None:
        self.name = name
        self.args = args
        self.index = index


class _AcceptedUpdate:
    __slots__ = ("arguments", "codec", "event_id", "name")

    def __init__(self, name: str | None, arguments: Any, codec: str | None, event_id: str | None) -> None:
        self.name = name
        self.arguments = arguments
        self.codec = codec
        self.event_id = event_id


_DONE: Final = object()


def _kind_of(command: object) -> str | None:
    if isinstance(command, ScheduleActivity):
        return ACTIVITY
    if isinstance(command, StartTimer):
        return TIMER
    if isinstance(command, StartChildWorkflow):
        return CHILD
    return None


def _non_blocking_kind(command: object) -> str | None:
    if isinstance(command, RecordSideEffect):
        return SIDE_EFFECT
    if isinstance(command, RecordVersionMarker):
        return MARKER
    if isinstance(command, UpsertSearchAttributes):
        return UPSERT
    return None


def _describe(step_kind: str, command: object) -> str:
    if isinstance(command, ScheduleActivity):
        return f"activity:{command.activity_type}"
    if isinstance(command, StartChildWorkflow):
        return f"child workflow:{command.workflow_type}"
    if isinstance(command, RecordVersionMarker):
        return f"version marker:{command.change_id}"
    return step_kind


def _marker_value(command: RecordVersionMarker, version: int) -> Any:
    if command.result_kind == "patched":
        return version == 1
    if command.result_kind == "deprecate_patch":
        return None
    return version


def _failure_from(exc: BaseException, prefix: str = "") -> FailWorkflow:
    text = str(exc) or type(exc).__name__
    return FailWorkflow(message=f"{prefix}{text}", exception_type=type(exc).__name__)


def _qualified(exc: BaseException) -> str:
    cls = type(exc)
    return f"{cls.__module__}.{cls.__qualname__}"


class WorkflowRunState:
    """Live replay state of one workflow run; feed it history, read the commands it wants to send.

    ``workflow`` is a ``@workflow.defn`` class (or its :class:`WorkflowDefinition`);
    ``start_input`` the decoded start arguments (a list is spread into ``run``; any other value is
    passed as one argument; ``None`` means no arguments). ``payload_codec`` is the run's codec for
    recorded payloads that do not name theirs (``None``: JSON, as legacy histories are).

    Typical worker use::

        state = WorkflowRunState(MyWorkflow, workflow_id=..., run_id=..., start_input=args,
                                 payload_codec=task["payload_codec"], task_queue=queue)
        state.extend(history_events)          # full history of the task; applies only new events
        wire = state.wire_commands()          # never empty; POST as the task's commands

    Errors: :class:`HistoryMismatchError` (history does not extend what was applied; the state is
    untouched: replay into a fresh state), ``NonDeterministicReplayError`` and
    ``WorkflowPayloadDecodeError`` (task failures; the state becomes unusable).
    """

    def __init__(
        self,
        workflow: type | WorkflowDefinition,
        *,
        workflow_id: str = "",
        run_id: str = "",
        workflow_type: str | None = None,
        start_input: Any = None,
        payload_codec: str | None = None,
        task_queue: str | None = None,
        namespace: str | None = None,
        start_time: datetime | None = None,
        external_storage: ExternalStorageDriver | None = None,
        external_storage_cache: ExternalPayloadCache | None = None,
    ) -> None:
        self.definition = workflow if isinstance(workflow, WorkflowDefinition) else get_definition(workflow)
        self.workflow_id = workflow_id or ""
        self.run_id = run_id or ""
        self.workflow_type = workflow_type or self.definition.name
        self.task_queue = task_queue
        self.namespace = namespace
        self.payload_codec = payload_codec
        self._start_input = start_input
        self._storage = external_storage
        self._storage_cache = external_storage_cache
        self._start_time = start_time
        self.context: WorkflowContext | None = None
        self.instance: Any = None

        self._applied = 0
        self._last_sequence: int | None = None
        self._last_event: Mapping[str, Any] | None = None
        self._event_index = 0
        self._replay_horizon = -1
        self._live = False
        self._unusable: BaseException | None = None

        self._gen: Any = None
        self._entered = False
        self._blocked_on: _Step | list[_Step] | _Wait | None = None
        self._pending: RecordSideEffect | RecordVersionMarker | UpsertSearchAttributes | None = None
        self._resume: tuple[Any, BaseException | None] | None = None
        self._terminal: Command | None = None

        self._unconfirmed: deque[_Step] = deque()
        self._by_number: dict[int, _Step] = {}
        self._unnumbered_open: list[_Step] = []
        self._waits_by_id: dict[str, _Wait] = {}
        self._deferred: deque[_Receiver] = deque()
        self._accepted_updates: dict[str, _AcceptedUpdate] = {}
        self._updates_applied_live: set[str] = set()
        self._side_effects = 0

    # -- what the worker reads ---------------------------------------------------------------------

    @property
    def applied_count(self) -> int:
        """How many history events have been applied."""
        return self._applied

    @property
    def last_sequence(self) -> int | None:
        """``sequence`` of the last applied event that carried one."""
        return self._last_sequence

    @property
    def last_event_id(self) -> str | None:
        """``id`` of the last applied event, when events carry ids."""
        event = self._last_event
        if event is None:
            return None
        value = event.get("id")
        return value if isinstance(value, str) else None

    @property
    def is_finished(self) -> bool:
        """The workflow returned, failed or continued as new (see :attr:`terminal`)."""
        return self._terminal is not None

    @property
    def terminal(self) -> Command | None:
        """The terminal command, once the workflow reached one."""
        return self._terminal

    @property
    def reusable(self) -> bool:
        """False once an error made this state unsafe to keep in a cache."""
        return self._unusable is None

    # -- feeding history -----------------------------------------------------------------------------

    def apply(self, events: Iterable[Mapping[str, Any]]) -> None:
        """Apply history events that follow the ones already applied.

        Events whose ``sequence`` does not continue :attr:`last_sequence` raise
        :class:`HistoryMismatchError` before anything is applied.
        """
        self._check_usable()
        batch = events if isinstance(events, list) else list(events)
        if not batch:
            return
        expected = self._last_sequence
        horizon = -1
        for offset, event in enumerate(batch):
            if not isinstance(event, Mapping):
                raise HistoryMismatchError(
                    f"history event #{self._applied + offset + 1} is {type(event).__name__}, "
                    "not an event object"
                )
            sequence = event.get("sequence")
            if type(sequence) is int:
                if expected is not None and sequence != expected + 1:
                    raise HistoryMismatchError(
                        f"history event sequence {sequence} does not follow the last applied sequence "
                        f"{expected}; "
                        "replay the full history into a fresh state"
                    )
                expected = sequence
            kind = event.get("event_type") or event.get("type")
            if kind in _COMPLETION_EVENTS:
                horizon = offset
        self._replay_horizon = self._applied + horizon
        try:
            for event in batch:
                self._apply_one(event)
        except BaseException as exc:
            self._unusable = exc
            raise

    def extend(self, history: Sequence[Mapping[str, Any]]) -> None:
        """Given the run's whole history (from its first event), apply only the events not yet applied.

        Raises :class:`HistoryMismatchError` when ``history`` is shorter than what was applied or its
        event at that position is not the one applied (different id, sequence or type).
        """
        self._check_usable()
        count = self._applied
        if len(history) < count:
            raise HistoryMismatchError(
                f"the task's history has {len(history)} events but this state already applied {count}"
            )
        if count and self._last_event is not None:
            previous = history[count - 1]
            mine = self._last_event
            for key in ("id", "sequence", "event_type", "type"):
                if previous.get(key) != mine.get(key):
                    raise HistoryMismatchError(
                        f"history event #{count} differs from the one applied "
                        f"({key}: {previous.get(key)!r} != "
                        f"{mine.get(key)!r}); replay the full history into a fresh state"
                    )
        self.apply(list(history[count:]))

    # -- what the workflow wants -----------------------------------------------------------------

    def commands(self) -> list[Command]:
        """Commands to send for the history applied so far: what history has not recorded yet.

        Runs the workflow past the end of history (side effects execute here, once). Calling it again
        without new events returns the same commands. Empty when the workflow only waits.
        """
        self._check_usable()
        try:
            self._live = True
            self._ensure_entered()
            if self.context is not None:
                self.context._set_replaying(False)
            self._run()
        except BaseException as exc:
            self._unusable = exc
            raise
        finally:
            self._live = False
        if isinstance(self._terminal, FailWorkflow):
            return [self._terminal]
        pending: list[Command] = [step.command for step in self._unconfirmed]
        if self._terminal is not None:
            pending.append(self._terminal)
        return pending

    def wire_commands(
        self,
        task_queue: str | None = None,
        *,
        payload_codec: str | None = None,
        size_warning: PayloadSizeWarningConfig | None = DEFAULT_PAYLOAD_SIZE_WARNING,
        warning_context: PayloadWarningContext = None,
        external_storage: ExternalStorageDriver | None = None,
        external_storage_threshold_bytes: int | None = None,
    ) -> list[dict[str, Any]]:
        """:meth:`commands` in wire form (``commands.md``); never empty.

        When nothing new is to be sent, the list holds the single no-op marker of
        :func:`noop_server_command` (the server requires a non-empty list).
        """
        queue = task_queue or self.task_queue or "default"
        # New payloads are always Avro unless the caller says otherwise: JSON is decode-only (B10).
        codec = payload_codec or serializer.AVRO_CODEC
        wire = commands_to_server_commands(
            self.commands(),
            queue,
            payload_codec=codec,
            size_warning=size_warning,
            warning_context=warning_context,
            external_storage=external_storage,
            external_storage_threshold_bytes=external_storage_threshold_bytes,
        )
        return wire or [noop_server_command()]

    def query(self, name: str, args: Sequence[Any] = ()) -> Any:
        """Run query handler ``name`` against the replayed state (no commands, nothing runs live).

        Raises ``QueryFailed`` with reason ``query_workflow_state_unavailable`` (replay failed),
        ``rejected_unknown_query`` or ``query_rejected`` (the handler raised). An awaitable result is
        returned as is for the caller to await.
        """
        if self._unusable is not None:
            raise QueryFailed(
                f"workflow replay failed before query: {self._unusable}",
                reason="query_workflow_state_unavailable",
            )
        try:
            self._ensure_entered()
        except Exception as exc:
            raise QueryFailed(
                f"workflow replay failed before query: {exc}", reason="query_workflow_state_unavailable"
            ) from exc
        if isinstance(self._terminal, FailWorkflow):
            raise QueryFailed(
                f"workflow replay failed before query: {self._terminal.message}",
                reason="query_workflow_state_unavailable",
            )
        attribute = self.definition.queries.get(name)
        if attribute is None:
            raise QueryFailed(f"unknown query {name!r}", reason="rejected_unknown_query")
        previous = self.context._replaying if self.context is not None else False
        if self.context is not None:
            self.context._set_replaying(True)
        try:
            return getattr(self.instance, attribute)(*args)
        except Exception as exc:
            raise QueryFailed(str(exc) or type(exc).__name__, reason="query_rejected") from exc
        finally:
            if self.context is not None:
                self.context._set_replaying(previous)

    def handle_update(self, update_id: str) -> CompleteUpdate | FailUpdate:
        """Apply the accepted update ``update_id`` live: validator, then handler (replay.md §7).

        The returned command is the task's only command. The workflow is not advanced here; it
        reacts to the update when the ``UpdateApplied`` event is applied (the handler is not run a
        second time then). After a ``FailUpdate`` whose handler raised, :attr:`reusable` is False.
        """
        self._check_usable()
        accepted = self._accepted_updates.get(update_id)
        if accepted is None:
            return FailUpdate(
                update_id,
                f"accepted update {update_id!r} was not present in workflow history",
                exception_type="UpdateNotFound",
            )
        if not accepted.name:
            return FailUpdate(update_id, f"accepted update {update_id!r} has no update name", "InvalidUpdate")
        attribute = self.definition.updates.get(accepted.name)
        if attribute is None:
            return FailUpdate(update_id, f"unknown update {accepted.name!r}", exception_type="UnknownUpdate")
        try:
            self._ensure_entered()
        except Exception as exc:
            return FailUpdate(
                update_id, f"replay failed before update: {exc}", type(exc).__name__, _qualified(exc)
            )
        if isinstance(self._terminal, FailWorkflow):
            return FailUpdate(
                update_id,
                f"workflow replay ended in FailWorkflow: {self._terminal.message}",
                exception_type=self._terminal.exception_type,
            )
        try:
            args = self._receiver_args(
                accepted.arguments, accepted.codec, "update", accepted.name, accepted.event_id
            )
        except WorkflowPayloadDecodeError as exc:
            return FailUpdate(
                update_id, f"update argument decode failed: {exc}", type(exc).__name__, _qualified(exc)
            )
        context = self.context
        if context is not None:
            context._set_replaying(False)
        validator_name = self.definition.update_validators.get(accepted.name)
        if validator_name is not None:
            try:
                verdict = getattr(self.instance, validator_name)(*args)
            except Exception as exc:
                return FailUpdate(
                    update_id, f"update validator failed: {exc}", type(exc).__name__, _qualified(exc)
                )
            if verdict is False:
                return FailUpdate(
                    update_id, "update validator failed: validator returned False", "ValidationFailed"
                )
        try:
            result = getattr(self.instance, attribute)(*args)
        except Exception as exc:
            self._unusable = exc
            return FailUpdate(update_id, f"update handler failed: {exc}", type(exc).__name__, _qualified(exc))
        self._updates_applied_live.add(update_id)
        return CompleteUpdate(update_id, result)

    # -- internals: event dispatch -------------------------------------------------------------------

    def _check_usable(self) -> None:
        if self._unusable is not None:
            raise ReplayStateUnusableError(
                f"this run state failed earlier ({type(self._unusable).__name__}: {self._unusable}); "
                "replay the history into a fresh WorkflowRunState"
            ) from self._unusable

    def _apply_one(self, event: Mapping[str, Any]) -> None:
        index = self._applied
        self._event_index = index
        kind = event_type(event)
        payload = event_payload(event)
        if kind == protocol.WORKFLOW_STARTED or kind == protocol.START_ACCEPTED:
            if kind == protocol.WORKFLOW_STARTED and not self._entered and self._start_time is None:
                self._start_time = parse_timestamp(payload.get("timestamp")) or parse_timestamp(
                    event.get("recorded_at")
                )
        elif kind is not None:
            handler = _HANDLERS.get(kind)
            if handler is not None:
                if not self._entered:
                    self._enter()
                    self._run()
                if self.context is not None:
                    self.context._set_replaying(index <= self._replay_horizon)
                handler(self, kind, event, payload)
                self._run()
        self._applied = index + 1
        sequence = event.get("sequence")
        if type(sequence) is int:
            self._last_sequence = sequence
        self._last_event = event

    def _on_opening(self, kind: str, event: Mapping[str, Any], payload: Mapping[str, Any]) -> None:
        step_kind = _OPENING_KINDS[kind]
        number = step_number(payload)
        if kind == protocol.TIMER_SCHEDULED and payload.get("timer_kind") in _CONDITION_TIMER_KINDS:
            return
        if kind == protocol.VERSION_MARKER_RECORDED and payload.get("change_id") == NOOP_MARKER_CHANGE_ID:
            return
        if number is not None and number in self._by_number:
            return  # a later event of a step already known (ActivityStarted, ChildRunStarted, ...)
        if kind in (protocol.ACTIVITY_STARTED, protocol.CHILD_RUN_STARTED) and number is None:
            return
        if not self._unconfirmed and self._pending is not None:
            # Everything issued is confirmed: this event is the record of the pending command (or
            # proves it was never recorded).
            self._match_pending(step_kind, kind, event, payload, number)
            return
        step = self._take_unconfirmed(step_kind, kind, payload, number)
        self._confirm(step, number, payload)

    def _match_pending(
        self,
        step_kind: str,
        kind: str,
        event: Mapping[str, Any],
        payload: Mapping[str, Any],
        number: int | None,
    ) -> None:
        command = self._pending
        assert command is not None
        expected = _non_blocking_kind(command)
        same = step_kind == expected and (
            not isinstance(command, RecordVersionMarker) or payload.get("change_id") == command.change_id
        )
        if same:
            if isinstance(command, RecordSideEffect):
                value = self._decode(payload.get("result"), payload, "side effect result", event)
                command.result = value
            elif isinstance(command, RecordVersionMarker):
                version = payload.get("version")
                value = _marker_value(command, version if type(version) is int else 0)
            else:
                value = None
            step = _Step(step_kind, command)
            step.resolved = True
            step.value = value
            self._confirm(step, number, payload)
            self._pending = None
            self._resume = (value, None)
            return
        self._pending_absent(kind, event, payload, number)

    def _pending_absent(
        self, kind: str, event: Mapping[str, Any], payload: Mapping[str, Any], number: int | None
    ) -> None:
        """History went on without recording the pending non-blocking command."""
        command = self._pending
        assert command is not None
        if isinstance(command, RecordVersionMarker):
            # The run started before this marker existed: the legacy (-1) path.
            if command.min_supported > -1:
                raise NonDeterministicReplayError(
                    number if number is not None else self._event_index + 1,
                    _describe(MARKER, command),
                    [kind],
                    detail=(
                        f"history predates version marker {command.change_id!r} but min_supported is "
                        f"{command.min_supported}; keep -1 supported while such runs exist"
                    ),
                )
            self._pending = None
            self._resume = (_marker_value(command, -1), None)
            self._run()
            handler = _HANDLERS[kind]
            handler(self, kind, event, payload)
            return
        raise NonDeterministicReplayError(
            number if number is not None else self._event_index + 1,
            _describe(_non_blocking_kind(command) or "command", command),
            [kind],
            detail="the workflow yielded a command that history did not record at this point",
        )

    def _take_unconfirmed(
        self, step_kind: str, kind: str, payload: Mapping[str, Any], number: int | None
    ) -> _Step:
        queue = self._unconfirmed
        if not queue:
            where = "has finished" if self._terminal is not None else self._parked_description()
            raise NonDeterministicReplayError(
                number if number is not None else self._event_index + 1,
                "nothing (the workflow " + where + ")",
                [kind],
                detail="history recorded a command the workflow code did not yield",
            )
        step = queue.popleft()
        self._check_match(step, step_kind, kind, payload, number)
        return step

    def _parked_description(self) -> str:
        blocked = self._blocked_on
        if isinstance(blocked, _Step):
            return f"waits on {_describe(blocked.kind, blocked.command)}"
        if isinstance(blocked, list):
            return "waits on a parallel group of " + ", ".join(_describe(s.kind, s.command) for s in blocked)
        if isinstance(blocked, _Wait):
            return "waits on a condition"
        return "is not waiting on anything"

    def _check_match(
        self, step: _Step, step_kind: str, kind: str, payload: Mapping[str, Any], number: int | None
    ) -> None:
        position = number if number is not None else self._event_index + 1
        if step.kind != step_kind:
            raise NonDeterministicReplayError(
                position,
                _describe(step.kind, step.command),
                [kind],
                detail=f"history recorded a {step_kind} where the code yielded a {step.kind}",
            )
        command = step.command
        if isinstance(command, ScheduleActivity):
            recorded = payload.get("activity_type")
            if isinstance(recorded, str) and recorded and recorded != command.activity_type:
                raise NonDeterministicReplayError(
                    position,
                    _describe(step.kind, command),
                    [kind],
                    detail=(
                        f"history recorded activity type {recorded!r}, "
                        f"the code scheduled {command.activity_type!r}"
                    ),
                )
        elif isinstance(command, StartChildWorkflow):
            recorded = payload.get("child_workflow_type") or payload.get("workflow_type")
            if isinstance(recorded, str) and recorded and recorded != command.workflow_type:
                raise NonDeterministicReplayError(
                    position,
                    _describe(step.kind, command),
                    [kind],
                    detail=(
                        f"history recorded child type {recorded!r}, "
                        f"the code started {command.workflow_type!r}"
                    ),
                )
        elif isinstance(command, RecordVersionMarker):
            recorded = payload.get("change_id")
            if isinstance(recorded, str) and recorded != command.change_id:
                raise NonDeterministicReplayError(
                    position,
                    _describe(step.kind, command),
                    [kind],
                    detail=f"history recorded change id {recorded!r}, the code used {command.change_id!r}",
                )

    def _confirm(self, step: _Step, number: int | None, payload: Mapping[str, Any]) -> None:
        step.confirmed = True
        step.number = number
        if number is not None:
            self._by_number[number] = step
        elif step.kind in (ACTIVITY, TIMER, CHILD):
            self._unnumbered_open.append(step)
        wait = step.wait
        if wait is not None:
            wait_id = payload.get("condition_wait_id")
            if isinstance(wait_id, str) and wait_id:
                self._waits_by_id[wait_id] = wait
            self._check_wait_identity(wait, payload)

    def _check_wait_identity(self, wait: _Wait, payload: Mapping[str, Any]) -> None:
        command = wait.command
        recorded_key = payload.get("condition_key")
        if isinstance(recorded_key, str) and recorded_key != (command.condition_key or ""):
            self._finish(
                FailWorkflow(
                    message=(
                        f"wait_condition key changed during replay: history recorded {recorded_key!r}, "
                        f"the code waits on {command.condition_key!r}"
                    ),
                    exception_type="NonDeterministicWaitCondition",
                )
            )
            return
        recorded_fp = payload.get("condition_definition_fingerprint")
        if (
            isinstance(recorded_fp, str)
            and recorded_fp
            and command.condition_definition_fingerprint
            and recorded_fp != command.condition_definition_fingerprint
        ):
            self._finish(
                FailWorkflow(
                    message=(
                        "wait_condition predicate fingerprint changed during replay: history recorded "
                        f"{recorded_fp}, the code's predicate is {command.condition_definition_fingerprint}"
                    ),
                    exception_type="NonDeterministicWaitCondition",
                )
            )

    def _on_resolution(self, kind: str, event: Mapping[str, Any], payload: Mapping[str, Any]) -> None:
        if kind == protocol.TIMER_FIRED and payload.get("timer_kind") in _CONDITION_TIMER_KINDS:
            if payload.get("timer_kind") == "condition_timeout":
                self._on_wait_resolution(protocol.CONDITION_WAIT_TIMED_OUT, event, payload)
            return
        step_kind = _RESOLUTION_KINDS[kind]
        number = step_number(payload)
        step = self._by_number.get(number) if number is not None else None
        if step is not None and step.kind == WAIT and kind == protocol.TIMER_FIRED:
            # A wait's timeout timer shares its step number; tolerate a missing timer_kind.
            wait = step.wait
            if wait is not None and not wait.resolved and wait is self._blocked_on:
                self._advance_clock(event)
                self._resolve_wait(wait, False)
            return
        if step is None:
            step = self._unnumbered_step(step_kind)
        if step is None:
            if not self._unconfirmed and self._pending is not None:
                self._pending_absent(kind, event, payload, number)
                return
            step = self._take_unconfirmed(step_kind, kind, payload, number)
            self._confirm(step, number, payload)
        elif step.kind != step_kind:
            raise NonDeterministicReplayError(
                number if number is not None else self._event_index + 1,
                _describe(step.kind, step.command),
                [kind],
                detail=f"history resolved step {number} as a {step_kind}",
            )
        if step.resolved:
            return
        step.resolved = True
        if kind == protocol.ACTIVITY_COMPLETED:
            raw = payload.get("result")
            step.value = self._decode(
                raw if raw is not None else payload.get("output"), payload, "activity result", event
            )
        elif kind in (protocol.ACTIVITY_FAILED, protocol.ACTIVITY_TIMED_OUT):
            step.error = activity_failure(kind, payload)
        elif kind == protocol.CHILD_RUN_COMPLETED:
            raw = payload.get("result")
            step.value = self._decode(
                raw if raw is not None else payload.get("output"), payload, "child result", event
            )
        elif kind in (protocol.CHILD_RUN_FAILED, protocol.CHILD_RUN_CANCELLED, protocol.CHILD_RUN_TERMINATED):
            step.error = child_failure(kind, payload)
        self._advance_clock(event)
        self._check_unblocked()

    def _unnumbered_step(self, step_kind: str) -> _Step | None:
        if not self._unnumbered_open:
            return None
        for position, step in enumerate(self._unnumbered_open):
            if step.kind == step_kind and not step.resolved:
                del self._unnumbered_open[position]
                return step
        return None

    def _check_unblocked(self) -> None:
        blocked = self._blocked_on
        if isinstance(blocked, _Step) and blocked.resolved:
            self._blocked_on = None
            self._resume = (blocked.value, blocked.error)
        elif isinstance(blocked, list) and all(step.resolved for step in blocked):
            self._blocked_on = None
            error = next((step.error for step in blocked if step.error is not None), None)
            self._resume = ([step.value for step in blocked], error)

    def _on_wait_resolution(self, kind: str, event: Mapping[str, Any], payload: Mapping[str, Any]) -> None:
        wait_id = payload.get("condition_wait_id")
        wait = self._waits_by_id.get(wait_id) if isinstance(wait_id, str) else None
        blocked = self._blocked_on
        if wait is None:
            if not isinstance(blocked, _Wait):
                return
            wait = blocked
        if wait.resolved or wait is not blocked:
            return
        self._advance_clock(event)
        self._resolve_wait(wait, kind == protocol.CONDITION_WAIT_SATISFIED)

    def _resolve_wait(self, wait: _Wait, value: bool) -> None:
        # Opens of this wait not yet confirmed stay queued: one may already be on its way to the
        # server, so every open is sent and confirmed in order (their later events are ignored).
        wait.resolved = True
        if self._blocked_on is wait:
            self._blocked_on = None
        self._resume = (value, None)

    def _on_signal(self, kind: str, event: Mapping[str, Any], payload: Mapping[str, Any]) -> None:
        name = payload.get("signal_name")
        if not isinstance(name, str) or not name:
            return
        raw: Any = None
        for key in ("value", "input", "arguments"):
            if payload.get(key) is not None:
                raw = payload.get(key)
                break
        # Signals do not move ctx.now(): one recorded while a side effect awaits its record is applied
        # later, and the code in between must see the same time on every path.
        args = self._receiver_args(raw, self._codec_of(payload), "signal", name, event.get("id"))
        receiver = _Receiver(name, args, self._event_index)
        if self._pending is not None:
            self._deferred.append(receiver)
        else:
            self._apply_signal(receiver)

    def _apply_signal(self, receiver: _Receiver) -> None:
        attribute = self.definition.signals.get(receiver.name)
        if attribute is not None and self.instance is not None:
            try:
                getattr(self.instance, attribute)(*receiver.args)
            except Exception as exc:
                if self._terminal is None:
                    self._finish(_failure_from(exc))
                return
        wait = self._blocked_on
        if isinstance(wait, _Wait) and not wait.resolved:
            if self._evaluate(wait.command):
                self._resolve_wait(wait, True)
            elif self._terminal is None:
                # The task handling this signal must re-open the wait, or the server records it satisfied.
                step = _Step(WAIT, wait.command)
                step.wait = wait
                wait.opens.append(step)
                self._unconfirmed.append(step)

    def _on_update_accepted(self, kind: str, event: Mapping[str, Any], payload: Mapping[str, Any]) -> None:
        update_id = payload.get("update_id")
        if isinstance(update_id, str) and update_id:
            name = payload.get("update_name")
            self._accepted_updates[update_id] = _AcceptedUpdate(
                name if isinstance(name, str) else None,
                payload.get("arguments"),
                self._codec_of(payload),
                event.get("id") if isinstance(event.get("id"), str) else None,
            )

    def _on_update_applied(self, kind: str, event: Mapping[str, Any], payload: Mapping[str, Any]) -> None:
        update_id = payload.get("update_id")
        name = payload.get("update_name")
        if isinstance(update_id, str) and update_id in self._updates_applied_live:
            self._updates_applied_live.discard(update_id)  # its handler already ran in the update task
        else:
            attribute = self.definition.updates.get(name) if isinstance(name, str) else None
            if attribute is None:
                if self._terminal is None:
                    self._finish(
                        FailWorkflow(
                            message=(
                                f"unknown update {name!r} in history: "
                                "no @workflow.update handler has that name"
                            ),
                            exception_type="TypeError",
                        )
                    )
                return
            args = self._receiver_args(
                payload.get("arguments"), self._codec_of(payload), "update", str(name), event.get("id")
            )
            try:
                getattr(self.instance, attribute)(*args)
            except Exception as exc:
                if self._terminal is None:
                    self._finish(_failure_from(exc))
                return
        wait = self._blocked_on
        if isinstance(wait, _Wait) and not wait.resolved and self._evaluate(wait.command):
            self._resolve_wait(wait, True)

    def _on_terminal_event(self, kind: str, event: Mapping[str, Any], payload: Mapping[str, Any]) -> None:
        if self._pending is not None and not self._unconfirmed and kind != protocol.WORKFLOW_FAILED:
            self._pending_absent(kind, event, payload, None)

    # -- internals: running the generator ------------------------------------------------------------

    def _ensure_entered(self) -> None:
        if not self._entered:
            self._enter()
            self._run()

    def _enter(self) -> None:
        self._entered = True
        self.context = WorkflowContext(
            run_id=self.run_id,
            current_time=self._start_time,
            workflow_id=self.workflow_id,
            workflow_type=self.workflow_type,
            task_queue=self.task_queue,
            namespace=self.namespace,
        )
        self.context._set_replaying(not self._live and self._event_index <= self._replay_horizon)
        start_input = self._start_input
        if start_input is None:
            args: list[Any] = []
        elif isinstance(start_input, (list, tuple)):
            args = list(start_input)
        else:
            args = [start_input]
        try:
            self.instance = self.definition.cls()
            outcome = self.instance.run(self.context, *args)
        except InvalidCommandError:
            raise
        except Exception as exc:
            self._finish(_failure_from(exc))
            return
        if inspect.isgenerator(outcome):
            self._gen = outcome
            self._resume = (None, None)
        else:
            self._finish_with_value(outcome)

    def _finish_with_value(self, value: Any) -> None:
        if isinstance(value, ContinueAsNew):
            self._finish(value)
            return
        try:
            # Signals recorded after the return still run their handlers (queries see them); they
            # must not change a result that aliases workflow state.
            value = copy.deepcopy(value)
        except Exception:
            log.debug("workflow result could not be copied; keeping the object returned", exc_info=True)
        self._finish(CompleteWorkflow(value))

    def _finish(self, command: Command) -> None:
        self._terminal = command
        self._blocked_on = None
        self._pending = None
        self._resume = None
        gen, self._gen = self._gen, None
        if gen is not None:
            try:
                gen.close()
            except Exception:  # a finally block raising while closing: the run is over anyway
                log.debug("workflow generator raised while being closed", exc_info=True)

    def _run(self) -> None:
        """Drive the generator until it parks at a blocking yield, a pending record or the end."""
        while True:
            resume = self._resume
            if resume is not None:
                self._resume = None
                if self._gen is not None:
                    self._drive(resume[0], resume[1])
                continue
            if self._pending is not None:
                if not self._live:
                    return
                self._run_pending_live()
                continue
            if self._deferred:
                self._apply_signal(self._deferred.popleft())
                continue
            return

    def _send(self, value: Any, error: BaseException | None) -> Any:
        gen = self._gen
        try:
            if error is not None:
                return gen.throw(error)
            return gen.send(value)
        except StopIteration as stop:
            self._finish_with_value(stop.value)
        except InvalidCommandError:
            # A malformed command is a code bug: fail the task (fixable by a deploy), not the run.
            raise
        except Exception as exc:
            self._finish(_failure_from(exc))
        return _DONE

    def _drive(self, value: Any, error: BaseException | None) -> None:
        item = self._send(value, error)
        while item is not _DONE:
            step_kind = _kind_of(item)
            if step_kind is not None:
                self._blocked_on = self._issue(step_kind, item)
                return
            if isinstance(item, (list, tuple)):
                bad = next((pos for pos, member in enumerate(item) if _kind_of(member) is None), None)
                if bad is not None:
                    item = self._send(
                        None,
                        TypeError(
                            f"parallel group member {bad} is {type(item[bad]).__name__}; "
                            "a group may hold only "
                            "activities, timers and child workflows"
                        ),
                    )
                    continue
                if not item:
                    item = self._send([], None)
                    continue
                self._blocked_on = [self._issue(_kind_of(member) or ACTIVITY, member) for member in item]
                return
            if isinstance(item, WaitCondition):
                outcome = self._enter_wait(item)
                if outcome is None:
                    return
                item = self._send(outcome, None)
                continue
            if isinstance(item, ContinueAsNew):
                self._finish(item)
                return
            if _non_blocking_kind(item) is not None:
                if isinstance(item, RecordSideEffect):
                    self._side_effects += 1
                self._pending = item
                return
            item = self._send(
                None,
                TypeError(
                    f"workflow yielded {type(item).__name__}; "
                    "yield commands built by ctx (schedule_activity, "
                    "start_timer, wait_condition, side_effect, ...) or a list of them"
                ),
            )

    def _issue(self, kind: str, command: Command) -> _Step:
        step = _Step(kind, command)
        self._unconfirmed.append(step)
        return step

    def _enter_wait(self, command: WaitCondition) -> bool | None:
        holds = self._evaluate(command)
        if self._terminal is not None:
            return None
        if holds:
            return True
        if command.timeout_seconds == 0:
            return False
        wait = _Wait(command)
        step = self._issue(WAIT, command)
        step.wait = wait
        wait.opens.append(step)
        self._blocked_on = wait
        return None

    def _evaluate(self, command: WaitCondition) -> bool:
        try:
            return bool(command.predicate())
        except Exception as exc:
            self._finish(_failure_from(exc, "wait_condition predicate raised: "))
            return False

    def _run_pending_live(self) -> None:
        command = self._pending
        self._pending = None
        assert command is not None
        kind = _non_blocking_kind(command)
        assert kind is not None
        value: Any = None
        error: BaseException | None = None
        if isinstance(command, RecordSideEffect):
            try:
                produced = self._call_side_effect(command)
                # What replays will see: the value after a trip through the codec.
                value = serializer.decode(
                    serializer.encode(produced, serializer.JSON_CODEC, size_warning=None)
                )
                command.result = value
            except Exception as exc:
                error = exc
        elif isinstance(command, RecordVersionMarker):
            value = _marker_value(command, command.version)
        if error is not None:
            self._resume = (None, error)
            return
        step = self._issue(kind, command)
        step.resolved = True
        step.value = value
        self._resume = (value, None)

    def _call_side_effect(self, command: RecordSideEffect) -> Any:
        if command.fn is None:
            return command.result
        context = self.context
        if context is None:
            return command.fn()
        # fn runs only on the first execution; if it draws from ctx.random()/uuid*, it must not move
        # the workflow's own generator, or code after it would differ between live and replay.
        with context._isolated_randomness(f"side-effect:{self._side_effects}"):
            return command.fn()

    # -- internals: payloads ---------------------------------------------------------------------------

    def _codec_of(self, payload: Mapping[str, Any]) -> str | None:
        codec = payload.get("payload_codec")
        return codec if isinstance(codec, str) and codec else self.payload_codec

    def _decode(self, raw: Any, payload: Mapping[str, Any], what: str, event: Mapping[str, Any]) -> Any:
        codec = self._codec_of(payload)
        try:
            return decode_value(
                raw, codec, external_storage=self._storage, external_storage_cache=self._storage_cache
            )
        except (ValueError, TypeError) as exc:
            raise WorkflowPayloadDecodeError(
                f"could not decode the {what} recorded in history event "
                f"{event.get('id') or self._event_index + 1} "
                f"(codec {codec or 'json'}): {exc}",
                workflow_id=self.workflow_id,
                run_id=self.run_id,
                event_id=str(event.get("id") or self._event_index + 1),
                codec=codec,
                payload_head=raw if isinstance(raw, str) else repr(raw),
                exception_type=type(exc).__name__,
            ) from exc

    def _receiver_args(
        self, raw: Any, codec: str | None, receiver_kind: str, name: str, event_id: object
    ) -> list[Any]:
        if raw is None:
            return []
        if isinstance(raw, list):
            return list(raw)
        try:
            value = decode_value(
                raw, codec, external_storage=self._storage, external_storage_cache=self._storage_cache
            )
        except (ValueError, TypeError) as exc:
            error = WorkflowPayloadDecodeError(
                f"could not decode the arguments of {receiver_kind} {name!r} recorded in history "
                f"(codec {codec or 'json'}): {exc}",
                workflow_id=self.workflow_id,
                run_id=self.run_id,
                event_id=str(event_id) if event_id is not None else None,
                receiver_kind=receiver_kind,
                receiver_name=name,
                codec=codec,
                payload_head=raw if isinstance(raw, str) else repr(raw),
                exception_type=type(exc).__name__,
            )
            log.error(
                "%s",
                error,
                extra={
                    "durable_workflow_payload_decode": {
                        "workflow_id": self.workflow_id,
                        "run_id": self.run_id,
                        "event_id": error.event_id,
                        "receiver_kind": receiver_kind,
                        "receiver_name": name,
                        "codec": codec,
                        "payload_head": error.payload_head,
                        "exception_type": type(exc).__name__,
                    }
                },
            )
            raise error from exc
        if value is None:
            return []
        return list(value) if isinstance(value, list) else [value]

    def _advance_clock(self, event: Mapping[str, Any]) -> None:
        if self.context is not None:
            moment = parse_timestamp(event.get("recorded_at"))
            if moment is not None:
                self.context._advance_clock(moment)


_Handler = Callable[[WorkflowRunState, str, Mapping[str, Any], Mapping[str, Any]], None]

_OPENING_KINDS: Final[dict[str, str]] = {
    protocol.ACTIVITY_SCHEDULED: ACTIVITY,
    protocol.ACTIVITY_STARTED: ACTIVITY,
    protocol.TIMER_SCHEDULED: TIMER,
    protocol.CHILD_WORKFLOW_SCHEDULED: CHILD,
    protocol.CHILD_RUN_STARTED: CHILD,
    protocol.CONDITION_WAIT_OPENED: WAIT,
    protocol.SIDE_EFFECT_RECORDED: SIDE_EFFECT,
    protocol.VERSION_MARKER_RECORDED: MARKER,
    protocol.SEARCH_ATTRIBUTES_UPSERTED: UPSERT,
}

_RESOLUTION_KINDS: Final[dict[str, str]] = {
    protocol.ACTIVITY_COMPLETED: ACTIVITY,
    protocol.ACTIVITY_FAILED: ACTIVITY,
    protocol.ACTIVITY_TIMED_OUT: ACTIVITY,
    protocol.TIMER_FIRED: TIMER,
    protocol.CHILD_RUN_COMPLETED: CHILD,
    protocol.CHILD_RUN_FAILED: CHILD,
    protocol.CHILD_RUN_CANCELLED: CHILD,
    protocol.CHILD_RUN_TERMINATED: CHILD,
}

_HANDLERS: Final[dict[str, _Handler]] = {
    **{kind: WorkflowRunState._on_opening for kind in _OPENING_KINDS},
    **{kind: WorkflowRunState._on_resolution for kind in _RESOLUTION_KINDS},
    protocol.CONDITION_WAIT_SATISFIED: WorkflowRunState._on_wait_resolution,
    protocol.CONDITION_WAIT_TIMED_OUT: WorkflowRunState._on_wait_resolution,
    protocol.SIGNAL_RECEIVED: WorkflowRunState._on_signal,
    protocol.UPDATE_ACCEPTED: WorkflowRunState._on_update_accepted,
    protocol.UPDATE_APPLIED: WorkflowRunState._on_update_applied,
    protocol.WORKFLOW_COMPLETED: WorkflowRunState._on_terminal_event,
    protocol.WORKFLOW_CONTINUED_AS_NEW: WorkflowRunState._on_terminal_event,
    protocol.WORKFLOW_FAILED: WorkflowRunState._on_terminal_event,
}
