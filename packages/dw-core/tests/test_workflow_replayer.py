"""Offline helpers: Replayer type/input inference, replay, query_state, apply_update, replay_history."""

from __future__ import annotations

from typing import Any

import pytest
from dw_core import workflow
from dw_core.errors import QueryFailed
from dw_core.replay import HistorySimulator, WorkflowRunState
from dw_core.workflow import CompleteUpdate, CompleteWorkflow, FailUpdate, FailWorkflow, Replayer


@workflow.defn(name="replayer.greeter")
class Greeter:
    def __init__(self) -> None:
        self.greeted: list[str] = []

    @workflow.query("greeted")
    def get_greeted(self, prefix: str = "") -> list[str]:
        return [prefix + name for name in self.greeted]

    @workflow.query("boom")
    def boom(self) -> None:
        raise RuntimeError("query exploded")

    @workflow.update("greet-more")
    def greet_more(self, name: str) -> int:
        self.greeted.append(name)
        return len(self.greeted)

    def run(self, ctx: workflow.WorkflowContext, name: str) -> Any:
        greeting = yield ctx.schedule_activity("greet", [name])
        self.greeted.append(name)
        yield ctx.start_timer(10)
        return greeting


@workflow.defn(name="replayer.other")
class Other:
    def run(self, ctx: workflow.WorkflowContext) -> Any:
        return "other"


def recorded_history(name: str = "Ada", *, through_timer: bool = False) -> HistorySimulator:
    sim = HistorySimulator(workflow_type="replayer.greeter", start_input=[name])
    state = WorkflowRunState(Greeter, start_input=[name], run_id="run-1")
    state.apply(sim.events)
    sim.complete_workflow_task(state.wire_commands())
    (activity,) = sim.steps("activity")
    sim.complete_activity(activity.number, f"hello {name}")
    if through_timer:
        state.extend(sim.events)
        sim.complete_workflow_task(state.wire_commands())
        (timer,) = sim.steps("timer")
        sim.fire_timer(timer.number)
    return sim


def test_replayer_infers_type_and_input_from_workflow_started() -> None:
    outcome = Replayer(workflows=[Greeter, Other]).replay(recorded_history("Grace").events)
    assert [type(c).__name__ for c in outcome.commands] == ["StartTimer"]
    sim = recorded_history("Grace", through_timer=True)
    outcome = Replayer(workflows=[Greeter, Other]).replay({"events": sim.events})
    assert outcome.commands == [CompleteWorkflow("hello Grace")]
    assert outcome.terminal == CompleteWorkflow("hello Grace")


def test_replayer_accepts_history_export_keys_and_type_field() -> None:
    sim = recorded_history()
    exported = [
        {**{k: v for k, v in e.items() if k != "event_type"}, "type": e["event_type"]} for e in sim.events
    ]
    outcome = Replayer(workflows=[Greeter]).replay({"history_events": exported})
    assert [type(c).__name__ for c in outcome.commands] == ["StartTimer"]


def test_replayer_refuses_bad_setups_clearly() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Replayer(workflows=[])

    @workflow.defn(name="replayer.other")
    class Clash:
        def run(self, ctx: Any) -> None: ...

    with pytest.raises(ValueError, match="two workflow classes"):
        Replayer(workflows=[Other, Clash])
    workflow.defn(name="replayer.other")(Other)
    with pytest.raises(ValueError, match=r"no workflow registered for type 'replayer\.greeter'"):
        Replayer(workflows=[Other]).replay(recorded_history().events)
    with pytest.raises(ValueError, match="pass workflow_type"):
        Replayer(workflows=[Greeter, Other]).replay([{"event_type": "TimerFired", "payload": {}}])
    with pytest.raises(ValueError, match="no 'events'"):
        Replayer(workflows=[Greeter]).replay({"nothing": []})


def test_replay_turns_workflow_exceptions_into_fail_workflow() -> None:
    @workflow.defn(name="replayer.fails")
    class Fails:
        def run(self, ctx: Any) -> Any:
            raise ValueError("bad input")

    assert workflow.replay(Fails, [], None).commands == [FailWorkflow("bad input", "ValueError")]


def test_query_state_answers_and_reports_failures() -> None:
    events = recorded_history().events
    assert workflow.query_state(Greeter, events, ["Ada"], "greeted", ["Dr. "]) == ["Dr. Ada"]
    with pytest.raises(QueryFailed) as unknown:
        workflow.query_state(Greeter, events, ["Ada"], "nope")
    assert unknown.value.reason == "rejected_unknown_query" and "unknown query 'nope'" in str(unknown.value)
    with pytest.raises(QueryFailed) as failing:
        workflow.query_state(Greeter, events, ["Ada"], "boom")
    assert failing.value.reason == "query_rejected" and "query exploded" in str(failing.value)
    broken = [
        *events,
        {"event_type": "ActivityScheduled", "sequence": len(events) + 1, "payload": {"sequence": 99}},
    ]
    with pytest.raises(QueryFailed) as replay_failed:
        workflow.query_state(Greeter, broken, ["Ada"], "greeted")
    assert replay_failed.value.reason == "query_workflow_state_unavailable"
    assert str(replay_failed.value).startswith("workflow replay failed before query:")


def test_apply_update_runs_the_handler_on_replayed_state() -> None:
    sim = recorded_history()
    sim.accept_update("u-1", "greet-more", ["Linus"])
    assert workflow.apply_update(Greeter, sim.events, ["Ada"], "u-1") == CompleteUpdate("u-1", 2)
    missing = workflow.apply_update(Greeter, sim.events, ["Ada"], "u-2")
    assert isinstance(missing, FailUpdate) and missing.exception_type == "UpdateNotFound"


def test_replay_history_infers_input() -> None:
    sim = recorded_history("Barbara", through_timer=True)
    assert workflow.replay_history(Greeter, sim.events).commands == [CompleteWorkflow("hello Barbara")]
