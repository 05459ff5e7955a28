"""The sticky cache against the dev server: hits apply only the new events, misses replay in full,
and a cached state that does not fit the task's history is never used."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from dw_core import activity, workflow
from dw_core.metrics import InMemoryMetrics
from dw_worker import Worker
from dw_worker.sticky_cache import WORKER_STICKY_CACHE_MISSES

TIMEOUT = 30.0
STEPS = 8


@activity.defn(name="cache.inc")
def inc(value: int) -> int:
    return value + 1


@workflow.defn(name="cache.steps")
class Steps:
    def run(self, ctx: Any, n: int) -> Any:
        value = 0
        for _ in range(n):
            value = yield ctx.schedule_activity("cache.inc", [value])
        return value


@workflow.defn(name="cache.gate")
class Gate:
    def __init__(self) -> None:
        self.opened_by = ""

    @workflow.signal("open")
    def open(self, who: str) -> None:
        self.opened_by = who

    def run(self, ctx: Any, label: str) -> Any:
        first = yield ctx.schedule_activity("cache.inc", [0])
        yield ctx.wait_condition(lambda: bool(self.opened_by), key="gate")
        return f"{label}:{first}:{self.opened_by}"


def wf_id() -> str:
    return f"wf-{uuid.uuid4().hex[:12]}"


async def _run_steps(client: Any, queue: str, **options: Any) -> tuple[Worker, int]:
    worker = Worker(client, task_queue=queue, workflows=[Steps, Gate], activities=[inc], **options)
    async with worker:
        handle = await client.start_workflow(
            workflow_type="cache.steps", task_queue=queue, workflow_id=wf_id(), input=[STEPS]
        )
        assert await handle.result(timeout=TIMEOUT) == STEPS
    history = await client.get_history(handle.workflow_id, handle.run_id)
    events = history["events"]
    closing = next(i for i, e in enumerate(events) if e["event_type"] == "WorkflowCompleted")
    return worker, events[closing - 1]["sequence"]  # the last event a workflow task saw


async def test_cache_hits_apply_each_event_exactly_once(client: Any, queue: str) -> None:
    worker, last_seen = await _run_steps(client, queue)
    stats = worker.workflow_task_stats
    assert stats["full_replays"] == 1  # only the first task of the run
    assert stats["incremental_applies"] == STEPS  # every later task was a cache hit
    assert stats["events_applied"] == last_seen  # ...that applied only the events it had not seen
    assert len(worker.cache) == 0  # evicted when the run completed


async def test_without_cache_every_task_replays_the_whole_history(client: Any, queue: str) -> None:
    worker, last_seen = await _run_steps(client, queue, max_cached_workflows=0)
    stats = worker.workflow_task_stats
    assert stats["incremental_applies"] == 0
    assert stats["full_replays"] == STEPS + 1
    assert stats["events_applied"] > 3 * last_seen  # the prefixes, again and again


async def test_a_cached_state_that_does_not_fit_the_history_falls_back_to_full_replay(
    client: Any, queue: str
) -> None:
    metrics = InMemoryMetrics()
    worker = Worker(client, task_queue=queue, workflows=[Gate], activities=[inc], metrics=metrics)
    async with worker:
        first = await client.start_workflow(
            workflow_type="cache.gate", task_queue=queue, workflow_id=wf_id(), input=["a"]
        )
        second = await client.start_workflow(
            workflow_type="cache.gate", task_queue=queue, workflow_id=wf_id(), input=["b"]
        )
        deadline = asyncio.get_running_loop().time() + TIMEOUT
        while not (first.run_id in worker.cache and second.run_id in worker.cache):
            assert asyncio.get_running_loop().time() < deadline, "runs never reached their wait"
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)  # let the last task of each run settle into the cache
        # Swap the two live states: each now sits under the other run's id.
        state_a, state_b = worker.cache.take(first.run_id), worker.cache.take(second.run_id)
        assert state_a is not None and state_b is not None
        worker.cache.put(first.run_id, state_b)
        worker.cache.put(second.run_id, state_a)
        await first.signal("open", ["x"])
        await second.signal("open", ["y"])
        assert await first.result(timeout=TIMEOUT) == "a:1:x"
        assert await second.result(timeout=TIMEOUT) == "b:1:y"
    tags = {"task_queue": queue, "reason": "mismatch"}
    mismatches = metrics.counter_value(WORKER_STICKY_CACHE_MISSES, tags)
    assert mismatches == 2


async def test_cache_of_size_one_evicts_and_still_gives_right_results(client: Any, queue: str) -> None:
    worker = Worker(client, task_queue=queue, workflows=[Steps], activities=[inc], max_cached_workflows=1)
    async with worker:
        handles = await asyncio.gather(
            *(
                client.start_workflow(
                    workflow_type="cache.steps", task_queue=queue, workflow_id=wf_id(), input=[3]
                )
                for _ in range(4)
            )
        )
        assert await asyncio.gather(*(h.result(timeout=TIMEOUT) for h in handles)) == [3, 3, 3, 3]
    assert len(worker.cache) <= 1
    assert worker.workflow_task_stats["full_replays"] >= 4


async def test_histories_longer_than_a_page_replay_and_extend_correctly(client: Any, queue: str) -> None:
    steps = 180  # about 540 events: more than the server's 500-event default page
    for cache_size in (0, 1000):
        worker = Worker(
            client, task_queue=queue, workflows=[Steps], activities=[inc], max_cached_workflows=cache_size
        )
        async with worker:
            handle = await client.start_workflow(
                workflow_type="cache.steps", task_queue=queue, workflow_id=wf_id(), input=[steps]
            )
            assert await handle.result(timeout=60) == steps
        history = await client.get_history(handle.workflow_id, handle.run_id)
        assert len(history["events"]) > 500
        stats = worker.workflow_task_stats
        assert stats["full_replays"] == (steps + 1 if cache_size == 0 else 1)
