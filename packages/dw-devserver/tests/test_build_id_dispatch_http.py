"""Build-id cohorts steer dispatch: a drained cohort claims no new work, promoted cohorts get new
starts pinned to them, and activities of a pinned run go to that cohort only. Real HTTP through
``dw_client.Client`` playing the workers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from dw_client import Client
from dw_core import serializer
from dw_devserver import DevServer

QUEUE = "deploys"


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    async with DevServer.start(long_poll_timeout=0.3) as server, Client(server.url) as c:
        yield c


async def _register(client: Client, worker_id: str, build_id: str | None) -> Any:
    return await client.register_worker(worker_id=worker_id, task_queue=QUEUE, build_id=build_id)


async def _poll(client: Client, worker_id: str) -> dict[str, Any] | None:
    return await client.poll_workflow_task(worker_id=worker_id, task_queue=QUEUE, timeout=10)


async def _complete(client: Client, worker_id: str, task: dict[str, Any], commands: list[Any]) -> None:
    await client.complete_workflow_task(
        task_id=task["task_id"],
        lease_owner=worker_id,
        workflow_task_attempt=task["workflow_task_attempt"],
        commands=commands,
    )


async def test_drained_cohort_finishes_in_flight_runs_but_takes_no_new_starts(client: Client) -> None:
    await _register(client, "old-1", "v1")
    await _register(client, "new-1", "v2")
    await client.start_workflow(workflow_type="deploy", task_queue=QUEUE, workflow_id="in-flight")
    first = await _poll(client, "old-1")
    assert first is not None and first["workflow_id"] == "in-flight"
    await _complete(client, "old-1", first, [{"type": "start_timer", "delay_seconds": 3600}])

    state = await client.drain_task_queue_build_id(QUEUE, "v1")
    assert state.drain_intent == "draining"
    # a worker joining the drained cohort is told so in its register response
    joined = await _register(client, "old-2", "v1")
    assert joined["status"] == "draining"
    rejoined = await _register(client, "old-1", "v1")
    assert rejoined["status"] == "draining"

    await client.start_workflow(workflow_type="deploy", task_queue=QUEUE, workflow_id="fresh")
    assert await _poll(client, "old-1") is None, "a draining worker must not take a new start"
    await client.signal_workflow("in-flight", "go")
    resumed = await _poll(client, "old-1")
    assert resumed is not None and resumed["workflow_id"] == "in-flight"
    fresh = await _poll(client, "new-1")
    assert fresh is not None and fresh["workflow_id"] == "fresh"

    # resuming the cohort lets it take new starts again
    await client.resume_task_queue_build_id(QUEUE, "v1")
    assert (await _register(client, "old-2", "v1"))["status"] == "active"
    await client.start_workflow(workflow_type="deploy", task_queue=QUEUE, workflow_id="after-resume")
    again = await _poll(client, "old-2")
    assert again is not None and again["workflow_id"] == "after-resume"


async def test_promoted_cohort_gets_new_starts_and_their_activities(client: Client) -> None:
    await _register(client, "old-1", "v1")
    await _register(client, "plain", None)
    await _register(client, "new-1", "v2")
    await client.start_workflow(workflow_type="deploy", task_queue=QUEUE, workflow_id="before")
    promoted = await client.promote_task_queue_build_id(QUEUE, "v2")
    assert promoted.drain_intent == "active"
    await client.start_workflow(workflow_type="deploy", task_queue=QUEUE, workflow_id="pinned")

    # the unpinned run started before the promotion still goes to anyone
    before = await _poll(client, "plain")
    assert before is not None and before["workflow_id"] == "before"
    assert before["compatibility"] is None
    assert await _poll(client, "old-1") is None
    assert await _poll(client, "plain") is None
    task = await _poll(client, "new-1")
    assert task is not None and task["workflow_id"] == "pinned"
    assert task["compatibility"] == "v2"
    assert (await client.describe_workflow_run("pinned", task["run_id"])).compatibility == "v2"
    assert (await client.describe_workflow_run("before", before["run_id"])).compatibility is None

    await _complete(
        client,
        "new-1",
        task,
        [
            {
                "type": "schedule_activity",
                "activity_type": "migrate",
                "arguments": serializer.envelope([1]),
            }
        ],
    )
    for other in ("old-1", "plain"):
        assert await client.poll_activity_task(worker_id=other, task_queue=QUEUE, timeout=10) is None
    activity = await client.poll_activity_task(worker_id="new-1", task_queue=QUEUE, timeout=10)
    assert activity is not None and activity["workflow_id"] == "pinned"

    # draining the promoted cohort hands new starts back to every worker
    await client.drain_task_queue_build_id(QUEUE, "v2")
    await client.start_workflow(workflow_type="deploy", task_queue=QUEUE, workflow_id="after-drain")
    unpinned = await _poll(client, "plain")
    assert unpinned is not None and unpinned["workflow_id"] == "after-drain"
    assert unpinned["compatibility"] is None


async def test_standalone_activity_is_new_work_a_draining_worker_skips(client: Client) -> None:
    await client.register_worker(worker_id="old-1", task_queue=QUEUE, build_id="v1")
    await client.register_worker(worker_id="new-1", task_queue=QUEUE, build_id="v2")
    await client.drain_task_queue_build_id(QUEUE, "v1")
    await client.start_activity(activity_type="migrate", task_queue=QUEUE, activity_id="job-1")
    assert await client.poll_activity_task(worker_id="old-1", task_queue=QUEUE, timeout=10) is None
    task = await client.poll_activity_task(worker_id="new-1", task_queue=QUEUE, timeout=10)
    assert task is not None and task["workflow_id"] == "job-1"


async def test_poll_with_another_build_id_is_refused(client: Client) -> None:
    await _register(client, "old-1", "v1")
    with pytest.raises(Exception) as info:
        await client.poll_workflow_task(worker_id="old-1", task_queue=QUEUE, timeout=10, build_id="v9")
    assert getattr(info.value, "status", None) == 409
    assert getattr(info.value, "body", {})["reason"] == "build_id_mismatch"
