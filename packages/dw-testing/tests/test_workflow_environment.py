"""The in-process WorkflowEnvironment, driven through real workflows and the real replay engine."""

from __future__ import annotations

import asyncio
import json
import pathlib
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from dw_core import activity, workflow
from dw_core.errors import ActivityFailed, NonDeterministicReplayError, NonRetryableError, WorkflowFailed
from dw_core.workflow import ActivityRetryPolicy, CompleteWorkflow, ContinueAsNew
from dw_testing import (
    ContinueAsNewLimitExceeded,
    IterationLimitExceeded,
    MissingMockError,
    Replayer,
    UnregisteredWorkflowError,
    UnsatisfiableWaitError,
    WorkflowEnvironment,
    replay_history,
    replay_history_file,
)

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


@workflow.defn(name="env.greeter")
class Greeter:
    def run(self, ctx: Any, name: str) -> Any:
        greeting = yield ctx.schedule_activity("env.greet", [name])
        return greeting


@activity.defn(name="env.flaky")
def flaky(order_id: str) -> str:
    attempt = activity.context().info.attempt_number
    if attempt < 2:
        raise ConnectionError(f"payment gateway timed out (attempt {attempt})")
    return f"charged {order_id} on attempt {attempt}"


@workflow.defn(name="env.charges")
class Charges:
    def run(self, ctx: Any, order_id: str, attempts: int) -> Any:
        policy = ActivityRetryPolicy(max_attempts=attempts, initial_interval_seconds=5)
        try:
            receipt = yield ctx.schedule_activity("env.flaky", [order_id], retry_policy=policy)
        except ActivityFailed as failure:
            return {"compensated": failure.message, "type": failure.exception_type}
        return {"receipt": receipt, "at": ctx.now().isoformat()}


@workflow.defn(name="env.sequential")
class Sequential:
    entered = 0

    def run(self, ctx: Any, n: int) -> Any:
        type(self).entered += 1
        total = 0
        for i in range(n):
            total = yield ctx.schedule_activity("env.add", [total, i])
        return total


@workflow.defn(name="env.features")
class Features:
    def run(self, ctx: Any) -> Any:
        token = yield ctx.side_effect(lambda: "token-from-side-effect")
        version = yield ctx.get_version("step-2", 1, 3)
        patched = yield ctx.patched("fix-1")
        yield ctx.upsert_search_attributes({"stage": "sleeping"})
        before = ctx.now()
        yield ctx.sleep(86400)
        child = yield ctx.start_child_workflow("env.child", [1])
        return {
            "token": token,
            "version": version,
            "patched": patched,
            "slept": (ctx.now() - before).total_seconds(),
            "child": child,
        }


@workflow.defn(name="env.approval")
class Approval:
    def __init__(self) -> None:
        self.approvers: list[str] = []

    @workflow.signal("approve")
    def approve(self, who: str) -> None:
        self.approvers.append(who)

    @workflow.query("approvers")
    def current(self) -> list[str]:
        return list(self.approvers)

    def run(self, ctx: Any, needed: int) -> Any:
        yield ctx.wait_condition(lambda: len(self.approvers) >= needed, key="approved")
        return sorted(self.approvers)


@workflow.defn(name="env.deadline")
class Deadline:
    def __init__(self) -> None:
        self.done = False

    @workflow.signal("done")
    def finish(self) -> None:
        self.done = True

    def run(self, ctx: Any) -> Any:
        started = ctx.now()
        finished = yield ctx.wait_condition(lambda: self.done, key="done", timeout=3600)
        return {"finished": finished, "waited": (ctx.now() - started).total_seconds()}


@workflow.defn(name="env.forever")
class Forever:
    def run(self, ctx: Any) -> Any:
        while True:
            yield ctx.start_timer(1)


@workflow.defn(name="env.countdown")
class Countdown:
    def __init__(self) -> None:
        self.bonus = 0

    @workflow.signal("bonus")
    def add_bonus(self, amount: int) -> None:
        self.bonus += amount

    def run(self, ctx: Any, remaining: int, total: int) -> Any:
        yield ctx.start_timer(1)
        total += 1 + self.bonus
        if remaining > 1:
            return ctx.continue_as_new(remaining - 1, total)
        return total


@workflow.defn(name="env.hand-off")
class HandOff:
    def run(self, ctx: Any, value: int) -> Any:
        return ctx.continue_as_new(value * 10, workflow_type="env.receiver")


@workflow.defn(name="env.receiver")
class Receiver:
    def run(self, ctx: Any, value: int) -> Any:
        doubled = yield ctx.schedule_activity("env.add", [value, value])
        return doubled


@workflow.defn(name="env.fails")
class Fails:
    def run(self, ctx: Any) -> Any:
        yield ctx.schedule_activity("env.add", [1, 1])
        raise ValueError("order total must be positive")


