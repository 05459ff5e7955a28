"""Task queues over real HTTP: backlog, pollers, leases, admission and build-id cohort transitions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from dw_devserver import DevServer, ServerConfig

# Types of what conftest's fixtures hand out (modules cannot import conftest under importlib mode).
Api = ApiFactory = RecordedFixture = Snapshot = Rejections = RegisterWorker = Any


@pytest.fixture
async def server(dev_tokens: dict[str, str]) -> AsyncIterator[DevServer]:
    async with DevServer.start(virtual_clock=True, config=ServerConfig(role_tokens=dev_tokens)) as running:
        yield running


@pytest.fixture
def register(api_factory: ApiFactory) -> Callable[..., Awaitable[Api]]:
    """``await register(server, worker_id, build_id, slots=4)``: a registered worker-plane caller."""

    async def register_worker(server: DevServer, worker_id: str, build_id: str | None, slots: int = 4) -> Api:
        worker = api_factory(server.url, token="worker-token", worker=True)
        body: dict[str, Any] = {
            "worker_id": worker_id,
            "task_queue": "orders",
            "runtime": "python",
            "sdk_version": "durable-workflow-python/0.5.0",
            "supported_workflow_types": [],
            "max_concurrent_workflow_tasks": slots,
            "max_concurrent_activity_tasks": slots,
        }
        if build_id:
            body["build_id"] = build_id
        assert (await worker.call("POST", "/worker/register", body)).status_code == 201
        return worker

    return register_worker


async def test_describe_reports_backlog_pollers_leases_and_admission(
    server: DevServer, api_factory: ApiFactory, recorded_fixture: RecordedFixture, register: RegisterWorker
) -> None:
    api = api_factory(server.url)
    empty = (await api.call("GET", "/task-queues/orders")).json()
    assert empty["stats"]["approximate_backlog_count"] == 0 and empty["pollers"] == []
    assert empty["admission"]["workflow_tasks"]["status"] == "no_active_workers"

    worker = await register(server, "w-1", "b1", slots=2)
    for n in range(3):
        start = {
            "workflow_id": f"order-{n}",
            "workflow_type": "orders.fulfil",
            "task_queue": "orders",
            "input": [],
        }
        assert (await api.call("POST", "/workflows", start)).status_code == 201
    polled = await worker.call(
        "POST", "/worker/workflow-tasks/poll", {"worker_id": "w-1", "task_queue": "orders"}
    )
    assert polled.status_code == 200 and polled.json()["task"], polled.text
    leased_task = polled.json()["task"]["task_id"]

    described = await api.call("GET", "/task-queues/orders")
    assert described.status_code == 200
    view = described.json()
    expected = recorded_fixture("task-queue-describe")["response_body"]
    assert set(expected) <= set(view)
    assert set(expected["stats"]) <= set(view["stats"])
    assert set(expected["admission"]["query_tasks"]) <= set(view["admission"]["query_tasks"])
    assert set(expected["current_leases"][0]) <= set(view["current_leases"][0])
    assert set(expected["pollers"][0]) <= set(view["pollers"][0])
    stats = view["stats"]
    assert stats["approximate_backlog_count"] == 2
    assert (stats["workflow_tasks"]["ready_count"], stats["workflow_tasks"]["leased_count"]) == (2, 1)
    assert stats["oldest_ready_task"]["task_type"] == "workflow"
    assert [(lease["task_id"], lease["lease_owner"]) for lease in view["current_leases"]] == [
        (leased_task, "w-1")
    ]
    assert [(p["worker_id"], p["build_id"], p["is_stale"]) for p in view["pollers"]] == [("w-1", "b1", False)]
    admission = view["admission"]["workflow_tasks"]
    assert (admission["status"], admission["configured_slot_count"], admission["available_slot_count"]) == (
        "accepting",
        2,
        1,
    )

    # Listing shows the same queue; another namespace sees nothing of it.
    listed = (await api.call("GET", "/task-queues")).json()
    assert set(recorded_fixture("task-queue-list")["response_body"]) <= set(listed)
    assert [q["name"] for q in listed["task_queues"]] == ["orders"]
    admin = api_factory(server.url, token="admin-token")
    assert (await admin.call("POST", "/namespaces", {"name": "billing"})).status_code == 201
    billing = api_factory(server.url, namespace="billing")
    assert (await billing.call("GET", "/task-queues")).json()["task_queues"] == []
    assert (await billing.call("GET", "/task-queues/orders")).json()["stats"][
        "approximate_backlog_count"
    ] == 0

    # Past the lease, the leased task counts as an expired lease needing repair.
    await server.skip(server.config.workflow_task_lease_seconds + 1)
    assert (await api.call("GET", "/task-queues/orders")).json()["current_leases"] == []


async def test_build_id_cohorts_drain_resume_promote(
    server: DevServer, api_factory: ApiFactory, recorded_fixture: RecordedFixture, register: RegisterWorker
) -> None:
    await register(server, "new-1", "b2")
    await register(server, "old-1", "b1")
    await register(server, "plain", None)
    api = api_factory(server.url)

    cohorts = (await api.call("GET", "/task-queues/orders/build-ids")).json()
    assert set(recorded_fixture("task-queue-build-ids")["response_body"]) <= set(cohorts)
    assert [c["build_id"] for c in cohorts["build_ids"]][-1] is None  # unversioned after named ones
    assert {c["build_id"]: c["rollout_status"] for c in cohorts["build_ids"]} == {
        "b1": "active",
        "b2": "active",
        None: "active",
    }

    drained = await api.call("POST", "/task-queues/orders/build-ids/drain", {"build_id": "b1"})
    assert drained.status_code == 200, drained.text
    assert set(recorded_fixture("task-queue-build-id-drain")["response_body"]) <= set(drained.json())
    assert (drained.json()["drain_intent"], drained.json()["build_id"]) == ("draining", "b1")
    first_drained_at = drained.json()["drained_at"]
    await server.skip(5)
    again = (await api.call("POST", "/task-queues/orders/build-ids/drain", {"build_id": "b1"})).json()
    assert again["drained_at"] == first_drained_at  # idempotent
    assert (await api.call("GET", "/workers/old-1")).json()["status"] == "draining"
    await register(server, "old-2", "b1")  # joining a drained cohort starts out draining
    assert (await api.call("GET", "/workers/old-2")).json()["status"] == "draining"
    by_id = {
        c["build_id"]: c for c in (await api.call("GET", "/task-queues/orders/build-ids")).json()["build_ids"]
    }
    assert (
        by_id["b1"]["rollout_status"],
        by_id["b1"]["drain_intent"],
        by_id["b1"]["draining_worker_count"],
    ) == ("draining", "draining", 2)

    resumed = (await api.call("POST", "/task-queues/orders/build-ids/resume", {"build_id": "b1"})).json()
    assert set(recorded_fixture("task-queue-build-id-resume")["response_body"]) <= set(resumed)
    assert (resumed["drain_intent"], resumed["drained_at"]) == ("active", None)
    assert (await api.call("GET", "/workers/old-1")).json()["status"] == "active"
    assert (await api.call("GET", "/workers/old-2")).json()["status"] == "active"

    promoted = (await api.call("POST", "/task-queues/orders/build-ids/promote", {"build_id": "b2"})).json()
    assert set(recorded_fixture("task-queue-build-id-promote")["response_body"]) <= set(promoted)
    assert (promoted["new_start_selected"], promoted["drain_intent"]) == (True, "active")
    selected = {
        c["build_id"]: c["new_start_selected"]
        for c in (await api.call("GET", "/task-queues/orders/build-ids")).json()["build_ids"]
    }
    assert selected == {"b1": False, "b2": True, None: False}

    # The unversioned cohort is addressed with null (or a blank string).
    plain = (await api.call("POST", "/task-queues/orders/build-ids/drain", {"build_id": None})).json()
    assert (plain["build_id"], plain["drain_intent"]) == (None, "draining")
    assert (await api.call("GET", "/workers/plain")).json()["status"] == "draining"
    assert (await api.call("POST", "/task-queues/orders/build-ids/resume", {"build_id": " "})).json()[
        "drain_intent"
    ] == "active"


async def test_rejections_change_nothing(
    server: DevServer,
    api_factory: ApiFactory,
    snap: Snapshot,
    register: RegisterWorker,
    rejections: Rejections,
) -> None:
    await register(server, "w-1", "b1")
    before = snap(server)
    cases: list[tuple[Api, str, str, Any, int, str]] = [
        (
            api_factory(server.url),
            "POST",
            "/task-queues/orders/build-ids/drain",
            {},
            422,
            "validation_failed",
        ),
        (
            api_factory(server.url),
            "POST",
            "/task-queues/orders/build-ids/drain",
            {"build_id": 7},
            422,
            "validation_failed",
        ),
        (
            api_factory(server.url),
            "POST",
            "/task-queues/orders/build-ids/promote",
            {"build_id": "x" * 256},
            422,
            "validation_failed",
        ),
        (api_factory(server.url, token="worker-token"), "GET", "/task-queues", None, 403, "forbidden"),
        (
            api_factory(server.url, token="worker-token"),
            "POST",
            "/task-queues/orders/build-ids/drain",
            {"build_id": "b1"},
            403,
            "forbidden",
        ),
        (api_factory(server.url, token=None), "GET", "/task-queues/orders", None, 401, "unauthorized"),
        (
            api_factory(server.url, namespace="nowhere"),
            "GET",
            "/task-queues/orders/build-ids",
            None,
            404,
            "namespace_not_found",
        ),
    ]
    await rejections(cases)
    assert snap(server) == before
