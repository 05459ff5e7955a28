"""The worker roster (list / describe / deregister) over real HTTP, fed by real worker-plane registrations."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from dw_devserver import DevServer, ServerConfig

# The recorded fixtures in shared/ beside the repository; the root conftest sets DW_SHARED_DIR.
FIXTURES = Path(os.environ["DW_SHARED_DIR"]) / "fixtures" / "control-plane"
TOKENS = {"admin-token": "admin", "operator-token": "operator", "worker-token": "worker"}


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}-parity.json").read_text())
    return data


class Api:
    """A caller with the SDK's headers (control plane, or worker plane when ``worker=True``)."""

    def __init__(
        self,
        base: str,
        token: str | None = "operator-token",
        namespace: str = "default",
        worker: bool = False,
    ) -> None:
        headers = {"X-Namespace": namespace, "Content-Type": "application/json"}
        headers.update(
            {"X-Durable-Workflow-Protocol-Version": "1.1"}
            if worker
            else {"X-Durable-Workflow-Control-Plane-Version": "2"}
        )
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.client = httpx.AsyncClient(base_url=base + "/api", headers=headers, timeout=30)

    async def call(self, method: str, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        content = None if body is None else json.dumps(body)
        return await self.client.request(method, path, content=content, **kw)


def snapshot(server: DevServer) -> dict[str, list[tuple[Any, ...]]]:
    store = server.runtime.store
    tables = [r["name"] for r in store.all("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {t: sorted(tuple(r) for r in store.all(f"SELECT * FROM {t}")) for t in tables}


@pytest.fixture
async def server() -> AsyncIterator[DevServer]:
    async with DevServer.start(virtual_clock=True, config=ServerConfig(role_tokens=TOKENS)) as running:
        yield running


async def register(server: DevServer, namespace: str = "default", **overrides: Any) -> dict[str, Any]:
    body = {**fixture("worker-register")["request"]["body"], **overrides}
    worker = Api(server.url, token="worker-token", namespace=namespace, worker=True)
    response = await worker.call("POST", "/worker/register", body)
    assert response.status_code == 201, response.text
    return body


async def test_list_describe_match_fixture_shapes_and_filter(server: DevServer) -> None:
    await register(server)
    await register(server, worker_id="batch-worker-231", build_id="build-232")
    await register(server, worker_id="other-queue", task_queue="elsewhere")
    api = Api(server.url)

    listed = await api.call("GET", "/workers", params=fixture("worker-list")["request"]["query"])
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert set(fixture("worker-list")["response_body"]) <= set(body)
    assert {w["worker_id"] for w in body["workers"]} == {"polyglot-worker-231", "batch-worker-231"}
    assert set(fixture("worker-list")["response_body"]["workers"][0]) <= set(body["workers"][0])
    assert body["namespace"] == "default" and body["stale_after_seconds"] > 0

    described = await api.call("GET", "/workers/polyglot-worker-231")
    assert described.status_code == 200
    assert set(fixture("worker-describe")["response_body"]) <= set(described.json())
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


async def test_workers_go_stale_without_heartbeats(server: DevServer) -> None:
    await register(server)
    api = Api(server.url)
    await server.skip(server.config.worker_stale_after_seconds + 1)
    await register(server, worker_id="fresh")
    stale = (await api.call("GET", "/workers", params={"status": "stale"})).json()["workers"]
    assert [w["worker_id"] for w in stale] == ["polyglot-worker-231"]
    active = (await api.call("GET", "/workers", params={"status": "active"})).json()["workers"]
    assert [w["worker_id"] for w in active] == ["fresh"]
    # A heartbeat brings the stale worker back.
    beat = await Api(server.url, token="worker-token", worker=True).call(
        "POST", "/worker/heartbeat", {"worker_id": "polyglot-worker-231"}
    )
    assert beat.status_code == 200
    assert (await api.call("GET", "/workers/polyglot-worker-231")).json()["status"] == "active"


async def test_deregister_is_admin_only_and_forgets_the_worker(server: DevServer) -> None:
    await register(server)
    before = snapshot(server)
    refused = await Api(server.url).call("DELETE", "/workers/polyglot-worker-231")
    assert (refused.status_code, refused.json()["reason"]) == (403, "forbidden")
    assert snapshot(server) == before

    admin = Api(server.url, token="admin-token")
    response = await admin.call("DELETE", "/workers/polyglot-worker-231")
    assert response.status_code == 200
    assert response.json() == fixture("worker-deregister")["response_body"]
    gone = await admin.call("GET", "/workers/polyglot-worker-231")
    assert (gone.status_code, gone.json()["reason"]) == (404, "worker_not_found")
    again = await admin.call("DELETE", "/workers/polyglot-worker-231")
    assert (again.status_code, again.json()["reason"]) == (404, "worker_not_found")


async def test_rejections_and_namespace_isolation(server: DevServer) -> None:
    await register(server)
    admin = Api(server.url, token="admin-token")
    assert (await admin.call("POST", "/namespaces", {"name": "billing"})).status_code == 201
    before = snapshot(server)
    billing = Api(server.url, namespace="billing")
    cases: list[tuple[Api, str, str, dict[str, str] | None, int, str]] = [
        (billing, "GET", "/workers/polyglot-worker-231", None, 404, "worker_not_found"),
        (
            Api(server.url, token="admin-token", namespace="billing"),
            "DELETE",
            "/workers/polyglot-worker-231",
            None,
            404,
            "worker_not_found",
        ),
        (Api(server.url), "GET", "/workers", {"status": "sleeping"}, 422, "validation_failed"),
        (Api(server.url, token="worker-token"), "GET", "/workers", None, 403, "forbidden"),
        (Api(server.url, token="bad"), "GET", "/workers", None, 401, "unauthorized"),
        (Api(server.url, namespace="nowhere"), "GET", "/workers", None, 404, "namespace_not_found"),
    ]
    for caller, method, path, params, status, reason in cases:
        response = await caller.call(method, path, params=params)
        assert (response.status_code, response.json().get("reason")) == (status, reason), (
            path,
            response.text,
        )
    assert (await billing.call("GET", "/workers")).json()["workers"] == []
    assert snapshot(server) == before