def add(a: int, b: int) -> int:
    return a + b


# -- activities ---------------------------------------------------------------------------------------


def test_canned_activity_result_is_the_workflow_result() -> None:
    env = WorkflowEnvironment()
    env.register_activity_result("env.greet", "Hello, Ada!")
    assert env.execute_workflow(Greeter, "Ada") == "Hello, Ada!"
    assert env.activity_calls == [("env.greet", ["Ada"])]


def test_callable_mock_takes_precedence_and_receives_codec_decoded_arguments() -> None:
    env = WorkflowEnvironment()
    env.register_activity_result("env.greet", "canned")
    env.register_activity("env.greet", lambda name: f"Hi {name}")
    assert env.execute_workflow(Greeter, "Bo") == "Hi Bo"


def test_async_mock_runs_even_inside_a_running_event_loop() -> None:
    async def greet(name: str) -> str:
        await asyncio.sleep(0)
        return f"async hello {name}"

    async def scenario() -> Any:
        env = WorkflowEnvironment()
        env.register_activity("env.greet", greet)
        return env.execute_workflow(Greeter, "Cy")

    assert asyncio.run(scenario()) == "async hello Cy"


def test_missing_activity_mock_fails_loudly_naming_the_activity() -> None:
    env = WorkflowEnvironment()
    with pytest.raises(KeyError) as raised:
        env.execute_workflow(Greeter, "Ada")
    error = raised.value
    assert isinstance(error, MissingMockError)
    assert error.name == "env.greet" and error.kind == "activity"
    assert "env.register_activity_result('env.greet'" in str(error)


def test_retry_policy_retries_a_failing_activity_with_its_real_context() -> None:
    env = WorkflowEnvironment(start_time=START)
    env.register_activity(flaky)  # registered under its @activity.defn name
    result = env.execute_workflow(Charges, "order-7", 3)
    assert result["receipt"] == "charged order-7 on attempt 2"
    # the 5 s backoff before the retry moved the virtual clock
    assert datetime.fromisoformat(result["at"]) - START >= timedelta(seconds=5)
    assert [call[0] for call in env.activity_calls] == ["env.flaky", "env.flaky"]
    started = [e for e in env.runs[0].history if e["event_type"] == "ActivityStarted"]
    assert [e["payload"]["attempt_number"] for e in started] == [1, 2]


def test_exhausted_retries_throw_activity_failed_into_the_workflow() -> None:
    env = WorkflowEnvironment()
    env.register_activity(flaky)
    result = env.execute_workflow(Charges, "order-8", 1)
    assert result == {"compensated": "payment gateway timed out (attempt 1)", "type": "ConnectionError"}


def test_non_retryable_error_skips_the_remaining_attempts() -> None:
    def decline(order_id: str) -> str:
        raise NonRetryableError("card declined")

    env = WorkflowEnvironment()
    env.register_activity("env.flaky", decline)
    result = env.execute_workflow(Charges, "order-9", 5)
    assert result["compensated"] == "card declined"
    assert len(env.activity_calls) == 1


# -- timers, markers, children ------------------------------------------------------------------------


def test_timers_side_effects_markers_upserts_fire_automatically_on_a_virtual_clock() -> None:
    env = WorkflowEnvironment(start_time=START)
    env.register_child_workflow_result("env.child", {"child": "done"})
    result = env.execute_workflow(Features)
    assert result == {
        "token": "token-from-side-effect",
        "version": 3,
        "patched": True,
        "slept": pytest.approx(86400, abs=1),
        "child": {"child": "done"},
    }
    types = [event["event_type"] for event in env.runs[0].history]
    for expected in (
        "SideEffectRecorded",
        "VersionMarkerRecorded",
        "SearchAttributesUpserted",
        "TimerFired",
        "ChildRunCompleted",
        "WorkflowCompleted",
    ):
        assert expected in types


def test_missing_child_workflow_mock_fails_loudly() -> None:
    env = WorkflowEnvironment()
    with pytest.raises(KeyError, match=re.escape("register_child_workflow_result('env.child'")):
        env.execute_workflow(Features)


# -- signals and waits ----------------------------------------------------------------------------------


def test_signals_queued_before_execution_satisfy_a_wait_and_queries_read_the_final_state() -> None:
    env = WorkflowEnvironment()
    env.signal("approve", ["ana"])
    env.signal("approve", ["bo"])
    assert env.execute_workflow(Approval, 2) == ["ana", "bo"]
    assert env.query("approvers") == ["ana", "bo"]


