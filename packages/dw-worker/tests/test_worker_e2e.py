"""End to end through the public API: a real Worker against the in-process dev server.

Every workflow feature runs with the sticky cache at its default size, switched off, and at size 1
(``cache_size`` fixture), and must give the same results each way.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from dw_core import activity, workflow
from dw_worker import Worker

TIMEOUT = 30.0


@activity.defn(name="e2e.greet")
def greet(name: str) -> str:
    return f"Hello, {name}!"


@activity.defn(name="e2e.add")
async def add(a: int, b: int) -> int:
    return a + b


@workflow.defn(name="e2e.greeter")
class Greeter:
    def run(self, ctx: Any, name: str) -> Any:
        greeting = yield ctx.schedule_activity("e2e.greet", [name])
        return greeting


@workflow.defn(name="e2e.signals")
class WaitsForApproval:
    def __init__(self) -> None:
        self.approvals: list[str] = []

    @workflow.signal("approve")
    def approve(self, who: str) -> None:
        self.approvals.append(who)

    @workflow.query("approvals")
    def current(self) -> list[str]:
        return list(self.approvals)

    def run(self, ctx: Any, needed: int) -> Any:
        yield ctx.wait_condition(lambda: len(self.approvals) >= needed, key="approved")
        total = yield ctx.schedule_activity("e2e.add", [len(self.approvals), 100])
        return {"approvals": self.approvals, "total": total}


@workflow.defn(name="e2e.counter")
class Counter:
    def __init__(self) -> None:
        self.value = 0
        self.done = False

    @workflow.update("increment")
    def increment(self, by: int) -> int:
        self.value += by
        return self.value

    @increment.validator  # type: ignore[attr-defined, untyped-decorator]
    def check_increment(self, by: int) -> None:
        if by <= 0:
            raise ValueError("increment must be positive")

    @workflow.signal("finish")
    def finish(self) -> None:
        self.done = True

    @workflow.query("value")
    def read(self) -> int:
        return self.value

    def run(self, ctx: Any) -> Any:
        yield ctx.wait_condition(lambda: self.done, key="finished")
        return self.value


@workflow.defn(name="e2e.child")
class Child:
    def run(self, ctx: Any, x: int) -> Any:
        doubled = yield ctx.schedule_activity("e2e.add", [x, x])
        return doubled


@workflow.defn(name="e2e.parent")
class Parent:
    def run(self, ctx: Any, x: int) -> Any:
        results = yield [
            ctx.start_child_workflow("e2e.child", [x]),
            ctx.schedule_activity("e2e.add", [x, 1]),
            ctx.schedule_activity("e2e.add", [x, 2]),
        ]
        return results


@workflow.defn(name="e2e.features")
class Features:
    def run(self, ctx: Any, n: int) -> Any:
        token = yield ctx.side_effect(lambda: uuid.uuid4().hex)
        version = yield ctx.get_version("add-step", 1, 2)
        yield ctx.upsert_search_attributes({"stage": "timer"})
        yield ctx.start_timer(1)
        total = yield ctx.schedule_activity("e2e.add", [n, version])
        return {"token_len": len(token), "version": version, "total": total}


@workflow.defn(name="e2e.continues")
class Continues:
    def run(self, ctx: Any, remaining: int, acc: int) -> Any:
        acc = yield ctx.schedule_activity("e2e.add", [acc, remaining])
        if remaining > 1:
            return ctx.continue_as_new(remaining - 1, acc)
        return acc


ALL_WORKFLOWS = [Greeter, WaitsForApproval, Counter, Child, Parent, Features, Continues]
ALL_ACTIVITIES: list[Callable[..., Any]] = [greet, add]


@pytest.fixture(params=[None, 0, 1], ids=["cache-default", "cache-off", "cache-1"])
def cache_size(request: pytest.FixtureRequest) -> int | None:
    return request.param  # type: ignore[no-any-return]


def make_worker(client: Any, queue: str, cache_size: int | None, **kwargs: Any) -> Worker:
    options: dict[str, Any] = {} if cache_size is None else {"max_cached_workflows": cache_size}
    return Worker(
        client,
        task_queue=queue,
        workflows=ALL_WORKFLOWS,
        activities=ALL_ACTIVITIES,
        **options,
        **kwargs,
    )


def wf_id() -> str:
    return f"wf-{uuid.uuid4().hex[:12]}"


async def test_quickstart_run_until(client: Any, queue: str, cache_size: int | None) -> None:
    handle = await client.start_workflow(
        workflow_type="e2e.greeter", task_queue=queue, workflow_id=wf_id(), input=["world"]
    )
    worker = make_worker(client, queue, cache_size)
    description = await worker.run_until(workflow_id=handle.workflow_id, timeout=TIMEOUT)
    assert description.status == "completed"
    assert await client.get_result(handle, timeout=TIMEOUT) == "Hello, world!"


async def test_signals_wait_condition_and_queries(client: Any, queue: str, cache_size: int | None) -> None:
    async with make_worker(client, queue, cache_size):
        handle = await client.start_workflow(
            workflow_type="e2e.signals", task_queue=queue, workflow_id=wf_id(), input=[2]
        )
        await handle.signal("approve", ["ana"])
        await _eventually(lambda: handle.query("approvals"), lambda r: r["result"] == ["ana"])
        await handle.signal("approve", ["bo"])
        result = await handle.result(timeout=TIMEOUT)
    assert result == {"approvals": ["ana", "bo"], "total": 102}


async def test_updates_accepted_and_rejected_by_validator(
    client: Any, queue: str, cache_size: int | None
) -> None:
    from dw_core.errors import InvalidArgument, UpdateRejected

    async with make_worker(client, queue, cache_size):
        handle = await client.start_workflow(
            workflow_type="e2e.counter", task_queue=queue, workflow_id=wf_id()
        )
        accepted = await handle.update("increment", [5], wait_for="completed")
        assert accepted["result"] == 5
        with pytest.raises((UpdateRejected, InvalidArgument)) as rejected:  # the dev server answers 422
            await handle.update("increment", [-1], wait_for="completed")
        assert "update validator failed: increment must be positive" in str(rejected.value)
        assert (await handle.query("value"))["result"] == 5
        await handle.signal("finish")
        assert await handle.result(timeout=TIMEOUT) == 5


async def test_child_workflow_and_parallel_group(client: Any, queue: str, cache_size: int | None) -> None:
    async with make_worker(client, queue, cache_size):
        handle = await client.start_workflow(
            workflow_type="e2e.parent", task_queue=queue, workflow_id=wf_id(), input=[10]
        )
        assert await handle.result(timeout=TIMEOUT) == [20, 11, 12]


async def test_side_effect_version_marker_search_attributes_and_timer(
    client: Any, queue: str, cache_size: int | None
) -> None:
    async with make_worker(client, queue, cache_size):
        handle = await client.start_workflow(
            workflow_type="e2e.features", task_queue=queue, workflow_id=wf_id(), input=[40]
        )
        result = await handle.result(timeout=TIMEOUT)
    assert result == {"token_len": 32, "version": 2, "total": 42}
    history = await client.get_history(handle.workflow_id, handle.run_id)
    types = [event["event_type"] for event in history["events"]]
    assert types.count("SideEffectRecorded") == 1
    assert "VersionMarkerRecorded" in types and "SearchAttributesUpserted" in types and "TimerFired" in types


async def test_continue_as_new(client: Any, queue: str, cache_size: int | None) -> None:
    async with make_worker(client, queue, cache_size):
        handle = await client.start_workflow(
            workflow_type="e2e.continues", task_queue=queue, workflow_id=wf_id(), input=[3, 0]
        )
        await _eventually(
            lambda: client.describe_workflow(handle.workflow_id), lambda d: d.status == "completed"
        )
        runs = await client.list_workflow_runs(handle.workflow_id)
    assert len(runs.runs) == 3
    latest = client.get_workflow_handle(handle.workflow_id)
    assert await latest.result(timeout=TIMEOUT) == 6


async def _eventually(call: Any, check: Any, timeout: float = TIMEOUT) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await call()
        if check(value):
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not reached; last value {value!r}")
        await asyncio.sleep(0.05)
