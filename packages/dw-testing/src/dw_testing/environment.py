"""``WorkflowEnvironment``: run a workflow to its end in process, with mocked activities and no server.

It drives the same replay engine the worker uses (:class:`dw_core.replay.WorkflowRunState`)
against a :class:`dw_core.replay.HistorySimulator` that writes the events a server would write.
One run state is kept per continue-as-new link and only the new events are applied each
iteration, so a workflow of n steps costs O(n), not O(n²) as in 0.4.84 (which replayed the whole
history on every iteration).

One iteration is one workflow task: queued signals are recorded, new events applied, the
workflow's commands written to history; then the outside world reacts: activities run their mocks
(with the command's retry policy), children take their canned results, and when nothing else is
pending the earliest timer or wait timeout fires, the virtual clock jumping to it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from dw_core import serializer
from dw_core.activity import ActivityInfo
from dw_core.errors import WorkflowFailed
from dw_core.replay import HistorySimulator, OpenStep, WorkflowRunState
from dw_core.replay.events import parse_timestamp
from dw_core.workflow import (
    CompleteWorkflow,
    ContinueAsNew,
    FailWorkflow,
    WaitCondition,
    WorkflowDefinitionError,
    commands_to_server_commands,
    get_definition,
    noop_server_command,
    registry,
    replay,
)

from dw_testing.errors import (
    ContinueAsNewLimitExceeded,
    IterationLimitExceeded,
    NonDeterministicWorkflowError,
    UnregisteredWorkflowError,
    UnsatisfiableWaitError,
    WorkflowStuckError,
)
from dw_testing.mocks import WORKER_ID, ActivityMocks, is_non_retryable, retry_budget

if TYPE_CHECKING:
    from dw_testing.local import LocalServerEnvironment

__all__ = ["WorkflowEnvironment", "WorkflowRunRecord"]

_CODEC = serializer.AVRO_CODEC


@dataclass
class WorkflowRunRecord:
    """One link of an ``execute_workflow`` chain.

    ``terminal`` is the ``ContinueAsNew`` of a link that continued, else the ``CompleteWorkflow``
    command, or the ``WorkflowFailed`` error raised for a failed run. ``history`` holds the events
    the link wrote, in the server's wire shape (replayable with ``replay_history``).
    """

    workflow_type: str
    input: list[Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    terminal: Any = None
    run_id: str = ""


@dataclass
class _Link:
    """The live pieces of the link being driven."""

    number: int
    workflow_cls: type
    workflow_type: str
    run_id: str
    simulator: HistorySimulator
    state: WorkflowRunState
    start_input: list[Any] = field(default_factory=list)
    applied: int = 0
    due: dict[int, datetime] = field(default_factory=dict)
    waits: list[WaitCondition] = field(default_factory=list)


def _check_limit(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    return value


def _workflow_name(workflow_cls: type) -> str:
    try:
        return get_definition(workflow_cls).name
    except WorkflowDefinitionError as exc:
        raise TypeError(
            f"{workflow_cls!r} is not a workflow class; decorate it with @workflow.defn(name=...) first"
        ) from exc


def _describe_predicate(command: WaitCondition | None) -> str:
    if command is None:
        return "<unknown predicate>"
    predicate = getattr(command.predicate, "__func__", command.predicate)
    code = getattr(predicate, "__code__", None)
    name = getattr(predicate, "__qualname__", type(predicate).__qualname__)
    if code is None:
        return name
    return f"{name} ({code.co_filename}:{code.co_firstlineno})"


class WorkflowEnvironment:
    """In-process harness: drives a workflow to its end against registered mocks; no server needed.

    ``iteration_limit`` bounds the workflow tasks of one run (a sequential workflow of n activities
    needs n + 1); ``continue_as_new_limit`` bounds the links of a continue-as-new chain.
    ``start_time`` is the run's ``ctx.now()`` at start (default 2026-01-01T00:00:00Z); timers
    advance it without any real waiting. ``check_replay`` replays each finished link's history
    from scratch and fails loudly if the workflow does not replay deterministically.
    """

    def __init__(
        self,
        *,
        iteration_limit: int = 1000,
        continue_as_new_limit: int = 50,
        start_time: datetime | None = None,
        task_queue: str = "test-queue",
        check_replay: bool = True,
    ) -> None:
        self.iteration_limit = _check_limit("iteration_limit", iteration_limit)
        self.continue_as_new_limit = _check_limit("continue_as_new_limit", continue_as_new_limit)
        if start_time is not None and start_time.tzinfo is None:
            raise ValueError(
                "start_time must be timezone-aware (e.g. datetime(2026, 1, 1, tzinfo=timezone.utc))"
            )
        self.start_time = start_time
        self.task_queue = task_queue
        self.check_replay = check_replay
        self._mocks = ActivityMocks()
        self._workflows: dict[str, type] = {}
        self._pending_signals: list[tuple[str, list[Any]]] = []
        self._signals_by_link: dict[int, list[tuple[str, list[Any]]]] = {}
        self._runs: list[WorkflowRunRecord] = []
        self._last_state: WorkflowRunState | None = None
        self._last_activity_error: BaseException | None = None

    @staticmethod
    def start_local(**options: Any) -> AbstractAsyncContextManager[LocalServerEnvironment]:
        """``async with WorkflowEnvironment.start_local() as env:`` — see :class:`LocalServerEnvironment`."""
        from dw_testing.local import LocalServerEnvironment

        return LocalServerEnvironment.start(**options)

    # -- registration -----------------------------------------------------------------------------------

    def register_activity_result(self, name: str, result: Any) -> None:
        """Every call of activity ``name`` returns ``result`` (a registered function takes precedence)."""
        self._mocks.results[_activity_name(name)] = result

    def register_activity(self, name: str | Callable[..., Any], fn: Callable[..., Any] | None = None) -> None:
        """Run ``fn(*arguments)`` for every call of activity ``name``.

        ``register_activity(my_activity)`` registers an ``@activity.defn`` function under its own
        name. The function may be ``async``. An exception it raises fails that attempt; the command's
        retry policy decides whether another attempt runs (``NonRetryableError`` never retries), and
        the last failure reaches the workflow as ``ActivityFailed``.
        """
        if fn is None:
            if not callable(name):
                raise TypeError("register_activity(name, fn): fn is missing")
            fn = name
            name = getattr(fn, "__activity_name__", None) or ""
            if not name:
                raise TypeError(
                    f"{fn!r} has no @activity.defn name; call env.register_activity('activity-type', fn)"
                )
        if not callable(fn):
            raise TypeError(f"register_activity: fn must be callable, got {fn!r}")
        self._mocks.functions[_activity_name(name)] = fn

    def register_child_workflow_result(self, workflow_type: str, result: Any) -> None:
        """Every child run of ``workflow_type`` completes with ``result``."""
        if not isinstance(workflow_type, str) or not workflow_type:
            raise TypeError(f"workflow_type must be a non-empty string, got {workflow_type!r}")
        self._mocks.child_results[workflow_type] = result

    def register_workflow(self, workflow_cls: type) -> None:
        """Make ``workflow_cls`` resolvable for ``continue_as_new(workflow_type=...)``."""
        self._workflows[_workflow_name(workflow_cls)] = workflow_cls

    def signal(self, name: str, args: list[Any] | None = None, *, run: int | None = None) -> None:
        """Queue signal ``name`` with ``args``, recorded before the next workflow task.

        Without ``run`` it reaches whichever link runs next (signals queued before
        ``execute_workflow`` arrive right after the first run starts; an activity mock may call
        this to signal mid-run). ``run`` (1-based) targets a continue-as-new link.
        """
        if not isinstance(name, str) or not name:
            raise TypeError(f"signal name must be a non-empty string, got {name!r}")
        if args is not None and not isinstance(args, (list, tuple)):
            raise TypeError(f"signal args must be a list (or None), got {type(args).__name__}")
        entry = (name, list(args or []))
        if run is None:
            self._pending_signals.append(entry)
            return
        if isinstance(run, bool) or not isinstance(run, int) or run < 1:
            raise ValueError(f"run is the 1-based link number (1 = the first run), got {run!r}")
        self._signals_by_link.setdefault(run, []).append(entry)

    # -- results --------------------------------------------------------------------------------------------

    @property
    def runs(self) -> list[WorkflowRunRecord]:
        """Per-link records of the last ``execute_workflow`` (reset by each call)."""
        return list(self._runs)

    @property
    def run_count(self) -> int:
        """How many links the last ``execute_workflow`` chain had."""
        return len(self._runs)

    @property
    def activity_calls(self) -> list[tuple[str, list[Any]]]:
        """Every activity attempt made so far, as ``(activity_type, arguments)``, in order."""
        return list(self._mocks.calls)

    def query(self, name: str, args: list[Any] | None = None) -> Any:
        """Answer query ``name`` against the final state of the last run ``execute_workflow`` drove."""
        if self._last_state is None:
            raise RuntimeError("no workflow has run yet; call env.execute_workflow(...) first")
        return self._last_state.query(name, list(args or []))

    # -- driving ----------------------------------------------------------------------------------------

    def execute_workflow(
        self, workflow_cls: type, *args: Any, run_id: str = "test-run", workflow_id: str | None = None
    ) -> Any:
        """Run ``workflow_cls(*args)`` to its end and return its result.

        Follows continue-as-new links. Raises ``WorkflowFailed`` when the workflow fails,
        :class:`MissingMockError` (a ``KeyError``) for an unmocked activity or child,
        :class:`IterationLimitExceeded` / :class:`ContinueAsNewLimitExceeded` (``RuntimeError``) for
        runaway workflows and :class:`UnsatisfiableWaitError` for a wait nothing can satisfy.
        """
        self._runs = []
        self._last_state = None
        self._last_activity_error = None
        self.register_workflow(workflow_cls)
        workflow_id = workflow_id or f"test-{_workflow_name(workflow_cls)}"
        current_cls, inputs, current_run_id = workflow_cls, list(args), run_id
        start_time = self.start_time
        for number in range(1, self.continue_as_new_limit + 1):
            link = self._start_link(number, current_cls, inputs, workflow_id, current_run_id, start_time)
            record = WorkflowRunRecord(
                workflow_type=link.workflow_type, input=list(inputs), run_id=current_run_id
            )
            self._runs.append(record)
            try:
                terminal = self._drive(link)
            finally:
                record.history = [dict(event) for event in link.simulator.events]
                self._last_state = link.state
            if self.check_replay:
                self._check_replay(link)
            if isinstance(terminal, FailWorkflow):
                failure = WorkflowFailed(terminal.message, terminal.exception_type)
                if terminal.exception_type == "ActivityFailed":
                    # Show the mock's own traceback under the workflow failure it caused.
                    failure.__cause__ = self._activity_error()
                record.terminal = failure
                raise failure
            record.terminal = terminal
            if isinstance(terminal, CompleteWorkflow):
                return terminal.result
            assert isinstance(terminal, ContinueAsNew)
            current_cls = self._next_workflow(terminal, current_cls)
            inputs = list(terminal.arguments)
            current_run_id = f"{current_run_id}-continued"
            start_time = parse_timestamp(link.simulator.events[-1].get("recorded_at"))
        name = _workflow_name(workflow_cls)
        raise ContinueAsNewLimitExceeded(
            f"workflow {name!r} continued as new past the limit of {self.continue_as_new_limit} links; "
            "raise WorkflowEnvironment(continue_as_new_limit=...) or check the condition that ends the chain",
            workflow_type=name,
            limit=self.continue_as_new_limit,
        )

    def _activity_error(self) -> BaseException | None:
        return self._last_activity_error

    def _start_link(
        self,
        number: int,
        workflow_cls: type,
        inputs: list[Any],
        workflow_id: str,
        run_id: str,
        start_time: datetime | None,
    ) -> _Link:
        name = _workflow_name(workflow_cls)
        simulator = HistorySimulator(
            workflow_type=name,
            workflow_id=workflow_id,
            run_id=run_id,
            start_input=inputs,
            task_queue=self.task_queue,
            codec=_CODEC,
            start_time=start_time,
        )
        # The workflow sees its input after a trip through the codec, exactly as a worker would.
        decoded = serializer.decode(simulator.events[-1]["payload"]["arguments"], _CODEC)
        state = WorkflowRunState(
            workflow_cls,
            workflow_id=workflow_id,
            run_id=run_id,
            workflow_type=name,
            start_input=decoded,
            payload_codec=_CODEC,
            task_queue=self.task_queue,
        )
        for signal_name, signal_args in self._signals_by_link.pop(number, []):
            simulator.signal(signal_name, signal_args)
        return _Link(number, workflow_cls, name, run_id, simulator, state, start_input=decoded)

    def _drive(self, link: _Link) -> Any:
        simulator, state = link.simulator, link.state
        for _ in range(self.iteration_limit):
            while self._pending_signals:
                simulator.signal(*self._pending_signals.pop(0))
            state.apply(simulator.events[link.applied :])
            link.applied = len(simulator.events)
            commands = state.commands()
            wire = commands_to_server_commands(commands, self.task_queue, payload_codec=_CODEC)
            link.waits.extend(c for c in commands if isinstance(c, WaitCondition))
            written = simulator.complete_workflow_task(wire or [noop_server_command()])
            self._note_written(link, written)
            if state.terminal is not None:
                state.apply(simulator.events[link.applied :])
                link.applied = len(simulator.events)
                return state.terminal
            self._react(link)
        raise IterationLimitExceeded(
            f"workflow {link.workflow_type!r} did not terminate within {self.iteration_limit} iterations "
            "(workflow tasks); raise WorkflowEnvironment(iteration_limit=...) if it legitimately "
            "needs more, else look for a loop that never returns",
            workflow_type=link.workflow_type,
            limit=self.iteration_limit,
        )

    @staticmethod
    def _note_written(link: _Link, events: list[dict[str, Any]]) -> None:
        for event in events:
            kind = event.get("event_type")
            payload = event["payload"]
            if kind == "SideEffectRecorded":
                # Name the codec on the event (history-events.md tolerates it) so the recorded history
                # replays with replay_history() without the caller having to know the codec.
                payload.setdefault("payload_codec", _CODEC)
            if kind != "TimerScheduled":
                continue
            started = parse_timestamp(event.get("recorded_at"))
            if started is not None:
                link.due[int(payload["sequence"])] = started + timedelta(
                    seconds=int(payload["delay_seconds"])
                )

    def _react(self, link: _Link) -> None:
        """Resolve what the outside world would: activities and children now, else the next timer."""
        simulator = link.simulator
        open_steps = simulator.steps()
        busy = [step for step in open_steps if step.kind in ("activity", "child")]
        for step in busy:
            if step.kind == "activity":
                self._run_activity(link, step)
            else:
                simulator.complete_child(step.number, self._mocks.child_result(step.command["workflow_type"]))
        if busy or self._pending_signals:
            return
        timed = [step for step in open_steps if step.number in link.due]
        if timed:
            due = min(link.due[step.number] for step in timed)
            self._advance_clock_to(simulator, due)
            for step in timed:
                if link.due[step.number] == due:
                    del link.due[step.number]
                    if step.kind == "timer":
                        simulator.fire_timer(step.number)
                    else:
                        simulator.time_out_wait(step.number)
            return
        waits = [step for step in open_steps if step.kind == "condition_wait"]
        if waits:
            raise self._unsatisfiable(link, waits[-1])
        raise WorkflowStuckError(
            f"workflow {link.workflow_type!r} is waiting but has nothing pending that could wake it "
            f"(history ends with {simulator.events[-1].get('event_type')})",
            workflow_type=link.workflow_type,
        )

    def _unsatisfiable(self, link: _Link, step: OpenStep) -> UnsatisfiableWaitError:
        key = step.command.get("condition_key")
        fingerprint = step.command.get("condition_definition_fingerprint")
        command = next(
            (
                wait
                for wait in reversed(link.waits)
                if wait.condition_key == key and wait.condition_definition_fingerprint == fingerprint
            ),
            None,
        )
        where = _describe_predicate(command)
        signals = sorted(get_definition(link.workflow_cls).signals)
        hint = (
            f"send the signal it waits for with env.signal(<name>, [args]) before execute_workflow "
            f"(this workflow accepts signals {signals})"
            if signals
            else "this workflow declares no @workflow.signal receiver, so only an activity result "
            "could change it"
        )
        label = f"key={key!r}" if key else "(no key)"
        return UnsatisfiableWaitError(
            f"workflow {link.workflow_type!r} waits on wait_condition {label} with predicate {where}, "
            f"which is false, and nothing queued can make it true: no activity, child or timer is pending "
            f"and no signal is queued. {hint}, or give the wait a timeout=",
            workflow_type=link.workflow_type,
            condition_key=key,
            condition=where,
        )

    def _run_activity(self, link: _Link, step: OpenStep) -> None:
        simulator = link.simulator
        command = step.command
        activity_type = command["activity_type"]
        arguments = _decode_arguments(command.get("arguments"))
        policy = command.get("retry_policy")
        max_attempts, backoff, non_retryable_types = retry_budget(
            policy if isinstance(policy, Mapping) else None
        )
        attempt = 1
        while True:
            simulator.start_activity(step.number, attempt)
            info = ActivityInfo(
                task_id=f"{link.run_id}-step-{step.number}",
                activity_type=activity_type,
                activity_attempt_id=f"{link.run_id}-step-{step.number}-attempt-{attempt}",
                attempt_number=attempt,
                task_queue=command.get("queue") or self.task_queue,
                worker_id=WORKER_ID,
            )
            outcome = self._mocks.attempt(activity_type, arguments, info)
            if outcome.error is None:
                simulator.complete_activity(step.number, outcome.result)
                return
            error = outcome.error
            self._last_activity_error = error
            final = is_non_retryable(error, non_retryable_types)
            if final or attempt >= max_attempts:
                simulator.fail_activity(
                    step.number,
                    str(error) or type(error).__name__,
                    exception_type=type(error).__name__,
                    non_retryable=final,
                )
                return
            if attempt - 1 < len(backoff):
                simulator.advance_clock(timedelta(seconds=backoff[attempt - 1]))
            attempt += 1

    @staticmethod
    def _advance_clock_to(simulator: HistorySimulator, moment: datetime) -> None:
        now = parse_timestamp(simulator.events[-1].get("recorded_at"))
        if now is not None and moment > now:
            simulator.advance_clock(moment - now)

    def _next_workflow(self, continuation: ContinueAsNew, current: type) -> type:
        target = continuation.workflow_type
        if not target or target == _workflow_name(current):
            return current
        found = self._workflows.get(target) or registry().get(target)
        if found is None:
            raise UnregisteredWorkflowError(
                f"continue_as_new targets workflow type {target!r} but no class with that name is known; "
                "call env.register_workflow(TheWorkflowClass) before execute_workflow",
                workflow_type=target,
            )
        return found

    def _wire(self, command: Any) -> list[dict[str, Any]]:
        queue = self.task_queue
        return commands_to_server_commands([command], queue, payload_codec=_CODEC, size_warning=None)

    def _check_replay(self, link: _Link) -> None:
        """A fresh replay of the link's history must reach the same end (catches non-determinism)."""
        state = link.state
        outcome = replay(
            link.workflow_cls,
            link.simulator.events,
            link.start_input,
            workflow_id=state.workflow_id,
            run_id=link.run_id,
            payload_codec=_CODEC,
        )
        expected, actual = state.terminal, outcome.terminal
        # Compared in wire form: what the server would record (NaN-safe, no reliance on __eq__).
        if actual is None or expected is None or self._wire(expected) != self._wire(actual):
            raise NonDeterministicWorkflowError(
                f"workflow {link.workflow_type!r} does not replay deterministically: the run ended with "
                f"{expected!r} but replaying its history gives {actual!r}; "
                "workflow code must not read the clock, random numbers or I/O directly (use ctx.now(), "
                "ctx.random(), activities)",
                workflow_type=link.workflow_type,
            )


def _activity_name(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise TypeError(f"activity name must be a non-empty string, got {name!r}")
    return name


def _decode_arguments(raw: Any) -> list[Any]:
    if raw is None:
        return []
    value = (
        serializer.decode_envelope(raw, _CODEC)
        if isinstance(raw, Mapping)
        else serializer.decode(raw, _CODEC)
    )
    return list(value) if isinstance(value, (list, tuple)) else [value]