def test_a_mock_can_signal_mid_run() -> None:
    @workflow.defn(name="env.signal-mid-run")
    class SignalMidRun(Approval):
        def run(self, ctx: Any, needed: int) -> Any:
            yield ctx.schedule_activity("env.notify", [])
            yield ctx.wait_condition(lambda: len(self.approvers) >= needed, key="approved")
            return self.approvers

    env = WorkflowEnvironment()
    env.register_activity("env.notify", lambda: env.signal("approve", ["from-activity"]))
    assert env.execute_workflow(SignalMidRun, 1) == ["from-activity"]


def test_unsatisfiable_wait_raises_a_typed_error_naming_the_wait_and_the_fix() -> None:
    env = WorkflowEnvironment()
    env.signal("approve", ["only-one"])
    with pytest.raises(UnsatisfiableWaitError) as raised:
        env.execute_workflow(Approval, 2)
    error = raised.value
    assert isinstance(error, RuntimeError)
    assert error.condition_key == "approved"
    message = str(error)
    assert "key='approved'" in message and "env.signal(" in message and "['approve']" in message
    assert "test_workflow_environment.py" in error.condition  # where the predicate lives


def test_wait_timeout_fires_on_the_virtual_clock_when_no_signal_comes() -> None:
    env = WorkflowEnvironment()
    assert env.execute_workflow(Deadline) == {"finished": False, "waited": pytest.approx(3600, abs=1)}
    env.signal("done")
    assert env.execute_workflow(Deadline)["finished"] is True


def test_signal_rejects_bad_input() -> None:
    env = WorkflowEnvironment()
    with pytest.raises(ValueError, match="1-based"):
        env.signal("approve", [], run=0)
    with pytest.raises(TypeError, match="list"):
        env.signal("approve", "ana")  # type: ignore[arg-type]


# -- limits and failures ------------------------------------------------------------------------------


def test_runaway_workflow_hits_the_iteration_limit() -> None:
    env = WorkflowEnvironment(iteration_limit=25)
    with pytest.raises(RuntimeError, match="did not terminate within 25 iterations") as raised:
        env.execute_workflow(Forever)
    assert isinstance(raised.value, IterationLimitExceeded)


def test_workflow_failure_surfaces_as_workflow_failed_and_is_recorded() -> None:
    env = WorkflowEnvironment()
    env.register_activity("env.add", add)
    with pytest.raises(WorkflowFailed, match="order total must be positive") as raised:
        env.execute_workflow(Fails)
    assert raised.value.exception_class == "ValueError"
    assert env.runs[0].terminal is raised.value
    assert env.runs[0].history[-1]["event_type"] == "WorkflowFailed"


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError, match="iteration_limit"):
        WorkflowEnvironment(iteration_limit=0)
    with pytest.raises(ValueError, match="continue_as_new_limit"):
        WorkflowEnvironment(continue_as_new_limit=-1)


# -- continue-as-new ------------------------------------------------------------------------------------


def test_continue_as_new_chain_records_every_link_and_routes_signals_by_link() -> None:
    env = WorkflowEnvironment()
    env.signal("bonus", [100], run=2)
    assert env.execute_workflow(Countdown, 3, 0) == 103
    assert env.run_count == 3
    runs = env.runs
    assert [run.input for run in runs] == [[3, 0], [2, 1], [1, 102]]
    assert [run.run_id for run in runs] == ["test-run", "test-run-continued", "test-run-continued-continued"]
    assert isinstance(runs[0].terminal, ContinueAsNew) and isinstance(runs[1].terminal, ContinueAsNew)
    assert isinstance(runs[2].terminal, CompleteWorkflow) and runs[2].terminal.result == 103
    assert runs[0].history[-1]["event_type"] == "WorkflowContinuedAsNew"


def test_continue_as_new_limit() -> None:
    env = WorkflowEnvironment(continue_as_new_limit=2)
    with pytest.raises(RuntimeError, match="limit of 2 links") as raised:
        env.execute_workflow(Countdown, 5, 0)
    assert isinstance(raised.value, ContinueAsNewLimitExceeded)
    assert env.run_count == 2


def test_continue_as_new_into_another_workflow_type() -> None:
    env = WorkflowEnvironment()
    env.register_activity("env.add", add)
    env.register_workflow(Receiver)
    assert env.execute_workflow(HandOff, 4) == 80
    assert [run.workflow_type for run in env.runs] == ["env.hand-off", "env.receiver"]


def test_continue_as_new_into_an_unknown_type_names_the_fix() -> None:
    @workflow.defn(name="env.hand-off-nowhere")
    class Nowhere:
        def run(self, ctx: Any) -> Any:
            return ctx.continue_as_new(workflow_type="env.not-registered-anywhere")

    with pytest.raises(KeyError) as raised:
        WorkflowEnvironment().execute_workflow(Nowhere)
    assert isinstance(raised.value, UnregisteredWorkflowError)
    assert "env.register_workflow" in str(raised.value)


