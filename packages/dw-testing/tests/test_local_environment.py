"""LocalServerEnvironment: the real dev server, client and Worker in process, with time skipping.

Also: one workflow tested three ways (in-process harness, local server with time skipping, replay
of the history the local run produced) must agree on the result.
"""

from __future__ import annotations

import asyncio
import pathlib
from datetime import timedelta
from typing import Any

import pytest
from dw_core import activity, workflow
from dw_core.errors import WorkflowFailed
from dw_core.workflow import CompleteWorkflow
from dw_testing import LocalServerEnvironment, WorkflowEnvironment, replay_history

TIMEOUT = 60.0
DAY = 86400

fired: list[str] = []


@activity.defn(name="local.greet")
def greet(name: str) -> str:
    return f"Hello, {name}!"


@activity.defn(name="local.record")
def record(label: str) -> str:
    fired.append(label)
    return label


@workflow.defn(name="local.greeter")
class Greeter:
    def run(self, ctx: Any, name: str) -> Any:
        greeting = yield ctx.schedule_activity("local.greet", [name])
        return greeting


@workflow.defn(name="local.sleeper")
class Sleeper:
    def run(self, ctx: Any, label: str, seconds: int) -> Any:
        started = ctx.now()
        yield ctx.sleep(seconds)
        yield ctx.schedule_activity("local.record", [label])
        return (ctx.now() - started).total_seconds()


@workflow.defn(name="local.deadline")
class Deadline:
    def __init__(self) -> None:
        self.done = False

    @workflow.signal("done")
    def finish(self) -> None:
        self.done = True

    def run(self, ctx: Any) -> Any:
        finished = yield ctx.wait_condition(lambda: self.done, key="done", timeout=2 * 3600)
        return finished


@workflow.defn(name="local.subscription")
class Subscription:
    """The workflow tested three ways: activities, a day-long sleep, a signal, a side effect."""

    def __init__(self) -> None:
        self.plan = "basic"

    @workflow.signal("upgrade")
    def upgrade(self, plan: str) -> None:
        self.plan = plan

    def run(self, ctx: Any, customer: str) -> Any:
        welcome = yield ctx.schedule_activity("local.greet", [customer])
        code = yield ctx.side_effect(lambda: "PROMO-42")
        yield ctx.sleep(DAY)
        yield ctx.wait_condition(lambda: self.plan != "basic", key="upgraded", timeout=3600)
        receipt = yield ctx.schedule_activity("local.record", [f"{customer}:{self.plan}"])
        return {"welcome": welcome, "code": code, "plan": self.plan, "receipt": receipt}


@workflow.defn(name="local.fails")
class Fails:
    def run(self, ctx: Any) -> Any:
        yield ctx.schedule_activity("local.greet", ["x"])
        raise ValueError("cannot continue")


async def test_greeter_end_to_end_with_a_real_worker() -> None:
    async with LocalServerEnvironment.start() as env, env.worker(workflows=[Greeter], activities=[greet]):
        assert await env.execute_workflow(Greeter, "Ada", timeout=TIMEOUT) == "Hello, Ada!"


async def test_start_local_alias_and_workflow_failure_surfaces() -> None:
    async with WorkflowEnvironment.start_local() as env, env.worker(workflows=[Fails], activities=[greet]):
        with pytest.raises(WorkflowFailed, match="cannot continue"):
            await env.execute_workflow(Fails, timeout=TIMEOUT)


async def test_a_day_long_sleep_finishes_by_skipping_virtual_time_and_timers_fire_in_order() -> None:
    fired.clear()
    async with LocalServerEnvironment.start() as env:
        began = env.now()
        async with env.worker(workflows=[Sleeper], activities=[record]):
            late = await env.start_workflow(Sleeper, "late", DAY)
            early = await env.start_workflow(Sleeper, "early", 60)
            middle = await env.start_workflow(Sleeper, "middle", 3600)
            results = await asyncio.gather(
                env.result(late, timeout=TIMEOUT),
                env.result(early, timeout=TIMEOUT),
                env.result(middle, timeout=TIMEOUT),
            )
        # Without skipping, a one-day timer could not fire within the 60 s real timeout.
        assert results[0] >= DAY and results[1] >= 60 and results[2] >= 3600
        assert fired == ["early", "middle", "late"]
        assert env.now() - began >= timedelta(seconds=DAY)


async def test_explicit_skip_fires_a_wait_timeout() -> None:
    async with LocalServerEnvironment.start() as env, env.worker(workflows=[Deadline]):
        handle = await env.start_workflow(Deadline)
        for _ in range(int(TIMEOUT / 0.02)):
            if env.next_timer_due() is not None:
                break
            await asyncio.sleep(0.02)
        due = env.next_timer_due()
        assert due is not None and due - env.now() == timedelta(hours=2)
        await env.skip(2 * 3600)
        assert await env.result(handle, timeout=TIMEOUT) is False


async def test_signal_before_timeout_wins() -> None:
    async with LocalServerEnvironment.start() as env, env.worker(workflows=[Deadline]):
        handle = await env.start_workflow(Deadline)
        await handle.signal("done")
        assert await env.result(handle, timeout=TIMEOUT) is True


async def test_file_database_and_skip_without_time_skipping(tmp_path: pathlib.Path) -> None:
    db = tmp_path / "dev.sqlite"
    async with LocalServerEnvironment.start(db=str(db), time_skipping=False) as env:
        async with env.worker(workflows=[Greeter], activities=[greet]):
            assert await env.execute_workflow(Greeter, "Bo", timeout=TIMEOUT) == "Hello, Bo!"
        with pytest.raises(RuntimeError, match="time_skipping=True"):
            await env.skip(10)
    assert db.is_file() and db.stat().st_size > 0


async def test_same_workflow_three_ways_agrees() -> None:
    # 1. In process, mocked activities.
    harness = WorkflowEnvironment()
    harness.register_activity(greet)
    harness.register_activity(record)
    harness.signal("upgrade", ["pro"])
    in_process = harness.execute_workflow(Subscription, "Ada")

    # 2. Real worker and dev server, a day of virtual time skipped.
    async with LocalServerEnvironment.start() as env:
        async with env.worker(workflows=[Subscription], activities=[greet, record]):
            handle = await env.start_workflow(Subscription, "Ada")
            await handle.signal("upgrade", ["pro"])
            on_server = await env.result(handle, timeout=TIMEOUT)
        history = await env.get_history(handle)
        # 3. Replay of the history the server recorded.
        outcome = await env.replay(handle, Subscription)
    assert isinstance(outcome.terminal, CompleteWorkflow)
    replayed = outcome.terminal.result
    # The same history replays offline too, given the start input (history does not carry it).
    offline = replay_history(Subscription, history, ["Ada"], payload_codec="avro").terminal
    assert isinstance(offline, CompleteWorkflow) and offline.result == replayed

    expected = {"welcome": "Hello, Ada!", "code": "PROMO-42", "plan": "pro", "receipt": "Ada:pro"}
    assert in_process == on_server == replayed == expected
    assert any(event["event_type"] == "TimerFired" for event in history)
