"""The worker roster (list / describe / deregister) over real HTTP, fed by real worker-plane registrations."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from dw_devserver import DevServer, ServerConfig

# Types of what conftest's fixtures hand out (modules cannot import conftest under importlib mode).
Api = ApiFactory = RecordedFixture = Snapshot = RegisterWorker = Any


@pytest.fixture
async def server(dev_tokens: dict[str, str]) -> AsyncIterator[DevServer]:
    async with DevServer.start(virtual_clock=True, config=ServerConfig(role_tokens=dev_tokens)) as running:
        yield running


@pytest.fixture
def register(
    api_factory: ApiFactory, recorded_fixture: RecordedFixture
) -> Callable[..., Awaitable[dict[str, Any]]]:
    """``await register(server, namespace, **overrides)``: registers the recorded worker, returns its body."""

    async def register_worker(
        server: DevServer, namespace: str = "default", **overrides: Any
    ) -> dict[str, Any]:
        body = {**recorded_fixture("worker-register")["request"]["body"], **overrides}
        worker = api_factory(server.url, token="worker-token", namespace=namespace, worker=True)
        response = await worker.call("POST", "/worker/register", body)
        assert response.status_code == 201, response.text
        return body

    return register_worker


async def test_list_describe_match_fixture_shapes_and_filter(
    server: DevServer, api_factory: ApiFactory, recorded_fixture: RecordedFixture, register: RegisterWorker
) -> None:
    await register(server)
    await register(server, worker_id="batch-worker-231", build_id="build-232")
    await register(server, worker_id="other-queue", task_queue="elsewhere")
    api = api_factory(server.url)

    listed = await api.call("GET", "/workers", params=recorded_fixture("worker-list")["request"]["query"])
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert set(recorded_fixture("worker-list")["response_body"]) <= set(body)
    assert {w["worker_id"] for w in body["workers"]} == {"polyglot-worker-231", "batch-worker-231"}
    assert set(recorded_fixture("worker-list")["response_body"]["workers"][0]) <= set(body["workers"][0])
    assert body["namespace"] == "default" and body["stale_after_seconds"] > 0

    described = await api.call("GET", "/workers/polyglot-worker-231")
    assert described.status_code == 200
    assert set(recorded_fixture("worker-describe")["response_body"]) <= set(described.json())
    worker = described.json()
    assert (worker["task_queue"], worker["build_id"], worker["status"]) == (
        "external-workflows",
        "build-231",
        "active",
    )
    assert (worker["max_concurrent_workflow_tasks"], worker["supported_activity_types"]) == (
        4,
        ["inventory.sync"],
    )
    assert len((await api.call("GET", "/workers")).json()["workers"]) == 3


async def test_workers_go_stale_without_heartbeats(
    server: DevServer, api_factory: ApiFactory, register: RegisterWorker
) -> None:
    await register(server)
    api = api_factory(server.url)
    await server.skip(server.config.worker_stale_after_seconds + 1)
    await register(server, worker_id="fresh")
    stale = (await api.call("GET", "/workers", params={"status": "stale"})).json()["workers"]
    assert [w["worker_id"] for w in stale] == ["polyglot-worker-231"]
    active = (await api.call("GET", "/workers", params={"status": "active"})).json()["workers"]
    assert [w["worker_id"] for w in active] == ["fresh"]
    # A heartbeat brings the stale worker back.
    beat = await api_factory(server.url, token="worker-token", worker=True).call(
        "POST", "/worker/heartbeat", {"worker_id": "polyglot-worker-231"}
    )
    assert beat.status_code == 200
    assert (await api.call("GET", "/workers/polyglot-worker-231")).json()["status"] == "active"


async def test_deregister_is_admin_only_and_forgets_the_worker(
    server: DevServer,
    api_factory: ApiFactory,
    recorded_fixture: RecordedFixture,
    snap: Snapshot,
    register: RegisterWorker,
) -> None:
    await register(server)
    before = snap(server)
    refused = await api_factory(server.url).call("DELETE", "/workers/polyglot-worker-231")
    assert (refused.status_code, refused.json()["reason"]) == (403, "forbidden")
    assert snap(server) == before

    admin = api_factory(server.url, token="admin-token")
    response = await admin.call("DELETE", "/workers/polyglot-worker-231")
    assert response.status_code == 200
    assert response.json() == recorded_fixture("worker-deregister")["response_body"]
    gone = await admin.call("GET", "/workers/polyglot-worker-231")
    assert (gone.status_code, gone.json()["reason"]) == (404, "worker_not_found")
    again = await admin.call("DELETE", "/workers/polyglot-worker-231")
    assert (again.status_code, again.json()["reason"]) == (404, "worker_not_found")


async def test_rejections_and_namespace_isolation(
    server: DevServer, api_factory: ApiFactory, snap: Snapshot, register: RegisterWorker
) -> None:
    await register(server)
    admin = api_factory(server.url, token="admin-token")
    assert (await admin.call("POST", "/namespaces", {"name": "billing"})).status_code == 201
    before = snap(server)
    billing = api_factory(server.url, namespace="billing")
    cases: list[tuple[Api, str, str, dict[str, str] | None, int, str]] = [
        (billing, "GET", "/workers/polyglot-worker-231", None, 404, "worker_not_found"),
        (
            api_factory(server.url, token="admin-token", namespace="billing"),
            "DELETE",
            "/workers/polyglot-worker-231",
            None,
            404,
            "worker_not_found",
        ),
        (api_factory(server.url), "GET", "/workers", {"status": "sleeping"}, 422, "validation_failed"),
        (api_factory(server.url, token="worker-token"), "GET", "/workers", None, 403, "forbidden"),
        (api_factory(server.url, token="bad"), "GET", "/workers", None, 401, "unauthorized"),
        (api_factory(server.url, namespace="nowhere"), "GET", "/workers", None, 404, "namespace_not_found"),
    ]
    for caller, method, path, params, status, reason in cases:
        response = await caller.call(method, path, params=params)
        assert (response.status_code, response.json().get("reason")) == (status, reason), (
            path,
            response.text,
        )
    assert (await billing.call("GET", "/workers")).json()["workers"] == []
    assert snap(server) == before