def test_register_workflow_refuses_undecorated_classes() -> None:
    class Plain:
        def run(self, ctx: Any) -> None:
            return None

    with pytest.raises(TypeError, match=re.escape("@workflow.defn")):
        WorkflowEnvironment().register_workflow(Plain)


# -- incremental replay and history -----------------------------------------------------------------------


def test_each_run_is_entered_once_and_advanced_incrementally() -> None:
    env = WorkflowEnvironment(iteration_limit=1001, check_replay=False)
    env.register_activity("env.add", add)
    Sequential.entered = 0
    assert env.execute_workflow(Sequential, 1000) == sum(range(1000))
    # One generator for the whole run: no replay from scratch per iteration.
    assert Sequential.entered == 1
    strict = WorkflowEnvironment(iteration_limit=1000)
    strict.register_activity("env.add", add)
    with pytest.raises(IterationLimitExceeded):
        strict.execute_workflow(Sequential, 1000)


def test_check_replay_replays_each_finished_link_once_more() -> None:
    env = WorkflowEnvironment()
    env.register_activity("env.add", add)
    Sequential.entered = 0
    env.execute_workflow(Sequential, 3)
    assert Sequential.entered == 2


def test_non_deterministic_workflow_is_caught_by_the_replay_check() -> None:
    calls = {"n": 0}

    @workflow.defn(name="env.non-deterministic")
    class NonDeterministic:
        def run(self, ctx: Any) -> Any:
            calls["n"] += 1
            kind = "env.first" if calls["n"] == 1 else "env.second"
            value = yield ctx.schedule_activity(kind, [])
            return value

    env = WorkflowEnvironment()
    env.register_activity_result("env.first", 1)
    env.register_activity_result("env.second", 2)
    with pytest.raises(NonDeterministicReplayError):
        env.execute_workflow(NonDeterministic)


def test_recorded_history_replays_to_the_same_result() -> None:
    env = WorkflowEnvironment()
    env.register_child_workflow_result("env.child", 7)
    result = env.execute_workflow(Features)
    outcome = replay_history(Features, env.runs[0].history)
    assert isinstance(outcome.terminal, CompleteWorkflow)
    assert outcome.terminal.result == result


def test_replay_history_file_and_replayer_accept_the_recorded_history(tmp_path: pathlib.Path) -> None:
    env = WorkflowEnvironment()
    env.register_activity("env.greet", lambda name: f"Hey {name}")
    env.execute_workflow(Greeter, "Di")
    history = env.runs[0].history

    as_list = tmp_path / "list.json"
    as_list.write_text(json.dumps(history))
    as_object = tmp_path / "object.json"
    as_object.write_text(json.dumps({"events": history}))
    for path in (as_list, as_object):
        terminal = replay_history_file(Greeter, path).terminal  # input read from WorkflowStarted
        assert isinstance(terminal, CompleteWorkflow) and terminal.result == "Hey Di"

    replayer = Replayer(workflows=[Greeter, Features])
    terminal = replayer.replay(history).terminal  # type and input inferred from the history
    assert isinstance(terminal, CompleteWorkflow) and terminal.result == "Hey Di"


def test_changed_code_fails_replay_of_the_recorded_history() -> None:
    env = WorkflowEnvironment()
    env.register_activity_result("env.greet", "hi")
    env.execute_workflow(Greeter, "Ed")

    @workflow.defn(name="env.greeter-v2")
    class GreeterV2:
        def run(self, ctx: Any, name: str) -> Any:
            yield ctx.start_timer(5)  # a new first step: incompatible with running histories
            greeting = yield ctx.schedule_activity("env.greet", [name])
            return greeting

    with pytest.raises(NonDeterministicReplayError):
        replay_history(GreeterV2, env.runs[0].history)


def test_a_result_the_codec_cannot_encode_fails_as_it_would_on_a_worker() -> None:
    @workflow.defn(name="env.not-a-number")
    class NotANumber:
        def run(self, ctx: Any) -> Any:
            return float("nan")

    with pytest.raises(ValueError, match="NaN"):
        WorkflowEnvironment().execute_workflow(NotANumber)


def test_an_unhandled_activity_failure_fails_the_workflow_with_the_mock_error_as_cause() -> None:
    def broken(name: str) -> str:
        raise LookupError(f"no template for {name}")

    env = WorkflowEnvironment()
    env.register_activity("env.greet", broken)
    with pytest.raises(WorkflowFailed, match="no template for Ada") as raised:
        env.execute_workflow(Greeter, "Ada")
    assert raised.value.exception_class == "ActivityFailed"
    assert isinstance(raised.value.__cause__, LookupError)
