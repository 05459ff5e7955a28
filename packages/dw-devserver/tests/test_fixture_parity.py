"""Responses carry at least the fields of the recorded request/response fixtures.

Requests are the fixtures' own bodies; only ids the server generates (task, attempt, run ids) and
lease/attempt fencing values are swapped for the live ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from dw_devserver import DevServer

# Handed out by conftest fixtures (api / wp, recorded_fixture); modules cannot import conftest.
Http = Any
RecordedFixture = Any
Keys = Any


@pytest.fixture
def keys(recorded_fixture: RecordedFixture) -> Callable[[str], set[str]]:
    """``keys(name)``: the top-level fields of a recorded fixture's response body."""

    def top_level(name: str) -> set[str]:
        body = recorded_fixture(name)["response_body"]
        return set(body) if isinstance(body, dict) else set()

    return top_level


async def test_worker_plane_shapes(
    dev: DevServer, api: Http, wp: Http, keys: Keys, recorded_fixture: RecordedFixture
) -> None:
    register = recorded_fixture("worker-register")["request"]["body"]
    r = await wp.post("/worker/register", register)
    assert r.status_code == 201 and keys("worker-register") <= set(r.json()), r.text
    worker, queue = register["worker_id"], register["task_queue"]
    start = {**recorded_fixture("workflow-start")["semantic_body"], "task_queue": queue}
    start["workflow_type"] = register["supported_workflow_types"][0]
    started = await api.post("/workflows", start)
    assert started.status_code == 201, started.text

    polled = recorded_fixture("workflow-task-poll")
    r = await wp.post("/worker/workflow-tasks/poll", polled["request"]["body"])
    task = r.json()["task"]
    assert set(polled["response_body"]["task"]) - {"history_events"} <= set(task)
    complete = dict(recorded_fixture("workflow-task-complete")["request"]["body"])
    complete["workflow_task_attempt"] = task["workflow_task_attempt"]
    complete["commands"] = [{**c, "task_queue": queue} for c in complete["commands"]]  # the worker's queue
    r = await wp.post(f"/worker/workflow-tasks/{task['task_id']}/complete", complete)
    assert r.status_code == 200 and keys("workflow-task-complete") <= set(r.json()), r.text

    # the fixture worker does not list "inventory.sync-page": a second worker takes any activity
    await wp.post("/worker/register", {"worker_id": "any-activity", "task_queue": queue, "runtime": "python"})
    r = await wp.post("/worker/activity-tasks/poll", {"worker_id": "any-activity", "task_queue": queue})
    act = r.json()["task"]
    assert act["activity_type"] == "inventory.sync-page"
    fail = dict(recorded_fixture("activity-fail")["request"]["body"])
    fail["activity_attempt_id"] = act["activity_attempt_id"]
    fail["lease_owner"] = "any-activity"
    fail["lease_owner"] = "any-activity"
    r = await wp.post(f"/worker/activity-tasks/{act['task_id']}/fail", fail)
    assert r.status_code == 200 and keys("activity-fail") <= set(r.json()), r.text

    task = (await wp.post("/worker/workflow-tasks/poll", {"worker_id": worker, "task_queue": queue})).json()[
        "task"
    ]
    failed = dict(recorded_fixture("workflow-task-fail")["request"]["body"])
    failed["workflow_task_attempt"] = task["workflow_task_attempt"]
    r = await wp.post(f"/worker/workflow-tasks/{task['task_id']}/fail", failed)
    assert r.status_code == 200 and keys("workflow-task-fail") <= set(r.json()), r.text


async def test_query_task_shapes(
    dev: DevServer, api: Http, wp: Http, keys: Keys, recorded_fixture: RecordedFixture
) -> None:
    import asyncio

    register = recorded_fixture("worker-register")["request"]["body"]
    await wp.post("/worker/register", register)
    await api.post("/workflows", {"workflow_id": "q1", "workflow_type": "orders.fulfillment",
                                  "task_queue": register["task_queue"]})  # fmt: skip

    async def answer(name: str) -> None:
        while True:
            poll = recorded_fixture("query-task-poll")["request"]["body"]
            r = await wp.post("/worker/query-tasks/poll", poll)
            qt = r.json()["task"]
            if qt is not None:
                break
        assert set(recorded_fixture("query-task-poll")["response_body"]["task"]) <= set(qt)
        body = dict(recorded_fixture(name)["request"]["body"])
        body["query_task_attempt"] = qt["query_task_attempt"]
        kind = "complete" if name.endswith("complete") else "fail"
        r = await wp.post(f"/worker/query-tasks/{qt['query_task_id']}/{kind}", body)
        assert r.status_code == 200 and keys(name) <= set(r.json()), r.text

    answering = asyncio.create_task(answer("query-task-complete"))
    r = await api.post("/workflows/q1/query/order.status")
    await answering
    assert r.status_code == 200 and r.json()["result"] == {"status": "ready", "open_items": 3}
    answering = asyncio.create_task(answer("query-task-fail"))
    r = await api.post("/workflows/q1/query/current_status_v3")
    await answering
    assert r.status_code == 404 and r.json()["reason"] == "rejected_unknown_query"


async def test_control_plane_shapes(
    dev: DevServer, api: Http, keys: Keys, recorded_fixture: RecordedFixture
) -> None:
    start = recorded_fixture("workflow-start")["semantic_body"]
    wid = start["workflow_id"]
    r = await api.post("/workflows", start)
    assert r.status_code == 201, r.text
    run_id = r.json()["run_id"]
    desc = (await api.get(f"/workflows/{wid}")).json()
    assert keys("workflow-describe") <= set(desc)
    assert desc["memo"] == start["memo"] and desc["search_attributes"] == start["search_attributes"]
    assert desc["input"] == start["input"]
    assert keys("workflow-show-run") <= set((await api.get(f"/workflows/{wid}/runs/{run_id}")).json())
    assert keys("workflow-list") <= set((await api.get("/workflows")).json())
    assert keys("workflow-list-runs") <= set((await api.get(f"/workflows/{wid}/runs")).json())
    assert keys("workflow-history") <= set((await api.get(f"/workflows/{wid}/runs/{run_id}/history")).json())
    export = (await api.get(f"/workflows/{wid}/runs/{run_id}/history/export")).json()
    assert keys("workflow-history-export") <= set(export)
    assert keys("workflow-repair") <= set((await api.post(f"/workflows/{wid}/repair")).json())
    await api.post(f"/workflows/{wid}/terminate")
    assert keys("workflow-archive") <= set((await api.post(f"/workflows/{wid}/archive")).json())
