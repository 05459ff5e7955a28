"""Behaviour of the replay engine (dw_core.replay.WorkflowRunState) driven by a simulated server.

Each scenario runs real workflow code through the engine task by task, with HistorySimulator
writing the events the server would write, then checks what a user would notice: commands sent,
results seen by the workflow, state visible to queries, errors raised.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from dw_core import workflow
from dw_core.errors import ActivityFailed, NonDeterministicReplayError, QueryFailed
from dw_core.replay import HistoryMismatchError, HistorySimulator, ReplayStateUnusableError, WorkflowRunState
from dw_core.workflow import (
    NOOP_MARKER_CHANGE_ID,
    CompleteUpdate,
    CompleteWorkflow,
    ContinueAsNew,
    FailUpdate,
    FailWorkflow,
    RecordSideEffect,
    ScheduleActivity,
    WorkflowContext,
)


def new_state(cls: type, start_input: list[Any] | None = None, run_id: str = "run-1") -> WorkflowRunState:
    return WorkflowRunState(
        cls, workflow_id="wf-1", run_id=run_id, start_input=start_input, payload_codec="avro"
    )


def task(state: WorkflowRunState, sim: HistorySimulator) -> list[dict[str, Any]]:
    """One workflow task: catch up with history, send the commands, let the server record them."""
    state.extend(sim.events)
    wire = state.wire_commands("default")
    sim.complete_workflow_task(wire)
    return wire


def full_replay(cls: type, events: list[dict[str, Any]], start_input: list[Any] | None = None) -> list[Any]:
    state = new_state(cls, start_input)
    state.apply(events)
    return state.commands()


def result_of(sim: HistorySimulator) -> Any:
    from dw_core import serializer

    last = sim.events[-1]
    assert last["event_type"] == "WorkflowCompleted", last
    return serializer.decode(last["payload"]["output"], last["payload"]["payload_codec"])


# -- commands are sent once --------------------------------------------------------------------------


@workflow.defn(name="engine.signal-during-activity")
class SignalDuringActivity:
    def __init__(self) -> None:
        self.notes: list[str] = []

    @workflow.signal("note")
    def note(self, text: str) -> None:
        self.notes.append(text)

    @workflow.query("notes")
    def get_notes(self) -> list[str]:
        return list(self.notes)

    def run(self, ctx: WorkflowContext) -> Any:
        first = yield ctx.schedule_activity("slow", ["a"])
        return {"first": first, "notes": self.notes}


def test_signal_while_activity_runs_does_not_schedule_it_again() -> None:
    sim = HistorySimulator(workflow_type="engine.signal-during-activity")
    state = new_state(SignalDuringActivity)
    assert [c["type"] for c in task(state, sim)] == ["schedule_activity"]
    (activity,) = sim.steps("activity")
    sim.start_activity(activity.number)
    sim.signal("note", ["hello"])

    # The signal's task: handler applied, activity NOT re-sent (0.4.84 re-sent schedule_activity).
    wire = task(state, sim)
    assert wire == [
        {
            "type": "record_version_marker",
            "change_id": NOOP_MARKER_CHANGE_ID,
            "version": 0,
            "min_supported": 0,
            "max_supported": 0,
        }
    ]
    assert state.query("notes") == ["hello"]
    assert len(sim.steps("activity")) == 1
    # A full replay (cache miss / other worker) agrees.
    assert full_replay(SignalDuringActivity, sim.events) == []

    sim.complete_activity(activity.number, "done")
    task(state, sim)
    assert result_of(sim) == {"first": "done", "notes": ["hello"]}


def test_unconfirmed_commands_are_sent_again_until_history_records_them() -> None:
    sim = HistorySimulator(workflow_type="engine.signal-during-activity")
    state = new_state(SignalDuringActivity)
    state.extend(sim.events)
    first = state.wire_commands()
    # The completion was lost (e.g. lease expired); the next task sees no ActivityScheduled.
    sim.signal("note", ["x"])
    state.extend(sim.events)
    assert state.wire_commands() == first


# -- parallel groups -------------------------------------------------------------------------------------


@workflow.defn(name="engine.group")
class Group:
    def run(self, ctx: WorkflowContext) -> Any:
        values = yield [
            ctx.schedule_activity("fetch", ["left"]),
            ctx.schedule_activity("fetch", ["right"]),
            ctx.start_timer(1),
        ]
        return values


def test_group_results_bind_by_yield_position_not_completion_order() -> None:
    sim = HistorySimulator(workflow_type="engine.group")
    state = new_state(Group)
    task(state, sim)
    left, right = sim.steps("activity")
    (timer,) = sim.steps("timer")
    # Completion order: right, timer, left (0.4.84 would hand "R" to the first member).
    sim.complete_activity(right.number, "R")
    task(state, sim)  # a task per completion, as the server creates them
    sim.fire_timer(timer.number)
    task(state, sim)
    sim.complete_activity(left.number, "L")
    task(state, sim)
    assert result_of(sim) == ["L", "R", None]
    assert full_replay(Group, sim.events[:-1]) == [CompleteWorkflow(["L", "R", None])]


@workflow.defn(name="engine.group-failure")
class GroupFailure:
    def run(self, ctx: WorkflowContext) -> Any:
        try:
            yield [ctx.schedule_activity("a", []), ctx.schedule_activity("b", [])]
        except ActivityFailed as failure:
            return f"caught {failure.activity_type}: {failure}"
        return "no failure"


def test_first_failure_in_member_order_is_thrown_into_the_workflow() -> None:
    sim = HistorySimulator(workflow_type="engine.group-failure")
    state = new_state(GroupFailure)
    task(state, sim)
    a, b = sim.steps("activity")
    sim.fail_activity(b.number, "b broke", exception_type="ValueError")
    sim.fail_activity(a.number, "a broke", exception_type="KeyError")
    task(state, sim)
    assert result_of(sim) == "caught a: a broke"


# -- side effects ----------------------------------------------------------------------------------------


CALLS: list[int] = []


def count_call() -> int:
    CALLS.append(1)
    return len(CALLS) * 100


@workflow.defn(name="engine.side-effect")
class SideEffectOnce:
    def run(self, ctx: WorkflowContext) -> Any:
        token = yield ctx.side_effect(count_call)
        yield ctx.start_timer(5)
        return token


def test_side_effect_function_runs_once_and_replays_the_recorded_value() -> None:
    CALLS.clear()
    sim = HistorySimulator(workflow_type="engine.side-effect")
    state = new_state(SideEffectOnce)
    wire = task(state, sim)
    assert [c["type"] for c in wire] == ["record_side_effect", "start_timer"]
    assert CALLS == [1]
    (timer,) = sim.steps("timer")
    sim.fire_timer(timer.number)
    # A replay in a fresh state must not call fn again (0.4.84 called it on every replay).
    assert full_replay(SideEffectOnce, sim.events) == [CompleteWorkflow(100)]
    task(state, sim)
    assert CALLS == [1]
    assert result_of(sim) == 100


# -- condition waits -------------------------------------------------------------------------------------


@workflow.defn(name="engine.waits")
class Waits:
    def __init__(self) -> None:
        self.ready = True
        self.approvals = 0

    @workflow.signal("approve")
    def approve(self) -> None:
        self.approvals += 1

    def run(self, ctx: WorkflowContext) -> Any:
        first = yield ctx.wait_condition(lambda: self.ready, key="ready")
        second = yield ctx.wait_condition(lambda: self.approvals >= 2, key="approvals", timeout=60)
        return [first, second, self.approvals]


def test_wait_already_true_sends_nothing_and_does_not_shift_later_waits() -> None:
    sim = HistorySimulator(workflow_type="engine.waits")
    state = new_state(Waits)
    wire = task(state, sim)
    # Only the second wait is opened (0.4.84 let the first one consume a wait index).
    assert len(wire) == 1
    assert wire[0]["type"] == "open_condition_wait"
    assert wire[0]["condition_key"] == "approvals" and wire[0]["timeout_seconds"] == 60
    assert wire[0]["condition_definition_fingerprint"].startswith("sha256:")
    sim.signal("approve")
    reopened = task(state, sim)
    # Predicate still false: the signal's task re-opens the wait so the server does not satisfy it.
    assert [c["type"] for c in reopened] == ["open_condition_wait"]
    assert reopened[0]["condition_key"] == "approvals"
    sim.signal("approve")
    task(state, sim)
    assert result_of(sim) == [True, True, 2]
    assert any(e["event_type"] == "ConditionWaitSatisfied" for e in sim.events)
    # Fresh replays of every prefix agree with what the live state produced.
    assert full_replay(Waits, sim.events[:-1]) == [CompleteWorkflow([True, True, 2])]


def test_wait_times_out_to_false() -> None:
    sim = HistorySimulator(workflow_type="engine.waits")
    state = new_state(Waits)
    task(state, sim)
    (wait,) = sim.steps("condition_wait")
    sim.time_out_wait(wait.number)
    task(state, sim)
    assert result_of(sim) == [True, False, 0]


@workflow.defn(name="engine.zero-timeout")
class ZeroTimeout:
    def run(self, ctx: WorkflowContext) -> Any:
        return (yield ctx.wait_condition(lambda: False, timeout=0))


def test_zero_timeout_checks_once_without_opening_a_wait_that_never_ends() -> None:
    sim = HistorySimulator(workflow_type="engine.zero-timeout")
    wire = task(new_state(ZeroTimeout), sim)
    assert [c["type"] for c in wire] == ["complete_workflow"]
    assert result_of(sim) is False


@workflow.defn(name="engine.changed-wait")
class ChangedWait:
    def run(self, ctx: WorkflowContext) -> Any:
        return (yield ctx.wait_condition(lambda: False, key="renamed"))


def test_changed_wait_key_fails_the_run_with_nondeterministic_wait_condition() -> None:
    sim = HistorySimulator(workflow_type="engine.changed-wait")
    sim.complete_workflow_task([{"type": "open_condition_wait", "condition_key": "original"}])
    commands = full_replay(ChangedWait, sim.events)
    assert len(commands) == 1 and isinstance(commands[0], FailWorkflow)
    assert commands[0].exception_type == "NonDeterministicWaitCondition"
    assert "original" in commands[0].message and "renamed" in commands[0].message


# -- version markers -----------------------------------------------------------------------------------


@workflow.defn(name="engine.patch-v1")
class PatchV1:
    def run(self, ctx: WorkflowContext) -> Any:
        return (yield ctx.schedule_activity("old-path", []))


@workflow.defn(name="engine.patch-v2")
class PatchV2:
    def run(self, ctx: WorkflowContext) -> Any:
        if (yield ctx.patched("use-new-path")):
            return (yield ctx.schedule_activity("new-path", []))
        return (yield ctx.schedule_activity("old-path", []))


def test_patched_takes_the_old_branch_for_runs_started_before_the_marker() -> None:
    sim = HistorySimulator(workflow_type="engine.patch-v1")
    task(new_state(PatchV1), sim)
    (old,) = sim.steps("activity")
    sim.complete_activity(old.number, "from old code")
    # New code replays the old run: no marker in history -> patched() is False, no drift error.
    assert full_replay(PatchV2, sim.events) == [CompleteWorkflow("from old code")]


def test_patched_takes_the_new_branch_for_new_runs_and_replays_it() -> None:
    sim = HistorySimulator(workflow_type="engine.patch-v2")
    state = new_state(PatchV2)
    wire = task(state, sim)
    assert [c["type"] for c in wire] == ["record_version_marker", "schedule_activity"]
    assert wire[1]["activity_type"] == "new-path"
    (new,) = sim.steps("activity")
    sim.complete_activity(new.number, "new")
    assert full_replay(PatchV2, sim.events) == [CompleteWorkflow("new")]


@workflow.defn(name="engine.get-version")
class GetVersion:
    minimum = -1

    def run(self, ctx: WorkflowContext) -> Any:
        version = yield ctx.get_version("change", type(self).minimum, 3)
        yield ctx.schedule_activity("old-path", [])
        return version


def test_get_version_is_minus_one_for_old_runs_and_refuses_when_unsupported() -> None:
    sim = HistorySimulator(workflow_type="engine.patch-v1")
    task(new_state(PatchV1), sim)
    (old,) = sim.steps("activity")
    sim.complete_activity(old.number, "x")
    assert full_replay(GetVersion, sim.events) == [CompleteWorkflow(-1)]
    GetVersion.minimum = 1
    try:
        with pytest.raises(NonDeterministicReplayError, match="predates version marker 'change'"):
            full_replay(GetVersion, sim.events)
    finally:
        GetVersion.minimum = -1


# -- non-determinism -----------------------------------------------------------------------------------


@workflow.defn(name="engine.renamed-activity")
class RenamedActivity:
    def run(self, ctx: WorkflowContext) -> Any:
        return (yield ctx.schedule_activity("new-name", []))


def test_nondeterminism_error_names_step_recorded_event_and_yield() -> None:
    sim = HistorySimulator(workflow_type="engine.patch-v1")
    task(new_state(PatchV1), sim)
    with pytest.raises(NonDeterministicReplayError) as info:
        full_replay(RenamedActivity, sim.events)
    error = info.value
    assert error.workflow_sequence == 3
    assert error.recorded_event_types == ["ActivityScheduled"]
    assert error.expected_shape == "activity:new-name"
    assert "'old-path'" in str(error) and "'new-name'" in str(error)


@workflow.defn(name="engine.shorter")
class Shorter:
    def run(self, ctx: WorkflowContext) -> Any:
        return "done early"


def test_history_with_a_command_the_code_no_longer_yields_is_nondeterministic() -> None:
    sim = HistorySimulator(workflow_type="engine.patch-v1")
    task(new_state(PatchV1), sim)
    with pytest.raises(NonDeterministicReplayError, match="did not yield"):
        full_replay(Shorter, sim.events)


def test_a_failed_state_refuses_further_use() -> None:
    sim = HistorySimulator(workflow_type="engine.patch-v1")
    task(new_state(PatchV1), sim)
    state = new_state(RenamedActivity)
    with pytest.raises(NonDeterministicReplayError):
        state.apply(sim.events)
    assert not state.reusable
    with pytest.raises(ReplayStateUnusableError):
        state.commands()


# -- history continuity ------------------------------------------------------------------------------------


def test_gap_in_history_is_rejected_without_changing_the_state() -> None:
    sim = HistorySimulator(workflow_type="engine.signal-during-activity")
    state = new_state(SignalDuringActivity)
    task(state, sim)
    sim.signal("note", ["one"])
    sim.signal("note", ["two"])
    applied = state.applied_count
    with pytest.raises(HistoryMismatchError, match="does not follow"):
        state.apply(sim.events[applied + 1 :])
    assert state.applied_count == applied and state.reusable
    state.apply(sim.events[applied:])
    assert state.query("notes") == ["one", "two"]
    assert state.last_sequence == len(sim.events)


def test_rewritten_history_is_rejected_by_extend() -> None:
    sim = HistorySimulator(workflow_type="engine.signal-during-activity")
    state = new_state(SignalDuringActivity)
    task(state, sim)
    other = [dict(event) for event in sim.events]
    last = state.applied_count - 1
    other[last] = {**other[last], "id": "something-else"}
    with pytest.raises(HistoryMismatchError, match="differs"):
        state.extend(other)


# -- updates and queries --------------------------------------------------------------------------------


@workflow.defn(name="engine.updates")
class Updates:
    def __init__(self) -> None:
        self.total = 0
        self.handler_calls = 0

    @workflow.update("add")
    def add(self, amount: int) -> int:
        self.handler_calls += 1
        self.total += amount
        return self.total

    @add.validator  # type: ignore[attr-defined,untyped-decorator]
    def check_add(self, amount: int) -> bool:
        if amount < 0:
            raise ValueError("amount must be positive")
        return amount != 13

    @workflow.query("total")
    def get_total(self) -> int:
        return self.total

    def run(self, ctx: WorkflowContext) -> Any:
        yield ctx.wait_condition(lambda: self.total >= 10, key="enough")
        return self.total


def update_task(state: WorkflowRunState, sim: HistorySimulator, update_id: str) -> Any:
    """An update task: catch up, run the update live, send its single command."""
    state.extend(sim.events)
    outcome = state.handle_update(update_id)
    sim.complete_workflow_task([outcome.to_server_command("default")])
    return outcome


def test_update_applied_live_once_and_again_on_full_replay() -> None:
    sim = HistorySimulator(workflow_type="engine.updates")
    state = new_state(Updates)
    task(state, sim)
    sim.accept_update("u1", "add", [4])
    assert update_task(state, sim, "u1") == CompleteUpdate("u1", 4)
    sim.accept_update("u2", "add", [6])
    assert update_task(state, sim, "u2") == CompleteUpdate("u2", 10)
    task(state, sim)  # the workflow reacts to the applied update: the wait now holds
    assert result_of(sim) == 10
    assert state.instance.handler_calls == 2  # UpdateApplied did not run the handler a second time
    replayed = new_state(Updates)
    replayed.apply(sim.events[:-1])
    assert replayed.commands() == [CompleteWorkflow(10)]
    assert replayed.instance.handler_calls == 2


def test_update_failures_are_reported_with_their_kind() -> None:
    sim = HistorySimulator(workflow_type="engine.updates")
    state = new_state(Updates)
    task(state, sim)
    sim.accept_update("neg", "add", [-1])
    sim.accept_update("thirteen", "add", [13])
    sim.accept_update("nameless", "subtract", [1])
    state.extend(sim.events)
    negative = state.handle_update("neg")
    assert isinstance(negative, FailUpdate)
    assert negative.message == "update validator failed: amount must be positive"
    assert negative.exception_type == "ValueError" and negative.exception_class == "builtins.ValueError"
    rejected = state.handle_update("thirteen")
    assert isinstance(rejected, FailUpdate) and rejected.message.startswith("update validator failed")
    unknown = state.handle_update("nameless")
    assert isinstance(unknown, FailUpdate) and unknown.exception_type == "UnknownUpdate"
    missing = state.handle_update("nope")
    assert isinstance(missing, FailUpdate) and missing.exception_type == "UpdateNotFound"
    assert state.query("total") == 0


def test_query_errors_carry_the_reason() -> None:
    sim = HistorySimulator(workflow_type="engine.updates")
    state = new_state(Updates)
    task(state, sim)
    with pytest.raises(QueryFailed) as info:
        state.query("nope")
    assert info.value.reason == "rejected_unknown_query"
    assert state.query("total") == 0


# -- terminal commands ---------------------------------------------------------------------------------


@workflow.defn(name="engine.continue")
class Continue:
    def run(self, ctx: WorkflowContext, n: int) -> Any:
        marker = yield ctx.side_effect(lambda: n + 1)
        yield ctx.continue_as_new(marker, workflow_type="engine.continue")


def test_yielded_continue_as_new_keeps_earlier_non_blocking_commands() -> None:
    commands = new_state(Continue, [1]).commands()
    assert commands == [RecordSideEffect(2), ContinueAsNew("engine.continue", [2])]


@workflow.defn(name="engine.raises")
class Raises:
    def run(self, ctx: WorkflowContext) -> Any:
        yield ctx.start_timer(1)
        raise KeyError()


def test_exception_fails_the_run_with_a_non_empty_message() -> None:
    sim = HistorySimulator(workflow_type="engine.raises")
    state = new_state(Raises)
    task(state, sim)
    (timer,) = sim.steps("timer")
    sim.fire_timer(timer.number)
    wire = task(state, sim)
    assert wire == [{"type": "fail_workflow", "message": "KeyError", "exception_type": "KeyError"}]


@workflow.defn(name="engine.bad-yield")
class BadYield:
    def run(self, ctx: WorkflowContext) -> Any:
        try:
            yield "not a command"
        except TypeError as exc:
            return str(exc)


def test_yielding_something_else_raises_type_error_inside_the_workflow() -> None:
    (command,) = new_state(BadYield).commands()
    assert isinstance(command, CompleteWorkflow) and "workflow yielded str" in command.result


# -- time and logging ----------------------------------------------------------------------------------


@workflow.defn(name="engine.clock")
class Clock:
    def run(self, ctx: WorkflowContext) -> Any:
        ctx.logger.info("starting at %s", ctx.now().isoformat())
        started = ctx.now()
        yield ctx.start_timer(60)
        ctx.logger.info("timer fired")
        return [started.isoformat(), (ctx.now() - started).total_seconds() >= 60]


def test_now_comes_from_history_and_advances_with_resuming_events() -> None:
    from datetime import timedelta

    sim = HistorySimulator(workflow_type="engine.clock")
    state = new_state(Clock)
    task(state, sim)
    (timer,) = sim.steps("timer")
    sim.advance_clock(timedelta(seconds=60))
    sim.fire_timer(timer.number)
    task(state, sim)
    started, advanced = result_of(sim)
    assert started.startswith("2026-01-01T00:00:00.00")
    assert advanced is True
    assert full_replay(Clock, sim.events[:-1]) == state.commands()


def test_logger_emits_new_code_once_including_before_the_first_command(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="durable_workflow.workflow.replay")
    sim = HistorySimulator(workflow_type="engine.clock")
    state = new_state(Clock)
    task(state, sim)
    # 0.4.84 dropped this line: it runs before the first new command.
    assert [r.getMessage()[:11] for r in caplog.records] == ["starting at"]
    caplog.clear()
    (timer,) = sim.steps("timer")
    sim.fire_timer(timer.number)
    fresh = new_state(Clock)  # a cache miss: full replay of the whole history
    fresh.apply(sim.events)
    fresh.commands()
    assert [r.getMessage() for r in caplog.records] == ["timer fired"]


def test_wire_commands_validate_before_anything_leaves() -> None:
    command = ScheduleActivity("x", [], start_to_close_timeout=10)
    command.heartbeat_timeout = 20  # mutated after construction
    with pytest.raises(workflow.InvalidCommandError, match=r"commands\[0\].*heartbeat_timeout"):
        workflow.commands_to_server_commands([command], "default")


# -- more edges ------------------------------------------------------------------------------------------


def test_undecodable_signal_arguments_fail_the_task_with_context(caplog: pytest.LogCaptureFixture) -> None:
    from dw_core.errors import WorkflowPayloadDecodeError

    sim = HistorySimulator(workflow_type="engine.signal-during-activity")
    state = new_state(SignalDuringActivity)
    task(state, sim)
    sim.signal("note", ["fine"])
    sim.events[-1]["payload"]["arguments"] = "not-base64-avro!"
    with (
        caplog.at_level(logging.ERROR, logger="durable_workflow.workflow.replay"),
        pytest.raises(WorkflowPayloadDecodeError) as info,
    ):
        state.extend(sim.events)
    error = info.value
    assert (error.receiver_kind, error.receiver_name, error.codec) == ("signal", "note", "avro")
    assert error.payload_head == "not-base64-avro!" and error.run_id == "run-1"
    assert caplog.records[-1].durable_workflow_payload_decode["receiver_name"] == "note"  # type: ignore[attr-defined]


@workflow.defn(name="engine.added-side-effect")
class AddedSideEffect:
    def run(self, ctx: WorkflowContext) -> Any:
        yield ctx.side_effect(lambda: 1)
        return (yield ctx.schedule_activity("old-path", []))


def test_side_effect_added_where_history_has_an_activity_is_nondeterministic() -> None:
    sim = HistorySimulator(workflow_type="engine.patch-v1")
    task(new_state(PatchV1), sim)
    with pytest.raises(NonDeterministicReplayError) as info:
        full_replay(AddedSideEffect, sim.events)
    assert info.value.expected_shape == "side effect"
    assert info.value.recorded_event_types == ["ActivityScheduled"]


@workflow.defn(name="engine.child")
class Child:
    def run(self, ctx: WorkflowContext) -> Any:
        outcomes = []
        for outcome in ("ok", "failed", "cancelled", "terminated"):
            try:
                value = yield ctx.start_child_workflow("kid", [outcome], parent_close_policy="terminate")
                outcomes.append(["ok", value])
            except Exception as failure:
                outcomes.append(
                    [type(failure).__name__, str(failure), getattr(failure, "failure_kind", None)]
                )
        return outcomes


def test_child_outcomes_resolve_or_raise_typed_errors() -> None:
    sim = HistorySimulator(workflow_type="engine.child")
    state = new_state(Child)
    for outcome in ("ok", "failed", "cancelled", "terminated"):
        task(state, sim)
        (child,) = sim.steps("child")
        if outcome == "ok":
            sim.complete_child(child.number, {"kid": 1})
        else:
            sim.fail_child(child.number, f"kid {outcome}", outcome=outcome)
    task(state, sim)
    assert result_of(sim) == [
        ["ok", {"kid": 1}],
        ["ChildWorkflowFailed", "kid failed", "child_workflow"],
        ["ChildWorkflowCancelled", "kid cancelled", "cancelled"],
        ["ChildWorkflowTerminated", "kid terminated", "terminated"],
    ]


@workflow.defn(name="engine.return-continue")
class ReturnContinue:
    def run(self, ctx: WorkflowContext, n: int) -> Any:
        return ctx.continue_as_new(n + 1)


def test_plain_run_returning_continue_as_new() -> None:
    (command,) = new_state(ReturnContinue, [1]).commands()
    assert command == ContinueAsNew(None, [2])
    assert command.to_server_command("q")["queue"] == "q"


def test_condition_wait_satisfied_event_resolves_the_wait_as_0_4_84_histories_expect() -> None:
    sim = HistorySimulator(workflow_type="engine.waits")
    state = new_state(Waits)
    task(state, sim)
    (wait,) = sim.steps("condition_wait")
    sim._append("ConditionWaitSatisfied", {"condition_wait_id": wait.wait_id, "sequence": wait.number})
    task(state, sim)
    assert result_of(sim) == [True, True, 0]


def test_signals_after_the_return_still_reach_handlers_for_queries() -> None:
    sim = HistorySimulator(workflow_type="engine.signal-during-activity")
    state = new_state(SignalDuringActivity)
    task(state, sim)
    (activity,) = sim.steps("activity")
    sim.complete_activity(activity.number, "done")
    state.extend(sim.events)
    wire = state.wire_commands()
    sim.signal("note", ["late"])  # accepted while the last task was being processed
    sim.complete_workflow_task(wire)
    state.extend(sim.events)
    assert state.query("notes") == ["late"]
    assert state.terminal == CompleteWorkflow({"first": "done", "notes": []})


def test_extend_refuses_a_shorter_history() -> None:
    sim = HistorySimulator(workflow_type="engine.signal-during-activity")
    state = new_state(SignalDuringActivity)
    task(state, sim)
    with pytest.raises(HistoryMismatchError, match="already applied"):
        state.extend(sim.events[:1])


@workflow.defn(name="engine.bad-timeout")
class BadTimeout:
    def run(self, ctx: WorkflowContext) -> Any:
        return (yield ctx.schedule_activity("a", [], start_to_close_timeout=0))


def test_a_malformed_command_fails_the_task_not_the_run() -> None:
    state = new_state(BadTimeout)
    with pytest.raises(workflow.InvalidCommandError, match="start_to_close_timeout must be at least 1"):
        state.commands()
    assert not state.reusable


def test_wait_timeout_timer_without_timer_kind_still_times_the_wait_out() -> None:
    sim = HistorySimulator(workflow_type="engine.waits")
    state = new_state(Waits)
    task(state, sim)
    (wait,) = sim.steps("condition_wait")
    sim._append("TimerFired", {"sequence": wait.number})  # a server that omits timer_kind
    task(state, sim)
    assert result_of(sim) == [True, False, 0]


@workflow.defn(name="engine.pending-mix")
class PendingMix:
    def __init__(self) -> None:
        self.pokes = 0

    @workflow.signal("poke")
    def poke(self) -> None:
        self.pokes += 1

    def run(self, ctx: WorkflowContext) -> Any:
        done = yield [
            ctx.schedule_activity("a", []),
            ctx.start_timer(30),
            ctx.start_child_workflow("kid", []),
        ]
        return [done, self.pokes]


def test_signals_while_activity_timer_and_child_run_send_nothing_twice() -> None:
    sim = HistorySimulator(workflow_type="engine.pending-mix")
    state = new_state(PendingMix)
    first = task(state, sim)
    assert [c["type"] for c in first] == ["schedule_activity", "start_timer", "start_child_workflow"]
    for _ in range(3):
        sim.signal("poke")
        assert [c["change_id"] for c in task(state, sim)] == [NOOP_MARKER_CHANGE_ID]
    scheduled = [e["event_type"] for e in sim.events if e["event_type"].endswith("Scheduled")]
    assert scheduled == ["ActivityScheduled", "TimerScheduled", "ChildWorkflowScheduled"]
    activity, timer, child = sim.steps()
    sim.complete_activity(activity.number, 1)
    sim.fire_timer(timer.number)
    sim.complete_child(child.number, 2)
    task(state, sim)
    assert result_of(sim) == [[1, None, 2], 3]
